//! Small parsers and formatters shared by config, the scheduler, ops and the console:
//! durations as operators type them, Discord ids, and user text echoed safely. A leaf:
//! it depends on no other module of the crate.

pub(crate) mod duration;
pub(crate) mod ids;
pub(crate) mod memory;
pub(crate) mod text;
