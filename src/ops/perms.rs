//! The bot's channel access lists (`perm bot ...`, admins): which channels and categories
//! the bot may act in. Stored as JSON in `DATA_DIR/bot_access_lists.json` (the
//! persistent disk; the predecessor kept it on the container's disk and lost it on every
//! deploy), written atomically.
//!
//! Rules: deny wins (a channel denied directly or through its category is never
//! allowed); with no allow entries every channel that is not denied is allowed; with
//! allow entries only those channels (or channels in those categories) are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, FileError};
use crate::discord::errors::CommandError;
use crate::discord::reply::{self, Reply};
use crate::discord::tiers::Meta;
use crate::discord::{ChannelGate, Ctx};
use crate::message::embed::{COLOR_INFO, Embed};

pub(crate) const FILE: &str = "bot_access_lists.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessLists {
    pub version: u32,
    /// Channel or category ids.
    pub allow: Vec<u64>,
    pub deny: Vec<u64>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Allow,
    Deny,
    Remove,
}

impl AccessLists {
    /// Why a file's lists cannot be trusted: a version this build does not know, or an
    /// id that cannot be a channel. Such a file counts as unreadable.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err(format!(
                "version {} is not one this build knows (1)",
                self.version
            ));
        }
        if let Some(bad) = self.allow.iter().chain(&self.deny).find(|id| **id == 0) {
            return Err(format!("{bad} is not a channel id"));
        }
        Ok(())
    }

    /// Applies `op` to `ids`; returns the ids that changed.
    pub(crate) fn apply(&mut self, op: Op, ids: &[u64]) -> Vec<u64> {
        let mut changed = Vec::new();
        for id in ids {
            let before = (self.allow.contains(id), self.deny.contains(id));
            self.allow.retain(|x| x != id);
            self.deny.retain(|x| x != id);
            match op {
                Op::Allow => self.allow.push(*id),
                Op::Deny => self.deny.push(*id),
                Op::Remove => {}
            }
            if before != (self.allow.contains(id), self.deny.contains(id)) {
                changed.push(*id);
            }
        }
        self.allow.sort_unstable();
        self.deny.sort_unstable();
        changed
    }

    /// Whether the bot may act in a channel, given the channel and its ancestors (the
    /// parent of a thread, the category).
    pub(crate) fn allows(&self, ids: &[u64]) -> bool {
        if ids.iter().any(|i| self.deny.contains(i)) {
            return false;
        }
        self.allow.is_empty() || ids.iter().any(|i| self.allow.contains(i))
    }
}

/// The lists in force, their file, and the lock that serialises changes. It is the
/// dispatcher's channel gate, and the `perm bot` commands change it.
pub(crate) struct Access {
    dir: PathBuf,
    lists: ArcSwap<AccessLists>,
    /// Why the file could not be used, while it cannot.
    unreadable: ArcSwap<Option<String>>,
    write: tokio::sync::Mutex<()>,
}

impl ChannelGate for Access {
    /// Unreadable lists allow nothing: the bot cannot know where it may act, so only the
    /// platform commands (which skip the gate) answer until an admin writes new lists.
    fn allows(&self, channel_and_ancestors: &[u64]) -> bool {
        self.unreadable.load().is_none() && self.lists.load().allows(channel_and_ancestors)
    }
}

impl crate::runtime::ComponentCheck for Access {
    fn name(&self) -> &'static str {
        "access"
    }

    fn check(&self) -> crate::runtime::ComponentHealth {
        use crate::runtime::{ComponentHealth, Level};
        match self.unreadable().as_deref() {
            Some(why) => ComponentHealth::new(
                Level::Degraded,
                format!(
                    "bot access lists unreadable, so only ops/perm/cfg answer: {why}. An admin's `!perm bot allow|deny|remove …` writes new lists"
                ),
            ),
            None => {
                let l = self.lists.load();
                ComponentHealth::new(
                    Level::Ok,
                    format!("{} allowed, {} denied", l.allow.len(), l.deny.len()),
                )
            }
        }
    }
}

fn empty() -> AccessLists {
    AccessLists {
        version: 1,
        ..Default::default()
    }
}

/// Runs file work on the blocking pool: the writes are fsync'd.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, FileError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(FileError::Worker(e.to_string())))
}

