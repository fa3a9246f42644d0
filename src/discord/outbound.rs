//! Every message the bot posts in a channel leaves through [`Outbound::post`]: one lane
//! per channel sends them in the order they were asked for, one request at a time, and a
//! 429 is waited out and retried, never dropped.
//!
//! Why a lane and not just serenity's rate limiter: Discord's message limit is per channel
//! (5 per 5 s), so a burst (twenty alerts, a long report split into messages) is refused
//! part-way; concurrent requests retried after a 429 come back in any order; and behind a
//! REST proxy (`DISCORD_PROXY_URL`) serenity's limiter is off, so a 429 reaches the bot as
//! an error whose body and headers serenity has dropped (its error decoder wants a `code`
//! a 429 does not have). So behind a proxy the lane makes the same request serenity
//! would, with its own client ([`ProxyRest`]), reads `retry_after` and waits exactly that.
//! With the limiter on (no proxy), serenity waits out the 429s itself and the lane only
//! keeps the order. Where neither is possible (an interaction response behind a proxy),
//! [`retry_429`] backs off on its own: 1 s doubling to 16 s.
//!
//! A message is retried through 429s for up to ten minutes, then given up with an error
//! line.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serenity::all::{ChannelId, CreateMessage, Http, Message};
use tokio::sync::{mpsc, oneshot};

use crate::settings::Secret;

/// The first wait after a 429 the bot cannot read the `retry_after` of.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(16);
/// How long a message keeps being retried through 429s before the bot gives up on it
/// (and says so in the log): longer than any per-route window Discord uses for messages.
pub(crate) const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("{0}")]
    Discord(#[from] serenity::Error),
    #[error("Discord kept answering 429 for {}s; the message was not sent", GIVE_UP_AFTER.as_secs())]
    GaveUp,
    #[error("the bot is stopping; the message was not sent")]
    Stopped,
}

/// Whether a REST failure is a 429.
pub(crate) fn rate_limited(e: &serenity::Error) -> bool {
    matches!(
        e,
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r))
            if r.status_code.as_u16() == 429
    )
}

/// Runs `attempt` until it succeeds or fails with anything but a 429, waiting between
/// 429s (see the module doc). The request never reached Discord's handlers when it was
/// refused, so trying it again cannot send it twice.
pub(crate) async fn retry_429<T, F, Fut>(what: &str, mut attempt: F) -> Result<T, SendError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, serenity::Error>>,
{
    let started = tokio::time::Instant::now();
    let mut wait = FIRST_WAIT;
    loop {
        match attempt().await {
            Err(e) if rate_limited(&e) => {
                wait_out(started, wait, what, "Discord answered 429; waiting").await?;
                wait = (wait * 2).min(LONGEST_WAIT);
            }
            other => return other.map_err(SendError::from),
        }
    }
}

/// Sleeps `wait` after a 429, or gives up when that would go past [`GIVE_UP_AFTER`]
/// counted from `started`.
async fn wait_out(
    started: tokio::time::Instant,
    wait: Duration,
    what: &str,
    note: &'static str,
) -> Result<(), SendError> {
    if started.elapsed() + wait > GIVE_UP_AFTER {
        tracing::error!(request = what, "Discord kept answering 429; giving up");
        return Err(SendError::GaveUp);
    }
    tracing::info!(request = what, wait_ms = wait.as_millis() as u64, "{note}");
    tokio::time::sleep(wait).await;
    Ok(())
}

type Job = (CreateMessage, oneshot::Sender<Result<Message, SendError>>);

/// Creating a message behind a REST proxy, as serenity would, but reading a 429's
/// `retry_after` (serenity's limiter is off behind a proxy and drops it).
pub(crate) struct ProxyRest {
    client: reqwest::Client,
    base: String,
    authorization: Secret,
}

/// What one attempt came to.
enum Attempt {
    /// Boxed: a message is large, and most attempts end here.
    Done(Box<Result<Message, serenity::Error>>),
    /// 429: wait this long, then try again.
    Wait(Duration),
}

impl ProxyRest {
    pub(crate) fn new(base: &str, token: &str) -> Self {
        ProxyRest {
            client: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            authorization: Secret::new(format!("Bot {}", token.trim_start_matches("Bot "))),
        }
    }

