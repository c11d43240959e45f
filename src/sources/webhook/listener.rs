//! The webhook listener: actix-web on `server.listen` (TLS when
//! `tls_cert_file`/`tls_key_file` are set). Hooks are looked up by path in
//! the live settings on every request, so a reload changes hooks, secrets
//! and sites without closing the socket. It answers only after the durable
//! enqueue; everything after that happens in the pipeline's own workers.
//!
//! `GET /healthz` (and HEAD) answers 200 without touching the store, for
//! load balancers in front of the webhook port (503 while draining, so they
//! stop sending). A hook configured at `/healthz` wins: the route then steps
//! aside and the path is that hook's, as it was before the route existed.

use super::handler;
use crate::admission::Admission;
use crate::config::LiveSettings;
use crate::intake::Intake;
use crate::metrics::Metrics;
use actix_web::guard::{self, GuardContext};
use actix_web::{App, HttpResponse, HttpServer, web};
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
            .service(healthz_resource())
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

/// The path of the listener's own health route.
pub const HEALTHZ: &str = "/healthz";

/// `GET`/`HEAD /healthz`, unless a hook is configured at that path (checked
/// on every request against the live settings, so a reload that adds or
/// removes such a hook takes effect at once).
fn healthz_resource() -> actix_web::Resource {
    web::resource(HEALTHZ)
        .guard(guard::Any(guard::Get()).or(guard::Head()))
        .guard(guard::fn_guard(no_hook_at_healthz))
        .to(healthz)
}

fn no_hook_at_healthz(ctx: &GuardContext<'_>) -> bool {
    ctx.app_data::<web::Data<WebhookState>>()
        .is_none_or(|st| !st.settings.get().hooks.iter().any(|h| h.path == HEALTHZ))
}

async fn healthz(st: web::Data<WebhookState>) -> HttpResponse {
    if st.draining.load(std::sync::atomic::Ordering::Relaxed) {
        HttpResponse::ServiceUnavailable().body("draining\n")
    } else {
        HttpResponse::Ok().body("ok\n")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service};

    /// A state with one GitHub hook at `hook_path` and a SQLite store.
    fn state(dir: &tempfile::TempDir, hook_path: &str) -> WebhookState {
        let cfg = dir.path().join("edgeflush.toml");
        let toml = format!(
            "[cloakfusion]\nbase_url = \"http://127.0.0.1:9/api\"\ntoken = \"t\"\n\
             [server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             [store]\npath = \"{}/q.db\"\n\
             [[site]]\nname = \"www\"\nvhost = \"www.example.com\"\n\
             [[hook]]\nname = \"gh\"\nprovider = \"github\"\npath = \"{hook_path}\"\n\
             secret = \"s\"\nsites = [\"www\"]\n",
            dir.path().display()
        );
        std::fs::write(&cfg, toml).unwrap();
        let settings = Arc::new(crate::config::load_file(&cfg).unwrap());
        let store = crate::queue::sqlite::SqliteStore::open(&dir.path().join("q.db")).unwrap();
        let metrics = Metrics::new();
        WebhookState {
            settings: LiveSettings::new(settings),
            intake: Intake {
                store: Arc::new(store),
                metrics: metrics.clone(),
                flush_wake: Arc::new(tokio::sync::Notify::new()),
            },
            metrics,
            draining: Arc::new(AtomicBool::new(false)),
            admission: Arc::new(Admission::new(4)),
        }
    }

    async fn status(st: &WebhookState, req: TestRequest) -> u16 {
        let app = init_service(
            App::new()
                .app_data(web::Data::new(st.clone()))
                .service(healthz_resource())
                .default_service(web::to(handler::handle)),
        )
        .await;
        call_service(&app, req.to_request()).await.status().as_u16()
    }

    #[actix_web::test]
    async fn healthz_answers_without_a_hook_there() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(&dir, "/hooks/github");
        assert_eq!(status(&st, TestRequest::get().uri(HEALTHZ)).await, 200);
        assert_eq!(
            status(
                &st,
                TestRequest::default()
                    .method(actix_web::http::Method::HEAD)
                    .uri(HEALTHZ)
            )
            .await,
            200
        );
        // Not a route for other methods: the hook handler's 404.
        assert_eq!(status(&st, TestRequest::post().uri(HEALTHZ)).await, 404);
        st.draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(status(&st, TestRequest::get().uri(HEALTHZ)).await, 503);
    }

    #[actix_web::test]
    async fn a_hook_at_healthz_wins() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(&dir, HEALTHZ);
        // The hook's own answers: 405 for GET, 401 for an unsigned POST.
        assert_eq!(status(&st, TestRequest::get().uri(HEALTHZ)).await, 405);
        let post = TestRequest::post()
            .uri(HEALTHZ)
            .insert_header(("x-github-event", "push"))
            .set_payload("{}");
        assert_eq!(status(&st, post).await, 401);
    }
}
