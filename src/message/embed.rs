//! Embeds as plain data, built by pure functions (and snapshot-tested), converted to
//! serenity's builder only at the edge, through the redactor.
//!
//! Discord rejects a message whose embeds break its limits; the predecessor truncated or
//! overflowed. Here long field values are split into continuation fields and long
//! replies into several messages: never cut silently.

use serde::Serialize;

use crate::redact::redact;

pub(crate) const TITLE_MAX: usize = 256;
pub(crate) const DESCRIPTION_MAX: usize = 4096;
pub(crate) const FIELD_NAME_MAX: usize = 256;
pub(crate) const FIELD_VALUE_MAX: usize = 1024;
pub(crate) const FIELDS_MAX: usize = 25;
pub(crate) const FOOTER_MAX: usize = 2048;
/// Total characters of all embeds in one message.
pub(crate) const MESSAGE_EMBED_CHARS: usize = 6000;
pub(crate) const EMBEDS_PER_MESSAGE: usize = 10;

pub(crate) const COLOR_OK: u32 = 0x2ECC71;
pub(crate) const COLOR_INFO: u32 = 0x3498DB;
pub(crate) const COLOR_WARN: u32 = 0xF1C40F;
pub(crate) const COLOR_ERROR: u32 = 0xE74C3C;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Embed {
    pub title: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub footer: String,
    pub color: Option<u32>,
    /// An image URL shown in the corner (a clan's crest).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumbnail: String,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Splits text into pieces of at most `max` characters, at line breaks where possible.
pub(crate) fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        let mut line = line.to_owned();
        while chars(&line) > max {
            // A single line longer than a piece: split it at character boundaries.
            let cut: String = line.chars().take(max).collect();
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur).trim_end_matches('\n').to_owned());
            }
            out.push(cut.clone());
            line = line.chars().skip(max).collect();
        }
        if chars(&cur) + chars(&line) > max {
            out.push(std::mem::take(&mut cur).trim_end_matches('\n').to_owned());
        }
        cur.push_str(&line);
    }
    if !cur.trim().is_empty() || out.is_empty() {
        out.push(cur.trim_end_matches('\n').to_owned());
    }
    out
}

