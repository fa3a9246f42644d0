//! Ops alerts: things staff must hear about (a watchdog restart, a toggle
//! misconfiguration, a failing refresh). Every alert is logged; once Discord is up, the
//! alert sink also posts it to the log channel.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    /// Alerts with the same key inside a short window are posted once.
    pub key: String,
}

impl Alert {
    pub fn new(
        severity: Severity,
        key: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            title: title.into(),
            detail: detail.into(),
            key: key.into(),
        }
    }
}

#[async_trait::async_trait]
pub trait AlertSink: Send + Sync + 'static {
    /// Delivers an alert. Must not fail loudly: an alert that cannot be posted is logged.
    async fn send(&self, alert: Alert);

    /// Posts an informational embed (a refresh summary, a reload) to the log channel,
    /// at most once per `key` inside the dedupe window. Without Discord it is logged.
    async fn post(&self, key: &str, embed: crate::message::embed::Embed) {
        tracing::info!(post = key, title = %embed.title, "log-channel post (no Discord connection)");
    }
}

/// The sink used before Discord is connected, and underneath every other sink.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LogAlerts;

#[async_trait::async_trait]
impl AlertSink for LogAlerts {
    async fn send(&self, alert: Alert) {
        match alert.severity {
            Severity::Critical => {
                tracing::error!(alert = %alert.key, title = %alert.title, detail = %alert.detail, "ops alert")
            }
            Severity::Warning => {
                tracing::warn!(alert = %alert.key, title = %alert.title, detail = %alert.detail, "ops alert")
            }
            Severity::Info => {
                tracing::info!(alert = %alert.key, title = %alert.title, detail = %alert.detail, "ops alert")
            }
        }
    }
}
