//! The sandbox world: one guild with fixed snowflakes, so the sample workbook in
//! `config/sample/` can reference its roles and channels.

/// Discord's epoch (2015-01-01), for snowflake timestamps.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

pub const GUILD_ID: u64 = 1_200_000_000_000_000_001;
pub const GUILD_NAME: &str = "Clanhall Sandbox";
/// The bot user; also the application id.
pub const BOT_ID: u64 = 1_200_000_000_000_000_900;
pub const BOT_NAME: &str = "clanhall";
pub const OWNER_ID: u64 = 1_200_000_000_000_000_201;

#[derive(Debug, Clone, Copy)]
pub struct RoleDef {
    pub key: &'static str,
    pub id: u64,
    pub name: &'static str,
    pub color: u32,
    pub position: u16,
    /// Discord permission bits.
    pub permissions: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct UserDef {
    pub key: &'static str,
    pub id: u64,
    pub username: &'static str,
    pub display: &'static str,
    pub bot: bool,
    pub roles: &'static [&'static str],
}

#[derive(Debug, Clone, Copy)]
pub struct ChannelDef {
    pub key: &'static str,
    pub id: u64,
    pub name: &'static str,
    pub topic: &'static str,
}

/// Send messages, read history, embed links, add reactions, use application commands,
/// create/send in threads: what a normal member can do.
pub const MEMBER_PERMISSIONS: u64 = 0x0000_0040
    | 0x0000_0400
    | 0x0000_0800
    | 0x0000_4000
    | 0x0001_0000
    | 0x8000_0000
    | 0x0008_0000_0000
    | 0x0040_0000_0000;
pub const MANAGE_THREADS: u64 = 0x0004_0000_0000;
pub const MANAGE_ROLES: u64 = 0x1000_0000;
pub const MANAGE_CHANNELS: u64 = 0x10;
pub const MANAGE_MESSAGES: u64 = 0x2000;

pub const ROLES: &[RoleDef] = &[
    RoleDef {
        key: "admin",
        id: 1_200_000_000_000_000_101,
        name: "Admin",
        color: 0xE74C3C,
        position: 4,
        permissions: MEMBER_PERMISSIONS | MANAGE_ROLES | MANAGE_CHANNELS | MANAGE_THREADS,
    },
    RoleDef {
        key: "staff",
        id: 1_200_000_000_000_000_102,
        name: "Staff",
        color: 0x3498DB,
        position: 3,
        permissions: MEMBER_PERMISSIONS | MANAGE_THREADS,
    },
    RoleDef {
        key: "recruiter",
        id: 1_200_000_000_000_000_103,
        name: "Recruiter",
        color: 0x2ECC71,
        position: 2,
        permissions: MEMBER_PERMISSIONS,
    },
    RoleDef {
        key: "tickettool",
        id: 1_200_000_000_000_000_108,
        name: "Ticket Tool",
        color: 0x7289DA,
        position: 1,
        permissions: MEMBER_PERMISSIONS | MANAGE_CHANNELS | MANAGE_THREADS | MANAGE_MESSAGES,
    },
    RoleDef {
        key: "bot",
        id: 1_200_000_000_000_000_109,
        name: "clanhall",
        color: 0x95A5A6,
        position: 5,
        // Manage Messages: the questionnaire deletes the answers it captured from replies.
        permissions: MEMBER_PERMISSIONS
            | MANAGE_ROLES
            | MANAGE_CHANNELS
            | MANAGE_THREADS
            | MANAGE_MESSAGES,
    },
];

