//! The admin listener (`server.admin_listen`, loopback by default): health,
//! readiness, metrics, status and the purge API. Anything that can purge
//! needs the bearer token when `server.admin_token` is set.

mod page;
mod routes;
mod sites;
mod traffic;

use crate::config::LiveSettings;
use crate::health::Health;
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::queue::DynStore;
use actix_web::{App, HttpServer, web};
use std::sync::Arc;

#[derive(Clone)]
pub struct AdminState {
    pub settings: LiveSettings,
    pub store: DynStore,
    pub intake: Intake,
    pub metrics: Metrics,
    pub health: Arc<Health>,
    pub watch_control: crate::sources::watch::WatchControl,
    pub admission: Arc<crate::admission::Admission>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot listen on {addr} (server.admin_listen): {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Binds now (so that a taken port fails start-up, not later) and returns
/// the server to run with the address it got (port 0 picks one).
pub fn bind(
    state: AdminState,
) -> Result<(actix_web::dev::Server, std::net::SocketAddr), AdminError> {
    let addr = state.settings.get().server.admin_listen;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(4 * 1024 * 1024))
            .configure(routes::configure)
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(addr)
    .map_err(|source| AdminError::Bind { addr, source })?;
    let bound = server.addrs().first().copied().unwrap_or(addr);
    Ok((server.run(), bound))
}
