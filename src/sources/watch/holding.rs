//! The worker's side of holds and of its published state: it follows the
//! marker file and the admin API's flag, releases what a hold queued once
//! no round is storing, and publishes its state for `WatchControl` and the
//! gauges.

use super::hold::HoldChange;
use super::watches::lock;
use super::worker::{MAX_BACKOFF, Worker};
use crate::queue::now_ms;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Worker {
    /// Follows the marker and the API hold; true while held.
    pub(super) async fn check_hold(&mut self) -> bool {
        self.marker_seen = match &self.ctx.settings.hold_marker {
            Some(m) => tokio::fs::try_exists(self.root.target.join(m))
                .await
                .unwrap_or(false),
            None => false,
        };
        let api = self.ctl.api_hold.load(Ordering::SeqCst);
        let change = self.hold.update(self.marker_seen || api, now_ms());
        let held = self.hold.since().is_some();
        match change {
            HoldChange::None => return held,
            HoldChange::Started => {
                tracing::info!(site = %self.name, by_marker = self.marker_seen, by_api = api, until_ms = self.hold.until(), "hold: purges are queued and held");
            }
            HoldChange::Ended => {
                tracing::info!(site = %self.name, "hold ended: releasing the held purges together");
                self.release_pending = true;
                self.flush_now = true;
            }
            HoldChange::Expired => {
                tracing::warn!(site = %self.name, max_hold = ?self.ctx.settings.max_hold, "hold lasted longer than watch.max_hold: releasing the held purges");
                self.release_pending = true;
                self.flush_now = true;
            }
        }
        self.ctx
            .metrics
            .held
            .with_label_values(&[&self.name])
            .set(i64::from(held));
        self.publish();
        held
    }

    pub(super) async fn release(&mut self) {
        let key = self.hold.key().to_string();
        match self.ctx.intake.store.release_hold(&key).await {
            Ok(n) => {
                self.release_pending = false;
                if n > 0 {
                    tracing::info!(site = %self.name, released = n, "held purges released");
                    self.ctx.intake.flush_wake.notify_one();
                }
            }
            Err(e) => {
                tracing::warn!(site = %self.name, error = %e, "cannot release held purges yet");
                self.ctx
                    .metrics
                    .errors
                    .with_label_values(&[&self.name, "store"])
                    .inc();
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    pub(super) fn publish(&mut self) {
        if let Some(i) = &self.index {
            self.indexed = i.len();
        }
        let watches = lock(&self.watches).count() as u64;
        let m = &self.ctx.metrics;
        m.watches
            .with_label_values(&[&self.name])
            .set(watches as i64);
        m.indexed_files
            .with_label_values(&[&self.name])
            .set(self.indexed as i64);
        let (held, since, until) = (
            self.hold.since().is_some(),
            self.hold.since(),
            self.hold.until(),
        );
        let (marker, root, indexed, pending) = (
            self.marker_seen,
            self.root.target.display().to_string(),
            self.indexed as u64,
            self.pending.len() as u64,
        );
        self.ctl.publish(|s| {
            s.running = true;
            s.held = held;
            s.held_by_marker = marker;
            s.held_since = since;
            s.held_until = until;
            s.root = Some(root);
            s.indexed_files = indexed;
            s.watches = watches;
            s.pending_paths = pending;
        });
    }
}
