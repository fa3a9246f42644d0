//! Who may see details: a bearer token (`OPS_API_TOKEN`) or a client address inside
//! `HEALTH_ALLOWLIST`.
//!
//! The client address is the socket peer, unless `TRUSTED_PROXY_HOPS` = N > 0: then it
//! is the N-th `X-Forwarded-For` entry counted from the right, i.e. the one written by
//! the outermost proxy we trust. Entries further left were written by the client and can
//! say anything, so a spoofed header cannot unlock details: on Render (one proxy, N = 1)
//! a request with `X-Forwarded-For: 10.0.0.1` arrives as `10.0.0.1, <real address>` and
//! only the real address is checked. With N = 0 (the default) the header is ignored.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;
use subtle::ConstantTimeEq as _;

use crate::settings::Secret;

#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    pub token: Option<Secret>,
    pub allowlist: Vec<IpNet>,
    pub trusted_hops: usize,
}

/// Why a request was let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Token,
    Allowlist,
}

/// Parses one forwarded address: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:443`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = e.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    e.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|s| s.parse().ok())
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are matched as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

impl AccessPolicy {
    /// The address the allowlist is checked against (see the module docs).
    pub fn client_ip(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer_ip = peer.map(|p| canonical(p.ip()));
        if self.trusted_hops == 0 {
            return peer_ip;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if entries.len() < self.trusted_hops {
            // Not (fully) through our proxies: only the socket peer is known for sure.
            return peer_ip;
        }
        // An unparsable entry from a trusted proxy is treated as unknown, never as a
        // reason to look further left.
        parse_forwarded(entries[entries.len() - self.trusted_hops]).map(canonical)
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowlist.iter().any(|net| net.contains(&ip))
    }

    /// Checks `Authorization: Bearer <OPS_API_TOKEN>` in constant time.
    pub fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.token else {
            return false;
        };
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, presented)) = value.trim().split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("bearer")
            && bool::from(
                presented
                    .trim()
                    .as_bytes()
                    .ct_eq(expected.expose().as_bytes()),
            )
    }

    /// Token first, then the allowlist.
    pub fn authorize(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<Grant> {
        if self.bearer_ok(headers) {
            return Some(Grant::Token);
        }
        self.client_ip(peer, headers)
            .filter(|ip| self.allows_ip(*ip))
            .map(|_| Grant::Allowlist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_ip_or_cidr;

    fn policy(list: &[&str], hops: usize) -> AccessPolicy {
        AccessPolicy {
            token: Some(Secret::new("0123456789abcdef-ops")),
            allowlist: list.iter().map(|s| parse_ip_or_cidr(s).unwrap()).collect(),
            trusted_hops: hops,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn ipv4_cidr_matching() {
        let p = policy(&["10.0.0.0/8", "192.168.1.7"], 0);
        assert!(p.allows_ip("10.255.3.4".parse().unwrap()));
        assert!(p.allows_ip("192.168.1.7".parse().unwrap()));
        assert!(!p.allows_ip("192.168.1.8".parse().unwrap()));
        assert!(!p.allows_ip("11.0.0.1".parse().unwrap()));
        // IPv4-mapped IPv6 is the same host.
        assert!(p.allows_ip("::ffff:10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn ipv6_cidr_matching() {
        let p = policy(&["2001:db8:abcd::/48", "::1"], 0);
        assert!(p.allows_ip("2001:db8:abcd:12::1".parse().unwrap()));
        assert!(!p.allows_ip("2001:db8:abce::1".parse().unwrap()));
        assert!(p.allows_ip("::1".parse().unwrap()));
        assert!(!p.allows_ip("::2".parse().unwrap()));
        assert!(!p.allows_ip("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn forwarded_header_is_ignored_without_trusted_hops() {
        let p = policy(&["10.0.0.0/8"], 0);
        let h = headers(&[("x-forwarded-for", "10.0.0.1")]);
        assert_eq!(
            p.client_ip(peer("203.0.113.9:5000"), &h),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(p.authorize(peer("203.0.113.9:5000"), &h), None);
    }

    #[test]
    fn spoofed_left_entries_do_not_unlock_with_one_trusted_hop() {
        let p = policy(&["10.0.0.0/8"], 1);
        // The client claimed 10.0.0.1; Render's proxy appended the real address.
        let h = headers(&[("x-forwarded-for", "10.0.0.1, 203.0.113.9")]);
        assert_eq!(
            p.client_ip(peer("10.200.0.5:1234"), &h),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(p.authorize(peer("10.200.0.5:1234"), &h), None);
        // A genuinely allowlisted client, as written by the proxy.
        let h = headers(&[("x-forwarded-for", "198.51.100.1, 10.4.4.4")]);
        assert_eq!(
            p.authorize(peer("10.200.0.5:1234"), &h),
            Some(Grant::Allowlist)
        );
    }

    #[test]
    fn forwarded_entries_across_several_headers_and_with_ports() {
        let p = policy(&["2001:db8::/32"], 2);
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "[2001:db8::7]:443, 10.0.0.2"),
        ]);
        assert_eq!(
            p.client_ip(peer("10.0.0.3:1"), &h),
            Some("2001:db8::7".parse().unwrap())
        );
        // Fewer entries than trusted hops: fall back to the peer.
        let h = headers(&[("x-forwarded-for", "2001:db8::1")]);
        assert_eq!(
            p.client_ip(peer("10.0.0.3:1"), &h),
            Some("10.0.0.3".parse().unwrap())
        );
        // Garbage where the trusted proxy writes: unknown, not "look further left".
        let h = headers(&[("x-forwarded-for", "2001:db8::1, garbage, 10.0.0.2")]);
        assert_eq!(p.client_ip(peer("10.0.0.3:1"), &h), None);
    }

    #[test]
    fn bearer_token_is_checked_exactly() {
        let p = policy(&[], 0);
        assert!(p.bearer_ok(&headers(&[(
            "authorization",
            "Bearer 0123456789abcdef-ops"
        )])));
        assert!(p.bearer_ok(&headers(&[(
            "authorization",
            "bearer 0123456789abcdef-ops"
        )])));
        assert!(!p.bearer_ok(&headers(&[("authorization", "Bearer 0123456789abcdef-op")])));
        assert!(!p.bearer_ok(&headers(&[("authorization", "Basic 0123456789abcdef-ops")])));
        assert!(!p.bearer_ok(&headers(&[])));
        let no_token = AccessPolicy::default();
        assert!(!no_token.bearer_ok(&headers(&[("authorization", "Bearer ")])));
    }
}