    async fn create_message(&self, channel: ChannelId, msg: &CreateMessage) -> Attempt {
        use serenity::http::{ErrorResponse, HttpError, LightMethod, Request, Route};
        let failed = |e: serenity::Error| Attempt::Done(Box::new(Err(e)));
        let body = match serde_json::to_vec(msg) {
            Ok(b) => b,
            Err(e) => return failed(serenity::Error::Json(e)),
        };
        let builder = Request::new(
            Route::ChannelMessages {
                channel_id: channel,
            },
            LightMethod::Post,
        )
        .body(Some(body))
        .build(&self.client, self.authorization.expose(), Some(&self.base));
        let request = match builder.map(|b| b.build()) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return failed(HttpError::Request(e).into()),
            Err(e) => return failed(e),
        };
        let resp = match self.client.execute(request).await {
            Ok(r) => r,
            Err(e) => return failed(HttpError::Request(e).into()),
        };
        let status = resp.status();
        if status.as_u16() == 429 {
            let header = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<f64>().ok());
            let body = resp.json::<serde_json::Value>().await.ok();
            let seconds = body
                .as_ref()
                .and_then(|b| b["retry_after"].as_f64())
                .or(header)
                .unwrap_or(FIRST_WAIT.as_secs_f64());
            return Attempt::Wait(Duration::from_secs_f64(seconds.clamp(0.0, 3600.0)));
        }
        if status.is_success() {
            return Attempt::Done(Box::new(
                resp.json::<Message>()
                    .await
                    .map_err(|e| HttpError::Request(e).into()),
            ));
        }
        let error = ErrorResponse::from_response(resp, reqwest::Method::POST).await;
        failed(HttpError::UnsuccessfulRequest(error).into())
    }
}

pub(crate) struct Outbound {
    /// The REST client; the gateway client's own once it exists, so one rate limiter
    /// sees every request.
    http: Arc<ArcSwap<Http>>,
    /// Set behind a REST proxy: how the lanes post there.
    proxy: Option<Arc<ProxyRest>>,
    lanes: Mutex<HashMap<u64, mpsc::UnboundedSender<Job>>>,
}

impl Outbound {
    pub(crate) fn new(http: Arc<Http>, proxy: Option<ProxyRest>) -> Self {
        Outbound {
            http: Arc::new(ArcSwap::new(http)),
            proxy: proxy.map(Arc::new),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// Sends through `http` from now on (the gateway client's, once it is built).
    pub(crate) fn adopt(&self, http: Arc<Http>) {
        self.http.store(http);
    }

    /// Queues `msg` for `channel` now, behind every message queued there before it; the
    /// returned future resolves once it was sent (or given up on). Dropping the future
    /// does not cancel the message.
    pub(crate) fn enqueue(
        &self,
        channel: ChannelId,
        msg: CreateMessage,
    ) -> impl std::future::Future<Output = Result<Message, SendError>> + Send + use<> {
        let (done, result) = oneshot::channel();
        let queued = {
            let mut lanes = self.lanes.lock();
            let lane = lanes
                .entry(channel.get())
                .or_insert_with(|| spawn_lane(channel, self.http.clone(), self.proxy.clone()));
            lane.send((msg, done)).is_ok()
        };
        async move {
            if !queued {
                return Err(SendError::Stopped);
            }
            result.await.unwrap_or(Err(SendError::Stopped))
        }
    }

    /// Posts `msg` in `channel` after every message queued there before it.
    pub(crate) async fn post(
        &self,
        channel: ChannelId,
        msg: CreateMessage,
    ) -> Result<Message, SendError> {
        self.enqueue(channel, msg).await
    }
}

fn spawn_lane(
    channel: ChannelId,
    http: Arc<ArcSwap<Http>>,
    proxy: Option<Arc<ProxyRest>>,
) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some((msg, done)) = rx.recv().await {
            let what = format!("POST /channels/{channel}/messages");
            let result = match &proxy {
                Some(p) => through_proxy(p, channel, &msg, &what).await,
                None => {
                    retry_429(&what, || {
                        let http = http.load_full();
                        let msg = msg.clone();
                        async move { channel.send_message(&http, msg).await }
                    })
                    .await
                }
            };
            // The caller may have stopped waiting; the message was still sent.
            let _ = done.send(result);
        }
    });
    tx
}

/// Posts behind a proxy, waiting each 429's `retry_after`.
async fn through_proxy(
    p: &ProxyRest,
    channel: ChannelId,
    msg: &CreateMessage,
    what: &str,
) -> Result<Message, SendError> {
    let started = tokio::time::Instant::now();
    loop {
        match p.create_message(channel, msg).await {
            Attempt::Done(r) => return (*r).map_err(SendError::from),
            Attempt::Wait(wait) => {
                let note = "Discord answered 429; waiting its retry_after";
                wait_out(started, wait, what, note).await?;
            }
        }
    }
}
