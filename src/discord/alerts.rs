//! Posts ops alerts to the log channel (from the Config tab) as embeds, at most once per
//! key inside a dedupe window; every alert is logged as well.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serenity::all::{ChannelId, CreateMessage};

use super::outbound::Outbound;

use crate::config::ConfigRegistry;
use crate::message::alert::{Alert, AlertSink, LogAlerts, Severity};
use crate::message::embed::{COLOR_ERROR, COLOR_INFO, COLOR_WARN, Embed, paginate};

/// Same-key alerts inside this window are posted once.
pub(crate) const DEDUPE_WINDOW: Duration = Duration::from_secs(60);

pub(crate) struct DiscordAlerts {
    outbound: Arc<Outbound>,
    config: Arc<ConfigRegistry>,
    bot: String,
    env: String,
    seen: Mutex<HashMap<String, Instant>>,
}

impl DiscordAlerts {
    pub(crate) fn new(
        outbound: Arc<Outbound>,
        config: Arc<ConfigRegistry>,
        bot: String,
        env: String,
    ) -> Self {
        Self {
            outbound,
            config,
            bot,
            env,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this key was posted inside the window (and records it if not).
    fn duplicate(&self, key: &str) -> bool {
        let mut seen = self.seen.lock();
        let now = Instant::now();
        seen.retain(|_, t| now.duration_since(*t) < DEDUPE_WINDOW);
        if seen.contains_key(key) {
            return true;
        }
        seen.insert(key.to_owned(), now);
        false
    }
}

pub(crate) fn alert_embed(alert: &Alert, bot: &str, env: &str) -> Embed {
    let (icon, color) = match alert.severity {
        Severity::Critical => ("❌", COLOR_ERROR),
        Severity::Warning => ("⚠️", COLOR_WARN),
        Severity::Info => ("📘", COLOR_INFO),
    };
    Embed::new(format!("{icon} {}", alert.title))
        .description(alert.detail.clone())
        .color(color)
        .footer(format!("{bot} • {env} • {}", alert.key))
}

impl DiscordAlerts {
    /// Posts to the log channel unless the key was posted inside the window.
    async fn post_deduped(&self, key: &str, embed: Embed) {
        let Some(channel) = self.config.get().channels.log else {
            tracing::debug!(
                post = key,
                "no LOG_CHANNEL_ID in the Config tab; not posted"
            );
            return;
        };
        if self.duplicate(key) {
            tracing::debug!(post = key, "log-channel post deduplicated");
            return;
        }
        // A long report continues over several embeds and messages; never cut it. The
        // pages are queued in order now and sent in the background, so a rate-limited log
        // channel never holds up the command or job that posted.
        for page in paginate(vec![embed]) {
            let msg = CreateMessage::new()
                .embeds(page.iter().map(Embed::to_create).collect())
                .allowed_mentions(super::reply::allowed_mentions(&[]));
            let sent = self.outbound.enqueue(ChannelId::new(channel), msg);
            let key = key.to_owned();
            tokio::spawn(async move {
                if let Err(e) = sent.await {
                    tracing::warn!(post = key, channel_id = channel, error = %e, "could not post to the log channel");
                }
            });
        }
    }
}

#[async_trait::async_trait]
impl AlertSink for DiscordAlerts {
    async fn send(&self, alert: Alert) {
        LogAlerts.send(alert.clone()).await;
        self.post_deduped(&alert.key, alert_embed(&alert, &self.bot, &self.env))
            .await;
    }

    async fn post(&self, key: &str, embed: Embed) {
        tracing::info!(post = key, title = %embed.title, "log-channel post");
        self.post_deduped(key, embed.footer(format!("{} • {}", self.bot, self.env)))
            .await;
    }
}
