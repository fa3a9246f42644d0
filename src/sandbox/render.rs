//! Bot messages as text, for the console and script transcripts: channel, author,
//! content, each embed (title, description, fields, footer) and numbered components so
//! the operator can click a button or pick a select option by number.

use serde_json::Value;

/// A clickable component shown in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComponentRef {
    pub number: usize,
    pub message_id: u64,
    pub custom_id: String,
    /// 2 = button, 3 = string select.
    pub kind: u8,
    pub label: String,
    /// (label, value) of a select's options.
    pub options: Vec<(String, String)>,
    pub disabled: bool,
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders one message. `note` is shown after the author (`edited`, `only you can see
/// this`); components are numbered from `first_number`.
pub(super) fn render(
    msg: &Value,
    channel: &str,
    note: &str,
    first_number: usize,
) -> (String, Vec<ComponentRef>) {
    let author = msg["author"]["global_name"]
        .as_str()
        .or(msg["author"]["username"].as_str())
        .unwrap_or("?");
    let mut out = vec![format!(
        "[#{channel}] {author}{}:",
        if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        }
    )];
    if let Some(c) = msg["content"].as_str().filter(|c| !c.is_empty()) {
        out.push(indent(c, "  "));
    }
    for e in msg["embeds"].as_array().into_iter().flatten() {
        if let Some(t) = e["title"].as_str() {
            out.push(format!("  ┌ {t}"));
        } else {
            out.push("  ┌".into());
        }
        if let Some(d) = e["description"].as_str() {
            out.push(indent(d, "  │ "));
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            out.push(format!("  │ ▸ {}", f["name"].as_str().unwrap_or("")));
            out.push(indent(f["value"].as_str().unwrap_or(""), "  │     "));
        }
        match e["footer"]["text"].as_str() {
            Some(f) => out.push(format!("  └ {f}")),
            None => out.push("  └".into()),
        }
    }
    let mut refs = Vec::new();
    let message_id = msg["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
    for row in msg["components"].as_array().into_iter().flatten() {
        let mut line = Vec::new();
        for c in row["components"].as_array().into_iter().flatten() {
            let kind = c["type"].as_u64().unwrap_or(0) as u8;
            let disabled = c["disabled"].as_bool().unwrap_or(false);
            let number = first_number + refs.len();
            let off = if disabled { " (disabled)" } else { "" };
            match kind {
                2 => {
                    let label = c["label"]
                        .as_str()
                        .or(c["emoji"]["name"].as_str())
                        .unwrap_or("button")
                        .to_owned();
                    if let Some(url) = c["url"].as_str() {
                        line.push(format!("[link {label}: {url}]"));
                        continue;
                    }
                    line.push(format!("[{number}] {label}{off}"));
                    refs.push(ComponentRef {
                        number,
                        message_id,
                        custom_id: c["custom_id"].as_str().unwrap_or("").into(),
                        kind,
                        label,
                        options: vec![],
                        disabled,
                    });
                }
                3 => {
                    let options: Vec<(String, String)> = c["options"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|o| {
                            (
                                o["label"].as_str().unwrap_or("").to_owned(),
                                o["value"].as_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect();
                    let label = c["placeholder"].as_str().unwrap_or("select").to_owned();
                    let shown = options
                        .iter()
                        .map(|(l, v)| {
                            if l == v {
                                l.clone()
                            } else {
                                format!("{l}={v}")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" | ");
                    line.push(format!("[{number}] {label} ▾ {shown}{off}"));
                    refs.push(ComponentRef {
                        number,
                        message_id,
                        custom_id: c["custom_id"].as_str().unwrap_or("").into(),
                        kind,
                        label,
                        options,
                        disabled,
                    });
                }
                other => line.push(format!("[component type {other}]")),
            }
        }
        if !line.is_empty() {
            out.push(format!("  {}", line.join("   ")));
        }
    }
    (out.join("\n"), refs)
}

/// A modal as text, so a console operator can answer it with `:modal`.
pub(super) fn render_modal(modal: &Value) -> String {
    let mut out = vec![format!(
        "  ╔ {} (modal)",
        modal["title"].as_str().unwrap_or("")
    )];
    for row in modal["components"].as_array().into_iter().flatten() {
        for input in row["components"].as_array().into_iter().flatten() {
            let req = if input["required"].as_bool().unwrap_or(true) {
                " (required)"
            } else {
                ""
            };
            out.push(format!(
                "  ║ {}: {}{req}",
                input["custom_id"].as_str().unwrap_or(""),
                input["label"].as_str().unwrap_or("")
            ));
        }
    }
    out.push("  ╚ answer with :modal field=value; field=value".into());
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_content_embeds_and_numbered_components() {
        let msg = json!({
            "id": "42",
            "author": {"username": "clanhall", "global_name": "clanhall"},
            "content": "Pong!",
            "embeds": [{"title": "Help", "description": "Commands you can run", "fields": [{"name": "!ping", "value": "Check I am alive"}], "footer": {"text": "audience: member"}}],
            "components": [{"type": 1, "components": [
                {"type": 2, "label": "Next", "custom_id": "next"},
                {"type": 3, "custom_id": "pick", "placeholder": "Clan", "options": [{"label": "Alpha", "value": "ALP"}]}
            ]}]
        });
        let (text, refs) = render(&msg, "general", "", 1);
        assert_eq!(
            text,
            "[#general] clanhall:\n  Pong!\n  ┌ Help\n  │ Commands you can run\n  │ ▸ !ping\n  │     Check I am alive\n  └ audience: member\n  [1] Next   [2] Clan ▾ Alpha=ALP"
        );
        assert_eq!(
            refs[1].options,
            vec![("Alpha".to_owned(), "ALP".to_owned())]
        );
        assert_eq!(refs[0].message_id, 42);
    }
}
