//! `clanhall sandbox`: the local Discord + Google stand-in (the `clanhall-sandbox`
//! crate) with the bot pointed at it, and the front ends an operator uses: an
//! interactive [`console`], a script runner, or none (`--serve`).

pub(crate) mod console;
mod render;
pub(crate) mod run;
