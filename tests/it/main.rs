//! Integration tests: one binary, one module per area, shared helpers in `support`.

mod health;
mod process;
mod support;
