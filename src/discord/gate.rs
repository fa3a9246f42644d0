//! Where the bot may act. The dispatcher asks the gate before every command outside a
//! direct message; commands whose metadata marks them `platform` (ops, perm, cfg) skip
//! it, so an admin can always inspect the bot and undo a gate that locked it out. The
//! bot access lists (`ops::perms`) are the gate in production.

/// Decides, from a channel and its ancestors (a thread's parent, the category), whether
/// the bot acts there.
pub(crate) trait ChannelGate: Send + Sync + 'static {
    fn allows(&self, channel_and_ancestors: &[u64]) -> bool;
}
