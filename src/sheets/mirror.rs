//! The mirror tabs: tabs the bot writes for humans to read (DESIGN.md §5, §6). Their
//! headers are fixed here, once, so the writers, `clanhall check` and docs/sheets.md
//! agree; rows are located by header name, never by position.

use super::table::{MissingHeaders, Table};
use super::{TabNames, Workbook};

/// One mirror tab: which workbook holds it and the headers the bot writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MirrorTab {
    /// The Config key that names the tab.
    pub config_key: &'static str,
    pub workbook: Workbook,
    pub headers: &'static [&'static str],
}

pub(crate) const RESERVATIONS: MirrorTab = MirrorTab {
    config_key: "RESERVATIONS_TAB",
    workbook: Workbook::Recruitment,
    headers: &[
        "thread_id",
        "ticket_user_id",
        "recruiter_id",
        "clan_tag",
        "reserved_until",
        "created_at",
        "status",
        "notes",
        "username_snapshot",
    ],
};

pub(crate) const WELCOME_TICKETS: MirrorTab = MirrorTab {
    config_key: "TICKETS_TAB",
    workbook: Workbook::Onboarding,
    headers: &[
        "ticket_number",
        "username",
        "clantag",
        "date_closed",
        "thread_name",
        "user_id",
        "thread_id",
        "panel_message_id",
        "status",
        "created_at",
        "updated_at",
    ],
};

pub(crate) const ONBOARDING_SESSIONS: MirrorTab = MirrorTab {
    config_key: "SESSIONS_TAB",
    workbook: Workbook::Onboarding,
    headers: &[
        "thread_name",
        "user_id",
        "thread_id",
        "panel_message_id",
        "step_index",
        "completed",
        "completed_at",
        "answers_json",
        "updated_at",
        "first_reminder_at",
        "warning_sent_at",
        "auto_closed_at",
    ],
};

pub(crate) const ALL: [MirrorTab; 3] = [RESERVATIONS, WELCOME_TICKETS, ONBOARDING_SESSIONS];

impl MirrorTab {
    /// The tab's name as configured in the Config tab.
    pub(crate) fn tab(&self, tabs: &TabNames) -> String {
        match self.config_key {
            "RESERVATIONS_TAB" => tabs.reservations.clone(),
            "TICKETS_TAB" => tabs.tickets.clone(),
            _ => tabs.sessions.clone(),
        }
    }

    /// Whether a tab read from the sheet carries every header the bot writes.
    pub(crate) fn validate(&self, table: &Table) -> Result<(), MissingHeaders> {
        table.columns(self.headers, &[]).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn a_mirror_tab_missing_a_header_names_it() {
        let mut headers = RESERVATIONS.headers.to_vec();
        headers.retain(|h| *h != "clan_tag");
        let table = Table::from_rows("Reservations", vec![row(&headers)]);
        let err = RESERVATIONS.validate(&table).unwrap_err();
        assert_eq!(err.missing, ["clan_tag"]);
        let full = Table::from_rows("Reservations", vec![row(RESERVATIONS.headers)]);
        assert!(RESERVATIONS.validate(&full).is_ok());
    }

    #[test]
    fn tab_names_follow_the_config_tab() {
        let tabs = TabNames {
            tickets: "Tickets2026".into(),
            ..TabNames::default()
        };
        assert_eq!(WELCOME_TICKETS.tab(&tabs), "Tickets2026");
        assert_eq!(RESERVATIONS.tab(&tabs), "Reservations");
    }
}
