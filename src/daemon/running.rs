//! A running daemon: listeners (admin, webhooks) in one task set, workers
//! (flusher, poller, pruner, ...) in another, under one parent cancellation
//! token. A reload restarts the workers and, only when their address
//! changed, a listener.

use super::workers::{self, Tasks};
use super::{DaemonError, Shared, client};
use crate::admin::{self, AdminState};
use crate::config::Settings;
use crate::sources::webhook::listener::{self, WebhookState};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub struct Running {
    pub shared: Shared,
    /// Cancels everything: listeners and workers.
    pub cancel: CancellationToken,
    /// Where the admin listener is bound (port 0 in the config picks one).
    pub admin_addr: SocketAddr,
    /// Where the webhook listener is bound; None without any `[[hook]]`.
    pub webhook_addr: Option<SocketAddr>,
    admin_cancel: CancellationToken,
    webhook_cancel: CancellationToken,
    workers_cancel: CancellationToken,
    listeners: Tasks,
    workers: Tasks,
}

impl Running {
    pub async fn start(shared: Shared) -> Result<Running, DaemonError> {
        let settings = shared.settings.get();
        let cancel = CancellationToken::new();
        let mut r = Running {
            admin_cancel: cancel.child_token(),
            webhook_cancel: cancel.child_token(),
            workers_cancel: cancel.child_token(),
            cancel,
            shared,
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_addr: None,
            listeners: JoinSet::new(),
            workers: JoinSet::new(),
        };
        let client = client(&settings)?;
        r.bind_admin()?;
        r.bind_webhooks(&settings)?;
        r.spawn_workers(settings.clone(), client);
        tracing::info!(
            admin = %r.admin_addr,
            webhooks = %r.webhook_addr.map(|a| a.to_string()).unwrap_or_else(|| "off (no [[hook]])".into()),
            sites = settings.sites.len(),
            hooks = settings.hooks.len(),
            version = env!("CARGO_PKG_VERSION"),
            "edgeflush running"
        );
        Ok(r)
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.shared.settings.get()
    }

    fn bind_admin(&mut self) -> Result<(), DaemonError> {
        let s = &self.shared;
        let (server, addr) = admin::bind(AdminState {
            settings: s.settings.clone(),
            store: s.store.clone(),
            intake: s.intake.clone(),
            metrics: s.metrics.clone(),
            health: s.health.clone(),
            watch_control: s.watch_control.clone(),
            admission: s.admission.clone(),
        })?;
        self.admin_cancel = self.cancel.child_token();
        let c = self.admin_cancel.clone();
        self.listeners
            .spawn(async move { ("admin", workers::serve(server, None, c).await) });
        self.admin_addr = addr;
        Ok(())
    }

    fn bind_webhooks(&mut self, settings: &Settings) -> Result<(), DaemonError> {
        if settings.hooks.is_empty() {
            return Ok(());
        }
        let s = &self.shared;
        let draining = Arc::new(AtomicBool::new(false));
        let (server, addr) = listener::bind(WebhookState {
            settings: s.settings.clone(),
            intake: s.intake.clone(),
            metrics: s.metrics.clone(),
            draining: draining.clone(),
            admission: s.admission.clone(),
        })?;
        self.webhook_cancel = self.cancel.child_token();
        let c = self.webhook_cancel.clone();
        self.listeners
            .spawn(async move { ("webhooks", workers::serve(server, Some(draining), c).await) });
        self.webhook_addr = Some(addr);
        Ok(())
    }

    fn spawn_workers(&mut self, settings: Arc<Settings>, client: crate::cloakfusion::Client) {
        self.workers_cancel = self.cancel.child_token();
        let sink = self.shared.sink(settings.clone(), client);
        let watch = self.shared.watch(&settings);
        workers::spawn_all(
            &mut self.workers,
            &self.workers_cancel,
            sink,
            watch,
            settings,
        );
    }

    /// Applies a new configuration: listeners whose address changed are
    /// rebound first (a failure leaves everything as it was), then the
    /// workers stop gracefully and start again with the new settings.
    pub async fn reload(&mut self, new: Settings) -> Result<(), DaemonError> {
        let old = self.settings();
        let client = client(&new)?;
        let new = Arc::new(new);
        let (admin_moved, hooks_moved) = (
            new.server.admin_listen != old.server.admin_listen,
            new.server.listen != old.server.listen
                // A renewed certificate at the same path is read again.
                || new.server.tls.is_some()
                || new.server.tls != old.server.tls
                || new.hooks.is_empty() != old.hooks.is_empty(),
        );
        self.shared.settings.set(new.clone());
        if admin_moved {
            let previous = self.admin_cancel.clone();
            if let Err(e) = self.bind_admin() {
                self.shared.settings.set(old);
                return Err(e);
            }
            previous.cancel();
        }
        if hooks_moved {
            let previous = self.webhook_cancel.clone();
            let had = self.webhook_addr.take();
            if let Err(e) = self.bind_webhooks(&new) {
                self.webhook_addr = had;
                self.shared.settings.set(old);
                return Err(e);
            }
            previous.cancel();
        }
        self.workers_cancel.cancel();
        while let Some(done) = self.workers.join_next().await {
            if let Some(e) = workers::outcome(done) {
                tracing::warn!(error = %e, "a worker failed while stopping for the reload");
            }
        }
        self.spawn_workers(new, client);
        Ok(())
    }

    /// Waits until a task ends on its own: tasks only end when cancelled, so
    /// this is a failure (or a task that quit early). Listeners replaced by
    /// a reload end quietly and are skipped.
    /// `None` once everything is cancelled.
    pub async fn first_exit(&mut self) -> Option<DaemonError> {
        loop {
            let done = tokio::select! {
                Some(d) = self.listeners.join_next() => d,
                Some(d) = self.workers.join_next() => d,
                else => return None,
            };
            match workers::outcome(done) {
                Some(e) => return Some(e),
                None if self.cancel.is_cancelled() => return None,
                None => continue,
            }
        }
    }

    /// Runs until cancelled or a task fails; then stops everything, waiting
    /// at most `shutdown_timeout`.
    pub async fn wait(mut self) -> Result<(), DaemonError> {
        let mut failure = None;
        if !self.cancel.is_cancelled() {
            let cancel = self.cancel.clone();
            tokio::select! {
                _ = cancel.cancelled() => {}
                e = self.first_exit() => {
                    failure = e;
                }
            }
        }
        self.cancel.cancel();
        tracing::info!("shutting down: intake stopped, letting in-flight calls finish");
        let deadline = self.settings().server.shutdown_timeout;
        let drain = async {
            for set in [&mut self.listeners, &mut self.workers] {
                while let Some(done) = set.join_next().await {
                    if let Some(e) = workers::outcome(done) {
                        failure.get_or_insert(e);
                    }
                }
            }
        };
        if tokio::time::timeout(deadline, drain).await.is_err() {
            tracing::warn!(timeout = ?deadline, "shutdown_timeout reached; aborting what is left");
            self.listeners.abort_all();
            self.workers.abort_all();
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
