//! Discord's error bodies, so a client decodes them as it would Discord's
//! (<https://discord.com/developers/docs/reference#error-messages>): `{code, message}`,
//! and for an invalid body code 50035 with `errors` nested by field path, each leaf an
//! `_errors` array of `{code, message}`. serenity reads anything else as its own code -1
//! ("could not decode json"), so a wrong shape hides the reason from the bot's logs.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// `{code, message}` with a status.
pub(crate) fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message})),
    )
        .into_response()
}

/// 404 `Unknown <what>` with its JSON code (10003 channel, 10008 message, ...).
pub(crate) fn not_found(code: u32, what: &str) -> Response {
    error(StatusCode::NOT_FOUND, code, &format!("Unknown {what}"))
}

/// 403 50013, for an action the bot's permissions do not allow.
pub(crate) fn missing_permissions() -> Response {
    error(StatusCode::FORBIDDEN, 50013, "Missing Permissions")
}

/// 400 50109: the body is not JSON.
pub(crate) fn invalid_json() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        50109,
        "The request body contains invalid JSON.",
    )
}

/// One problem with one field of a request body, at a dot-separated path
/// (`embeds.0.description`; empty for the body itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }
    }

    pub(crate) fn max_length(path: impl Into<String>, max: usize) -> Self {
        Self::new(
            path,
            "BASE_TYPE_MAX_LENGTH",
            format!("Must be {max} or fewer in length."),
        )
    }

    pub(crate) fn bad_length(path: impl Into<String>, min: usize, max: usize) -> Self {
        Self::new(
            path,
            "BASE_TYPE_BAD_LENGTH",
            format!("Must be between {min} and {max} in length."),
        )
    }

    pub(crate) fn required(path: impl Into<String>) -> Self {
        Self::new(path, "BASE_TYPE_REQUIRED", "This field is required")
    }

    pub(crate) fn choices(path: impl Into<String>, choices: &[u64]) -> Self {
        let list = choices
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Self::new(
            path,
            "BASE_TYPE_CHOICES",
            format!("Value must be one of ({list})."),
        )
    }
}

/// The nested `errors` object for a list of field errors.
pub(crate) fn nest(errors: &[FieldError]) -> Value {
    fn insert(node: &mut Map<String, Value>, parts: &[&str], e: &FieldError) {
        match parts.split_first() {
            None => {
                if let Value::Array(list) = node.entry("_errors").or_insert_with(|| json!([])) {
                    list.push(json!({"code": e.code, "message": e.message}));
                }
            }
            Some((head, rest)) => {
                let child = node.entry((*head).to_owned()).or_insert_with(|| json!({}));
                if let Value::Object(m) = child {
                    insert(m, rest, e);
                }
            }
        }
    }
    let mut root = Map::new();
    for e in errors {
        let parts: Vec<&str> = e.path.split('.').filter(|p| !p.is_empty()).collect();
        insert(&mut root, &parts, e);
    }
    Value::Object(root)
}

/// 400 50035 "Invalid Form Body" with the errors nested by path.
pub(crate) fn invalid_form(errors: Vec<FieldError>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"code": 50035, "message": "Invalid Form Body", "errors": nest(&errors)})),
    )
        .into_response()
}

/// 501 for a route or a feature the sandbox does not implement. Deliberately not a
/// Discord answer: a test that reaches it fails with this message instead of passing on
/// a Discord-looking 404 the real API would never give.
pub(crate) fn not_implemented(what: &str) -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        axum::Json(json!({
            "code": 0,
            "message": format!("clanhall sandbox: {what} is not implemented (see docs/sandbox.md); Discord would not answer like this"),
            "sandbox": true,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_nest_by_path_with_an_errors_array_at_each_leaf() {
        let v = nest(&[
            FieldError::max_length("content", 2000),
            FieldError::required("embeds.0.fields.1.name"),
            FieldError::new("", "APPLICATION_COMMAND_TOO_LARGE", "too large"),
        ]);
        assert_eq!(v["content"]["_errors"][0]["code"], "BASE_TYPE_MAX_LENGTH");
        assert_eq!(
            v["embeds"]["0"]["fields"]["1"]["name"]["_errors"][0]["message"],
            "This field is required"
        );
        assert_eq!(v["_errors"][0]["code"], "APPLICATION_COMMAND_TOO_LARGE");
    }
}
