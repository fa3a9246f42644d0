//! Discord's message limits (<https://discord.com/developers/docs/resources/message#create-message>,
//! <https://discord.com/developers/docs/resources/message#embed-object-embed-limits>,
//! <https://discord.com/developers/docs/components/reference>), enforced so an overflow
//! fails a test instead of failing in production. Every problem in a body is reported at
//! once, by field path, as Discord does.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::errors::{FieldError, error, invalid_form};

const CONTENT_MAX: usize = 2000;
const EMBEDS_MAX: usize = 10;
const EMBED_TOTAL_MAX: usize = 6000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELDS_MAX: usize = 25;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FOOTER_MAX: usize = 2048;
const AUTHOR_MAX: usize = 256;
const ROWS_MAX: usize = 5;
const ROW_WIDTH_MAX: usize = 5;
const CUSTOM_ID_MAX: usize = 100;
const BUTTON_LABEL_MAX: usize = 80;
const SELECT_OPTIONS_MAX: usize = 25;
const OPTION_TEXT_MAX: usize = 100;
const PLACEHOLDER_MAX: usize = 150;

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// The field errors of a message body (create, edit, interaction response data).
pub(crate) fn message_problems(body: &Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    let content = chars(&body["content"]);
    if content > CONTENT_MAX {
        out.push(FieldError::max_length("content", CONTENT_MAX));
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > EMBEDS_MAX {
        out.push(FieldError::max_length("embeds", EMBEDS_MAX));
    }
    let mut total = 0usize;
    for (i, e) in embeds.iter().enumerate() {
        let at = |f: &str| format!("embeds.{i}.{f}");
        for (key, max) in [("title", TITLE_MAX), ("description", DESCRIPTION_MAX)] {
            let n = chars(&e[key]);
            if n > max {
                out.push(FieldError::max_length(at(key), max));
            }
            total += n;
        }
        let footer = chars(&e["footer"]["text"]);
        if footer > FOOTER_MAX {
            out.push(FieldError::max_length(at("footer.text"), FOOTER_MAX));
        }
        let author = chars(&e["author"]["name"]);
        if author > AUTHOR_MAX {
            out.push(FieldError::max_length(at("author.name"), AUTHOR_MAX));
        }
        total += footer + author;
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > FIELDS_MAX {
            out.push(FieldError::max_length(at("fields"), FIELDS_MAX));
        }
        for (j, f) in fields.iter().enumerate() {
            let (name, value) = (chars(&f["name"]), chars(&f["value"]));
            for (key, n, max) in [
                ("name", name, FIELD_NAME_MAX),
                ("value", value, FIELD_VALUE_MAX),
            ] {
                let path = at(&format!("fields.{j}.{key}"));
                if n == 0 {
                    out.push(FieldError::required(path));
                } else if n > max {
                    out.push(FieldError::max_length(path, max));
                }
            }
            total += name + value;
        }
    }
    if total > EMBED_TOTAL_MAX {
        out.push(FieldError::new(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            format!("Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"),
        ));
    }
    let rows = body["components"].as_array().cloned().unwrap_or_default();
    if rows.len() > ROWS_MAX {
        out.push(FieldError::max_length("components", ROWS_MAX));
    }
    for (i, row) in rows.iter().enumerate() {
        let items = row["components"].as_array().cloned().unwrap_or_default();
        if items.is_empty() || items.len() > ROW_WIDTH_MAX {
            out.push(FieldError::bad_length(
                format!("components.{i}.components"),
                1,
                ROW_WIDTH_MAX,
            ));
        }
        for (j, c) in items.iter().enumerate() {
            // Link buttons (style 5) carry a url instead of a custom_id.
            let link = c["type"] == 2 && c["style"] == 5;
            let n = chars(&c["custom_id"]);
            let path = format!("components.{i}.components.{j}.custom_id");
            if !link && n == 0 {
                out.push(FieldError::required(path));
            } else if n > CUSTOM_ID_MAX {
                out.push(FieldError::max_length(path, CUSTOM_ID_MAX));
            }
            let at = |f: &str| format!("components.{i}.components.{j}.{f}");
            if c["type"] == 2 && chars(&c["label"]) > BUTTON_LABEL_MAX {
                out.push(FieldError::max_length(at("label"), BUTTON_LABEL_MAX));
            }
            if c["type"] == 3 {
                // A select menu fills its row; 1-25 options; max_values within them.
                if items.len() > 1 {
                    out.push(FieldError::bad_length(
                        format!("components.{i}.components"),
                        1,
                        1,
                    ));
                }
                let options = c["options"].as_array().cloned().unwrap_or_default();
                if options.is_empty() || options.len() > SELECT_OPTIONS_MAX {
                    out.push(FieldError::bad_length(at("options"), 1, SELECT_OPTIONS_MAX));
                }
                let max = c["max_values"].as_u64().unwrap_or(1) as usize;
                let min = c["min_values"].as_u64().unwrap_or(1) as usize;
                if max == 0 || max > SELECT_OPTIONS_MAX || max > options.len().max(1) {
                    out.push(FieldError::new(
                        at("max_values"),
                        "BASE_TYPE_BAD_INT",
                        format!(
                            "max_values must be between 1 and the {} options",
                            options.len()
                        ),
                    ));
                }
                if min > max {
                    out.push(FieldError::new(
                        at("min_values"),
                        "BASE_TYPE_BAD_INT",
                        "min_values is above max_values",
                    ));
                }
                if chars(&c["placeholder"]) > PLACEHOLDER_MAX {
                    out.push(FieldError::max_length(at("placeholder"), PLACEHOLDER_MAX));
                }
                for (k, o) in options.iter().enumerate() {
                    for key in ["label", "value"] {
                        let n = chars(&o[key]);
                        let path = at(&format!("options.{k}.{key}"));
                        if n == 0 {
                            out.push(FieldError::required(path));
                        } else if n > OPTION_TEXT_MAX {
                            out.push(FieldError::max_length(path, OPTION_TEXT_MAX));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Validates a message body; `require_something` for creates, where an empty message is
/// refused (50006).
pub(crate) fn validate_message(body: &Value, require_something: bool) -> Result<(), Response> {
    let problems = message_problems(body);
    if !problems.is_empty() {
        return Err(invalid_form(problems));
    }
    let has = |k: &str| body[k].as_array().is_some_and(|a| !a.is_empty());
    let empty = chars(&body["content"]) == 0
        && !has("embeds")
        && !has("components")
        && !has("sticker_ids")
        && body.get("poll").is_none_or(Value::is_null);
    if require_something && empty {
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

    fn paths(body: Value) -> Vec<String> {
        message_problems(&body)
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn message_limits_are_enforced_by_field_path() {
        assert!(validate_message(&json!({"content": "hi"}), true).is_ok());
        assert!(validate_message(&json!({}), true).is_err());
        assert!(validate_message(&json!({}), false).is_ok());
        assert_eq!(paths(json!({"content": "x".repeat(2001)})), ["content"]);
        let big_field = json!({"name": "n", "value": "v".repeat(1025)});
        assert_eq!(
            paths(json!({"embeds": [{"fields": [big_field]}]})),
            ["embeds.0.fields.0.value"]
        );
        let many = json!({"embeds": (0..3).map(|_| json!({"description": "d".repeat(2500)})).collect::<Vec<_>>()});
        assert_eq!(
            paths(many),
            ["embeds"],
            "7,500 embed characters is over 6,000"
        );
        let rows = json!({"components": (0..6).map(|_| json!({"type": 1, "components": [{"type": 2, "custom_id": "a"}]})).collect::<Vec<_>>()});
        assert_eq!(paths(rows), ["components"]);
        let empty_row = json!({"components": [{"type": 1, "components": []}]});
        assert_eq!(paths(empty_row), ["components.0.components"]);
        let no_id = json!({"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "x"}]}]});
        assert_eq!(paths(no_id), ["components.0.components.0.custom_id"]);
        let link = json!({"components": [{"type": 1, "components": [{"type": 2, "style": 5, "label": "x", "url": "https://example.com"}]}]});
        assert!(paths(link).is_empty());
        let both = json!({"content": "x".repeat(2001), "embeds": [{"title": "t".repeat(300)}]});
        assert_eq!(
            paths(both),
            ["content", "embeds.0.title"],
            "every problem at once"
        );
    }
}