pub const USERS: &[UserDef] = &[
    UserDef {
        key: "admin",
        id: 1_200_000_000_000_000_201,
        username: "ada_admin",
        display: "Ada (admin)",
        bot: false,
        roles: &["admin"],
    },
    UserDef {
        key: "staff",
        id: 1_200_000_000_000_000_202,
        username: "sam-staff",
        display: "Sam (staff)",
        bot: false,
        roles: &["staff"],
    },
    UserDef {
        key: "recruiter",
        id: 1_200_000_000_000_000_203,
        username: "rio_recruiter",
        display: "Rio (recruiter)",
        bot: false,
        roles: &["recruiter"],
    },
    UserDef {
        key: "member",
        id: 1_200_000_000_000_000_204,
        username: "max-member",
        display: "Max (member)",
        bot: false,
        roles: &[],
    },
    UserDef {
        key: "recruit",
        id: 1_200_000_000_000_000_205,
        username: "rue-the-recruit",
        display: "Rue (recruit)",
        bot: false,
        roles: &[],
    },
    UserDef {
        key: "tickettool",
        id: 1_200_000_000_000_000_206,
        username: "Ticket Tool",
        display: "Ticket Tool",
        bot: true,
        roles: &["tickettool"],
    },
    UserDef {
        key: "clanhall",
        id: BOT_ID,
        username: BOT_NAME,
        display: "clanhall",
        bot: true,
        roles: &["bot"],
    },
];

pub const CHANNELS: &[ChannelDef] = &[
    ChannelDef {
        key: "general",
        id: 1_200_000_000_000_000_301,
        name: "general",
        topic: "Say hello",
    },
    ChannelDef {
        key: "ops-log",
        id: 1_200_000_000_000_000_302,
        name: "ops-log",
        topic: "Bot log channel",
    },
    ChannelDef {
        key: "recruiters",
        id: 1_200_000_000_000_000_303,
        name: "recruiters",
        topic: "Recruiter coordination",
    },
    ChannelDef {
        key: "welcome",
        id: 1_200_000_000_000_000_304,
        name: "welcome",
        topic: "Welcome tickets",
    },
    ChannelDef {
        key: "interact",
        id: 1_200_000_000_000_000_305,
        name: "interact",
        topic: "Clan lead lookups",
    },
    ChannelDef {
        key: "live-queue",
        id: 1_200_000_000_000_000_306,
        name: "live-queue",
        topic: "Live queue",
    },
    ChannelDef {
        key: "promo",
        id: 1_200_000_000_000_000_307,
        name: "promo",
        topic: "Promotion tickets",
    },
];

pub fn role(key: &str) -> Option<&'static RoleDef> {
    ROLES.iter().find(|r| r.key.eq_ignore_ascii_case(key))
}

/// A user by key (`staff`), username or id.
pub fn user(key: &str) -> Option<&'static UserDef> {
    let k = key.trim().trim_start_matches('@');
    USERS.iter().find(|u| {
        u.key.eq_ignore_ascii_case(k) || u.username.eq_ignore_ascii_case(k) || u.id.to_string() == k
    })
}

pub fn user_by_id(id: u64) -> Option<&'static UserDef> {
    USERS.iter().find(|u| u.id == id)
}

/// A channel by key or name (with or without `#`) or id.
pub fn channel(key: &str) -> Option<&'static ChannelDef> {
    let k = key.trim().trim_start_matches('#');
    CHANNELS.iter().find(|c| {
        c.key.eq_ignore_ascii_case(k) || c.name.eq_ignore_ascii_case(k) || c.id.to_string() == k
    })
}

/// The people an operator can be in the console (bots excluded).
pub fn humans() -> impl Iterator<Item = &'static UserDef> {
    USERS.iter().filter(|u| !u.bot)
}

/// Everyone a person at the console may speak as: the humans and the other bots (their
/// messages are how the bot meets Ticket Tool), but not the bot itself.
pub fn speakers() -> impl Iterator<Item = &'static UserDef> {
    USERS.iter().filter(|u| u.id != BOT_ID)
}

/// A user the console may speak as, or why not.
pub fn speaker(key: &str) -> Result<&'static UserDef, String> {
    let list = || speakers().map(|u| u.key).collect::<Vec<_>>().join(", ");
    match user(key) {
        Some(u) if u.id == BOT_ID => Err(format!(
            "{} is the bot itself and answers on its own; users: {}",
            u.key,
            list()
        )),
        Some(u) => Ok(u),
        None => Err(format!("unknown user {key:?}; users: {}", list())),
    }
}
