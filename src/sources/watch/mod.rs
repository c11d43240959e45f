//! The document-root watcher: when files under a site's `root` change, purge
//! exactly their URLs, once they are quiet, and only if their bytes changed.
//!
//! One worker per site ([`run_site`]), spawned by the daemon. inotify events
//! (through `notify`, one watch per directory) mark paths dirty; a dirty path
//! that has been quiet for `watch.settle` is compared with the site's file
//! index (in the store): added, modified and removed files are purged
//! through the [`Intake`](crate::intake::Intake), identical rewrites are
//! counted and skipped. The purge is durable before the index records the
//! new state, so a crash in between purges twice rather than never.
//!
//! The same comparison, over the whole root, is the startup reconciliation
//! (changes made while the daemon was down; the very first start only
//! indexes), the recovery from an event overflow, and the diff between two
//! releases when the root's symlink is switched.
//!
//! What the daemon wires: a [`WatchMetrics`] registered once, a
//! [`WatchControl`] shared with the admin API (hold / release / rescan),
//! and one [`run_site`] per site with a root. A webhook's `purge_site`
//! can list a site's files with [`site_files`].

pub mod control;
mod events;
mod filter;
mod hash;
mod hold;
mod job;
pub mod limits;
pub mod metrics;
mod root;
mod scan;
mod settle;
mod sink;
mod watches;
mod worker;

pub use control::{ControlError, SiteStatus, WatchControl};
pub use hold::key_for as hold_key;
pub use metrics::{MetricsError, WatchMetrics};

use crate::config::{Site, WatchSettings};
use crate::health::Health;
use crate::intake::Intake;
use crate::queue::{DynIndexStore, IndexStore, StoreError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Fatal errors: the worker stops and the daemon with it. Everything else
/// (store briefly down, unreadable files, a vanished root) is logged,
/// counted in `edgeflush_watch_errors_total`, shown on `/readyz` as
/// `watcher:<site>`, and retried.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("site `{0}` has no root to watch")]
    NoRoot(String),
    #[error("site `{site}`: cannot watch root {root}: {message}")]
    Root {
        site: String,
        root: String,
        message: String,
    },
    /// Out of inotify watches; the message names the sysctl and a value.
    #[error("{0}")]
    WatchLimit(String),
    /// Out of inotify instances (or file descriptors).
    #[error("{0}")]
    InstanceLimit(String),
    #[error("file watcher: {0}")]
    Watcher(String),
    #[error("watcher task failed: {0}")]
    Task(String),
}

/// What every site's worker shares. Cheap to clone.
#[derive(Clone)]
pub struct WatchContext {
    pub intake: Intake,
    /// The file index; with SQLite, the same `SqliteStore` as the queue.
    pub index: DynIndexStore,
    pub metrics: WatchMetrics,
    pub health: Arc<Health>,
    pub settings: WatchSettings,
    pub control: WatchControl,
}

/// Watches one site's root until `cancel`. Returns an error only for what
/// cannot be recovered (see [`WatchError`]).
pub async fn run_site(
    ctx: WatchContext,
    site: Arc<Site>,
    cancel: CancellationToken,
) -> Result<(), WatchError> {
    worker::run(ctx, site, cancel).await
}

/// A site's files (site-relative paths) from its index, for a whole-site
/// purge; None when the site has never been indexed (no watcher has run
/// on it yet), so that the caller can list the disk instead.
pub async fn site_files(
    index: &dyn IndexStore,
    site: &str,
) -> Result<Option<Vec<String>>, StoreError> {
    if index.index_created(site).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(index.site_files(site).await?))
}

/// The health component of a site's watcher on `/readyz`.
pub fn health_component(site: &str) -> String {
    format!("watcher:{site}")
}
