//! Which threads are tickets, and whose: pure decisions from what Discord said. The
//! ticket number is read from the name once, when the thread is created
//! (`W0042-rue-the-brave` → `W0042`, flow `welcome`); after that the name is display
//! only, so a rename, a hyphenated or a unicode username changes nothing. The subject is
//! the first user Ticket Tool's greeting mentions, never whoever acted.

use super::tables::NewTicket;

/// A thread as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ThreadSeen {
    pub id: u64,
    pub parent: Option<u64>,
    pub name: String,
    pub owner: Option<u64>,
}

/// Where tickets come from, and which watchers are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Watch {
    pub welcome_channel: Option<u64>,
    pub promo_channel: Option<u64>,
    pub ticket_tool: Option<u64>,
    /// `welcome_enabled`.
    pub welcome: bool,
    /// `enable_promo_watcher`.
    pub promo: bool,
}

/// Why a thread is not a ticket (logged at debug; nobody is told).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotATicket {
    #[error("not in the welcome or promo channel")]
    Elsewhere,
    #[error("the {0} watcher is off")]
    WatcherOff(&'static str),
    #[error("opened by someone other than Ticket Tool")]
    NotTicketTool,
    #[error("the name does not start with a ticket number (W0123-…, or R/M/L in promo)")]
    NoNumber,
}

/// `W0042-rue` → (`W`, `0042`).
fn number(name: &str) -> Option<(char, String)> {
    let mut chars = name.trim().chars();
    let letter = chars.next()?.to_ascii_uppercase();
    let digits: String = chars.clone().take_while(char::is_ascii_digit).collect();
    let rest: String = chars.skip(digits.len()).collect();
    let ends_right = rest.is_empty() || rest.starts_with(['-', '_', ' ']);
    (!digits.is_empty() && digits.len() <= 8 && ends_right).then_some((letter, digits))
}

/// The ticket a new thread opens, if it is one.
pub(crate) fn classify(t: &ThreadSeen, w: &Watch) -> Result<NewTicket, NotATicket> {
    let welcome = t.parent.is_some() && t.parent == w.welcome_channel;
    let promo = t.parent.is_some() && t.parent == w.promo_channel;
    if !welcome && !promo {
        return Err(NotATicket::Elsewhere);
    }
    if !w.welcome {
        return Err(NotATicket::WatcherOff("welcome"));
    }
    if promo && !w.promo {
        return Err(NotATicket::WatcherOff("promo"));
    }
    if w.ticket_tool.is_some() && t.owner != w.ticket_tool {
        return Err(NotATicket::NotTicketTool);
    }
    let (letter, digits) = number(&t.name).ok_or(NotATicket::NoNumber)?;
    let flow = match (welcome, letter) {
        (true, 'W') => "welcome",
        (false, 'R') => "promo.r",
        (false, 'M') => "promo.m",
        (false, 'L') => "promo.l",
        _ => return Err(NotATicket::NoNumber),
    };
    Ok(NewTicket {
        thread_id: t.id,
        number: format!("{letter}{digits}"),
        flow: flow.to_owned(),
        thread_name: t.name.clone(),
    })
}

/// A message in a ticket thread, as the greeting check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Said {
    pub author: u64,
    pub author_is_bot: bool,
    pub content: String,
    /// Users the message mentions: (id, is a bot).
    pub mentions: Vec<(u64, bool)>,
}

/// Whether `m` is Ticket Tool's greeting: from `TICKET_TOOL_BOT_ID` when set, else from
/// a bot that is not us.
pub(crate) fn is_greeting(m: &Said, ticket_tool: Option<u64>, us: u64) -> bool {
    match ticket_tool {
        Some(tt) => m.author == tt,
        None => m.author_is_bot && m.author != us,
    }
}

