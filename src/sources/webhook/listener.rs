//! The webhook listener: actix-web on `server.listen` (TLS when
//! `tls_cert_file`/`tls_key_file` are set). Hooks are looked up by path in
//! the live settings on every request, so a reload changes hooks, secrets
//! and sites without closing the socket. It answers only after the durable
//! enqueue; everything after that happens in the pipeline's own workers.

use super::handler;
use crate::admission::Admission;
use crate::config::LiveSettings;
use crate::intake::Intake;
use crate::metrics::Metrics;
use actix_web::{App, HttpServer, web};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Clone)]
pub struct WebhookState {
    pub settings: LiveSettings,
    pub intake: Intake,
    pub metrics: Metrics,
    /// Set on shutdown: new deliveries get 503 so that senders retry later.
    pub draining: Arc<AtomicBool>,
    pub admission: Arc<Admission>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot listen on {addr} (server.listen): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS (server.tls_cert_file / tls_key_file): {0}")]
    Tls(String),
}

pub fn bind(state: WebhookState) -> Result<(actix_web::dev::Server, SocketAddr), ListenerError> {
    let settings = state.settings.get();
    let addr = settings.server.listen;
    let tls = super::tls::load(&settings)?;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(handler::handle))
    })
    .disable_signals()
    .shutdown_timeout(5);
    let server = match tls {
        Some(cfg) => server.bind_rustls_0_23(addr, cfg),
        None => server.bind(addr),
    }
    .map_err(|source| ListenerError::Bind { addr, source })?;
    let bound = server.addrs().first().copied().unwrap_or(addr);
    Ok((server.run(), bound))
}
