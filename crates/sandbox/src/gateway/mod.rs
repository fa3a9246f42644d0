//! The gateway (<https://discord.com/developers/docs/events/gateway>): HELLO, IDENTIFY →
//! READY + GUILD_CREATE, heartbeats and ACKs, RESUME (replaying what the session missed)
//! or INVALID_SESSION, RECONNECT, Request Guild Members (op 8), and dispatches filtered by
//! the session's intents ([`intents`]).
//!
//! One session at a time, like a single-shard bot: a new IDENTIFY replaces the old
//! session. Dispatches are numbered per session and buffered so a RESUME can replay
//! whatever was sent while the socket was down. What a client gets wrong closes the
//! connection with Discord's close code: 4001 unknown opcode, 4002 decode error, 4003 not
//! authenticated, 4004 authentication failed, 4005 already authenticated, 4008 more than
//! 120 events a minute, 4012 invalid API version, 4013 invalid intents, 4014 disallowed
//! (privileged, not enabled) intents.
//!
//! Transport compression (`compress=zlib-stream` in the URL) is one zlib stream over the
//! connection, each message ending in a sync flush; payload compression (`compress: true`
//! in IDENTIFY) zlib-compresses the larger dispatches one by one, as Discord compresses
//! "some" of them.

pub mod intents;

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use flate2::{Compress, Compression, FlushCompress};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Inner;
use super::payloads;
use super::record::Channel;

/// Replay buffer per session.
const BUFFER: usize = 1000;

/// Events a client may send per connection per minute before Discord disconnects it.
const SEND_LIMIT: usize = 120;
const SEND_WINDOW: Duration = Duration::from_secs(60);

/// Dispatches at least this long are zlib-compressed under payload compression.
const COMPRESS_FROM: usize = 4096;

#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A JSON frame; `compressible` when payload compression applies to it.
    Text { text: String, compressible: bool },
    /// Close with a code (the client should then reconnect or give up).
    Close(u16, String),
    /// Vanish without a close frame, like a network failure.
    Drop,
}

impl Outgoing {
    fn text(frame: &Value) -> Self {
        Outgoing::Text {
            text: frame.to_string(),
            compressible: false,
        }
    }
}

#[derive(Debug)]
struct Session {
    id: String,
    seq: u64,
    buffer: VecDeque<(u64, String)>,
    conn: Option<u64>,
    intents: u64,
    /// Payload compression asked for in IDENTIFY.
    compress: bool,
}

#[derive(Debug)]
struct Conn {
    tx: mpsc::UnboundedSender<Outgoing>,
    identified: bool,
    /// When the client's recent frames arrived, for the 120-a-minute limit.
    sent: VecDeque<Instant>,
}