impl Access {
    /// The lists in `data_dir` at startup. A file that cannot be used is kept (a copy goes
    /// beside it) and the gate stays closed until an admin writes new lists: acting
    /// everywhere on a damaged file would ignore every deny entry in it.
    pub(crate) async fn load(data_dir: &Path) -> Access {
        let dir = data_dir.to_path_buf();
        let (lists, unreadable) = match blocking({
            let dir = dir.clone();
            move || load(&dir)
        })
        .await
        {
            Ok(l) => (l, None),
            Err(e) => {
                tracing::error!(error = %e, "bot access lists unreadable; only ops, perm and cfg answer until an admin repairs them");
                (empty(), Some(e.to_string()))
            }
        };
        Access {
            dir,
            lists: ArcSwap::from_pointee(lists),
            unreadable: ArcSwap::from_pointee(unreadable),
            write: tokio::sync::Mutex::new(()),
        }
    }

    /// Why the lists cannot be used, while they cannot.
    pub(crate) fn unreadable(&self) -> Option<String> {
        (**self.unreadable.load()).clone()
    }

    /// The lists as the file holds them now.
    async fn read_file(&self) -> Result<AccessLists, FileError> {
        let dir = self.dir.clone();
        blocking(move || load(&dir)).await
    }

    /// Applies `op` to `ids` in the file and in force; returns the new lists, the ids that
    /// changed, and why the old file could not be used when this change replaced it. One
    /// change at a time.
    async fn change(
        &self,
        op: Op,
        ids: Vec<u64>,
        actor: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Changed, FileError> {
        let _guard = self.write.lock().await;
        let dir = self.dir.clone();
        let changed = blocking(move || {
            let (mut lists, replaced) = match load(&dir) {
                Ok(l) => (l, None),
                // The damaged file is kept as a copy; the new lists start empty.
                Err(e @ FileError::Unusable { .. }) => (empty(), Some(e.to_string())),
                Err(e) => return Err(e),
            };
            let ids = lists.apply(op, &ids);
            if !ids.is_empty() || replaced.is_some() {
                lists.version = 1;
                lists.updated_at = Some(crate::store::ts(now));
                lists.updated_by = Some(actor);
                save(&dir, &lists)?;
            }
            Ok(Changed {
                lists,
                ids,
                replaced,
            })
        })
        .await?;
        self.lists.store(Arc::new(changed.lists.clone()));
        self.unreadable.store(Arc::new(None));
        Ok(changed)
    }
}

/// What a change did.
struct Changed {
    lists: AccessLists,
    /// The ids whose entry changed.
    ids: Vec<u64>,
    /// Why the file it replaced could not be used, if it could not.
    replaced: Option<String>,
}

/// Reads the lists; a missing file is empty lists. A file that is empty, does not parse,
/// or holds values this build cannot use ([`AccessLists::validate`]) is reported and kept
/// in place, with a copy beside it.
pub(crate) fn load(data_dir: &Path) -> Result<AccessLists, FileError> {
    let path = data_dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(empty()),
        Err(source) => return Err(FileError::Read { path, source }),
    };
    let parsed = if bytes.is_empty() {
        Err("the file is empty".to_owned())
    } else {
        serde_json::from_slice::<AccessLists>(&bytes)
            .map_err(|e| format!("not valid JSON for the lists: {e}"))
            .and_then(|l| l.validate().map(|()| l))
    };
    parsed.or_else(|reason| {
        let copy = atomic_file::keep_copy(&path)?;
        Err(FileError::Unusable { path, reason, copy })
    })
}

pub(crate) fn save(data_dir: &Path, lists: &AccessLists) -> Result<(), FileError> {
    atomic_file::write_json(&data_dir.join(FILE), lists)
}

