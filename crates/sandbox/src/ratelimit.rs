//! Discord's HTTP rate limits (<https://discord.com/developers/docs/topics/rate-limits>):
//! per-route buckets keyed by route and major parameter (channel, guild, webhook), the
//! global limit of 50 requests a second (interaction endpoints are exempt), the
//! `X-RateLimit-*` headers on every answer, and 429s shaped as Discord's (`retry_after`
//! in the body, `Retry-After` in whole seconds, `X-RateLimit-Scope`, `X-RateLimit-Global`).
//!
//! The limits Discord is known to apply to what the bot does are modelled with their real
//! numbers: message create and edit 5 per 5 s per channel, message delete 5 per second,
//! a channel's name or topic 2 changes per 10 minutes, reactions 1 per 250 ms per channel.
//! Discord publishes no figures for other routes; they get a 50-a-second bucket so their
//! headers are real without inventing a tighter limit. The windows run on real time, as
//! the client's limiter does.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;
use serde_json::Value;

/// The global limit: requests per second per bot token.
const GLOBAL_PER_SECOND: u32 = 50;

/// One kind of bucket: how many requests per window, and the hash Discord reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    name: &'static str,
    limit: u32,
    window: Duration,
}

impl Rule {
    const fn new(name: &'static str, limit: u32, window: Duration) -> Self {
        Self {
            name,
            limit,
            window,
        }
    }
}

const CREATE_MESSAGE: Rule = Rule::new("channel-message-create", 5, Duration::from_secs(5));
const EDIT_MESSAGE: Rule = Rule::new("channel-message-edit", 5, Duration::from_secs(5));
const DELETE_MESSAGE: Rule = Rule::new("channel-message-delete", 5, Duration::from_secs(1));
const RENAME_CHANNEL: Rule = Rule::new("channel-name-topic", 2, Duration::from_secs(600));
const REACTION: Rule = Rule::new("channel-message-reaction", 1, Duration::from_millis(250));
const OTHER: Rule = Rule::new("route", 50, Duration::from_secs(1));

/// A request as the limiter sees it: its bucket, and whether the global limit applies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Classified {
    rule: Rule,
    /// The route template, for per-route buckets of the default rule.
    route: String,
    /// The major parameter's value (a channel, guild or webhook id).
    major: String,
    global: bool,
}

/// Sorts a REST request into its bucket. `path` starts with `/api/v10/`.
fn classify(method: &str, path: &str, body: &Value) -> Classified {
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v10/")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let major = match parts.as_slice() {
        ["channels" | "guilds" | "webhooks", id, ..] => (*id).to_owned(),
        _ => String::new(),
    };
    let interaction = matches!(
        parts.as_slice(),
        ["interactions", ..] | ["webhooks", _, _, ..]
    );
    let template: Vec<&str> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let after_reactions = i > 0 && parts[i - 1] == "reactions";
            if p.chars().all(|c| c.is_ascii_digit()) || after_reactions {
                "{id}"
            } else if i == 2 && (parts[0] == "webhooks" || parts[0] == "interactions") {
                "{token}"
            } else {
                p
            }
        })
        .collect();
    let route = format!("{method} /{}", template.join("/"));
    let renames = body.get("name").is_some() || body.get("topic").is_some();
    let rule = match (method, template.as_slice()) {
        ("POST", ["channels", "{id}", "messages"]) => CREATE_MESSAGE,
        ("PATCH", ["channels", "{id}", "messages", "{id}"]) => EDIT_MESSAGE,
        ("DELETE", ["channels", "{id}", "messages", "{id}"]) => DELETE_MESSAGE,
        ("PATCH", ["channels", "{id}"]) if renames => RENAME_CHANNEL,
        ("PUT" | "DELETE", ["channels", "{id}", "messages", "{id}", "reactions", ..]) => REACTION,
        _ => OTHER,
    };
    Classified {
        rule,
        route,
        major,
        global: !interaction,
    }
}

#[derive(Debug)]
struct Window {
    started: Instant,
    count: u32,
}

