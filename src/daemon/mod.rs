//! Wiring of `edgeflush run`: opens the store, binds the listeners, starts
//! every worker in a JoinSet under one cancellation token, and shuts down in
//! order (stop intake, let in-flight API calls finish, hard deadline).
//! Listeners live across reloads (they read live settings); workers are
//! restarted with the new settings on the same open store.

pub mod notify;
mod running;
mod supervise;
mod workers;

pub use running::Running;
pub use supervise::supervise;

use crate::admin;
use crate::admission::Admission;
use crate::cloakfusion::{ApiError, Client};
use crate::config::{LiveSettings, Settings, StoreBackend};
use crate::health::Health;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::queue::postgres::PgStore;
use crate::queue::sqlite::SqliteStore;
use crate::queue::{DynStore, StoreError};
use crate::sink::SinkContext;
use crate::sources::watch::{WatchContext, WatchControl, WatchMetrics};
use std::sync::Arc;
use tokio::sync::Notify;

/// Errors that stop the daemon (the fatal tier). Runtime trouble (API down,
/// a bad webhook) is handled inside the workers and never ends up here.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cloakfusion.token (or token_file) is not set")]
    NoToken,
    #[error("API client: {0}")]
    Client(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
    #[error(transparent)]
    Webhooks(#[from] crate::sources::webhook::listener::ListenerError),
    #[error(transparent)]
    Watch(#[from] crate::sources::watch::WatchError),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("worker {name} failed: {reason}")]
    Worker { name: &'static str, reason: String },
}

pub type WorkerResult = Result<(), DaemonError>;

/// Opens the configured store: SQLite on the blocking pool (its open does
/// file I/O), PostgreSQL with connect, migrations and the lease heartbeat.
pub async fn open_store(settings: &Settings) -> Result<DynStore, DaemonError> {
    match &settings.store.backend {
        StoreBackend::Sqlite(path) => {
            let path = path.clone();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(|e| DaemonError::Worker {
                    name: "store",
                    reason: e.to_string(),
                })??;
            Ok(Arc::new(store))
        }
        StoreBackend::Postgres(url) => Ok(Arc::new(PgStore::connect(url.expose()).await?)),
    }
}

pub fn client(settings: &Settings) -> Result<Client, DaemonError> {
    let c = &settings.cloakfusion;
    let token = c.token.clone().ok_or(DaemonError::NoToken)?;
    Ok(Client::new(crate::cloakfusion::ClientConfig {
        base_url: c.base_url.clone(),
        token,
        timeout: c.timeout,
        connect_timeout: c.connect_timeout,
        max_requests_per_minute: c.max_requests_per_minute,
        max_urls_per_minute: c.max_urls_per_minute,
        properties_path: c.properties_path.clone(),
    })?)
}

/// What outlives a reload: the open store, the metrics (counters must not
/// reset), readiness, the watchdog, the wake-ups between intake and sink,
/// and the live settings the listeners read.
#[derive(Clone)]
pub struct Shared {
    pub store: DynStore,
    pub metrics: Metrics,
    pub health: Arc<Health>,
    pub watchdog: Arc<notify::Watchdog>,
    pub intake: Intake,
    pub poll_wake: Arc<Notify>,
    pub settings: LiveSettings,
    pub watch_metrics: WatchMetrics,
    /// Holds, releases and rescans of watched sites (admin API).
    pub watch_control: WatchControl,
    /// One admission gate for webhook deliveries and admin purges.
    pub admission: Arc<Admission>,
}

impl Shared {
    pub async fn open(settings: Arc<Settings>) -> Result<Shared, DaemonError> {
        let store = open_store(&settings).await?;
        let metrics = Metrics::new();
        let watch_metrics = WatchMetrics::register(&metrics.registry)
            .map_err(|e| DaemonError::Metrics(e.to_string()))?;
        Ok(Shared {
            watch_metrics,
            watch_control: WatchControl::for_settings(&settings),
            admission: Arc::new(Admission::new(settings.server.max_concurrent_requests)),
            intake: Intake {
                store: store.clone(),
                metrics: metrics.clone(),
                flush_wake: Arc::new(Notify::new()),
            },
            store,
            metrics,
            health: Arc::new(Health::default()),
            watchdog: Arc::new(notify::Watchdog::from_env(&["flusher", "poller"])),
            poll_wake: Arc::new(Notify::new()),
            settings: LiveSettings::new(settings),
        })
    }

    fn watch(&self, settings: &Settings) -> WatchContext {
        WatchContext {
            intake: self.intake.clone(),
            index: self.store.clone(),
            metrics: self.watch_metrics.clone(),
            health: self.health.clone(),
            settings: settings.watch.clone(),
            control: self.watch_control.clone(),
        }
    }

    fn sink(&self, settings: Arc<Settings>, client: Client) -> SinkContext {
        SinkContext {
            settings,
            store: self.store.clone(),
            client,
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            flush_wake: self.intake.flush_wake.clone(),
            poll_wake: self.poll_wake.clone(),
            watchdog: self.watchdog.clone(),
            verify: None,
        }
    }
}

/// Opens the store and starts everything.
pub async fn start(settings: Arc<Settings>) -> Result<Running, DaemonError> {
    let shared = Shared::open(settings).await?;
    Running::start(shared).await
}
