//! The sandbox as an HTTPS proxy for `discord.com`: a `CONNECT discord.com:443` opens a
//! tunnel in which the sandbox itself answers TLS with a certificate for discord.com
//! signed by its test CA (`keys/tls-ca.pem`), then serves its own REST API inside.
//!
//! This is how a bot runs against the sandbox on the production path: serenity's rate
//! limiter on, which always calls `https://discord.com/api/v10` and ignores a REST proxy.
//! The bot's HTTP client is given the sandbox as its HTTPS proxy and the test CA as a
//! root; nothing else changes. Any other host is refused (the sandbox is not a proxy to
//! the internet).

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::Inner;
use super::record::Channel;

/// The test CA a client must trust to use the tunnel.
pub const CA_PEM: &str = include_str!("../keys/tls-ca.pem");
const CERT_PEM: &str = include_str!("../keys/tls-discord.pem");
const KEY_PEM: &str = include_str!("../keys/tls-discord.key");

/// The hosts the tunnel serves.
const HOSTS: [&str; 1] = ["discord.com"];

/// The TLS side of the tunnel, built once from the committed certificate.
pub(crate) fn acceptor() -> Result<TlsAcceptor, String> {
    let certs = CertificateDer::pem_slice_iter(CERT_PEM.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the tunnel certificate does not parse: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM.as_bytes())
        .map_err(|e| format!("the tunnel key does not parse: {e}"))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("the tunnel certificate and key do not match: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Answers a `CONNECT`: 200 and a TLS session to the sandbox's own API for discord.com;
/// 502 for any other host.
pub(crate) async fn connect(inner: Arc<Inner>, mut req: Request) -> Response {
    let target = req
        .uri()
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let host = target.split(':').next().unwrap_or("");
    let (Some(app), Some(tls)) = (inner.app.get().cloned(), inner.tls.clone()) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "the sandbox is starting").into_response();
    };
    if !HOSTS.contains(&host) {
        inner
            .record
            .push(Channel::Rest, "CONNECT", &target, Some(502), Value::Null);
        return (
            StatusCode::BAD_GATEWAY,
            format!("the clanhall sandbox tunnels only to {}", HOSTS.join(", ")),
        )
            .into_response();
    }
    inner
        .record
        .push(Channel::Rest, "CONNECT", &target, Some(200), Value::Null);
    let upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let Ok(stream) = tls.accept(TokioIo::new(upgraded)).await else {
            return;
        };
        serve(app, stream).await;
    });
    StatusCode::OK.into_response()
}

async fn serve<S>(app: Router, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await;
}
