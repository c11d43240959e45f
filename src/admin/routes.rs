//! Admin routes. JSON for machines; `/api/*` behind the bearer token.

use super::AdminState;
use crate::intake::ChangeSet;
use crate::queue::{Origin, PurgeState};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(super::page::index))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/api/status", web::get().to(status))
        .route("/api/purge", web::post().to(purge))
        .route("/api/sites", web::get().to(super::sites::list))
        .route(
            "/api/sites/{site}/{action}",
            web::post().to(super::sites::action),
        )
        .route("/api/traffic", web::get().to(super::traffic::list));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(st: web::Data<AdminState>) -> HttpResponse {
    match st.store.probe().await {
        Ok(()) => st.health.ok("store"),
        Err(e) => st.health.fail("store", format!("store not writable: {e}")),
    }
    let r = st.health.readiness();
    if r.ready {
        HttpResponse::Ok().json(r)
    } else {
        HttpResponse::ServiceUnavailable().json(r)
    }
}

async fn metrics(st: web::Data<AdminState>) -> HttpResponse {
    if let Ok(counts) = st.store.counts().await {
        for (state, n) in counts {
            st.metrics
                .queue_size
                .with_label_values(&[state.as_str()])
                .set(n as i64);
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(st.metrics.render())
}

/// Constant-time comparison of the bearer token; absent config = open (the
/// listener is then loopback-only, enforced at config load).
pub(super) fn authorized(st: &AdminState, req: &HttpRequest) -> bool {
    let settings = st.settings.get();
    let Some(want) = &settings.server.admin_token else {
        return true;
    };
    let got = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (a, b) = (got.as_bytes(), want.expose().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header(("WWW-Authenticate", "Bearer"))
        .json(json!({"error": "missing or wrong bearer token (server.admin_token)"}))
}

#[derive(Deserialize)]
struct StatusQuery {
    limit: Option<usize>,
}

async fn status(
    st: web::Data<AdminState>,
    req: HttpRequest,
    q: web::Query<StatusQuery>,
) -> HttpResponse {
    if !authorized(&st, &req) {
        return unauthorized();
    }
    let limit = q.limit.unwrap_or(20).min(1000);
    let result = async {
        let counts = st.store.counts().await?;
        let batches = st.store.recent_batches(limit).await?;
        let dead = st.store.recent_purges(limit, Some(PurgeState::Failed)).await?;
        let recent = st.store.recent_purges(limit, None).await?;
        let sites = st.store.site_activity().await?;
        Ok::<_, crate::queue::StoreError>(json!({
            "queue": counts.iter().map(|(k, v)| (k.as_str(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
            "batches": batches,
            "dead_letters": dead,
            "recent": recent,
            "sites": sites,
            "ready": st.health.readiness(),
        }))
    }
    .await;
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => HttpResponse::ServiceUnavailable().json(json!({"error": e.to_string()})),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurgeRequest {
    site: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn purge(
    st: web::Data<AdminState>,
    req: HttpRequest,
    body: web::Json<PurgeRequest>,
) -> HttpResponse {
    if !authorized(&st, &req) {
        return unauthorized();
    }
    let body = body.into_inner();
    let settings = st.settings.get();
    let Some(site) = settings.site(&body.site) else {
        return HttpResponse::BadRequest().json(json!({
            "error": format!("unknown site {:?}", body.site),
            "sites": settings.sites.iter().map(|s| s.name()).collect::<Vec<_>>(),
        }));
    };
    if body.paths.is_empty() && body.urls.is_empty() {
        return HttpResponse::BadRequest().json(json!({"error": "give `paths` or `urls`"}));
    }
    let _turn = match st
        .admission
        .enter_for(&settings.server, &st.metrics, "admin")
        .await
    {
        Ok(turn) => turn,
        Err(busy) => {
            tracing::warn!(reason = %busy, "manual purge refused");
            return busy.response();
        }
    };
    let changes = ChangeSet {
        paths: body.paths,
        urls: body.urls,
        ..ChangeSet::default()
    };
    let origin = Origin::new("manual", body.note.unwrap_or_else(|| "admin api".into()));
    match st.intake.submit(site, changes, origin).await {
        Ok(report) => HttpResponse::Accepted().json(report),
        Err(e) => {
            tracing::error!(error = %e, "manual purge not stored");
            HttpResponse::ServiceUnavailable().json(json!({"error": e.to_string()}))
        }
    }
}
