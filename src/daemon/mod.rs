//! Wiring of `edgeflush run`: opens the store, binds the listeners, starts
//! every worker in one JoinSet under one cancellation token, and shuts down
//! in order (stop intake, let in-flight API calls finish, hard deadline).

mod workers;

use crate::admin::{self, AdminState};
use crate::cloakfusion::{ApiError, Client};
use crate::config::{Settings, StoreBackend};
use crate::health::Health;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::queue::sqlite::SqliteStore;
use crate::queue::{DynStore, StoreError};
use crate::sink::SinkContext;
use crate::sources::webhook;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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
    #[error("the PostgreSQL store is not available in this build yet; use store.path (SQLite)")]
    PostgresUnsupported,
    #[error(transparent)]
    Admin(#[from] admin::AdminError),
    #[error(transparent)]
    Webhooks(#[from] crate::sources::webhook::listener::ListenerError),
    #[error("worker {name} failed: {reason}")]
    Worker { name: &'static str, reason: String },
}

pub type WorkerResult = Result<(), DaemonError>;

/// A started daemon.
pub struct Running {
    pub settings: Arc<Settings>,
    pub store: DynStore,
    pub intake: Intake,
    pub metrics: Metrics,
    pub health: Arc<Health>,
    pub cancel: CancellationToken,
    /// Where the admin listener is bound (it may differ from the config when
    /// the port was 0).
    pub admin_addr: std::net::SocketAddr,
    /// Where the webhook listener is bound; None without any `[[hook]]`.
    pub webhook_addr: Option<std::net::SocketAddr>,
    tasks: JoinSet<(&'static str, WorkerResult)>,
}

pub fn open_store(settings: &Settings) -> Result<DynStore, DaemonError> {
    match &settings.store.backend {
        StoreBackend::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        StoreBackend::Postgres(_) => Err(DaemonError::PostgresUnsupported),
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

/// Opens, binds and spawns everything. Returns once the daemon is ready to
/// take work: listeners bound, store open.
pub async fn start(settings: Arc<Settings>) -> Result<Running, DaemonError> {
    let client = client(&settings)?;
    let s2 = settings.clone();
    let store = tokio::task::spawn_blocking(move || open_store(&s2))
        .await
        .map_err(|e| DaemonError::Worker {
            name: "store",
            reason: e.to_string(),
        })??;
    let metrics = Metrics::new();
    let health = Arc::new(Health::default());
    let flush_wake = Arc::new(Notify::new());
    let poll_wake = Arc::new(Notify::new());
    let intake = Intake {
        store: store.clone(),
        metrics: metrics.clone(),
        flush_wake: flush_wake.clone(),
    };
    let cancel = CancellationToken::new();
    let (admin, admin_addr) = admin::bind(AdminState {
        settings: settings.clone(),
        store: store.clone(),
        intake: intake.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
    })?;
    let webhooks = if settings.hooks.is_empty() {
        None
    } else {
        let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (server, addr) = webhook::listener::bind(webhook::listener::WebhookState {
            settings: settings.clone(),
            intake: intake.clone(),
            metrics: metrics.clone(),
            draining: draining.clone(),
        })?;
        Some((server, addr, draining))
    };
    let webhook_addr = webhooks.as_ref().map(|w| w.1);
    let sink = SinkContext {
        settings: settings.clone(),
        store: store.clone(),
        client,
        metrics: metrics.clone(),
        health: health.clone(),
        flush_wake,
        poll_wake,
    };
    let mut tasks = JoinSet::new();
    workers::spawn_all(&mut tasks, &cancel, admin, sink, settings.clone());
    if let Some((server, _, draining)) = webhooks {
        let c = cancel.clone();
        tasks.spawn(async move {
            (
                "webhooks",
                workers::webhook_server(server, draining, c).await,
            )
        });
    }
    tracing::info!(
        admin = %admin_addr,
        webhooks = %webhook_addr.map(|a| a.to_string()).unwrap_or_else(|| "off (no [[hook]])".into()),
        hooks = settings.hooks.len(),
        sites = settings.sites.len(),
        version = env!("CARGO_PKG_VERSION"),
        "edgeflush running"
    );
    Ok(Running {
        settings,
        store,
        intake,
        metrics,
        health,
        cancel,
        admin_addr,
        webhook_addr,
        tasks,
    })
}

impl Running {
    /// Runs until the token is cancelled (signal, caller) or a worker fails;
    /// then stops every worker, waiting at most `shutdown_timeout`.
    pub async fn wait(mut self) -> Result<(), DaemonError> {
        let mut failure = None;
        tokio::select! {
            _ = self.cancel.cancelled() => {}
            Some(done) = self.tasks.join_next() => {
                failure = workers::outcome(done);
                self.cancel.cancel();
            }
        }
        tracing::info!("shutting down: intake stopped, letting in-flight calls finish");
        let deadline = self.settings.server.shutdown_timeout;
        let drain = async {
            while let Some(done) = self.tasks.join_next().await {
                if let Some(e) = workers::outcome(done) {
                    failure.get_or_insert(e);
                }
            }
        };
        if tokio::time::timeout(deadline, drain).await.is_err() {
            tracing::warn!(timeout = ?deadline, "shutdown_timeout reached; aborting what is left");
            self.tasks.abort_all();
        }
        match failure {
            Some(e) => Err(e),
            None => {
                tracing::info!("stopped cleanly");
                Ok(())
            }
        }
    }
}
