//! The command line on the real binary: API commands against the simulator
//! (check --online, vhosts, flush, flush-status, traffic), local ones (map),
//! the running daemon's (purge, status), the simulator and the demo as
//! children, exit codes (0 ok, 1 failure, 2 usage/config) and `--json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "cli/run.rs"]
mod run;

#[path = "cli/api.rs"]
mod api;
#[path = "cli/daemon_cmds.rs"]
mod daemon_cmds;
#[path = "cli/flush.rs"]
mod flush;
#[path = "cli/local.rs"]
mod local;
#[path = "cli/processes.rs"]
mod processes;
#[path = "cli/vhosts.rs"]
mod vhosts;
