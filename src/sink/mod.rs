//! The Cloakfusion sink: the flush worker and the status poller, sharing one
//! API client (and so one rate limiter and one Retry-After pause).

pub mod backoff;
pub mod flusher;
pub mod poller;
pub mod traffic;
pub mod verify;

use crate::cloakfusion::Client;
use crate::config::Settings;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::queue::{DynStore, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What both workers need. Cheap to clone.
#[derive(Clone)]
pub struct SinkContext {
    pub settings: Arc<Settings>,
    pub store: DynStore,
    pub client: Client,
    pub metrics: Metrics,
    pub health: Arc<Health>,
    /// Poked on enqueue and after splits/re-flushes.
    pub flush_wake: Arc<Notify>,
    /// Poked after a batch is flushed.
    pub poll_wake: Arc<Notify>,
    /// Fed by the flusher and poller loops on every turn.
    pub watchdog: Arc<crate::daemon::notify::Watchdog>,
    /// Where the poller hands confirmed URLs for edge verification; None
    /// when no site verifies.
    pub verify: Option<verify::VerifyQueue>,
}

impl SinkContext {
    pub fn backoff(&self) -> backoff::Backoff {
        backoff::Backoff {
            base: std::time::Duration::from_secs(1),
            max: self.settings.cloakfusion.max_backoff,
        }
    }
}

/// Runs a worker loop again after a store error a later attempt may not
/// meet (disk full, database locked): the daemon stays up and keeps
/// answering 503 instead of exiting and refusing connections. Work whose
/// outcome could not be recorded stays in the store and is redone.
pub async fn retry_store_errors<F, Fut>(
    name: &'static str,
    cx: &SinkContext,
    cancel: &CancellationToken,
    mut worker: F,
) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    loop {
        match worker().await {
            Err(e) if e.is_retryable() => {
                tracing::error!(worker = name, error = %e, "store write failed; retrying in 1s");
                cx.watchdog.pet(name);
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1).min(cx.watchdog.max_idle())) => {}
                }
            }
            other => return other,
        }
    }
}
