//! The gateway events the bot has finished handling, most recent last. A message or an
//! interaction is "handled" when the framework returns from it: the command has run and
//! every reply it sends has been answered by Discord. The sandbox console and the tests
//! wait on this instead of on silence, so a slow reply is never mistaken for none.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// How many handled events are remembered.
const KEEP: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// serenity's name for the event (`message`, `interaction_create`, `thread_create`...).
    pub event: &'static str,
    pub message_id: Option<u64>,
    pub interaction_id: Option<u64>,
    /// The channel or thread a channel event is about.
    pub channel_id: Option<u64>,
}

#[derive(Debug, Default)]
pub struct HandledEvents {
    recent: Mutex<VecDeque<Handled>>,
    notify: Notify,
}

impl HandledEvents {
    pub fn push(&self, h: Handled) {
        {
            let mut recent = self.recent.lock();
            if recent.len() == KEEP {
                recent.pop_front();
            }
            recent.push_back(h);
        }
        self.notify.notify_waiters();
    }

    /// Waits until a handled event satisfies `pred`, at most `within`. Returns whether
    /// one did.
    pub async fn wait_for(&self, within: Duration, pred: impl Fn(&Handled) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.notify.notified();
            if self.recent.lock().iter().any(&pred) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Waits until the message `id` (a MESSAGE_CREATE) has been handled.
    pub async fn message(&self, id: u64, within: Duration) -> bool {
        self.wait_for(within, |h| h.message_id == Some(id)).await
    }

    /// Waits until an event about channel or thread `id` named `event` has been handled
    /// (`thread_create`: the bot's cache knows the thread from then on).
    pub async fn channel_event(&self, event: &str, id: u64, within: Duration) -> bool {
        self.wait_for(within, |h| h.event == event && h.channel_id == Some(id))
            .await
    }

    /// Waits until the interaction `id` has been handled.
    pub async fn interaction(&self, id: u64, within: Duration) -> bool {
        self.wait_for(within, |h| h.interaction_id == Some(id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_see_events_pushed_before_and_after_they_started() {
        let log = std::sync::Arc::new(HandledEvents::default());
        log.push(Handled {
            event: "message",
            message_id: Some(1),
            interaction_id: None,
            channel_id: None,
        });
        assert!(log.message(1, Duration::ZERO).await, "already handled");
        let waiter = {
            let log = log.clone();
            tokio::spawn(async move { log.interaction(7, Duration::from_secs(10)).await })
        };
        log.push(Handled {
            event: "interaction_create",
            message_id: None,
            interaction_id: Some(7),
            channel_id: None,
        });
        assert!(waiter.await.unwrap());
        assert!(!log.message(2, Duration::from_millis(1)).await);
    }
}
