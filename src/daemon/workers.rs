//! The workers of the daemon, each `async fn(.., CancellationToken) ->
//! WorkerResult`, spawned into one JoinSet with a name for the logs.

use super::{DaemonError, WorkerResult};
use crate::config::Settings;
use crate::queue::now_ms;
use crate::sink::{SinkContext, flusher, poller, traffic, verify};
use crate::sources::watch::WatchContext;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

pub(super) type Tasks = JoinSet<(&'static str, WorkerResult)>;

pub(super) fn spawn_all(
    tasks: &mut Tasks,
    cancel: &CancellationToken,
    mut sink: SinkContext,
    watch: WatchContext,
    settings: Arc<Settings>,
) {
    // The verifier first, so the poller it listens to holds its queue.
    if let Some((queue, worker)) = verify::VerifyQueue::channel(&settings, &sink.metrics) {
        sink.verify = Some(queue);
        let (c, s) = (cancel.clone(), sink.clone());
        tasks.spawn(async move {
            (
                "verifier",
                verify::run(s, worker, c).await.map_err(Into::into),
            )
        });
    }
    // One watcher per site with a document root.
    for site in settings.sites.iter().filter(|s| s.map.root().is_some()) {
        let (c, w, site) = (cancel.clone(), watch.clone(), site.clone());
        tasks.spawn(async move {
            let r = crate::sources::watch::run_site(w, site, c).await;
            ("watcher", r.map_err(Into::into))
        });
    }
    let (c, s) = (cancel.clone(), sink.clone());
    tasks.spawn(async move { ("flusher", flusher::run(s, c).await.map_err(Into::into)) });
    let (c, s) = (cancel.clone(), sink.clone());
    tasks.spawn(async move { ("poller", poller::run(s, c).await.map_err(Into::into)) });
    let (c, s) = (cancel.clone(), sink.clone());
    tasks.spawn(async move {
        traffic::run(s, c).await;
        ("traffic", Ok(()))
    });
    let c = cancel.clone();
    tasks.spawn(async move { ("pruner", pruner(sink, settings, c).await) });
}

/// Logs and converts a finished task. A worker that returns early without
/// being cancelled is a failure too: the daemon must not run half-alive.
pub(super) fn outcome(
    done: Result<(&'static str, WorkerResult), JoinError>,
) -> Option<DaemonError> {
    match done {
        Ok((name, Ok(()))) => {
            tracing::debug!(worker = name, "worker stopped");
            None
        }
        Ok((name, Err(e))) => {
            tracing::error!(worker = name, error = %e, "worker failed");
            Some(e)
        }
        Err(e) if e.is_cancelled() => None,
        Err(e) => Some(DaemonError::Worker {
            name: "task",
            reason: e.to_string(),
        }),
    }
}

/// Serves a listener until cancelled. With `draining`, what still arrives
/// on open connections is answered 503 while in-flight requests finish.
pub(super) async fn serve(
    server: actix_web::dev::Server,
    draining: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    cancel: CancellationToken,
) -> WorkerResult {
    let handle = server.handle();
    let run = tokio::spawn(server);
    cancel.cancelled().await;
    if let Some(d) = draining {
        d.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    handle.stop(true).await;
    let err = |e: String| DaemonError::Worker {
        name: "listener",
        reason: e,
    };
    run.await
        .map_err(|e| err(e.to_string()))?
        .map_err(|e| err(e.to_string()))
}

/// Deletes finished purges older than `store.retention`, hourly.
async fn pruner(
    sink: SinkContext,
    settings: Arc<Settings>,
    cancel: CancellationToken,
) -> WorkerResult {
    loop {
        let before = now_ms() - settings.store.retention.as_millis() as i64;
        // Delivery ids are kept at least 3 days: GitHub and GitLab redeliver
        // for about that long.
        let deliveries = now_ms()
            - settings
                .store
                .retention
                .max(Duration::from_secs(3 * 86400))
                .as_millis() as i64;
        match sink.store.prune(before, deliveries).await {
            Ok(n) if n > 0 => tracing::info!(purges = n, "pruned finished purges"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "prune failed; will try again"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
