//! The Cloakfusion client against the simulator (and, for wire shapes the
//! simulator never produces, a canned-answer server), over real loopback
//! HTTP: every endpoint and every variation of `docs/cloakfusion-api.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "client/failures.rs"]
mod failures;
#[path = "client/flush.rs"]
mod flush;
#[path = "client/throttle.rs"]
mod throttle;
#[path = "client/vhosts.rs"]
mod vhosts;
#[path = "client/wire.rs"]
mod wire;
