//! Storage of traffic snapshots: the raw JSON the API answered for a vhost,
//! with the time it was taken. Kept as its own trait (a supertrait of
//! `Store`) so the purge queue's contract stays readable and every backend
//! has to say where snapshots live.

use super::{Millis, StoreResult};
use async_trait::async_trait;
use serde::Serialize;

/// One stored snapshot. `data` is the API's answer as it came, because its
/// shape is undocumented: figures are read from it, never forced into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficSnapshot {
    pub id: i64,
    pub vhost: String,
    pub taken_at: Millis,
    pub data: serde_json::Value,
}

/// Which snapshots to list: newest `limit` of them, taken at or after
/// `since`, optionally for one vhost; returned oldest first (a series).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficQuery {
    pub vhost: Option<String>,
    pub since: Millis,
    pub limit: usize,
}

#[async_trait]
pub trait TrafficStore: Send + Sync {
    /// Stores one snapshot durably; returns its id.
    async fn add_traffic(
        &self,
        vhost: &str,
        taken_at: Millis,
        data: &serde_json::Value,
    ) -> StoreResult<i64>;

    async fn list_traffic(&self, q: TrafficQuery) -> StoreResult<Vec<TrafficSnapshot>>;

    /// Deletes snapshots taken before `before`; returns how many.
    async fn prune_traffic(&self, before: Millis) -> StoreResult<u64>;
}
