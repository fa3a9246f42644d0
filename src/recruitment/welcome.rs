//! The welcome message: the clan's WelcomeTemplates row (blanks already filled from
//! `DEFAULT` by the tab parser), its tokens filled. Pure: the command posts the result.

use chrono::{DateTime, Utc};

use crate::message::embed::{COLOR_OK, Embed};
use crate::tabs::clans::Clan;
use crate::tabs::templates::Templates;
use crate::util::text::code;

/// The tokens a template may use.
pub(crate) const TOKENS: &[&str] = &[
    "MENTION", "USERNAME", "CLAN", "CLANTAG", "GUILD", "NOW", "INVITER", "CLANLEAD", "DEPUTIES",
];

/// Who is welcomed, by whom, where.
pub(crate) struct WelcomeAsk<'a> {
    pub clan: &'a Clan,
    /// The member (id, display name), when one was named.
    pub member: Option<(u64, String)>,
    pub inviter: String,
    pub guild: String,
    pub now: DateTime<Utc>,
}

/// A welcome ready to post.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Welcome {
    pub content: String,
    pub embed: Embed,
    /// Where to post (`target_channel_id`); `None`: the channel the command came from.
    pub channel: Option<u64>,
    /// The member to ping (`ping_user` = Y).
    pub ping: Option<u64>,
    /// `{TOKENS}` the template uses that the bot does not know: left as written.
    pub unknown: Vec<String>,
    /// Which row was used (`C1CA` or `DEFAULT`).
    pub row: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WelcomeRefusal {
    #[error("WelcomeTemplates row {0} is inactive; set active to Y")]
    Inactive(String),
    #[error(
        "No WelcomeTemplates row for {0} and no DEFAULT row: add a row with tag {0} (or DEFAULT) to the WelcomeTemplates tab, then `!welcome-refresh`."
    )]
    NoTemplate(String),
    #[error(
        "The WelcomeTemplates row {row} uses {{{token}}}, which needs a member: `!welcome {tag} @member`."
    )]
    NeedsMember {
        row: String,
        tag: String,
        token: String,
    },
}