#[derive(Debug, Default)]
struct HubState {
    next_conn: u64,
    conns: HashMap<u64, Conn>,
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
        s.conns.insert(
            id,
            Conn {
                tx,
                identified: false,
                sent: VecDeque::new(),
            },
        );
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
        if let Some(c) = self.lock().conns.get(&conn) {
            let _ = c.tx.send(Outgoing::text(&frame));
        }
    }

    /// Counts one client frame; `false` once the connection is over the limit.
    fn count_sent(&self, conn: u64) -> bool {
        let mut s = self.lock();
        let Some(c) = s.conns.get_mut(&conn) else {
            return true;
        };
        let now = Instant::now();
        while c
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) > SEND_WINDOW)
        {
            c.sent.pop_front();
        }
        c.sent.push_back(now);
        c.sent.len() <= SEND_LIMIT
    }

    fn identified(&self, conn: u64) -> bool {
        self.lock().conns.get(&conn).is_some_and(|c| c.identified)
    }

    /// Numbers, buffers and sends a dispatch to the live session, as its intents allow.
    /// Returns whether a session existed (sent now, or buffered for its RESUME).
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
        let Some(d) = intents::apply(t, d, sess.intents) else {
            drop(s);
            inner.record.push(
                Channel::GatewayOut,
                "0",
                &format!("{t} (not sent: intents)"),
                None,
                Value::Null,
            );
            return true;
        };
        sess.seq += 1;
        let seq = sess.seq;
        let frame = json!({"op": 0, "s": seq, "t": t, "d": d}).to_string();
        if sess.buffer.len() >= BUFFER {
            sess.buffer.pop_front();
        }
        sess.buffer.push_back((seq, frame.clone()));
        let compressible = sess.compress && frame.len() >= COMPRESS_FROM;
        let conn = sess.conn;
        if let Some(c) = conn.and_then(|c| s.conns.get(&c)) {
            let _ = c.tx.send(Outgoing::Text {
                text: frame,
                compressible,
            });
        }
        drop(s);
        inner.record.push(Channel::GatewayOut, "0", t, None, d);
        true
    }

    /// Drops every connection without a close frame; sessions stay resumable.
    pub(crate) fn drop_all(&self) {
        for c in self.lock().conns.values() {
            let _ = c.tx.send(Outgoing::Drop);
        }
    }

    /// Asks the client to reconnect (op 7), as Discord does before maintenance.
    pub(crate) fn request_reconnect(&self) {
        for c in self.lock().conns.values() {
            let _ = c.tx.send(Outgoing::text(&json!({"op": 7, "d": null})));
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

    /// The intents of the live session (`None` before the first IDENTIFY).
    pub(crate) fn session_intents(&self) -> Option<u64> {
        self.lock().session.as_ref().map(|s| s.intents)
    }
}

/// The gateway URL's query: `v`, `encoding`, `compress`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ConnectQuery {
    v: Option<String>,
    encoding: Option<String>,
    compress: Option<String>,
}

pub(crate) async fn upgrade(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<ConnectQuery>,
    ws: WebSocketUpgrade,
) -> Response {
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
    ws.on_upgrade(move |socket| connection(socket, inner, q))
}

/// How frames leave one connection.
enum Encoder {
    Plain,
    /// `compress=zlib-stream`: one deflate context for the whole connection.
    Stream(Box<Compress>),
}

impl Encoder {
    fn encode(&mut self, text: String, compressible: bool) -> Message {
        match self {
            Encoder::Stream(z) => Message::Binary(deflate(z, text.as_bytes()).into()),
            Encoder::Plain if compressible => {
                let mut z = Compress::new(Compression::default(), true);
                Message::Binary(deflate_finish(&mut z, text.as_bytes()).into())
            }
            Encoder::Plain => Message::Text(text.into()),
        }
    }
}

/// Compresses `input` into the stream and sync-flushes: the output ends in
/// `00 00 ff ff`, which is how a client knows a message is complete.
fn deflate(z: &mut Compress, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    let mut consumed = 0usize;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(256));
        }
        let before_in = z.total_in();
        let status = z.compress_vec(&input[consumed..], &mut out, FlushCompress::Sync);
        consumed += (z.total_in() - before_in) as usize;
        let flushed = out.ends_with(&[0, 0, 0xff, 0xff]);
        if status.is_err() || (consumed == input.len() && flushed) {
            return out;
        }
    }
}

