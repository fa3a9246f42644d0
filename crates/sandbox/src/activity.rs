//! What the bot did in the sandbox, in order: messages posted, edited or deleted,
//! interaction callbacks, modals, reactions, command registrations, channel and role
//! changes. Tests and the console read it once they know the bot is done, and wait on
//! it for a given fact ([`ActivityLog::wait_for`]).

use parking_lot::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A message appeared (or was edited) in a channel.
    Message {
        channel_id: u64,
        message_id: u64,
        by_bot: bool,
        edited: bool,
    },
    MessageDeleted {
        channel_id: u64,
        message_id: u64,
    },
    /// The bot answered an interaction with this callback type.
    InteractionCallback {
        interaction_id: u64,
        callback: u8,
    },
    /// The bot opened a modal for an interaction.
    Modal {
        interaction_id: u64,
    },
    Reaction {
        channel_id: u64,
        message_id: u64,
        emoji: String,
        user_id: u64,
        added: bool,
    },
    CommandsRegistered {
        guild_id: Option<u64>,
        count: usize,
    },
    /// A channel or thread was created or changed, by the bot or by a simulated user.
    Channel {
        channel_id: u64,
        created: bool,
        by_bot: bool,
    },
    MemberRole {
        user_id: u64,
        role_id: u64,
        added: bool,
    },
}

impl Kind {
    /// Whether this is something the bot did (as opposed to a simulated user).
    pub fn by_bot(&self) -> bool {
        !matches!(
            self,
            Kind::Message { by_bot: false, .. } | Kind::Channel { by_bot: false, .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub seq: u64,
    pub kind: Kind,
}

#[derive(Debug, Default)]
pub struct ActivityLog {
    items: Mutex<Vec<Activity>>,
    notify: Notify,
}

impl ActivityLog {
    pub fn push(&self, kind: Kind) -> u64 {
        let seq = {
            let mut items = self.items.lock();
            let seq = items.len() as u64 + 1;
            items.push(Activity { seq, kind });
            seq
        };
        self.notify.notify_waiters();
        seq
    }

    /// The sequence number of the latest activity (0 when none).
    pub fn mark(&self) -> u64 {
        self.items.lock().len() as u64
    }

    pub fn since(&self, mark: u64) -> Vec<Activity> {
        let items = self.items.lock();
        items.iter().filter(|a| a.seq > mark).cloned().collect()
    }

    /// Waits until an activity after `mark` satisfies `pred`, up to `timeout`.
    pub async fn wait_for(
        &self,
        mark: u64,
        timeout: Duration,
        pred: impl Fn(&Kind) -> bool,
    ) -> Option<Activity> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if let Some(a) = self.since(mark).into_iter().find(|a| pred(&a.kind)) {
                return Some(a);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// The bot's activities after `mark`.
    pub fn bot_since(&self, mark: u64) -> Vec<Activity> {
        self.since(mark)
            .into_iter()
            .filter(|a| a.kind.by_bot())
            .collect()
    }
}