impl Window {
    /// The window that holds `now`, restarted once `length` has passed.
    fn at(&mut self, now: Instant, length: Duration) {
        if now.duration_since(self.started) >= length {
            self.started = now;
            self.count = 0;
        }
    }

    fn reset_after(&self, now: Instant, length: Duration) -> Duration {
        (self.started + length).saturating_duration_since(now)
    }
}

/// The limiter's decision for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Go ahead; the answer carries these headers.
    Allowed(RateHeaders),
    /// 429, for this long.
    Limited {
        headers: Option<RateHeaders>,
        retry_after: Duration,
        global: bool,
    },
}

/// The bucket state a response reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateHeaders {
    limit: u32,
    remaining: u32,
    reset_after: Duration,
    bucket: String,
}

/// Seconds with three decimals, rounded up so a client that waits this long is never
/// early.
fn secs(d: Duration) -> String {
    let ms = d.as_micros().div_ceil(1000);
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl RateHeaders {
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let reset_at = SystemTime::now() + self.reset_after;
        let epoch = reset_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        for (k, v) in [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", secs(epoch)),
            ("x-ratelimit-reset-after", secs(self.reset_after)),
            ("x-ratelimit-bucket", self.bucket.clone()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(k, v);
            }
        }
    }
}

impl Verdict {
    /// The 429 answer: Discord's body, `Retry-After` in whole seconds (rounded up), the
    /// scope, and the bucket headers.
    pub(crate) fn too_many_requests(
        headers: Option<&RateHeaders>,
        retry_after: Duration,
        global: bool,
    ) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let ms = retry_after.as_micros().div_ceil(1000) as f64 / 1000.0;
        // `code` 0: Discord's spec lists it as required on a 429 (RatelimitedResponse).
        let body = serde_json::json!({
            "message": "You are being rate limited.",
            "code": 0,
            "retry_after": ms,
            "global": global,
        });
        let mut resp =
            (axum::http::StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        if let Some(rh) = headers {
            rh.apply(h);
        }
        let whole = retry_after.as_millis().div_ceil(1000).max(1);
        for (k, v) in [
            ("retry-after", whole.to_string()),
            (
                "x-ratelimit-scope",
                if global { "global" } else { "user" }.to_owned(),
            ),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        if global {
            h.insert("x-ratelimit-global", HeaderValue::from_static("true"));
        }
        resp
    }
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<(String, String), Window>,
    global: Option<Window>,
    limited: u64,
}

/// The limiter, shared by every request to the sandbox (one bot token).
#[derive(Debug)]
pub struct RateLimits {
    enabled: bool,
    state: Mutex<State>,
}

impl RateLimits {
    pub(crate) fn new(enabled: bool) -> Self {
        RateLimits {
            enabled,
            state: Mutex::new(State::default()),
        }
    }

    /// How many requests were answered 429 so far.
    pub fn limited(&self) -> u64 {
        self.state.lock().limited
    }

