//! Integration tests: one binary, one module per area, shared helpers in `support`.

mod discord;
mod health;
mod ops;
mod process;
mod sandbox;
mod sheets;
mod support;
