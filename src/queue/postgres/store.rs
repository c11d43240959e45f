//! `Store` for `PgStore`: each method takes a pooled connection and runs one
//! operation of `write.rs` / `read.rs` / `poll.rs` under `retry!`.

use super::read::{self, Due};
use super::write::{self, Lease};
use super::{PgStore, poll};
use crate::queue::*;
use async_trait::async_trait;

impl PgStore {
    fn lease(&self) -> Lease<'_> {
        Lease {
            owner: &self.opts.owner,
            ms: self.lease_ms(),
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn enqueue_delivery(
        &self,
        delivery: Option<DeliveryKey>,
        items: Vec<NewPurge>,
    ) -> StoreResult<Option<EnqueueReport>> {
        let mut c = self.client().await?;
        retry!(write::enqueue(&mut c, &delivery, &items, now_ms()))
    }

    async fn release_hold(&self, hold: &str) -> StoreResult<u64> {
        let c = self.client().await?;
        retry!(write::release_hold(&c, hold))
    }

    async fn pending_groups(&self, now: Millis) -> StoreResult<Vec<PendingGroup>> {
        let c = self.client().await?;
        retry!(read::pending_groups(&c, now))
    }

    async fn claim_batch(
        &self,
        vhost: &str,
        max: usize,
        now: Millis,
    ) -> StoreResult<Option<Batch>> {
        let mut c = self.client().await?;
        retry!(write::claim(&mut c, vhost, max, now, self.lease()))
    }

    async fn due_sending(&self, now: Millis) -> StoreResult<Vec<Batch>> {
        let c = self.client().await?;
        retry!(read::take_due(&c, Due::Sending, now, self.lease()))
    }

    async fn next_sending_due(&self) -> StoreResult<Option<Millis>> {
        let c = self.client().await?;
        retry!(read::next_due(&c, Due::Sending, &self.opts.owner, now_ms()))
    }

    async fn mark_flushed(
        &self,
        batch: i64,
        api_id: Option<String>,
        now: Millis,
        first_poll: Millis,
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        retry!(write::mark_flushed(&mut c, batch, &api_id, now, first_poll))
    }

    async fn retry_later(&self, batch: i64, at: Millis, error: &str) -> StoreResult<()> {
        let mut c = self.client().await?;
        retry!(write::retry_later(&mut c, batch, at, error))
    }

    async fn split_batch(&self, batch: i64, now: Millis) -> StoreResult<Vec<Batch>> {
        let mut c = self.client().await?;
        retry!(write::split(&mut c, batch, now, self.lease()))
    }

    async fn dead_letter_batch(&self, batch: i64, reason: &str, now: Millis) -> StoreResult<()> {
        let mut c = self.client().await?;
        retry!(write::dead_letter(&mut c, batch, reason, now))
    }

    async fn dead_letter_confirmed(&self, id: i64, reason: &str, now: Millis) -> StoreResult<bool> {
        let c = self.client().await?;
        retry!(write::dead_letter_confirmed(&c, id, reason, now))
    }

    async fn due_polls(&self, now: Millis) -> StoreResult<Vec<Batch>> {
        let c = self.client().await?;
        retry!(read::take_due(&c, Due::Polls, now, self.lease()))
    }

    async fn next_poll_due(&self) -> StoreResult<Option<Millis>> {
        let c = self.client().await?;
        retry!(read::next_due(&c, Due::Polls, &self.opts.owner, now_ms()))
    }

    async fn apply_poll(
        &self,
        batch: i64,
        outcomes: Vec<(i64, PollOutcome)>,
        now: Millis,
        next_poll: Millis,
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        retry!(poll::apply(&mut c, batch, &outcomes, now, next_poll))
    }

    async fn counts(&self) -> StoreResult<BTreeMap<PurgeState, u64>> {
        let c = self.client().await?;
        retry!(read::counts(&c))
    }

    async fn recent_purges(
        &self,
        limit: usize,
        state: Option<PurgeState>,
    ) -> StoreResult<Vec<PurgeRecord>> {
        let c = self.client().await?;
        retry!(read::recent_purges(&c, limit, state))
    }

    async fn recent_batches(&self, limit: usize) -> StoreResult<Vec<BatchRecord>> {
        let c = self.client().await?;
        retry!(read::recent_batches(&c, limit))
    }

    async fn site_activity(&self) -> StoreResult<Vec<SiteActivity>> {
        let c = self.client().await?;
        retry!(read::site_activity(&c))
    }

    async fn prune(&self, before: Millis, deliveries_before: Millis) -> StoreResult<u64> {
        let mut c = self.client().await?;
        retry!(write::prune(&mut c, before, deliveries_before))
    }

    async fn probe(&self) -> StoreResult<()> {
        let c = self.client().await?;
        retry!(write::probe(&c, now_ms()))
    }

    /// Session-level advisory locks on a dedicated connection (`lead.rs`).
    async fn lead(&self, role: &'static str) -> StoreResult<bool> {
        Ok(self.leader.lead(role).await)
    }
}