/// Resolves `#mentions`, ids and channel names to ids of channels, categories or
/// threads that exist in the guild. An id the guild does not have is refused: an entry
/// for nothing (`allow 0`) would silence the bot everywhere else.
fn resolve(ctx: Ctx<'_>, words: &str) -> Result<Vec<u64>, CommandError> {
    let Some(guild) = ctx.guild().map(|g| g.clone()) else {
        return Err(CommandError::user(
            "The access lists are per server: run this in the server.",
        ));
    };
    let exists = |id: u64| {
        let cid = serenity::all::ChannelId::new(id);
        guild.channels.contains_key(&cid) || guild.threads.iter().any(|t| t.id == cid)
    };
    let mut ids = Vec::new();
    for w in words
        .split([' ', ','])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let t = w
            .trim_start_matches("<#")
            .trim_end_matches('>')
            .trim_start_matches('#');
        let id = match t.parse::<u64>() {
            Ok(id) if id > 0 && exists(id) => Some(id),
            Ok(_) => {
                return Err(CommandError::user(format!(
                    "There is no channel or category {} in this server. Use #mentions, ids or exact names.",
                    crate::util::text::code(w)
                )));
            }
            Err(_) => guild
                .channels
                .values()
                .find(|c| c.name.eq_ignore_ascii_case(t))
                .map(|c| c.id.get()),
        };
        match id {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                return Err(CommandError::user(format!(
                    "I cannot find a channel or category named {} in this server. Use #mentions, ids or exact names.",
                    crate::util::text::code(w)
                )));
            }
        }
    }
    if ids.is_empty() {
        return Err(CommandError::user(
            "Name at least one channel or category: `!perm bot allow #channel …`.",
        ));
    }
    Ok(ids)
}

fn file_error(e: FileError) -> CommandError {
    match e {
        FileError::Unusable { .. } => CommandError::user(format!(
            "⚠️ {e}. Until new lists are written only ops, perm and cfg answer; `!perm bot allow|deny|remove …` writes new lists, starting empty."
        )),
        other => CommandError::Internal(other.to_string()),
    }
}

