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
    write: tokio::sync::Mutex<()>,
}

impl ChannelGate for Access {
    fn allows(&self, channel_and_ancestors: &[u64]) -> bool {
        self.lists.load().allows(channel_and_ancestors)
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
    /// The lists in `data_dir` at startup; a corrupt file is moved aside and reported, and
    /// the bot starts with empty lists (acting everywhere) rather than refusing to start.
    pub(crate) async fn load(data_dir: &Path) -> Access {
        let dir = data_dir.to_path_buf();
        let lists = match blocking({
            let dir = dir.clone();
            move || load(&dir)
        })
        .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "bot access lists unreadable; starting with empty lists");
                empty()
            }
        };
        Access {
            dir,
            lists: ArcSwap::from_pointee(lists),
            write: tokio::sync::Mutex::new(()),
        }
    }

    /// The lists as the file holds them now.
    async fn read_file(&self) -> Result<AccessLists, FileError> {
        let dir = self.dir.clone();
        blocking(move || load(&dir)).await
    }

    /// Applies `op` to `ids` in the file and in force; returns the new lists and the ids
    /// that changed. One change at a time.
    async fn change(
        &self,
        op: Op,
        ids: Vec<u64>,
        actor: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(AccessLists, Vec<u64>), FileError> {
        let _guard = self.write.lock().await;
        let dir = self.dir.clone();
        let (lists, changed) = blocking(move || {
            let mut lists = load(&dir)?;
            let changed = lists.apply(op, &ids);
            lists.version = 1;
            lists.updated_at = Some(crate::store::ts(now));
            lists.updated_by = Some(actor);
            save(&dir, &lists)?;
            Ok((lists, changed))
        })
        .await?;
        self.lists.store(Arc::new(lists.clone()));
        Ok((lists, changed))
    }
}

/// Reads the lists; a missing file is empty lists. A file that does not parse is moved
/// aside (kept for inspection) and reported.
pub(crate) fn load(data_dir: &Path) -> Result<AccessLists, FileError> {
    Ok(atomic_file::read_json(&data_dir.join(FILE))?.unwrap_or_else(empty))
}

pub(crate) fn save(data_dir: &Path, lists: &AccessLists) -> Result<(), FileError> {
    atomic_file::write_json(&data_dir.join(FILE), lists)
}

/// Resolves `#mentions`, ids and channel names (in the guild) to ids.
fn resolve(ctx: Ctx<'_>, words: &str) -> Result<Vec<u64>, CommandError> {
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
            Ok(id) => Some(id),
            Err(_) => ctx.guild().and_then(|g| {
                g.channels
                    .values()
                    .find(|c| c.name.eq_ignore_ascii_case(t))
                    .map(|c| c.id.get())
            }),
        };
        match id {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                return Err(CommandError::user(format!(
                    "I cannot find a channel or category named `{w}`. Use #mentions, ids or exact names."
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
        FileError::Corrupt { .. } => CommandError::user(format!(
            "⚠️ {e}. The lists start empty; re-add your entries."
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
    let (lists, changed) = access
        .change(op, ids.clone(), actor, data.status.clock.utc())
        .await
        .map_err(file_error)?;
    let action = match op {
        Op::Allow => "perm.allow",
        Op::Deny => "perm.deny",
        Op::Remove => "perm.remove",
    };
    let _ = data
        .store
        .audit(
            &ctx.author().name,
            action,
            None,
            Some(serde_json::json!({"ids": ids.iter().map(|i| i.to_string()).collect::<Vec<_>>()})),
        )
        .await;
    let note = if changed.is_empty() {
        "Nothing changed.".to_owned()
    } else {
        format!("Changed: {}", mentions(&changed))
    };
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
            "Unknown flag `{other}`. Usage: `!perm bot list [--json]`."
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

    #[test]
    fn files_round_trip_and_corruption_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap().allow, Vec::<u64>::new());
        let mut l = AccessLists::default();
        l.apply(Op::Deny, &[5]);
        save(dir.path(), &l).unwrap();
        assert_eq!(load(dir.path()).unwrap().deny, vec![5]);
        std::fs::write(dir.path().join(FILE), b"{ not json").unwrap();
        assert!(matches!(load(dir.path()), Err(FileError::Corrupt { .. })));
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
