//! The gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats and ACKs, RESUME
//! (replaying what the session missed) or INVALID_SESSION, RECONNECT, and dispatches.
//!
//! One session at a time, like a single-shard bot: a new IDENTIFY replaces the old
//! session. Dispatches are numbered per session and buffered so a RESUME can replay
//! whatever was sent while the socket was down.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Inner;
use super::payloads;
use super::record::Channel;

/// Replay buffer per session.
const BUFFER: usize = 1000;

#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    /// Close with a code (the client should then reconnect or give up).
    Close(u16, String),
    /// Vanish without a close frame, like a network failure.
    Drop,
}

#[derive(Debug)]
struct Session {
    id: String,
    seq: u64,
    buffer: VecDeque<(u64, String)>,
    conn: Option<u64>,
}

#[derive(Debug, Default)]
struct HubState {
    next_conn: u64,
    conns: HashMap<u64, mpsc::UnboundedSender<Outgoing>>,
    session: Option<Session>,
    identifies: u64,
    resumes: u64,
}

/// Connection and session bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct GatewayHub {
    state: Mutex<HubState>,
}

impl GatewayHub {
    fn lock(&self) -> parking_lot::MutexGuard<'_, HubState> {
        self.state.lock()
    }

    fn open(&self, tx: mpsc::UnboundedSender<Outgoing>) -> u64 {
        let mut s = self.lock();
        s.next_conn += 1;
        let id = s.next_conn;
        s.conns.insert(id, tx);
        id
    }

    fn close(&self, conn: u64) {
        let mut s = self.lock();
        s.conns.remove(&conn);
        if let Some(sess) = s.session.as_mut()
            && sess.conn == Some(conn)
        {
            sess.conn = None;
        }
    }

    fn send(&self, conn: u64, frame: Value) {
        if let Some(tx) = self.lock().conns.get(&conn) {
            let _ = tx.send(Outgoing::Text(frame.to_string()));
        }
    }

    /// Numbers, buffers and sends a dispatch to the live session. Returns whether a
    /// session existed (sent now, or buffered for its RESUME).
    pub(crate) fn dispatch(&self, inner: &Inner, t: &str, d: Value) -> bool {
        let mut s = self.lock();
        let Some(sess) = s.session.as_mut() else {
            inner.record.push(
                Channel::GatewayOut,
                "0",
                &format!("{t} (no session)"),
                None,
                d,
            );
            return false;
        };
        sess.seq += 1;
        let seq = sess.seq;
        let frame = json!({"op": 0, "s": seq, "t": t, "d": d}).to_string();
        if sess.buffer.len() >= BUFFER {
            sess.buffer.pop_front();
        }
        sess.buffer.push_back((seq, frame.clone()));
        let conn = sess.conn;
        if let Some(tx) = conn.and_then(|c| s.conns.get(&c)) {
            let _ = tx.send(Outgoing::Text(frame));
        }
        drop(s);
        inner.record.push(Channel::GatewayOut, "0", t, None, d);
        true
    }

    /// Drops every connection without a close frame; sessions stay resumable.
    pub(crate) fn drop_all(&self) {
        for tx in self.lock().conns.values() {
            let _ = tx.send(Outgoing::Drop);
        }
    }

    /// Asks the client to reconnect (op 7), as Discord does before maintenance.
    pub(crate) fn request_reconnect(&self) {
        for tx in self.lock().conns.values() {
            let _ = tx.send(Outgoing::Text(json!({"op": 7, "d": null}).to_string()));
        }
    }

    pub(crate) fn connected(&self) -> bool {
        let s = self.lock();
        s.session.as_ref().is_some_and(|sess| sess.conn.is_some())
    }

    /// (identifies, resumes) seen so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.identifies, s.resumes)
    }
}

pub(crate) async fn upgrade(State(inner): State<Arc<Inner>>, ws: WebSocketUpgrade) -> Response {
    if inner.faults.gateway_refused() {
        inner.record.push(
            Channel::GatewayIn,
            "connect",
            "/gateway",
            Some(503),
            Value::Null,
        );
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "gateway unavailable (sandbox fault)",
        )
            .into_response();
    }
    ws.on_upgrade(move |socket| connection(socket, inner))
}

async fn connection(socket: WebSocket, inner: Arc<Inner>) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = inner.gateway.open(tx);
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": inner.heartbeat_interval.as_millis() as u64}});
    inner
        .record
        .push(Channel::GatewayOut, "10", "HELLO", None, hello["d"].clone());
    if sink
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        inner.gateway.close(conn);
        return;
    }
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => handle_frame(&inner, conn, text.as_str()),
                Some(Ok(Message::Close(frame))) => {
                    // Complete the close handshake the client started.
                    let _ = sink.send(Message::Close(frame)).await;
                    let _ = sink.close().await;
                    break;
                }
                None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = rx.recv() => match out {
                Some(Outgoing::Text(t)) => {
                    if sink.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outgoing::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    // Keep reading so the client's half of the close handshake completes.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while let Some(Ok(m)) = stream.next().await {
                            if matches!(m, Message::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    break;
                }
                Some(Outgoing::Drop) | None => break,
            },
        }
    }
    inner.gateway.close(conn);
}

