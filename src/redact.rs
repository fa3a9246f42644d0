//! Secret redaction, applied by every sink that can print: log lines (JSON and pretty),
//! command replies, `/health`, telemetry and panic messages.
//!
//! The predecessor printed its Discord token through `!cfg` and logged message content;
//! here a sink never writes a string that has not been through [`redact`]. Two layers:
//! the exact values of secrets we know about (registered from the settings at start-up),
//! and shapes of secrets we may not know about (tokens, keys, webhook URLs, `key=value`
//! pairs whose key says it is secret). Masks name the kind of secret so operators can
//! still tell what was there.

use parking_lot::RwLock;
use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Secrets shorter than this are not registered: masking every occurrence of a short
/// string would shred ordinary text, and no real credential is that short.
const MIN_KNOWN_SECRET_LEN: usize = 8;

static KNOWN_SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value (a token from the environment, say) so that any later
/// occurrence of it is masked, whatever surrounds it.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.len() < MIN_KNOWN_SECRET_LEN {
        return;
    }
    let mut known = KNOWN_SECRETS.write();
    if !known.iter().any(|k| k == value) {
        known.push(value.to_owned());
        // Longest first, so a secret that contains another is masked whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

struct Rule {
    re: Regex,
    replace: fn(&Captures<'_>) -> String,
}

fn rule(pattern: &str, replace: fn(&Captures<'_>) -> String) -> Rule {
    Rule {
        // The patterns are constants checked by the unit tests below.
        re: Regex::new(pattern).expect("redaction pattern compiles"),
        replace,
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // A service-account JSON object (flat, possibly with escaped quotes when it is
        // itself inside a JSON string).
        rule(
            r#"\{[^{}]*?\\?"(?:type\\?"\s*:\s*\\?"service_account|private_key(?:_id)?\\?"\s*:)[^{}]*\}"#,
            |_| "[redacted:service-account-json]".into(),
        ),
        // PEM private keys, with real or escaped newlines; an unterminated block is masked
        // to the end of the text rather than leaking the rest of the key.
        rule(
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
            |_| "[redacted:private-key]".into(),
        ),
        // JSON web tokens (header.payload.signature, base64url of JSON).
        rule(
            r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+",
            |_| "[redacted:jwt]".into(),
        ),
        // Discord bot tokens: base64 user id . timestamp . HMAC.
        rule(
            r"\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}\b",
            |_| "[redacted:discord-token]".into(),
        ),
        // Discord webhook URLs: the id may stay (it identifies the hook), the token goes.
        rule(
            r"(?i)(https?://(?:[a-z0-9-]+\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/)[A-Za-z0-9._-]+",
            |c| format!("{}[redacted]", &c[1]),
        ),
        // Google OAuth access tokens and API keys.
        rule(r"\bya29\.[A-Za-z0-9._-]+", |_| {
            "[redacted:oauth-token]".into()
        }),
        rule(r"\bAIza[0-9A-Za-z_-]{35}\b", |_| {
            "[redacted:google-api-key]".into()
        }),
        // HTTP bearer credentials.
        rule(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}", |c| {
            format!("{} [redacted]", &c[1])
        }),
        // JSON members whose name says secret: "client_secret": "…".
        rule(
            r#"("(?P<name>[A-Za-z][\w.-]*)"\s*:\s*)(?P<value>"(?:[^"\\]|\\.)*"|[^\s,}\]]+)"#,
            |c| {
                if is_sensitive_key(&c["name"]) && c["value"] != *"null" {
                    format!("{}\"[redacted]\"", &c[1])
                } else {
                    c[0].to_owned()
                }
            },
        ),
        // key=value / key: value pairs in text, URLs and env dumps.
        rule(
            r#"\b(?P<name>[A-Za-z][\w.-]*)(?P<sep>\s*[=:]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;&"')\]}]+)"#,
            |c| {
                if is_sensitive_key(&c["name"]) && !c["value"].starts_with("[redacted") {
                    format!("{}{}[redacted]", &c["name"], &c["sep"])
                } else {
                    c[0].to_owned()
                }
            },
        ),
        // Long opaque blobs (base64 of a key file, say) have no business in a log line.
        rule(r"[A-Za-z0-9+/_-]{160,}={0,2}", |_| "[redacted:blob]".into()),
    ]
});

