//! The watcher's Prometheus metrics, registered on the daemon's registry
//! (`Metrics.registry`) once, by whoever starts the watchers. Labels are
//! bounded: site, a fixed reason or kind; never a path.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct WatchMetrics {
    /// Filesystem events taken in, by kind (change, ignored, anchor).
    pub events: IntCounterVec,
    /// Ignored paths by reason (temporary, vcs, ignore_glob, excluded, marker).
    pub ignored: IntCounterVec,
    /// Changed files whose purge was enqueued, by change (added, modified, removed).
    pub files_purged: IntCounterVec,
    /// Files rewritten with identical content (or only touched): no purge.
    pub unchanged_skipped: IntCounterVec,
    /// Full reconciliations, by reason (startup, overflow, channel_full, root_switch, request).
    pub rescans: IntCounterVec,
    /// Runtime errors, by kind (store, io, watch, non_utf8, root, task).
    pub errors: IntCounterVec,
    /// Rounds (index comparisons) completed; the first is the startup one.
    pub rounds: IntCounterVec,
    /// Directories under an inotify watch, per site.
    pub watches: IntGaugeVec,
    /// Files in the index, per site.
    pub indexed_files: IntGaugeVec,
    /// 1 while a site's purges are held (marker or admin API).
    pub held: IntGaugeVec,
    /// The kernel's limit on inotify watches, as read at start.
    pub max_user_watches: IntGauge,
    /// From a path's last event to its purge being durable in the queue.
    pub event_to_enqueue: HistogramVec,
}

#[derive(Debug, thiserror::Error)]
#[error("registering watcher metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(r: &Registry, name: &str, help: &str) -> Result<IntGaugeVec, MetricsError> {
    let g = IntGaugeVec::new(Opts::new(name, help), &["site"])?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl WatchMetrics {
    /// Registers every watcher metric on `r`. Call once per registry: a
    /// second registration is refused by Prometheus.
    pub fn register(r: &Registry) -> Result<WatchMetrics, MetricsError> {
        let max_user_watches = IntGauge::new(
            "edgeflush_watch_inotify_max_user_watches",
            "fs.inotify.max_user_watches as read at start (-1 when unknown).",
        )?;
        r.register(Box::new(max_user_watches.clone()))?;
        max_user_watches.set(
            super::limits::read_limit(super::limits::MAX_USER_WATCHES)
                .map_or(-1, |v| v.min(i64::MAX as u64) as i64),
        );
        let event_to_enqueue = HistogramVec::new(
            HistogramOpts::new(
                "edgeflush_watch_event_to_enqueue_seconds",
                "From a path's last filesystem event to its purge being durable (settle included).",
            )
            .buckets(vec![
                0.05, 0.1, 0.25, 0.5, 0.55, 0.6, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0,
            ]),
            &["site"],
        )?;
        r.register(Box::new(event_to_enqueue.clone()))?;
        Ok(WatchMetrics {
            events: counter(
                r,
                "edgeflush_watch_events_total",
                "Filesystem events taken in by the watcher, by kind.",
                &["site", "kind"],
            )?,
            ignored: counter(
                r,
                "edgeflush_watch_ignored_total",
                "Changed paths ignored (temporary, vcs, ignore_glob, excluded, marker).",
                &["site", "reason"],
            )?,
            files_purged: counter(
                r,
                "edgeflush_watch_files_purged_total",
                "Changed files whose purge was enqueued, by change (added, modified, removed).",
                &["site", "change"],
            )?,
            unchanged_skipped: counter(
                r,
                "edgeflush_watch_unchanged_skipped_total",
                "Files written again with identical content (cp, touch, rsync): no purge.",
                &["site"],
            )?,
            rescans: counter(
                r,
                "edgeflush_watch_rescans_total",
                "Full reconciliations of a root with its index, by reason.",
                &["site", "reason"],
            )?,
            errors: counter(
                r,
                "edgeflush_watch_errors_total",
                "Runtime errors of the watcher (recovered), by kind.",
                &["site", "kind"],
            )?,
            rounds: counter(
                r,
                "edgeflush_watch_rounds_total",
                "Rounds completed (disk compared with the index); the first one is the startup reconciliation.",
                &["site"],
            )?,
            watches: gauge(
                r,
                "edgeflush_watch_watches",
                "inotify watches in use (one per directory, plus anchors), per site.",
            )?,
            indexed_files: gauge(
                r,
                "edgeflush_watch_indexed_files",
                "Files in the file index, per site.",
            )?,
            held: gauge(
                r,
                "edgeflush_watch_held",
                "1 while the site's purges are held (hold marker or admin API).",
            )?,
            max_user_watches,
            event_to_enqueue,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_per_registry() {
        let m = crate::metrics::Metrics::new();
        let w = WatchMetrics::register(&m.registry).unwrap();
        w.unchanged_skipped.with_label_values(&["www"]).inc();
        assert!(
            m.render()
                .contains("edgeflush_watch_unchanged_skipped_total{site=\"www\"} 1")
        );
        assert!(WatchMetrics::register(&m.registry).is_err());
    }
}
