//! The purge pipeline on the real binary against the simulator: batching,
//! coalescing, and each API failure mode driven through the simulator's
//! fault switches (throttling, 5xx, 413, refused URLs, auth, failed and
//! never-confirmed purges), plus graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "pipeline/basics.rs"]
mod basics;
#[path = "pipeline/faults.rs"]
mod faults;
#[path = "pipeline/status.rs"]
mod status;
