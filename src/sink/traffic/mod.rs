//! The traffic worker: every `traffic.interval`, one `GET /traffic/` per
//! configured vhost, spread over the interval; each answer is stored as it
//! came (pruned after `traffic.retention`) and its numeric leaves exported
//! as `edgeflush_traffic{vhost, field}`. It shares the client, so its calls
//! go through the same rate limiter and 429 pause as the flusher's; a failed
//! snapshot is logged and counted, never retried early, and never stops
//! anything else.

pub mod figures;
mod schedule;

pub use figures::{Figures, figures};

use super::SinkContext;
use crate::cloakfusion::ApiError;
use crate::metrics::Metrics;
use crate::queue::{StoreError, now_ms};
use schedule::Schedule;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The first snapshot comes this soon after start (or after one interval
/// when that is shorter), so that a fresh daemon shows figures at once.
const FIRST_DELAY: Duration = Duration::from_secs(2);
/// Pruning runs at most this often (and at least once per interval).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("traffic API call failed: {0}")]
    Api(#[from] ApiError),
    #[error("snapshot not stored: {0}")]
    Store(#[from] StoreError),
}

impl TrafficError {
    pub fn kind(&self) -> &'static str {
        match self {
            TrafficError::Api(e) => e.kind(),
            TrafficError::Store(_) => "store",
        }
    }
}

/// Runs until `cancel`. Never fails: with snapshots off or no site it just
/// waits, because a worker that returns stops the daemon.
pub async fn run(cx: SinkContext, cancel: CancellationToken) {
    let t = cx.settings.traffic.clone();
    let mut vhosts: Vec<String> = Vec::new();
    for s in &cx.settings.sites {
        if !vhosts.iter().any(|v| v == s.vhost()) {
            vhosts.push(s.vhost().to_string());
        }
    }
    if !t.enabled || vhosts.is_empty() {
        tracing::info!(
            enabled = t.enabled,
            vhosts = vhosts.len(),
            "traffic snapshots off"
        );
        cancel.cancelled().await;
        return;
    }
    tracing::info!(vhosts = vhosts.len(), interval = ?t.interval, retention = ?t.retention,
        "traffic snapshots on");
    let start = Instant::now() + t.interval.min(FIRST_DELAY);
    let mut plan = Schedule::new(vhosts, t.interval, start);
    let mut exported = Exported::default();
    let mut next_prune = Instant::now();
    while let Some((slot, at, vhost)) = plan.next() {
        let vhost = vhost.to_string();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(at) => {}
        }
        // In a fleet one node takes the snapshots, so that they are stored
        // once and spend the shared API budget once.
        if !matches!(cx.store.lead("traffic").await, Ok(true)) {
            plan.done(slot, Instant::now());
            continue;
        }
        // A snapshot has no side effect on the API: dropping it mid-call at
        // shutdown loses nothing.
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = snapshot(&cx, &vhost) => r,
        };
        match result {
            Ok(f) => exported.set(&cx.metrics, &vhost, &f),
            Err(e) => failed(&cx.metrics, &vhost, &e),
        }
        plan.done(slot, Instant::now());
        if Instant::now() >= next_prune {
            prune(&cx, t.retention).await;
            next_prune = Instant::now() + t.interval.min(PRUNE_EVERY);
        }
    }
}

/// Takes, stores and reads one snapshot.
async fn snapshot(cx: &SinkContext, vhost: &str) -> Result<Figures, TrafficError> {
    let taken_at = now_ms();
    // No window: the figures the API reports by default, so that successive
    // snapshots of a vhost are comparable whatever slots were missed.
    let data = cx.client.traffic(Some(vhost), None).await?;
    cx.store.add_traffic(vhost, taken_at, &data).await?;
    cx.metrics
        .last_traffic_snapshot
        .set(taken_at as f64 / 1000.0);
    Ok(figures(&data, vhost))
}

fn failed(m: &Metrics, vhost: &str, e: &TrafficError) {
    m.traffic_snapshot_failures
        .with_label_values(&[vhost])
        .inc();
    if let TrafficError::Api(api) = e {
        m.api_errors
            .with_label_values(&["traffic", api.kind()])
            .inc();
        if matches!(api, ApiError::Throttled { .. }) {
            m.throttled.with_label_values(&["traffic"]).inc();
        }
    }
    tracing::warn!(vhost, kind = e.kind(), error = %e,
        "traffic snapshot failed; next one at its usual time");
}

async fn prune(cx: &SinkContext, retention: Duration) {
    let before = now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    match cx.store.prune_traffic(before).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(snapshots = n, "pruned old traffic snapshots"),
        Err(e) => tracing::warn!(error = %e, "pruning traffic snapshots failed; will try again"),
    }
}

/// The fields each vhost's gauge currently carries, so that a field gone
/// from the answer does not linger in the metrics with its last value.
#[derive(Default)]
struct Exported {
    fields: HashMap<String, BTreeSet<String>>,
    warned: HashSet<String>,
}

impl Exported {
    fn set(&mut self, m: &Metrics, vhost: &str, f: &Figures) {
        let now: BTreeSet<String> = f.fields.iter().map(|(k, _)| k.clone()).collect();
        if let Some(before) = self.fields.get(vhost) {
            for gone in before.difference(&now) {
                let _ = m.traffic.remove_label_values(&[vhost, gone]);
            }
        }
        for (k, v) in &f.fields {
            m.traffic.with_label_values(&[vhost, k]).set(*v);
        }
        if f.dropped > 0 && self.warned.insert(vhost.to_string()) {
            tracing::warn!(
                vhost,
                dropped = f.dropped,
                kept = f.fields.len(),
                "traffic snapshot has figures not exported (unnamed, too many or names too long); the raw snapshot is stored whole"
            );
        }
        tracing::debug!(vhost, fields = f.fields.len(), "traffic snapshot stored");
        self.fields.insert(vhost.to_string(), now);
    }
}
