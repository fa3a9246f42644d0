//! A listener that reads each connection's first request line before hyper does.
//!
//! hyper answers a request whose target is not a valid URI (a raw `<script>` in the path,
//! a space in the query) with a bare `400` and no body, before any of our code runs, so
//! the caller learns nothing and nothing is logged. The first request on every connection
//! (which is every request from probes, curl and scanners) is checked here instead and
//! gets the JSON error every other route gives, a trace id, a log line and a metric. A
//! later request on a kept-alive connection still meets hyper's own check: by then we no
//! longer know where a request starts without parsing HTTP ourselves.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::telemetry::metrics::Metrics;
use crate::telemetry::new_trace_id;

/// The longest first line looked at; a longer one goes to hyper, which refuses it itself.
const SNIFF_LIMIT: usize = 8 * 1024;

/// What the metrics call a request that never reached the router.
const UNPARSED_ROUTE: &str = "unparsed";

pub(crate) struct GuardedListener {
    inner: TcpListener,
    metrics: Arc<Metrics>,
}

impl GuardedListener {
    pub(crate) fn new(inner: TcpListener, metrics: Arc<Metrics>) -> Self {
        GuardedListener { inner, metrics }
    }
}

impl Listener for GuardedListener {
    type Io = Guarded<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (tcp, addr) = Listener::accept(&mut self.inner).await;
        // Responses are small; Nagle must not hold one back waiting for an ACK.
        let _ = tcp.set_nodelay(true);
        (Guarded::new(tcp, self.metrics.clone()), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// The peer address, for the allowlist (axum's `SocketAddr` impl covers only its own
/// listeners).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

enum State {
    /// Reading until the first line is complete.
    Sniffing(Vec<u8>),
    /// The line was fine: hand hyper what was read, then get out of the way.
    Replaying {
        head: Vec<u8>,
        at: usize,
    },
    Passing,
    /// The target is not a URI: write our answer, then tell hyper the peer closed.
    Rejecting {
        answer: Vec<u8>,
        at: usize,
    },
    Closed,
}

pub(crate) struct Guarded<S> {
    inner: S,
    state: State,
    metrics: Arc<Metrics>,
}

impl<S> Guarded<S> {
    fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Guarded {
            inner,
            state: State::Sniffing(Vec::new()),
            metrics,
        }
    }
}

/// A request line whose target hyper would refuse, as `(method, target)`; `None` for
/// anything else, including what is not a request line at all (hyper answers that).
fn bad_target(head: &[u8]) -> Option<(&str, &[u8])> {
    let end = head.iter().position(|&b| b == b'\n')?;
    let line = head[..end].strip_suffix(b"\r").unwrap_or(&head[..end]);
    let mut parts = line.split(|&b| b == b' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !version.starts_with(b"HTTP/") || target.is_empty() {
        return None;
    }
    let method = std::str::from_utf8(method).ok()?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    axum::http::Uri::try_from(target)
        .is_err()
        .then_some((method, target))
}

fn rejection(trace: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "error": "bad request",
        "detail": "the request target is not a valid URL; percent-encode the characters a URL may not hold, such as < and > (%3C, %3E)",
        "trace": trace,
    })
    .to_string();
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-trace-id: {trace}\r\nconnection: close\r\ndate: {}\r\n\r\n{body}",
        body.len(),
        httpdate::fmt_http_date(std::time::SystemTime::now()),
    )
    .into_bytes()
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Passing => return Pin::new(&mut this.inner).poll_read(cx, buf),
                State::Replaying { head, at } => {
                    let n = buf.remaining().min(head.len() - *at);
                    buf.put_slice(&head[*at..*at + n]);
                    *at += n;
                    if *at == head.len() {
                        this.state = State::Passing;
                    }
                    return Poll::Ready(Ok(()));
                }
                State::Sniffing(seen) => {
                    let mut chunk = [0u8; 1024];
                    let mut read = ReadBuf::new(&mut chunk);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
                    let got = read.filled();
                    let eof = got.is_empty();
                    seen.extend_from_slice(got);
                    if !eof && !seen.contains(&b'\n') && seen.len() < SNIFF_LIMIT {
                        continue;
                    }
                    let head = std::mem::take(seen);
                    this.state = match bad_target(&head) {
                        Some((method, _)) => {
                            let trace = new_trace_id();
                            this.metrics.observe_http(
                                crate::health::method_label_str(method),
                                UNPARSED_ROUTE,
                                400,
                                0.0,
                            );
                            // The target itself is not logged: it is whatever the
                            // caller typed, and may carry a secret.
                            tracing::info!(
                                trace = %trace,
                                method,
                                status = 400u16,
                                "http request refused: the request target is not a valid URL"
                            );
                            State::Rejecting {
                                answer: rejection(&trace),
                                at: 0,
                            }
                        }
                        None if head.is_empty() => State::Passing,
                        None => State::Replaying { head, at: 0 },
                    };
                }
                State::Rejecting { answer, at } => {
                    while *at < answer.len() {
                        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &answer[*at..]))?;
                        if n == 0 {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                        }
                        *at += n;
                    }
                    ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
                    // The peer may already be gone; either way hyper sees the end.
                    let _ = ready!(Pin::new(&mut this.inner).poll_shutdown(cx));
                    this.state = State::Closed;
                }
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_request_line_with_a_target_that_is_not_a_uri_is_refused() {
        assert_eq!(
            bad_target(b"GET /<script> HTTP/1.1\r\n").map(|(m, _)| m),
            Some("GET")
        );
        assert!(bad_target(b"POST /ops/jobs/a>b/run HTTP/1.1\r\nHost: x\r\n").is_some());
        assert!(bad_target(b"GET /health HTTP/1.1\r\n").is_none());
        assert!(bad_target(b"GET /ops/jobs/%3Cscript%3E/run HTTP/1.1\r\n").is_none());
        // Not a complete line, not HTTP, or not a request line: hyper decides.
        assert!(bad_target(b"GET /<script> HTTP/1.1").is_none());
        assert!(bad_target(b"\x16\x03\x01\x02\x00\x01\n").is_none());
        assert!(bad_target(b"GET /a b HTTP/1.1\r\n").is_none());
        assert!(bad_target(b"get /<x> HTTP/1.1\r\n").is_none());
    }

    #[tokio::test]
    async fn a_good_first_line_reaches_the_reader_byte_for_byte() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut client, server) = tokio::io::duplex(64);
        let metrics = Arc::new(Metrics::new("test", "test"));
        let mut guarded = Guarded::new(server, metrics);
        let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20);
        let sent = request.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let mut got = Vec::new();
        guarded.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, request);
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn a_bad_target_is_answered_in_json_and_the_reader_sees_the_end() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut client, server) = tokio::io::duplex(4096);
        let metrics = Arc::new(Metrics::new("test", "test"));
        let mut guarded = Guarded::new(server, metrics);
        client
            .write_all(b"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut seen_by_hyper = Vec::new();
        guarded.read_to_end(&mut seen_by_hyper).await.unwrap();
        assert!(seen_by_hyper.is_empty());
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "bad request");
        assert!(!body.contains("<script>"), "the target is not echoed");
    }
}
