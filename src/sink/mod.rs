//! The Cloakfusion sink: the flush worker and the status poller, sharing one
//! API client (and so one rate limiter and one Retry-After pause).

pub mod backoff;
pub mod flusher;
pub mod poller;
pub mod traffic;

use crate::cloakfusion::Client;
use crate::config::Settings;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::queue::DynStore;
use std::sync::Arc;
use tokio::sync::Notify;

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
}

impl SinkContext {
    pub fn backoff(&self) -> backoff::Backoff {
        backoff::Backoff {
            base: std::time::Duration::from_secs(1),
            max: self.settings.cloakfusion.max_backoff,
        }
    }
}
