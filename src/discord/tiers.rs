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
pub enum Tier {
    Member,
    Recruiter,
    Staff,
    Admin,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Member, Tier::Recruiter, Tier::Staff, Tier::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Member => "member",
            Tier::Recruiter => "recruiter",
            Tier::Staff => "staff",
            Tier::Admin => "admin",
        }
    }

    /// The help section for commands of this tier.
    pub fn audience(self) -> &'static str {
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

/// Command metadata, stored in poise's `custom_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub tier: Tier,
    /// Work may take longer than Discord's 3 s: slash invocations are deferred first.
    pub slow: bool,
}

impl Meta {
    pub const fn member() -> Meta {
        Meta {
            tier: Tier::Member,
            slow: false,
        }
    }
    pub const fn recruiter() -> Meta {
        Meta {
            tier: Tier::Recruiter,
            slow: false,
        }
    }
    pub const fn staff() -> Meta {
        Meta {
            tier: Tier::Staff,
            slow: false,
        }
    }
    pub const fn admin() -> Meta {
        Meta {
            tier: Tier::Admin,
            slow: false,
        }
    }
    pub const fn slow(self) -> Meta {
        Meta { slow: true, ..self }
    }
}

/// A command's metadata. A command without metadata is treated as admin-only: failing
/// closed is the safe default, and a unit test keeps it from happening.
pub fn meta_of<U, E>(cmd: &poise::Command<U, E>) -> Meta {
    cmd.custom_data
        .downcast_ref::<Meta>()
        .copied()
        .unwrap_or(Meta::admin())
}

/// The caller's tier from their role ids and whether Discord gives them Administrator.
pub fn resolve(roles: &[u64], administrator: bool, cfg: &Roles) -> Tier {
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
    fn empty_config_means_only_administrators_are_elevated() {
        let none = Roles::default();
        assert_eq!(resolve(&[1, 2, 3], false, &none), Tier::Member);
        assert_eq!(resolve(&[], true, &none), Tier::Admin);
    }
}
