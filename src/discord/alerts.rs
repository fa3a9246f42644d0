//! Posts ops alerts to the log channel (from the Config tab) as embeds, at most once per
//! key inside a dedupe window; every alert is logged as well.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serenity::all::{ChannelId, CreateMessage, Http};

use super::embed::{COLOR_ERROR, COLOR_INFO, COLOR_WARN, Embed};
use crate::config::ConfigRegistry;
use crate::ops::alerts::{Alert, AlertSink, LogAlerts, Severity};

/// Same-key alerts inside this window are posted once.
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(60);

pub struct DiscordAlerts {
    http: Arc<Http>,
    config: Arc<ConfigRegistry>,
    bot: String,
    env: String,
    seen: Mutex<HashMap<String, Instant>>,
}

impl DiscordAlerts {
    pub fn new(http: Arc<Http>, config: Arc<ConfigRegistry>, bot: String, env: String) -> Self {
        Self {
            http,
            config,
            bot,
            env,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this key was posted inside the window (and records it if not).
    fn duplicate(&self, key: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        seen.retain(|_, t| now.duration_since(*t) < DEDUPE_WINDOW);
        if seen.contains_key(key) {
            return true;
        }
        seen.insert(key.to_owned(), now);
        false
    }
}

pub fn alert_embed(alert: &Alert, bot: &str, env: &str) -> Embed {
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

#[async_trait::async_trait]
impl AlertSink for DiscordAlerts {
    async fn send(&self, alert: Alert) {
        LogAlerts.send(alert.clone()).await;
        let Some(channel) = self.config.get().channels.log else {
            return;
        };
        if self.duplicate(&alert.key) {
            tracing::debug!(alert = %alert.key, "ops alert deduplicated");
            return;
        }
        let msg = CreateMessage::new().embed(alert_embed(&alert, &self.bot, &self.env).to_create());
        if let Err(e) = ChannelId::new(channel).send_message(&self.http, msg).await {
            tracing::warn!(alert = %alert.key, channel_id = channel, error = %e, "could not post the ops alert to the log channel");
        }
    }
}
