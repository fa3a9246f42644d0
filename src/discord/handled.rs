//! The gateway events the bot has finished handling, most recent last. A message or an
//! interaction is "handled" when the framework returns from it: the command has run and
//! every reply it sends has been answered by Discord. The sandbox console and the tests
//! wait on this instead of on silence, so a slow reply is never mistaken for none.

use std::collections::{HashSet, VecDeque};
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

/// Message and interaction ids already delivered, so a dispatch Discord sends twice (it
/// promises at-least-once delivery: a RESUME may replay what the bot already had) runs
/// its handler once. Bounded: the oldest ids are forgotten first, long after any replay.
#[derive(Debug, Default)]
pub(crate) struct Deliveries {
    seen: Mutex<(HashSet<u64>, VecDeque<u64>)>,
}

impl Deliveries {
    /// Whether `id` arrives for the first time (and remembers it).
    pub(crate) fn first(&self, id: u64) -> bool {
        let mut guard = self.seen.lock();
        let (set, order) = &mut *guard;
        if !set.insert(id) {
            return false;
        }
        order.push_back(id);
        if order.len() > KEEP_DELIVERIES
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }
}

/// How many delivered ids are remembered: Discord's resume buffer holds far fewer.
const KEEP_DELIVERIES: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_delivery_is_recognised_and_old_ids_are_forgotten() {
        let d = Deliveries::default();
        assert!(d.first(1));
        assert!(!d.first(1), "the same id twice");
        for id in 2..=(KEEP_DELIVERIES as u64 + 1) {
            assert!(d.first(id));
        }
        assert!(d.first(1), "forgotten after KEEP_DELIVERIES newer ids");
        assert!(!d.first(KEEP_DELIVERIES as u64 + 1));
    }

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
