//! Starting a site's watcher: resolve the root (through its symlinks),
//! count its directories against the inotify budget before adding any
//! watch, load the index (retrying while the store is down), and hand over
//! to the worker loop. Fatal problems stop here, with a message that says
//! what to change.

use super::filter::Filter;
use super::hold::Hold;
use super::limits::check_watch_budget;
use super::root;
use super::scan::{Index, Known, count_dirs};
use super::settle::Pending;
use super::sink::{EventSink, Relevance, Signals};
use super::watches::WatchSet;
use super::worker::{MAX_BACKOFF, Worker};
use super::{WatchContext, WatchError, health_component};
use crate::config::Site;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WatchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WatchError::Task(e.to_string()))
}

pub async fn run(
    ctx: WatchContext,
    site: Arc<Site>,
    cancel: CancellationToken,
) -> Result<(), WatchError> {
    let name = site.name().to_string();
    let configured = site
        .map
        .root()
        .map(Path::to_path_buf)
        .ok_or_else(|| WatchError::NoRoot(name.clone()))?;
    let shown = configured.display().to_string();
    let root = blocking(move || root::resolve(&configured))
        .await?
        .map_err(|e| WatchError::Root {
            site: name.clone(),
            root: shown,
            message: e.to_string(),
        })?;
    let filter = Filter::new(&ctx.settings, site.clone());
    let (t, f) = (root.target.clone(), filter.clone());
    let dirs = blocking(move || count_dirs(&t, &f)).await?;
    match check_watch_budget(&name, dirs) {
        Err(advice) => return Err(WatchError::WatchLimit(advice)),
        Ok(Some(warning)) => tracing::warn!(site = %name, "{warning}"),
        Ok(None) => {}
    }
    tracing::info!(site = %name, root = %root.target.display(), dirs, via_symlink = root.via_symlink(), "watching the document root");
    let component = health_component(&name);
    let Some((index, first_start)) = load_index(&ctx, &name, &component, &cancel).await else {
        return Ok(());
    };
    let (tx, rx) = mpsc::channel(ctx.settings.channel_capacity);
    let signals = Arc::new(Signals::default());
    let relevance = Arc::new(RwLock::new(Relevance {
        target: root.target.clone(),
        anchors: root.anchors.clone(),
    }));
    let sink = EventSink::new(tx, signals.clone(), relevance.clone());
    let mut watches = WatchSet::new(&name);
    watches.expect(dirs);
    let settle = ctx.settings.settle;
    let w = Worker {
        ctl: ctx.control.site(&name),
        hold: Hold::new(&name, ctx.settings.max_hold),
        indexed: index.len(),
        index: Some(index),
        watches: Arc::new(Mutex::new(watches)),
        pending: Pending::default(),
        cap: (settle * 10).max(Duration::from_secs(5)),
        marker_seen: false,
        release_pending: false,
        flush_now: false,
        root_reason: None,
        retry_at: None,
        backoff: Duration::from_secs(1),
        root_lost: false,
        ctx,
        site,
        name,
        component,
        filter,
        root,
        relevance,
        signals,
        sink,
        first_start,
    };
    w.run(rx, cancel).await
}

/// Loads the index, retrying while the store is unavailable. None: cancelled.
pub(super) async fn load_index(
    ctx: &WatchContext,
    name: &str,
    component: &str,
    cancel: &CancellationToken,
) -> Option<(Index, bool)> {
    let mut backoff = Duration::from_secs(1);
    loop {
        let loaded = async {
            let created = ctx.index.index_created(name).await?;
            let files = ctx.index.load_index(name).await?;
            Ok::<_, crate::queue::StoreError>((files, created.is_none()))
        }
        .await;
        match loaded {
            Ok((files, first)) => {
                ctx.health.ok(component);
                let index = files
                    .into_iter()
                    .map(|f| {
                        let known = Known {
                            stamp: f.stamp,
                            hash: f.hash,
                        };
                        (f.path, known)
                    })
                    .collect();
                return Some((index, first));
            }
            Err(e) => {
                tracing::warn!(site = name, error = %e, "cannot load the file index; retrying");
                ctx.health.fail(component, format!("file index: {e}"));
                ctx.metrics.errors.with_label_values(&[name, "store"]).inc();
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