fn mentions(ids: &[u64]) -> String {
    if ids.is_empty() {
        "—".into()
    } else {
        ids.iter()
            .map(|i| format!("<#{i}>"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub(crate) fn lists_embed(l: &AccessLists) -> Embed {
    let mode = if l.allow.is_empty() {
        "everywhere except denied channels"
    } else {
        "only in allowed channels (and their categories)"
    };
    Embed::new("Bot access lists")
        .description(format!("The bot acts {mode}; deny wins."))
        .color(COLOR_INFO)
        .field("Allowed", mentions(&l.allow), false)
        .field("Denied", mentions(&l.deny), false)
        .footer(match (&l.updated_by, &l.updated_at) {
            (Some(by), Some(at)) => format!("last changed {at} by {by}"),
            _ => "never changed".into(),
        })
}

async fn change(ctx: Ctx<'_>, op: Op, channels: String) -> Result<(), CommandError> {
    let ids = resolve(ctx, &channels)?;
    let data = ctx.data();
    let access = data.features.get::<Access>()?;
    let actor = format!("{} ({})", ctx.author().name, ctx.author().id);
    let Changed {
        lists,
        ids: changed,
        replaced,
    } = access
        .change(op, ids.clone(), actor, data.status.clock.utc())
        .await
        .map_err(file_error)?;
    let action = match op {
        Op::Allow => "perm.allow",
        Op::Deny => "perm.deny",
        Op::Remove => "perm.remove",
    };
    if !changed.is_empty() || replaced.is_some() {
        let _ = data
            .store
            .audit(
                &ctx.author().name,
                action,
                None,
                Some(serde_json::json!({"ids": ids.iter().map(|i| i.to_string()).collect::<Vec<_>>(), "replaced_unreadable": replaced.is_some()})),
            )
            .await;
    }
    let mut note = if changed.is_empty() {
        "Nothing changed.".to_owned()
    } else {
        format!("Changed: {}", mentions(&changed))
    };
    if let Some(why) = replaced {
        note = format!(
            "⚠️ The lists were unreadable ({why}); they start empty now, with this change. {note}"
        );
    }
    reply::send(
        ctx,
        Reply {
            content: note,
            embeds: vec![lists_embed(&lists)],
            ..Default::default()
        },
    )
    .await
}

/// Permission tools for admins.
#[poise::command(prefix_command, slash_command, subcommands("bot"), subcommand_required, custom_data = Meta::admin().platform())]
pub(crate) async fn perm(_ctx: Ctx<'_>) -> Result<(), CommandError> {
    Ok(())
}

/// The bot's channel access lists.
#[poise::command(prefix_command, slash_command, subcommands("list", "allow", "deny", "remove"), subcommand_required, custom_data = Meta::admin())]
pub(crate) async fn bot(_ctx: Ctx<'_>) -> Result<(), CommandError> {
    Ok(())
}

/// Shows the access lists (`--json` for the raw file).
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub(crate) async fn list(
    ctx: Ctx<'_>,
    #[description = "--json for the raw file"] flags: Option<String>,
) -> Result<(), CommandError> {
    let lists = ctx
        .data()
        .features
        .get::<Access>()?
        .read_file()
        .await
        .map_err(file_error)?;
    match flags.as_deref().map(str::trim) {
        None | Some("") => reply::send(ctx, Reply::embed(lists_embed(&lists))).await,
        Some("--json") => {
            let json = serde_json::to_string_pretty(&lists)
                .map_err(|e| CommandError::Internal(e.to_string()))?;
            reply::send(ctx, Reply::text(format!("```json\n{json}\n```"))).await
        }
        Some(other) => Err(CommandError::user(format!(
            "Unknown flag {}. Usage: `!perm bot list [--json]`.",
            crate::util::text::code(other)
        ))),
    }
}

/// Allows the bot in these channels or categories.
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub(crate) async fn allow(
    ctx: Ctx<'_>,
    #[description = "Channels or categories: #mentions, ids or names"]
    #[rest]
    channels: String,
) -> Result<(), CommandError> {
    change(ctx, Op::Allow, channels).await
}

/// Denies the bot these channels or categories (deny wins).
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub(crate) async fn deny(
    ctx: Ctx<'_>,
    #[description = "Channels or categories: #mentions, ids or names"]
    #[rest]
    channels: String,
) -> Result<(), CommandError> {
    change(ctx, Op::Deny, channels).await
}

/// Removes these channels or categories from both lists.
#[poise::command(prefix_command, slash_command, custom_data = Meta::admin())]
pub(crate) async fn remove(
    ctx: Ctx<'_>,
    #[description = "Channels or categories: #mentions, ids or names"]
    #[rest]
    channels: String,
) -> Result<(), CommandError> {
    change(ctx, Op::Remove, channels).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_and_allow_lists_restrict() {
        let mut l = AccessLists::default();
        assert!(l.allows(&[1]), "no lists: everywhere");
        l.apply(Op::Deny, &[10]);
        assert!(!l.allows(&[1, 10]), "a denied category denies its channels");
        assert!(l.allows(&[2]));
        l.apply(Op::Allow, &[1, 3]);
        assert!(l.allows(&[1]) && !l.allows(&[2]), "allow entries restrict");
        assert!(!l.allows(&[3, 10]), "deny wins over allow");
        assert_eq!(
            l.apply(Op::Allow, &[10]),
            vec![10],
            "allowing moves it out of deny"
        );
        assert_eq!(l.deny, Vec::<u64>::new());
        assert_eq!(l.apply(Op::Remove, &[1, 99]), vec![1]);
        assert_eq!(l.allow, vec![3, 10]);
    }

    #[tokio::test]
    async fn every_kind_of_unreadable_file_closes_the_gate() {
        for (what, bytes) in [
            ("truncated", &b"{\"version\":1,\"allow\":[1"[..]),
            ("empty", &b""[..]),
            (
                "wrong types",
                &b"{\"version\":1,\"allow\":\"all\",\"deny\":[]}"[..],
            ),
            (
                "unknown version",
                &b"{\"version\":99,\"allow\":[],\"deny\":[]}"[..],
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(FILE), bytes).unwrap();
            let access = Access::load(dir.path()).await;
            assert!(!access.allows(&[1, 2]), "{what}: acts nowhere");
            assert!(access.unreadable().is_some(), "{what}: says why");
            assert!(dir.path().join(FILE).exists(), "{what}: the file stays");
        }
        let dir = tempfile::tempdir().unwrap();
        let fresh = Access::load(dir.path()).await;
        assert!(fresh.allows(&[1]), "no file: everywhere");
        assert!(fresh.unreadable().is_none());
    }

    #[test]
    fn files_round_trip_and_corruption_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap().allow, Vec::<u64>::new());
        let mut l = empty();
        l.apply(Op::Deny, &[5]);
        save(dir.path(), &l).unwrap();
        assert_eq!(load(dir.path()).unwrap().deny, vec![5]);
        std::fs::write(dir.path().join(FILE), b"{ not json").unwrap();
        assert!(matches!(load(dir.path()), Err(FileError::Unusable { .. })));
        assert!(
            matches!(load(dir.path()), Err(FileError::Unusable { .. })),
            "still there"
        );
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("corrupt")
            })
            .count();
        assert_eq!(kept, 1);
    }
}
