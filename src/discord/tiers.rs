//! Who may run what. Tiers nest: admin ⊃ staff ⊃ recruiter ⊃ member. Role ids come from
//! the Config tab; Discord's Administrator permission also makes an admin.
//!
//! Every command declares its tier in its metadata (`custom_data = Meta::staff()`), and
//! the framework's one `command_check` enforces it for every invocation, so a command
//! cannot forget its check (the predecessor's tier decorators were display-only).

use std::fmt;

use crate::config::Roles;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Tier {
    Member,
    Recruiter,
    Staff,
    Admin,
}

impl Tier {
    pub(crate) const ALL: [Tier; 4] = [Tier::Member, Tier::Recruiter, Tier::Staff, Tier::Admin];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Tier::Member => "member",
            Tier::Recruiter => "recruiter",
            Tier::Staff => "staff",
            Tier::Admin => "admin",
        }
    }

    /// The help section for commands of this tier.
    pub(crate) fn audience(self) -> &'static str {
        match self {
            Tier::Member => "Everyone",
            Tier::Recruiter => "Recruiters",
            Tier::Staff => "Staff",
            Tier::Admin => "Admins",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A flag a command accepts (`--reboot`) that needs a higher tier than the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag {
    /// As typed, dashes included.
    pub name: &'static str,
    pub tier: Tier,
}

/// Command metadata, stored in poise's `custom_data`. The dispatcher enforces all of it:
/// a command body never checks a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub tier: Tier,
    /// Work may take longer than Discord's 3 s: slash invocations are deferred first.
    pub slow: bool,
    /// Runs wherever the bot is, whatever the channel gate says (ops, perm, cfg), so an
    /// admin can always repair access.
    pub platform: bool,
    /// Flags that need more than `tier`; the dispatcher refuses them to lower tiers.
    pub flags: &'static [Flag],
    /// The FeatureToggles row that switches the command on; off (or missing) refuses it,
    /// failing closed.
    pub toggle: Option<&'static str>,
    /// Clan leads (`CLAN_LEAD_IDS`) may also run it, in `INTERACT_CHANNEL_ID`; the command
    /// then limits itself to their clans (see `framework::admission`).
    pub leads: bool,
}

impl Meta {
    const fn of(tier: Tier) -> Meta {
        Meta {
            tier,
            slow: false,
            platform: false,
            flags: &[],
            toggle: None,
            leads: false,
        }
    }
    pub(crate) const fn member() -> Meta {
        Meta::of(Tier::Member)
    }
    pub(crate) const fn recruiter() -> Meta {
        Meta::of(Tier::Recruiter)
    }
    pub(crate) const fn staff() -> Meta {
        Meta::of(Tier::Staff)
    }
    pub(crate) const fn admin() -> Meta {
        Meta::of(Tier::Admin)
    }
    pub(crate) const fn slow(self) -> Meta {
        Meta { slow: true, ..self }
    }
    pub(crate) const fn platform(self) -> Meta {
        Meta {
            platform: true,
            ..self
        }
    }
    pub(crate) const fn flags(self, flags: &'static [Flag]) -> Meta {
        Meta { flags, ..self }
    }
    pub(crate) const fn clan_leads(self) -> Meta {
        Meta {
            leads: true,
            ..self
        }
    }
    pub(crate) const fn toggle(self, toggle: &'static str) -> Meta {
        Meta {
            toggle: Some(toggle),
            ..self
        }
    }

    /// The first flag among `args` (whole words, any case) that `have` may not use.
    pub(crate) fn forbidden_flag(&self, args: &[&str], have: Tier) -> Option<Flag> {
        self.flags
            .iter()
            .copied()
            .filter(|f| f.tier > have)
            .find(|f| args.iter().any(|a| a.eq_ignore_ascii_case(f.name)))
    }
}

/// Whether `user` in `channel` is let in as a clan lead by a command or component whose
/// metadata allows clan leads: the one rule, shared by the dispatcher and the component
/// router.
pub(crate) fn lead_admitted(
    meta: &Meta,
    user: u64,
    channel: u64,
    cfg: &crate::config::ConfigSnapshot,
) -> bool {
    meta.leads && cfg.channels.interact == Some(channel) && cfg.roles.clan_leads.contains(&user)
}

/// A command's metadata. A command without metadata is treated as admin-only: failing
/// closed is the safe default, and a unit test keeps it from happening.
pub(crate) fn meta_of<U, E>(cmd: &poise::Command<U, E>) -> Meta {
    cmd.custom_data
        .downcast_ref::<Meta>()
        .copied()
        .unwrap_or(Meta::admin())
}

/// The caller's tier from their role ids and whether Discord gives them Administrator.
pub(crate) fn resolve(roles: &[u64], administrator: bool, cfg: &Roles) -> Tier {
    let has = |ids: &[u64]| roles.iter().any(|r| ids.contains(r));
    if administrator || has(&cfg.admin) {
        Tier::Admin
    } else if has(&cfg.staff) {
        Tier::Staff
    } else if has(&cfg.recruiter) {
        Tier::Recruiter
    } else {
        Tier::Member
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Roles {
        Roles {
            admin: vec![1],
            staff: vec![2],
            recruiter: vec![3],
            clan_leads: vec![],
        }
    }

    #[test]
    fn tiers_nest_and_resolve_to_the_highest_role() {
        assert!(
            Tier::Admin > Tier::Staff
                && Tier::Staff > Tier::Recruiter
                && Tier::Recruiter > Tier::Member
        );
        assert_eq!(resolve(&[], false, &cfg()), Tier::Member);
        assert_eq!(resolve(&[9, 3], false, &cfg()), Tier::Recruiter);
        assert_eq!(resolve(&[3, 2], false, &cfg()), Tier::Staff);
        assert_eq!(resolve(&[2, 1], false, &cfg()), Tier::Admin);
        assert_eq!(
            resolve(&[], true, &cfg()),
            Tier::Admin,
            "Discord Administrator"
        );
    }

    #[test]
    fn flags_above_the_callers_tier_are_found_as_whole_words() {
        const REBOOT: Flag = Flag {
            name: "--reboot",
            tier: Tier::Admin,
        };
        let m = Meta::staff().flags(&[REBOOT]);
        assert_eq!(m.forbidden_flag(&["--reboot"], Tier::Staff), Some(REBOOT));
        assert_eq!(m.forbidden_flag(&["--REBOOT"], Tier::Staff), Some(REBOOT));
        assert_eq!(m.forbidden_flag(&["--reboot"], Tier::Admin), None);
        assert_eq!(
            m.forbidden_flag(&["reboot"], Tier::Staff),
            None,
            "not the flag"
        );
        assert_eq!(m.forbidden_flag(&["--rebooting"], Tier::Staff), None);
        assert_eq!(m.forbidden_flag(&[], Tier::Member), None);
    }

    #[test]
    fn empty_config_means_only_administrators_are_elevated() {
        let none = Roles::default();
        assert_eq!(resolve(&[1, 2, 3], false, &none), Tier::Member);
        assert_eq!(resolve(&[], true, &none), Tier::Admin);
    }
}