/// Whether a field or key name says its value is a secret (DESIGN §4: keys containing
/// TOKEN, SECRET, CREDENTIAL or KEY).
pub(crate) fn is_sensitive_key(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const WORDS: [&str; 6] = [
        "TOKEN",
        "SECRET",
        "CREDENTIAL",
        "PASSWORD",
        "PASSWD",
        "AUTHORIZATION",
    ];
    if WORDS.iter().any(|w| upper.contains(w)) {
        return true;
    }
    // "KEY" as a word part of a compound name (API_KEY, private-key, apikey), but not
    // inside ordinary words ("keys", "monkey"), and not a bare "key", which in logs and
    // tables names a map key (a setting's name), not a credential.
    let parts: Vec<&str> = upper.split(['_', '-', '.']).collect();
    parts
        .iter()
        .any(|part| (*part == "KEY" && parts.len() > 1) || KEY_COMPOUNDS.contains(part))
}

const KEY_COMPOUNDS: [&str; 5] = [
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
    "SECRETKEY",
    "SIGNINGKEY",
];

/// Masks every secret in `input`. Returns the input unchanged (borrowed) when nothing
/// needed masking, which is the common case on the logging hot path.
pub(crate) fn redact(input: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(input);
    {
        let known = KNOWN_SECRETS.read();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), "[redacted]"));
            }
        }
    }
    for rule in RULES.iter() {
        if let Cow::Owned(replaced) = rule
            .re
            .replace_all(&out, |c: &Captures<'_>| (rule.replace)(c))
            && replaced != *out
        {
            out = Cow::Owned(replaced);
        }
    }
    out
}

/// Redacts every string inside a JSON value, keys' values included; used for `/health`
/// bodies and telemetry events, which are built from many sources.
pub(crate) fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive_key(k) && !v.is_null() && !v.is_boolean() {
                    *v = Value::String("[redacted]".into());
                } else {
                    redact_json(v);
                }
            }
        }
        _ => {}
    }
}

