//! `edgeflush run` under signals: SIGTERM/SIGINT stop (gracefully, within
//! `shutdown_timeout`), SIGHUP reloads the configuration. A reload that does
//! not validate, or whose new listen address cannot be bound, keeps the
//! running configuration (logged and counted). Queued work is never touched
//! by a reload: the store stays open.

use super::{DaemonError, Running, Shared, notify};
use crate::config::{self, ConfigSource, Settings};
use crate::queue::PurgeState;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

pub async fn supervise(
    src: ConfigSource,
    overrides: Vec<(String, String)>,
    settings: Settings,
) -> Result<(), DaemonError> {
    let sig = |k: SignalKind| {
        signal(k).map_err(|e| DaemonError::Worker {
            name: "signals",
            reason: e.to_string(),
        })
    };
    let (mut term, mut int, mut hup) = (
        sig(SignalKind::terminate())?,
        sig(SignalKind::interrupt())?,
        sig(SignalKind::hangup())?,
    );
    let shared = Shared::open(Arc::new(settings)).await?;
    let mut running = Running::start(shared.clone()).await?;
    notify::ready(&status_line(&shared).await);
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => reload(&mut running, &src, &overrides).await,
            failure = running.first_exit() => {
                notify::stopping();
                running.cancel.cancel();
                let rest = running.wait().await;
                return match failure {
                    Some(e) => Err(e),
                    None => rest,
                };
            }
            _ = tokio::time::sleep(Duration::from_secs(10)) => {
                notify::status(&status_line(&shared).await);
            }
        }
    }
    tracing::info!("stop requested");
    notify::stopping();
    running.cancel.cancel();
    running.wait().await
}

async fn reload(running: &mut Running, src: &ConfigSource, overrides: &[(String, String)]) {
    notify::reloading();
    let metrics = running.shared.metrics.clone();
    let result = match config::load(src, overrides) {
        Err(e) => {
            for i in &e.issues {
                tracing::error!(problem = %i, "reload refused: the new configuration is invalid; keeping the running one");
            }
            Err(())
        }
        Ok(new) => {
            let old = running.settings();
            if format!("{:?}", old.store.backend) != format!("{:?}", new.store.backend) {
                tracing::warn!("store.* changed: that takes a restart; the open store is kept");
            }
            let (sites, hooks) = (new.sites.len(), new.hooks.len());
            match running.reload(new).await {
                Ok(()) => {
                    tracing::info!(sites, hooks, "reloading the configuration: done");
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, "reload refused; keeping the running configuration");
                    Err(())
                }
            }
        }
    };
    if result.is_err() {
        metrics.config_reload_failures.inc();
    }
    notify::ready(&status_line(&running.shared).await);
}

async fn status_line(shared: &Shared) -> String {
    match shared.store.counts().await {
        Ok(c) => format!(
            "queue: {} pending, {} in flight, {} awaiting confirmation, {} dead letters",
            c[&PurgeState::Pending],
            c[&PurgeState::Sent],
            c[&PurgeState::Flushed],
            c[&PurgeState::Failed]
        ),
        Err(e) => format!("store unavailable: {e}"),
    }
}