impl Embed {
    pub fn new(title: impl Into<String>) -> Self {
        Embed {
            title: title.into(),
            ..Default::default()
        }
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    pub fn footer(mut self, f: impl Into<String>) -> Self {
        self.footer = f.into();
        self
    }

    pub fn color(mut self, c: u32) -> Self {
        self.color = Some(c);
        self
    }

    /// Adds a field; a value over 1,024 characters continues in further fields named
    /// "<name> (cont.)".
    pub fn field(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        inline: bool,
    ) -> Self {
        let name = name.into();
        let value = value.into();
        let value = if value.trim().is_empty() {
            "—".to_owned()
        } else {
            value
        };
        for (i, piece) in split_text(&value, FIELD_VALUE_MAX).into_iter().enumerate() {
            let n = if i == 0 {
                name.clone()
            } else {
                format!("{name} (cont.)")
            };
            self.fields.push(Field {
                name: n.chars().take(FIELD_NAME_MAX).collect(),
                value: piece,
                inline,
            });
        }
        self
    }

    /// Characters that count against the 6,000 limit.
    pub fn size(&self) -> usize {
        chars(&self.title)
            + chars(&self.description)
            + chars(&self.footer)
            + self
                .fields
                .iter()
                .map(|f| chars(&f.name) + chars(&f.value))
                .sum::<usize>()
    }

    /// Splits an embed that breaks a per-embed limit (description, field count, total)
    /// into several, titled "<title> (2/3)"...
    pub fn fit(self) -> Vec<Embed> {
        let budget = MESSAGE_EMBED_CHARS - TITLE_MAX - FOOTER_MAX.min(chars(&self.footer) + 16);
        let mut parts: Vec<Embed> = Vec::new();
        let mut cur = Embed {
            title: self.title.clone(),
            footer: String::new(),
            color: self.color,
            ..Default::default()
        };
        for piece in split_text(&self.description, DESCRIPTION_MAX) {
            if !cur.description.is_empty() {
                parts.push(std::mem::replace(
                    &mut cur,
                    Embed {
                        title: self.title.clone(),
                        color: self.color,
                        ..Default::default()
                    },
                ));
            }
            cur.description = piece;
        }
        for f in self.fields {
            if cur.fields.len() >= FIELDS_MAX
                || cur.size() + chars(&f.name) + chars(&f.value) > budget
            {
                parts.push(std::mem::replace(
                    &mut cur,
                    Embed {
                        title: self.title.clone(),
                        color: self.color,
                        ..Default::default()
                    },
                ));
            }
            cur.fields.push(f);
        }
        parts.push(cur);
        let n = parts.len();
        for (i, p) in parts.iter_mut().enumerate() {
            if n > 1 {
                p.title = format!("{} ({}/{n})", p.title, i + 1);
            }
            p.title = p.title.chars().take(TITLE_MAX).collect();
            p.footer = self.footer.chars().take(FOOTER_MAX).collect();
        }
        parts
    }

    /// serenity's builder, with every string redacted.
    pub fn to_create(&self) -> serenity::all::CreateEmbed {
        let mut e = serenity::all::CreateEmbed::new();
        if !self.title.is_empty() {
            e = e.title(redact(&self.title));
        }
        if !self.description.is_empty() {
            e = e.description(redact(&self.description));
        }
        for f in &self.fields {
            e = e.field(redact(&f.name), redact(&f.value), f.inline);
        }
        if !self.footer.is_empty() {
            e = e.footer(serenity::all::CreateEmbedFooter::new(redact(&self.footer)));
        }
        if let Some(c) = self.color {
            e = e.color(c);
        }
        if !self.thumbnail.is_empty() {
            e = e.thumbnail(self.thumbnail.clone());
        }
        e
    }
}

/// Groups embeds into messages that respect the per-message limits (10 embeds, 6,000
/// characters), splitting oversized embeds first.
pub(crate) fn paginate(embeds: Vec<Embed>) -> Vec<Vec<Embed>> {
    let mut pages: Vec<Vec<Embed>> = Vec::new();
    let mut cur: Vec<Embed> = Vec::new();
    let mut size = 0;
    for e in embeds.into_iter().flat_map(Embed::fit) {
        if !cur.is_empty()
            && (cur.len() >= EMBEDS_PER_MESSAGE || size + e.size() > MESSAGE_EMBED_CHARS)
        {
            pages.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += e.size();
        cur.push(e);
    }
    if !cur.is_empty() {
        pages.push(cur);
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_field_values_continue_instead_of_being_cut() {
        let value: String = (0..100)
            .map(|i| format!("line {i:03} of the roster\n"))
            .collect();
        let e = Embed::new("Roster").field("Clans", value.clone(), false);
        assert!(e.fields.len() >= 3);
        assert!(
            e.fields
                .iter()
                .all(|f| f.value.chars().count() <= FIELD_VALUE_MAX)
        );
        assert_eq!(e.fields[1].name, "Clans (cont.)");
        let rejoined: String = e.fields.iter().map(|f| format!("{}\n", f.value)).collect();
        assert_eq!(rejoined, value, "nothing lost");
    }

    #[test]
    fn oversized_embeds_split_and_pages_respect_message_limits() {
        let mut e = Embed::new("Everything").footer("f");
        for i in 0..40 {
            e = e.field(format!("field {i}"), "x".repeat(900), false);
        }
        let parts = e.clone().fit();
        assert!(parts.len() > 1);
        assert!(
            parts
                .iter()
                .all(|p| p.fields.len() <= FIELDS_MAX && p.size() <= MESSAGE_EMBED_CHARS)
        );
        assert_eq!(parts[0].title, format!("Everything (1/{})", parts.len()));
        assert_eq!(parts.iter().map(|p| p.fields.len()).sum::<usize>(), 40);
        let pages = paginate(vec![e]);
        for page in &pages {
            assert!(page.len() <= EMBEDS_PER_MESSAGE);
            assert!(page.iter().map(Embed::size).sum::<usize>() <= MESSAGE_EMBED_CHARS);
        }
    }

    #[test]
    fn split_text_handles_one_huge_line() {
        let pieces = split_text(&"a".repeat(2500), 1024);
        assert_eq!(
            pieces.iter().map(String::len).collect::<Vec<_>>(),
            vec![1024, 1024, 452]
        );
    }

    #[test]
    fn conversion_redacts() {
        let token = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhR2xk.pQ7vZ8yT3uW1sX4rA9bC6dE0fG2hJ5kL8mN1oP";
        let e = Embed::new("t").description(format!("value {token}")).field(
            "DISCORD_TOKEN",
            token,
            false,
        );
        let json = serde_json::to_string(&e.to_create()).unwrap();
        assert!(!json.contains(token), "{json}");
    }
}