/// How a secret setting is shown to people: whether it is set, never what it is.
pub(crate) fn mask_secret(value: &str) -> String {
    if value.is_empty() {
        "(empty)".into()
    } else {
        format!("[redacted: {} chars]", value.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real-shaped, never real: built from the documented formats.
    const BOT_TOKEN: &str =
        "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhR2xk.pQ7vZ8yT3uW1sX4rA9bC6dE0fG2hJ5kL8mN1oP";

    fn assert_masked(input: &str, secret: &str) {
        let out = redact(input);
        assert!(!out.contains(secret), "secret survived: {out}");
        assert!(out.contains("[redacted"), "no mask marker in: {out}");
    }

    #[test]
    fn discord_bot_token_in_prose_is_masked() {
        let line = format!("connecting with token {BOT_TOKEN} now");
        assert_masked(&line, BOT_TOKEN);
        assert!(redact(&line).starts_with("connecting with token [redacted"));
        assert!(redact(&line).ends_with(" now"));
    }

    #[test]
    fn discord_token_as_bot_authorization_header_is_masked() {
        let line = format!("authorization: Bot {BOT_TOKEN}");
        assert_masked(&line, BOT_TOKEN);
        // No part of the HMAC survives either.
        assert!(!redact(&line).contains("pQ7vZ8yT3uW1sX4rA9bC6dE0fG2hJ5kL8mN1oP"));
    }

    #[test]
    fn service_account_json_is_masked_whole() {
        let sa = r#"{"type": "service_account", "project_id": "clans-123", "private_key_id": "0123456789abcdef0123456789abcdef01234567", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n", "client_email": "bot@clans-123.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}"#;
        let text = format!("loaded credentials {sa} ok");
        let out = redact(&text);
        assert_eq!(out, "loaded credentials [redacted:service-account-json] ok");
    }

    #[test]
    fn service_account_json_escaped_inside_json_is_masked() {
        let nested = r#"{"value":"{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"}"}"#;
        let out = redact(nested);
        assert!(!out.contains("MIIE"), "{out}");
        assert!(!out.contains("service_account\\\""), "{out}");
    }

    #[test]
    fn pem_private_key_with_real_newlines_is_masked() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----";
        let text = format!("key:\n{pem}\ntrailing");
        let out = redact(&text);
        assert!(!out.contains("MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"));
        assert!(out.contains("[redacted:private-key]"));
        assert!(out.ends_with("\ntrailing"));
    }

    #[test]
    fn unterminated_pem_is_masked_to_the_end() {
        let out = redact("oops -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
        assert_eq!(out, "oops [redacted:private-key]");
    }

    #[test]
    fn webhook_url_keeps_id_and_drops_token() {
        let url = "https://discord.com/api/webhooks/1234567890123456789/AbCdEf-GhIjKl_MnOpQrStUvWxYz0123456789abcdefghijklmnopqrstuvwxyzABCD";
        let text = format!("posting to {url}");
        let out = redact(&text);
        assert_eq!(
            out,
            "posting to https://discord.com/api/webhooks/1234567890123456789/[redacted]"
        );
        let legacy = "https://canary.discordapp.com/api/v10/webhooks/42/secret-token_value";
        assert!(!redact(legacy).contains("secret-token_value"));
    }

    #[test]
    fn key_value_secrets_are_masked_and_other_pairs_kept() {
        let out = redact(
            "OPS_API_TOKEN=s3cr3t-value-123 PORT=10000 client_secret: abc123 api-key=xyz bucket=clans keys=12",
        );
        assert_eq!(
            out,
            "OPS_API_TOKEN=[redacted] PORT=10000 client_secret: [redacted] api-key=[redacted] bucket=clans keys=12"
        );
    }

    #[test]
    fn quoted_and_query_string_secrets_are_masked() {
        assert_eq!(
            redact(r#"password="hunter2 hunter3""#),
            "password=[redacted]"
        );
        assert_eq!(
            redact("GET /cb?code=1&access_token=abcdef&state=x"),
            "GET /cb?code=1&access_token=[redacted]&state=x"
        );
    }

    #[test]
    fn json_members_with_secret_names_are_masked() {
        let out = redact(
            r#"{"access_token":"ya29.a0AfH6SMBx","expires_in":3599,"refresh_token":"1//0gAbc"}"#,
        );
        assert!(!out.contains("a0AfH6SMBx"), "{out}");
        assert!(!out.contains("1//0gAbc"), "{out}");
        assert!(out.contains(r#""expires_in":3599"#), "{out}");
    }

    #[test]
    fn google_tokens_and_bearer_headers_are_masked() {
        assert_eq!(
            redact("tok ya29.A0ARrdaM-abc_def"),
            "tok [redacted:oauth-token]"
        );
        assert_eq!(
            redact("k AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY end"),
            "k [redacted:google-api-key] end"
        );
        let header = redact("Authorization: Bearer 0123456789abcdef");
        assert!(header.starts_with("Authorization: [redacted]"), "{header}");
        assert!(!header.contains("0123456789abcdef"), "{header}");
        assert_eq!(
            redact("sent Bearer 0123456789abcdef"),
            "sent Bearer [redacted]"
        );
    }

    #[test]
    fn registered_secrets_are_masked_in_any_shape() {
        register_secret("plain-but-registered-secret-9f8e7d");
        let out = redact("x:plain-but-registered-secret-9f8e7d:y");
        assert_eq!(out, "x:[redacted]:y");
        // Too short to register safely.
        register_secret("abc");
        assert_eq!(redact("abc"), "abc");
    }

    #[test]
    fn long_base64_blobs_are_masked() {
        let blob = "eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0".repeat(6);
        assert_eq!(redact(&format!("creds {blob}")), "creds [redacted:blob]");
    }

    #[test]
    fn ordinary_text_is_borrowed_untouched() {
        let text = "refresh bucket=clans result=ok retries=2 ms=41";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
        let ids = "guild 1234567890123456789 channel 2345678901234567890";
        assert_eq!(redact(ids), ids);
    }

    #[test]
    fn redact_json_masks_secret_members_and_nested_strings() {
        let mut v = serde_json::json!({
            "discord_token": "anything",
            "nested": {"error": format!("401 with token {BOT_TOKEN}")},
            "list": ["ok", "Bearer abcdefghijkl"],
            "has_token": true
        });
        redact_json(&mut v);
        assert_eq!(v["discord_token"], "[redacted]");
        assert!(!v["nested"]["error"].as_str().unwrap().contains(BOT_TOKEN));
        assert_eq!(v["list"][1], "Bearer [redacted]");
        assert_eq!(v["has_token"], true);
    }

    #[test]
    fn sensitive_key_names() {
        for k in [
            "DISCORD_TOKEN",
            "client_secret",
            "GOOGLE_SERVICE_ACCOUNT_CREDENTIALS",
            "api_key",
            "private-key",
            "APIKEY",
            "signing.key",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in ["PORT", "keys", "monkey", "bucket", "GUILD_IDS", "key"] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }
}