    /// Counts a REST request against its buckets, or refuses it.
    pub(crate) fn check(&self, method: &str, path: &str, body: &Value) -> Option<Verdict> {
        if !self.enabled || !path.starts_with("/api/") {
            return None;
        }
        let c = classify(method, path, body);
        let now = Instant::now();
        let mut s = self.state.lock();
        if c.global {
            let g = s.global.get_or_insert(Window {
                started: now,
                count: 0,
            });
            g.at(now, Duration::from_secs(1));
            if g.count >= GLOBAL_PER_SECOND {
                let retry_after = g.reset_after(now, Duration::from_secs(1));
                s.limited += 1;
                return Some(Verdict::Limited {
                    headers: None,
                    retry_after,
                    global: true,
                });
            }
            g.count += 1;
        }
        // Buckets of the default rule are per route; the named ones are shared by the
        // routes they cover (a reaction added or removed).
        let key = if c.rule == OTHER {
            c.route.clone()
        } else {
            c.rule.name.to_owned()
        };
        let w = s
            .buckets
            .entry((key.clone(), c.major.clone()))
            .or_insert(Window {
                started: now,
                count: 0,
            });
        w.at(now, c.rule.window);
        let reset_after = w.reset_after(now, c.rule.window);
        let bucket = format!("{:016x}", fnv(&key));
        if w.count >= c.rule.limit {
            let headers = RateHeaders {
                limit: c.rule.limit,
                remaining: 0,
                reset_after,
                bucket,
            };
            s.limited += 1;
            return Some(Verdict::Limited {
                headers: Some(headers),
                retry_after: reset_after,
                global: false,
            });
        }
        w.count += 1;
        let remaining = c.rule.limit - w.count;
        Some(Verdict::Allowed(RateHeaders {
            limit: c.rule.limit,
            remaining,
            reset_after,
            bucket,
        }))
    }
}

/// A stable bucket id per route (Discord's are opaque hashes, the same for every major
/// parameter of a route).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_fall_into_discords_buckets_by_major_parameter() {
        let c = classify("POST", "/api/v10/channels/11/messages", &json!({}));
        assert_eq!(
            (c.rule, c.major.as_str(), c.global),
            (CREATE_MESSAGE, "11", true)
        );
        let c = classify("PATCH", "/api/v10/channels/11", &json!({"name": "x"}));
        assert_eq!(c.rule, RENAME_CHANNEL);
        let c = classify("PATCH", "/api/v10/channels/11", &json!({"archived": true}));
        assert_eq!(c.rule, OTHER, "archiving is not a rename");
        let c = classify(
            "PUT",
            "/api/v10/channels/11/messages/12/reactions/%F0%9F%8E%AB/@me",
            &json!({}),
        );
        assert_eq!(c.rule, REACTION);
        let c = classify("POST", "/api/v10/interactions/5/tok/callback", &json!({}));
        assert!(
            !c.global,
            "interaction endpoints are not bound to the global limit"
        );
        let c = classify("GET", "/api/v10/guilds/7/members/8", &json!({}));
        assert_eq!(
            (c.route.as_str(), c.major.as_str()),
            ("GET /guilds/{id}/members/{id}", "7")
        );
    }

    #[test]
    fn the_sixth_message_in_five_seconds_is_refused_and_other_channels_are_not() {
        let r = RateLimits::new(true);
        let post = |ch: u64| {
            r.check(
                "POST",
                &format!("/api/v10/channels/{ch}/messages"),
                &json!({}),
            )
        };
        for left in (0..5).rev() {
            match post(1) {
                Some(Verdict::Allowed(h)) => assert_eq!(h.remaining, left),
                other => panic!("{other:?}"),
            }
        }
        match post(1) {
            Some(Verdict::Limited {
                retry_after,
                global,
                ..
            }) => {
                assert!(!global);
                assert!(retry_after <= Duration::from_secs(5));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(post(2), Some(Verdict::Allowed(_))));
        assert_eq!(r.limited(), 1);
        assert!(
            RateLimits::new(false)
                .check("POST", "/api/v10/channels/1/messages", &json!({}))
                .is_none()
        );
    }

    #[test]
    fn the_global_limit_is_fifty_a_second_across_routes() {
        let r = RateLimits::new(true);
        for i in 0..50 {
            let v = r.check("GET", &format!("/api/v10/users/{i}"), &json!({}));
            assert!(matches!(v, Some(Verdict::Allowed(_))), "{i}: {v:?}");
        }
        let v = r.check("GET", "/api/v10/channels/9", &json!({}));
        assert!(
            matches!(v, Some(Verdict::Limited { global: true, .. })),
            "{v:?}"
        );
        let v = r.check("POST", "/api/v10/interactions/1/t/callback", &json!({}));
        assert!(
            matches!(v, Some(Verdict::Allowed(_))),
            "interactions are exempt: {v:?}"
        );
    }

    #[test]
    fn reset_after_rounds_up_to_the_millisecond() {
        assert_eq!(secs(Duration::from_micros(1_000_001)), "1.001");
        assert_eq!(secs(Duration::from_millis(250)), "0.250");
    }
}