/// Replaces each `{TOKEN}`; unknown ones stay and are listed.
fn fill(text: &str, value: &dyn Fn(&str) -> Option<String>, unknown: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if close > 0
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let name = &after[..close];
                match value(&name.to_ascii_uppercase()) {
                    Some(v) => out.push_str(&v),
                    None => {
                        let token = format!("{{{name}}}");
                        if !unknown.contains(&token) {
                            unknown.push(token.clone());
                        }
                        out.push_str(&token);
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn uses_member(text: &str) -> Option<&'static str> {
    let up = text.to_ascii_uppercase();
    ["MENTION", "USERNAME"]
        .into_iter()
        .find(|t| up.contains(&format!("{{{t}}}")))
}

pub(crate) fn render(
    templates: &Templates,
    ask: &WelcomeAsk<'_>,
) -> Result<Welcome, WelcomeRefusal> {
    let tag = ask.clan.tag.clone();
    let t = templates
        .get(&tag)
        .or(templates.default.as_ref())
        .ok_or_else(|| WelcomeRefusal::NoTemplate(tag.clone()))?;
    if !t.active {
        return Err(WelcomeRefusal::Inactive(t.tag.clone()));
    }
    if ask.member.is_none()
        && let Some(token) = [&t.title, &t.body, &t.footer]
            .into_iter()
            .find_map(|s| uses_member(s))
    {
        return Err(WelcomeRefusal::NeedsMember {
            row: t.tag.clone(),
            tag,
            token: token.to_owned(),
        });
    }
    let c = ask.clan;
    let value = |token: &str| -> Option<String> {
        Some(match token {
            "MENTION" => ask
                .member
                .as_ref()
                .map(|(id, _)| format!("<@{id}>"))
                .unwrap_or_default(),
            "USERNAME" => ask
                .member
                .as_ref()
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            "CLAN" => c.name.clone(),
            "CLANTAG" => c.tag.clone(),
            "GUILD" => ask.guild.clone(),
            "NOW" => ask.now.format("%Y-%m-%d %H:%M UTC").to_string(),
            "INVITER" => ask.inviter.clone(),
            "CLANLEAD" => c.lead.clone(),
            "DEPUTIES" => c.deputies.clone(),
            _ => return None,
        })
    };
    let mut unknown = Vec::new();
    let title = fill(&t.title, &value, &mut unknown);
    let body = fill(&t.body, &value, &mut unknown);
    let footer = fill(&t.footer, &value, &mut unknown);
    let mut embed = Embed::new(title)
        .description(body)
        .color(COLOR_OK)
        .footer(footer);
    embed.thumbnail = t.crest_url.clone();
    let ping = ask
        .member
        .as_ref()
        .map(|(id, _)| *id)
        .filter(|_| t.ping_user);
    Ok(Welcome {
        content: ping.map(|id| format!("<@{id}>")).unwrap_or_default(),
        embed,
        channel: t.target_channel_id,
        ping,
        unknown,
        row: t.tag.clone(),
    })
}

/// The staff's line about unknown tokens, with the fix.
pub(crate) fn unknown_note(w: &Welcome) -> Option<String> {
    if w.unknown.is_empty() {
        return None;
    }
    let known: Vec<String> = TOKENS.iter().map(|t| format!("{{{t}}}")).collect();
    Some(format!(
        "⚠️ The WelcomeTemplates row {} uses {} that the bot does not know, left as written. Known tokens: {}.",
        w.row,
        w.unknown
            .iter()
            .map(|t| code(t))
            .collect::<Vec<_>>()
            .join(", "),
        known.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheets::Table;

    fn templates(rows: &[&[&str]]) -> Templates {
        let mut raw = vec![
            [
                "tag",
                "title",
                "body",
                "footer",
                "target_channel_id",
                "crest_url",
                "ping_user",
                "active",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ];
        raw.extend(
            rows.iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect()),
        );
        crate::tabs::templates::parse(&Table::from_rows("WelcomeTemplates", raw)).unwrap()
    }

    fn clan() -> Clan {
        Clan {
            tag: "C1CA".into(),
            name: "Ashen Vanguard".into(),
            lead: "Brannoc".into(),
            deputies: "Kestrel".into(),
            ..Default::default()
        }
    }

    fn ask(c: &Clan, member: bool) -> WelcomeAsk<'_> {
        WelcomeAsk {
            clan: c,
            member: member.then(|| (205, "Rue".to_owned())),
            inviter: "Staffer".into(),
            guild: "Cluster".into(),
            now: chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[test]
    fn every_token_is_filled_and_blanks_come_from_default() {
        let t = templates(&[
            &[
                "DEFAULT",
                "Welcome to {CLAN}!",
                "x",
                "By {INVITER} on {NOW}",
                "",
                "",
                "Y",
                "Y",
            ],
            &[
                "C1CA",
                "",
                "{MENTION} {USERNAME} {CLAN} {CLANTAG} {GUILD} {CLANLEAD} {DEPUTIES}",
                "",
                "",
                "",
                "",
                "Y",
            ],
        ]);
        let c = clan();
        let w = render(&t, &ask(&c, true)).unwrap();
        assert_eq!(w.embed.title, "Welcome to Ashen Vanguard!");
        assert_eq!(
            w.embed.description,
            "<@205> Rue Ashen Vanguard C1CA Cluster Brannoc Kestrel"
        );
        assert_eq!(w.embed.footer, "By Staffer on 2026-12-01 10:00 UTC");
        assert_eq!((w.ping, w.content.as_str()), (Some(205), "<@205>"));
        assert!(w.unknown.is_empty());
    }

    #[test]
    fn an_unknown_token_stays_visible_and_is_reported() {
        let t = templates(&[&[
            "C1CA",
            "Hi",
            "{MENTION} meet {RECRUITER} {x y} {}",
            "",
            "",
            "",
            "N",
            "Y",
        ]]);
        let c = clan();
        let w = render(&t, &ask(&c, true)).unwrap();
        assert_eq!(w.embed.description, "<@205> meet {RECRUITER} {x y} {}");
        assert_eq!(w.unknown, ["{RECRUITER}"]);
        assert_eq!(w.ping, None, "ping_user N pings nobody");
        assert!(unknown_note(&w).unwrap().contains("`{RECRUITER}`"));
    }

    #[test]
    fn inactive_missing_and_memberless_are_refused_with_the_fix() {
        let c = clan();
        let inactive = templates(&[&["C1CA", "Hi", "b", "", "", "", "Y", "N"]]);
        assert_eq!(
            render(&inactive, &ask(&c, true)).unwrap_err().to_string(),
            "WelcomeTemplates row C1CA is inactive; set active to Y"
        );
        let none = templates(&[&["C1CB", "Hi", "b", "", "", "", "Y", "Y"]]);
        assert!(
            render(&none, &ask(&c, true))
                .unwrap_err()
                .to_string()
                .contains("No WelcomeTemplates row for C1CA and no DEFAULT row")
        );
        let default = templates(&[&["DEFAULT", "Hi {CLAN}", "{MENTION}", "", "", "", "Y", "Y"]]);
        assert_eq!(render(&default, &ask(&c, true)).unwrap().row, "DEFAULT");
        assert!(matches!(
            render(&default, &ask(&c, false)),
            Err(WelcomeRefusal::NeedsMember { .. })
        ));
    }
}