fn strip_bot(token: &str) -> &str {
    token.strip_prefix("Bot ").unwrap_or(token)
}

fn handle_frame(inner: &Arc<Inner>, conn: u64, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        inner.record.push(
            Channel::GatewayIn,
            "?",
            "unparsable frame",
            None,
            Value::String(text.chars().take(200).collect()),
        );
        return;
    };
    let op = frame["op"].as_u64().unwrap_or(u64::MAX);
    let mut d = frame["d"].clone();
    if d.get("token").is_some() {
        d["token"] = Value::String("[redacted]".into());
    }
    inner
        .record
        .push(Channel::GatewayIn, &op.to_string(), op_name(op), None, d);
    match op {
        1 if !inner.faults.acks_stopped() => {
            inner.gateway.send(conn, json!({"op": 11}));
            inner.record.push(
                Channel::GatewayOut,
                "11",
                "HEARTBEAT_ACK",
                None,
                Value::Null,
            );
        }
        2 => identify(inner, conn, &frame["d"]),
        6 => resume(inner, conn, &frame["d"]),
        _ => {}
    }
}

fn op_name(op: u64) -> &'static str {
    match op {
        1 => "HEARTBEAT",
        2 => "IDENTIFY",
        3 => "PRESENCE_UPDATE",
        4 => "VOICE_STATE_UPDATE",
        6 => "RESUME",
        8 => "REQUEST_GUILD_MEMBERS",
        _ => "UNKNOWN_OP",
    }
}

fn close(inner: &Inner, conn: u64, code: u16, reason: &str) {
    if let Some(tx) = inner.gateway.lock().conns.get(&conn) {
        let _ = tx.send(Outgoing::Close(code, reason.to_owned()));
    }
    inner.record.push(
        Channel::GatewayOut,
        "close",
        reason,
        Some(code),
        Value::Null,
    );
}

fn identify(inner: &Arc<Inner>, conn: u64, d: &Value) {
    let token = d["token"].as_str().unwrap_or("");
    if strip_bot(token) != inner.token {
        close(inner, conn, 4004, "Authentication failed.");
        return;
    }
    let session_id = uuid::Uuid::new_v4().simple().to_string();
    {
        let mut s = inner.gateway.lock();
        s.identifies += 1;
        s.session = Some(Session {
            id: session_id.clone(),
            seq: 0,
            buffer: VecDeque::new(),
            conn: Some(conn),
        });
    }
    let (ready, guild) = {
        let w = inner.world.lock();
        let bot = w.users[&super::world::BOT_ID].clone();
        let channels: Vec<_> = w.channels.values().cloned().collect();
        (
            payloads::ready(&bot, &session_id, &format!("{}/gateway", inner.ws_base)),
            payloads::guild_create(&w.guild_members(), &channels, w.created),
        )
    };
    inner.gateway.dispatch(inner, "READY", ready);
    inner.gateway.dispatch(inner, "GUILD_CREATE", guild);
}

fn resume(inner: &Arc<Inner>, conn: u64, d: &Value) {
    let token = d["token"].as_str().unwrap_or("");
    if strip_bot(token) != inner.token {
        close(inner, conn, 4004, "Authentication failed.");
        return;
    }
    let wanted = d["session_id"].as_str().unwrap_or("");
    let after = d["seq"].as_u64().unwrap_or(0);
    let refuse = inner.faults.take_refuse_resume();
    let replay = {
        let mut s = inner.gateway.lock();
        s.resumes += 1;
        match s.session.as_mut() {
            Some(sess) if sess.id == wanted && !refuse => {
                sess.conn = Some(conn);
                Some(
                    sess.buffer
                        .iter()
                        .filter(|(seq, _)| *seq > after)
                        .map(|(_, f)| f.clone())
                        .collect::<Vec<_>>(),
                )
            }
            _ => None,
        }
    };
    match replay {
        Some(frames) => {
            for f in frames {
                if let Some(tx) = inner.gateway.lock().conns.get(&conn) {
                    let _ = tx.send(Outgoing::Text(f));
                }
            }
            inner.gateway.dispatch(inner, "RESUMED", json!({}));
        }
        None => {
            // Not resumable: the client must identify again.
            inner.gateway.lock().session = None;
            inner.gateway.send(conn, json!({"op": 9, "d": false}));
            inner.record.push(
                Channel::GatewayOut,
                "9",
                "INVALID_SESSION",
                None,
                json!(false),
            );
        }
    }
}
