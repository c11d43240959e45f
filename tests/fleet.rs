//! Fleet mode on the real binary: three daemons on their own ports share one
//! PostgreSQL schema and one simulator. The same change on every node is
//! flushed once, whether it comes through the admin API or as files
//! written into three roots; `kill -9` of the flushing node mid-batch leaves the work to
//! the others; the fleet as a whole keeps the configured request rate.
//! Skipped (with a printed reason) without `EDGEFLUSH_TEST_POSTGRES_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "fleet/failover.rs"]
mod failover;
#[path = "fleet/files.rs"]
mod files;
#[path = "fleet/fleet_setup.rs"]
mod fleet_setup;
#[path = "fleet/once.rs"]
mod once;
#[path = "store_suite/pgdb.rs"]
mod pgdb;
#[path = "fleet/rate.rs"]
mod rate;