/// One complete zlib stream for `input` (payload compression).
fn deflate_finish(z: &mut Compress, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(256));
        }
        let consumed = z.total_in() as usize;
        match z.compress_vec(&input[consumed..], &mut out, FlushCompress::Finish) {
            Ok(flate2::Status::StreamEnd) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

async fn connection(socket: WebSocket, inner: Arc<Inner>, q: ConnectQuery) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = inner.gateway.open(tx);
    let mut encoder = match q.compress.as_deref() {
        Some("zlib-stream") => {
            Encoder::Stream(Box::new(Compress::new(Compression::default(), true)))
        }
        _ => Encoder::Plain,
    };
    // The URL is checked before anything else is said, as Discord closes at once.
    let refusal = match (q.v.as_deref(), q.encoding.as_deref()) {
        (Some(v), _) if v != "10" && v != "9" => Some((4012, "Invalid API version")),
        (_, Some(e)) if e != "json" => {
            Some((4000, "clanhall sandbox: only encoding=json is implemented"))
        }
        _ => None,
    };
    if let Some((code, reason)) = refusal {
        close(&inner, conn, code, reason);
    } else {
        let hello = json!({"op": 10, "d": {"heartbeat_interval": inner.heartbeat_interval.as_millis() as u64}});
        inner
            .record
            .push(Channel::GatewayOut, "10", "HELLO", None, hello["d"].clone());
        inner.gateway.send(conn, hello);
    }
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => handle_frame(&inner, conn, text.as_str()),
                Some(Ok(Message::Binary(_))) => close(&inner, conn, 4002, "Decode error"),
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
                Some(Outgoing::Text { text, compressible }) => {
                    if sink.send(encoder.encode(text, compressible)).await.is_err() {
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
        close(inner, conn, 4002, "Decode error");
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
    if !inner.gateway.count_sent(conn) {
        close(inner, conn, 4008, "Rate limited.");
        return;
    }
    let authenticated = inner.gateway.identified(conn);
    match op {
        1 => {
            if !inner.faults.acks_stopped() {
                inner.gateway.send(conn, json!({"op": 11}));
                inner.record.push(
                    Channel::GatewayOut,
                    "11",
                    "HEARTBEAT_ACK",
                    None,
                    Value::Null,
                );
            }
        }
        2 if authenticated => close(inner, conn, 4005, "Already authenticated."),
        2 => identify(inner, conn, &frame["d"]),
        6 => resume(inner, conn, &frame["d"]),
        3 | 4 | 8 if !authenticated => close(inner, conn, 4003, "Not authenticated."),
        3 | 4 => {}
        8 => request_members(inner, conn, &frame["d"]),
        _ => close(inner, conn, 4001, "Unknown opcode."),
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
    if let Some(c) = inner.gateway.lock().conns.get(&conn) {
        let _ = c.tx.send(Outgoing::Close(code, reason.to_owned()));
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
    let Some(wanted) = d["intents"].as_u64() else {
        close(inner, conn, 4013, "Invalid intent(s).");
        return;
    };
    if wanted & !intents::KNOWN != 0 {
        close(inner, conn, 4013, "Invalid intent(s).");
        return;
    }
    if wanted & intents::PRIVILEGED & !inner.approved_intents != 0 {
        close(inner, conn, 4014, "Disallowed intent(s).");
        return;
    }
    let session_id = uuid::Uuid::new_v4().simple().to_string();
    {
        let mut s = inner.gateway.lock();
        s.identifies += 1;
        if let Some(c) = s.conns.get_mut(&conn) {
            c.identified = true;
        }
        s.session = Some(Session {
            id: session_id.clone(),
            seq: 0,
            buffer: VecDeque::new(),
            conn: Some(conn),
            intents: wanted,
            compress: d["compress"].as_bool().unwrap_or(false),
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
    // A replay fault resends dispatches the client already had, as a duplicate delivery.
    let again = inner.faults.take_replay_on_resume();
    let replay = {
        let mut s = inner.gateway.lock();
        s.resumes += 1;
        let live = match s.session.as_mut() {
            Some(sess) if sess.id == wanted && !refuse => {
                sess.conn = Some(conn);
                let from = after.saturating_sub(u64::from(again));
                Some(
                    sess.buffer
                        .iter()
                        .filter(|(seq, _)| *seq > from)
                        .map(|(_, f)| f.clone())
                        .collect::<Vec<_>>(),
                )
            }
            _ => None,
        };
        if live.is_some()
            && let Some(c) = s.conns.get_mut(&conn)
        {
            c.identified = true;
        }
        live
    };
    match replay {
        Some(frames) => {
            for text in frames {
                if let Some(c) = inner.gateway.lock().conns.get(&conn) {
                    let _ = c.tx.send(Outgoing::Text {
                        text,
                        compressible: false,
                    });
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

/// Op 8 (<https://discord.com/developers/docs/events/gateway-events#request-guild-members>):
/// by `user_ids` (at most 100) or by username prefix `query` (at most 100 results; the
/// whole list, `query: ""`, needs GUILD_MEMBERS and is otherwise ignored, as Discord does).
/// Answered with GUILD_MEMBERS_CHUNK.
fn request_members(inner: &Arc<Inner>, conn: u64, d: &Value) {
    // A snowflake in a gateway payload may be a string or a number (discord.py sends a
    // number here); Discord takes both.
    let guild_ok = user_ids(&d["guild_id"])
        .and_then(|ids| ids.first().copied())
        .is_some_and(super::state::is_our_guild);
    if !guild_ok {
        close(inner, conn, 4001, "Invalid payload for opcode 8.");
        return;
    }
    let intents = inner.gateway.session_intents().unwrap_or(0);
    let nonce = d["nonce"].as_str().filter(|n| n.len() <= 32);
    let (members, not_found) = {
        let w = inner.world.lock();
        if let Some(ids) = user_ids(&d["user_ids"]) {
            let found: Vec<_> = ids
                .iter()
                .take(100)
                .filter_map(|id| w.member_pair(*id))
                .collect();
            let missing: Vec<u64> = ids
                .iter()
                .take(100)
                .filter(|id| !w.members.contains_key(id))
                .copied()
                .collect();
            (found, missing)
        } else if let Some(query) = d["query"].as_str() {
            let limit = d["limit"].as_u64().unwrap_or(0) as usize;
            if query.is_empty() && intents & intents::GUILD_MEMBERS == 0 {
                drop(w);
                inner.record.push(
                    Channel::GatewayOut,
                    "0",
                    "GUILD_MEMBERS_CHUNK (not sent: the whole list needs GUILD_MEMBERS)",
                    None,
                    Value::Null,
                );
                return;
            }
            let cap = if query.is_empty() { usize::MAX } else { 100 };
            let cap = if limit == 0 { cap } else { limit.min(cap) };
            let q = query.to_lowercase();
            let found = w
                .guild_members()
                .into_iter()
                .filter(|(_, u)| u.username.to_lowercase().starts_with(&q))
                .take(cap)
                .collect();
            (found, Vec::new())
        } else {
            drop(w);
            close(inner, conn, 4001, "Invalid payload for opcode 8.");
            return;
        }
    };
    inner.gateway.dispatch(
        inner,
        "GUILD_MEMBERS_CHUNK",
        payloads::members_chunk(&members, &not_found, nonce),
    );
}

/// One snowflake or an array of them, each a string or a number.
fn user_ids(v: &Value) -> Option<Vec<u64>> {
    let parse = |x: &Value| {
        x.as_str()
            .and_then(|s| s.parse().ok())
            .or_else(|| x.as_u64())
    };
    match v {
        Value::Array(a) => Some(a.iter().filter_map(parse).collect()),
        Value::Null => None,
        one => parse(one).map(|id| vec![id]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn a_zlib_stream_message_ends_in_a_sync_flush_and_inflates_in_order() {
        let mut z = Compress::new(Compression::default(), true);
        let a = deflate(&mut z, br#"{"op":10}"#);
        let b = deflate(&mut z, "x".repeat(10_000).as_bytes());
        assert!(a.ends_with(&[0, 0, 0xff, 0xff]) && b.ends_with(&[0, 0, 0xff, 0xff]));
        let mut d = flate2::Decompress::new(true);
        let mut out = Vec::with_capacity(20_000);
        d.decompress_vec(&a, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, br#"{"op":10}"#);
        out.clear();
        d.decompress_vec(&b, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out.len(), 10_000);
    }

    #[test]
    fn a_payload_compressed_message_is_one_whole_zlib_stream() {
        let text = "y".repeat(5000);
        let mut z = Compress::new(Compression::default(), true);
        let bytes = deflate_finish(&mut z, text.as_bytes());
        let mut back = String::new();
        flate2::read::ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
    }
}
