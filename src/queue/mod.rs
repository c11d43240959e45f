//! The durable queue: a `Store` trait (SQLite embedded, PostgreSQL for
//! fleets) and the batching policy that decides when a vhost's pending purges
//! become a flush call.

pub mod batcher;
pub mod file_index;
pub mod model;
pub mod postgres;
pub mod sqlite;
mod sqlite_group;
mod sqlite_index;
mod sqlite_poll;
mod sqlite_rows;
mod sqlite_schema;
#[cfg(test)]
mod sqlite_tests;
mod sqlite_traffic;
pub mod traffic_store;

pub use file_index::{DynIndexStore, IndexStore};
pub use model::*;
pub use traffic_store::{TrafficQuery, TrafficSnapshot, TrafficStore};

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store schema: {0}")]
    Schema(String),
    #[error("store query failed: {0}")]
    Query(String),
    #[error("store task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Full disks, locked or read-only databases pass; a caller may retry later
    /// (and a webhook answers 503 so that its sender does).
    pub fn is_retryable(&self) -> bool {
        !matches!(self, StoreError::Schema(_))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the pipeline asks of its storage. Every write returns only once
/// it is durable: a source acknowledges after `enqueue` and never before.
/// Traffic snapshots live in the same store (`TrafficStore`).
#[async_trait]
pub trait Store: TrafficStore + IndexStore + Send + Sync + 'static {
    /// Adds purges in one transaction; a URL already pending for its vhost is
    /// coalesced, not added twice.
    async fn enqueue(&self, items: Vec<NewPurge>) -> StoreResult<EnqueueReport> {
        Ok(self
            .enqueue_delivery(None, items)
            .await?
            .unwrap_or_default())
    }

    /// Like `enqueue`, and records the delivery in the same transaction.
    /// `None` when the delivery was seen before: nothing is added.
    async fn enqueue_delivery(
        &self,
        delivery: Option<DeliveryKey>,
        items: Vec<NewPurge>,
    ) -> StoreResult<Option<EnqueueReport>>;

    /// Releases purges held under `hold` (they become due now).
    async fn release_hold(&self, hold: &str) -> StoreResult<u64>;

    /// Pending work per vhost that is due (`not_before <= now`).
    async fn pending_groups(&self, now: Millis) -> StoreResult<Vec<PendingGroup>>;

    /// Takes up to `max` due pending purges of `vhost` (oldest first) into a
    /// new batch in state `sending`.
    async fn claim_batch(&self, vhost: &str, max: usize, now: Millis)
    -> StoreResult<Option<Batch>>;

    /// Batches in `sending` whose next attempt is due: retries, and what was
    /// in flight when the process died.
    async fn due_sending(&self, now: Millis) -> StoreResult<Vec<Batch>>;

    /// The earliest `next_attempt_at` among `sending` batches.
    async fn next_sending_due(&self) -> StoreResult<Option<Millis>>;

    /// The API accepted the batch.
    async fn mark_flushed(
        &self,
        batch: i64,
        api_id: Option<String>,
        now: Millis,
        first_poll: Millis,
    ) -> StoreResult<()>;

    /// A retryable failure: keep the batch, try again at `at`.
    async fn retry_later(&self, batch: i64, at: Millis, error: &str) -> StoreResult<()>;

    /// Splits a batch in two halves (413 / bisecting a 400); both stay `sending`
    /// and due now. Returns the new batches; the old one is removed.
    async fn split_batch(&self, batch: i64, now: Millis) -> StoreResult<Vec<Batch>>;

    /// Dead-letters every purge of a batch (a URL the API refuses).
    async fn dead_letter_batch(&self, batch: i64, reason: &str, now: Millis) -> StoreResult<()>;

    /// Dead-letters one confirmed purge with `reason` (the edge still serves
    /// it stale after every re-flush verification allows). False when the
    /// row is no longer confirmed or was pruned.
    async fn dead_letter_confirmed(
        &self,
        purge: i64,
        reason: &str,
        now: Millis,
    ) -> StoreResult<bool>;

    /// Flushed batches whose next poll is due.
    async fn due_polls(&self, now: Millis) -> StoreResult<Vec<Batch>>;

    async fn next_poll_due(&self) -> StoreResult<Option<Millis>>;

    /// Records what one poll learned. Purges not named stay `flushed`; the
    /// batch is polled again at `next_poll` unless nothing is left.
    async fn apply_poll(
        &self,
        batch: i64,
        outcomes: Vec<(i64, PollOutcome)>,
        now: Millis,
        next_poll: Millis,
    ) -> StoreResult<()>;

    /// Counts by state, read from the store so that they are right after a
    /// restart.
    async fn counts(&self) -> StoreResult<BTreeMap<PurgeState, u64>>;

    async fn recent_purges(
        &self,
        limit: usize,
        state: Option<PurgeState>,
    ) -> StoreResult<Vec<PurgeRecord>>;

    async fn recent_batches(&self, limit: usize) -> StoreResult<Vec<BatchRecord>>;

    /// Per site: the last change enqueued and the last purge confirmed.
    async fn site_activity(&self) -> StoreResult<Vec<SiteActivity>>;

    /// Deletes finished purges and batches older than `before`, and delivery
    /// ids older than `deliveries_before`.
    async fn prune(&self, before: Millis, deliveries_before: Millis) -> StoreResult<u64>;

    /// A cheap write that proves the store takes work (readiness).
    async fn probe(&self) -> StoreResult<()>;

    /// Whether this process holds `role` ("flusher", "poller", "traffic")
    /// among every process sharing the store. An embedded store has one
    /// process: always true. A shared store elects one holder per role (and
    /// hands the role over when the holder dies), so that the account's API
    /// budget and the order of Retry-After pauses hold for the whole fleet.
    async fn lead(&self, _role: &'static str) -> StoreResult<bool> {
        Ok(true)
    }
}

pub type DynStore = Arc<dyn Store>;

impl Ord for PurgeState {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

impl PartialOrd for PurgeState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
