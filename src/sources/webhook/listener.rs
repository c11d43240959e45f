//! The webhook listener: actix-web on `server.listen` (TLS when
//! `tls_cert_file`/`tls_key_file` are set), one route per `[[hook]]`. It
//! answers only after the durable enqueue; everything after that happens in
//! the pipeline's own workers.

use super::handler;
use crate::config::Settings;
use crate::intake::Intake;
use crate::metrics::Metrics;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[derive(Clone)]
pub struct WebhookState {
    pub settings: Arc<Settings>,
    pub intake: Intake,
    pub metrics: Metrics,
    /// Set on shutdown: new deliveries get 503 so that senders retry later.
    pub draining: Arc<AtomicBool>,
}

/// Which `[[hook]]` a route serves.
#[derive(Clone, Copy)]
pub struct HookIndex(pub usize);

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
    let addr = state.settings.server.listen;
    let tls = super::tls::load(&state.settings)?;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        let mut app = App::new().app_data(data.clone());
        for (i, hook) in data.settings.hooks.iter().enumerate() {
            app = app.service(
                web::resource(hook.path.as_str())
                    .app_data(web::Data::new(HookIndex(i)))
                    .route(web::post().to(handler::handle))
                    .default_service(web::to(method_not_allowed)),
            );
        }
        app.default_service(web::to(not_found))
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

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"error": "no hook at this path"}))
}

async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", "POST"))
        .json(serde_json::json!({"error": "webhooks are POSTed"}))
}
