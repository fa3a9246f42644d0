//! Integration tests: one binary, one module per area, shared helpers in `support`.

// A failed unwrap in a test or its helpers is a failed test, with its location.
#![allow(clippy::unwrap_used)]

mod architecture;
mod conformance;
mod discord;
mod fidelity;
mod hardening;
mod health;
mod onboarding;
mod ops;
mod placement;
mod process;
mod recruitment;
mod sandbox;
mod sheets;
mod support;
