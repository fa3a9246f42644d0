//! Discord's message limits; the sandbox enforces them so an overflow fails a test
//! instead of failing in production.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{error, invalid_form};

/// Discord's message limits; the sandbox enforces them so an overflow fails a test
/// instead of failing in production.
pub(super) fn validate_message(body: &Value, require_something: bool) -> Result<(), Response> {
    let len = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    let content = len(&body["content"]);
    if content > 2000 {
        return Err(invalid_form(&format!(
            "content: must be 2000 or fewer in length (got {content})"
        )));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Err(invalid_form(&format!(
            "embeds: must be 10 or fewer in length (got {})",
            embeds.len()
        )));
    }
    let mut total = 0usize;
    for (i, e) in embeds.iter().enumerate() {
        let (title, desc) = (len(&e["title"]), len(&e["description"]));
        if title > 256 {
            return Err(invalid_form(&format!(
                "embeds.{i}.title: must be 256 or fewer in length"
            )));
        }
        if desc > 4096 {
            return Err(invalid_form(&format!(
                "embeds.{i}.description: must be 4096 or fewer in length (got {desc})"
            )));
        }
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            return Err(invalid_form(&format!(
                "embeds.{i}.fields: must be 25 or fewer in length"
            )));
        }
        total += title + desc + len(&e["footer"]["text"]) + len(&e["author"]["name"]);
        for (j, f) in fields.iter().enumerate() {
            let (n, v) = (len(&f["name"]), len(&f["value"]));
            if n == 0 || v == 0 {
                return Err(invalid_form(&format!(
                    "embeds.{i}.fields.{j}: name and value are required"
                )));
            }
            if n > 256 || v > 1024 {
                return Err(invalid_form(&format!(
                    "embeds.{i}.fields.{j}: name must be 256 and value 1024 or fewer in length"
                )));
            }
            total += n + v;
        }
    }
    if total > 6000 {
        return Err(invalid_form(&format!(
            "embeds: the total size of all embeds must be 6000 or fewer characters (got {total})"
        )));
    }
    let rows = body["components"].as_array().cloned().unwrap_or_default();
    if rows.len() > 5 {
        return Err(invalid_form(&format!(
            "components: must be 5 or fewer in length (got {})",
            rows.len()
        )));
    }
    for (i, row) in rows.iter().enumerate() {
        let n = row["components"].as_array().map(Vec::len).unwrap_or(0);
        if n == 0 || n > 5 {
            return Err(invalid_form(&format!(
                "components.{i}.components: must be between 1 and 5 in length (got {n})"
            )));
        }
    }
    let stickers = body["sticker_ids"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    if require_something && content == 0 && embeds.is_empty() && rows.is_empty() && !stickers {
        return Err(error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn message_limits_are_enforced() {
        assert!(validate_message(&json!({"content": "hi"}), true).is_ok());
        assert!(validate_message(&json!({}), true).is_err());
        assert!(validate_message(&json!({}), false).is_ok());
        assert!(validate_message(&json!({"content": "x".repeat(2001)}), true).is_err());
        let big_field = json!({"name": "n", "value": "v".repeat(1025)});
        assert!(validate_message(&json!({"embeds": [{"fields": [big_field]}]}), true).is_err());
        let many = json!({"embeds": (0..3).map(|_| json!({"description": "d".repeat(2500)})).collect::<Vec<_>>()});
        assert!(
            validate_message(&many, true).is_err(),
            "7,500 embed characters is over 6,000"
        );
        let rows = json!({"components": (0..6).map(|_| json!({"type": 1, "components": [{"type": 2}]})).collect::<Vec<_>>()});
        assert!(validate_message(&rows, true).is_err());
    }
}
