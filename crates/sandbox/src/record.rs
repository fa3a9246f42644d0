//! Everything that crossed the sandbox's boundary: each REST and Google request with its
//! status, and each gateway frame in both directions. Tests assert on it ("the bot
//! fetched the token once", "no message was posted", "it resumed instead of identifying").

use parking_lot::Mutex;
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Discord REST (`/api/v10/...`).
    Rest,
    /// Google OAuth and Sheets.
    Google,
    /// A gateway frame the bot sent.
    GatewayIn,
    /// A gateway frame the sandbox sent.
    GatewayOut,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub channel: Channel,
    /// HTTP method, or the gateway opcode as text.
    pub method: String,
    /// HTTP path (with query), or the dispatch type (`t`) for gateway frames.
    pub path: String,
    pub status: Option<u16>,
    /// Request body (JSON when it parsed), or the frame's `d`.
    pub body: Value,
}

const CAPACITY: usize = 50_000;

#[derive(Debug, Default)]
pub struct Record {
    entries: Mutex<(u64, VecDeque<Entry>)>,
}

impl Record {
    pub fn push(
        &self,
        channel: Channel,
        method: &str,
        path: &str,
        status: Option<u16>,
        body: Value,
    ) {
        let mut g = self.entries.lock();
        g.0 += 1;
        let seq = g.0;
        if g.1.len() >= CAPACITY {
            g.1.pop_front();
        }
        g.1.push_back(Entry {
            seq,
            at: Utc::now(),
            channel,
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            body,
        });
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().1.iter().cloned().collect()
    }

    pub fn filter(&self, channel: Channel) -> Vec<Entry> {
        self.entries()
            .into_iter()
            .filter(|e| e.channel == channel)
            .collect()
    }
}
