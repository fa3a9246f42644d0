//! Gateway events a feature watches besides commands and components: a thread opened
//! by Ticket Tool, a message in a ticket thread, a thread renamed or archived. Each
//! feature registers a listener when the app is wired; the framework hands every such
//! event to each listener before poise sees it, inside the event's trace span.

use std::sync::Arc;

use serenity::all::{Context as SerenityContext, FullEvent};

use super::BotData;

#[serenity::async_trait]
pub(crate) trait Listener: Send + Sync {
    /// Handles what it cares about and ignores the rest. Never fails: a listener logs
    /// its own problems (the gateway has no one to answer).
    async fn on_event(&self, sctx: &SerenityContext, data: &BotData, event: &FullEvent);
}

/// Every feature's listener, registered when the app is wired.
#[derive(Default)]
pub(crate) struct Listeners {
    listeners: Vec<Arc<dyn Listener>>,
}

impl Listeners {
    pub(crate) fn with(mut self, l: Arc<dyn Listener>) -> Self {
        self.listeners.push(l);
        self
    }

    pub(crate) async fn dispatch(&self, sctx: &SerenityContext, data: &BotData, event: &FullEvent) {
        for l in &self.listeners {
            l.on_event(sctx, data, event).await;
        }
    }
}

/// Whether listeners care about `event` at all (the rest go straight to poise).
pub(crate) fn watched(event: &FullEvent) -> bool {
    matches!(
        event,
        FullEvent::Message { .. } | FullEvent::ThreadCreate { .. } | FullEvent::ThreadUpdate { .. }
    )
}
