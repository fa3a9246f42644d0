//! A bare serenity client on the sandbox's gateway that hands every event it receives to
//! the test, for checking what the sandbox sends (and does not send) as Discord would.

use std::sync::Arc;
use std::time::Duration;

use clanhall_sandbox::Sandbox;
use serenity::all::{
    ClientBuilder, Context, Event, GatewayIntents, Http, RawEventHandler, ShardManager,
};
use tokio::sync::mpsc;

struct Forward(mpsc::UnboundedSender<(Event, Context)>);

#[serenity::async_trait]
impl RawEventHandler for Forward {
    async fn raw_event(&self, ctx: Context, ev: Event) {
        let _ = self.0.send((ev, ctx));
    }
}

pub(crate) struct GatewayClient {
    pub http: Arc<Http>,
    pub ctx: Option<Context>,
    events: mpsc::UnboundedReceiver<(Event, Context)>,
    shards: Arc<ShardManager>,
    task: tokio::task::JoinHandle<Result<(), serenity::Error>>,
}

impl GatewayClient {
    /// Connects with `intents` and waits for GUILD_CREATE (the sandbox guild is in the
    /// cache then).
    pub(crate) async fn connect(s: &Sandbox, intents: GatewayIntents) -> GatewayClient {
        let mut c = Self::start(s, intents).await;
        c.next_where(Duration::from_secs(10), |e| {
            matches!(e, Event::GuildCreate(_))
        })
        .await
        .expect("GUILD_CREATE within 10 s");
        c
    }

    /// Starts the client without waiting for anything. Its REST client is on the
    /// production path (serenity's rate limiter on, through the sandbox's tunnel).
    pub(crate) async fn start(s: &Sandbox, intents: GatewayIntents) -> GatewayClient {
        let (tx, events) = mpsc::unbounded_channel();
        let http = rest_with_limiter(s);
        let mut client = ClientBuilder::new_with_http(http, intents)
            .raw_event_handler(Forward(tx))
            .await
            .expect("client builds");
        let http = client.http.clone();
        let shards = client.shard_manager.clone();
        let task = tokio::spawn(async move { client.start().await });
        GatewayClient {
            http,
            ctx: None,
            events,
            shards,
            task,
        }
    }

    /// The next event that satisfies `pred` within `within` (others are skipped).
    pub(crate) async fn next_where(
        &mut self,
        within: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (ev, ctx) = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            self.ctx = Some(ctx);
            if pred(&ev) {
                return Some(ev);
            }
        }
    }

    /// Every event up to and including the first that satisfies `until`.
    pub(crate) async fn collect_until(
        &mut self,
        within: Duration,
        until: impl Fn(&Event) -> bool,
    ) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        while let Ok(Some((ev, ctx))) = tokio::time::timeout_at(deadline, self.events.recv()).await
        {
            self.ctx = Some(ctx);
            let done = until(&ev);
            seen.push(ev);
            if done {
                break;
            }
        }
        seen
    }

    /// How the client's gateway run ended (after the sandbox closed it, say).
    pub(crate) async fn ended(self, within: Duration) -> Option<Result<(), serenity::Error>> {
        tokio::time::timeout(within, self.task).await.ok()?.ok()
    }

    pub(crate) async fn stop(self) {
        self.shards.shutdown_all().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// The name of an event, as Discord spells it (`MESSAGE_CREATE`).
pub(crate) fn name(e: &Event) -> String {
    e.name().unwrap_or_default()
}

/// The bot's REST client against the sandbox in proxy mode (serenity's limiter off, so a
/// 429 comes back as an error).
pub(crate) fn rest(s: &Sandbox) -> Http {
    clanhall::testing::discord_http(s.token(), Some(s.base_url()))
}

/// How the production path reaches the sandbox: through its HTTPS tunnel.
pub(crate) fn tunnel_route(s: &Sandbox) -> clanhall::testing::DiscordRoute {
    let (proxy_url, ca_pem) = s.tunnel();
    clanhall::testing::DiscordRoute::Tunnel(clanhall::testing::DiscordTunnel {
        proxy_url: proxy_url.to_owned(),
        ca_pem: ca_pem.to_owned(),
    })
}

/// A REST client on the production path: serenity's own rate limiter on, calling
/// `https://discord.com/api/v10`, which the sandbox's tunnel answers.
pub(crate) fn rest_with_limiter(s: &Sandbox) -> Http {
    clanhall::testing::discord_http_for(s.token(), &tunnel_route(s)).unwrap()
}

/// A REST answer as raw JSON, with the bot token.
pub(crate) async fn raw_get(s: &Sandbox, path: &str) -> serde_json::Value {
    super::http()
        .get(format!("{}{path}", s.base_url()))
        .header("authorization", format!("Bot {}", s.token()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
