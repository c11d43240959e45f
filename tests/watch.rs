//! The document-root watcher on real files and real inotify.
//!
//! `inproc_*`: the watcher worker in-process with a real SQLite store and
//! intake (the queue is inspected directly; no API involved).
//! `daemon`: the real binary against the simulator, once the daemon runs
//! the watcher (`cargo test --test watch daemon::`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "watch/daemon.rs"]
mod daemon;
#[path = "watch/files.rs"]
mod inproc_files;
#[path = "watch/holds.rs"]
mod inproc_holds;
#[path = "watch/reconcile.rs"]
mod inproc_reconcile;
#[path = "watch/releases.rs"]
mod inproc_releases;
#[path = "watch/rig.rs"]
mod rig;