/// The first person the greeting mentions, in the order written (Discord's `mentions`
/// array is not in text order), skipping bots.
pub(crate) fn subject_of(m: &Said) -> Option<u64> {
    let mut rest = m.content.as_str();
    while let Some(at) = rest.find("<@") {
        let tail = &rest[at + 2..];
        let tail = tail.strip_prefix('!').unwrap_or(tail);
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        rest = &tail[digits.len()..];
        if !rest.starts_with('>') {
            continue;
        }
        if let Ok(id) = digits.parse::<u64>()
            && m.mentions.iter().any(|(u, bot)| *u == id && !bot)
        {
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> Watch {
        Watch {
            welcome_channel: Some(304),
            promo_channel: Some(307),
            ticket_tool: Some(206),
            welcome: true,
            promo: true,
        }
    }

    fn thread(parent: u64, name: &str, owner: u64) -> ThreadSeen {
        ThreadSeen {
            id: 9,
            parent: Some(parent),
            name: name.into(),
            owner: Some(owner),
        }
    }

    #[test]
    fn the_number_and_flow_come_from_the_name_and_channel() {
        let t = classify(&thread(304, "W0042-rue-the-brave", 206), &watch()).unwrap();
        assert_eq!((t.number.as_str(), t.flow.as_str()), ("W0042", "welcome"));
        let t = classify(&thread(307, "m0007-Ünïcødé-名前", 206), &watch()).unwrap();
        assert_eq!((t.number.as_str(), t.flow.as_str()), ("M0007", "promo.m"));
        assert_eq!(
            classify(&thread(307, "L12", 206), &watch()).unwrap().flow,
            "promo.l"
        );
        assert_eq!(
            classify(&thread(304, "R0001-x", 206), &watch()),
            Err(NotATicket::NoNumber)
        );
        assert_eq!(
            classify(&thread(304, "W12abc", 206), &watch()),
            Err(NotATicket::NoNumber)
        );
        assert_eq!(
            classify(&thread(304, "chat", 206), &watch()),
            Err(NotATicket::NoNumber)
        );
    }

    #[test]
    fn only_ticket_tool_opens_tickets_when_it_is_configured_and_watchers_gate() {
        assert_eq!(
            classify(&thread(304, "W1-a", 202), &watch()),
            Err(NotATicket::NotTicketTool)
        );
        let open = Watch {
            ticket_tool: None,
            ..watch()
        };
        assert!(classify(&thread(304, "W1-a", 202), &open).is_ok());
        assert_eq!(
            classify(&thread(301, "W1-a", 206), &watch()),
            Err(NotATicket::Elsewhere)
        );
        let promo_off = Watch {
            promo: false,
            ..watch()
        };
        assert_eq!(
            classify(&thread(307, "R1-a", 206), &promo_off),
            Err(NotATicket::WatcherOff("promo"))
        );
        assert!(classify(&thread(304, "W1-a", 206), &promo_off).is_ok());
        let off = Watch {
            welcome: false,
            ..watch()
        };
        assert_eq!(
            classify(&thread(304, "W1-a", 206), &off),
            Err(NotATicket::WatcherOff("welcome"))
        );
    }

    #[test]
    fn the_subject_is_the_first_human_mentioned_in_text_order() {
        let m = Said {
            author: 206,
            author_is_bot: true,
            content: "Welcome <@!205>! <@206> staff <@202> will help. Be awake by reacting".into(),
            // Discord's order, not the text's.
            mentions: vec![(202, false), (206, true), (205, false)],
        };
        assert_eq!(subject_of(&m), Some(205));
        let bots_only = Said {
            content: "<@206> opened this".into(),
            mentions: vec![(206, true)],
            ..m.clone()
        };
        assert_eq!(subject_of(&bots_only), None);
        let role = Said {
            content: "<@&103> a new ticket".into(),
            mentions: vec![],
            ..m.clone()
        };
        assert_eq!(subject_of(&role), None);
        assert!(is_greeting(&m, Some(206), 1));
        assert!(!is_greeting(
            &Said {
                author: 202,
                author_is_bot: false,
                ..m.clone()
            },
            None,
            1
        ));
    }
}
