//! Watched sites over the admin API: their watcher state, and deploy
//! windows (`hold` accumulates changes durably, `release` purges them
//! together), plus a forced rescan.

use super::AdminState;
use super::routes::{authorized, unauthorized};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

pub async fn list(st: web::Data<AdminState>, req: HttpRequest) -> HttpResponse {
    if !authorized(&st, &req) {
        return unauthorized();
    }
    HttpResponse::Ok().json(json!({"sites": st.watch_control.statuses()}))
}

pub async fn action(
    st: web::Data<AdminState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    if !authorized(&st, &req) {
        return unauthorized();
    }
    let (site, what) = path.into_inner();
    let c = &st.watch_control;
    let result = match what.as_str() {
        "hold" => c.hold(&site).map(|s| json!(s)),
        "release" => c.release(&site).map(|s| json!(s)),
        "rescan" => c
            .rescan(&site)
            .map(|()| json!({"site": site, "rescan": "requested"})),
        _ => {
            return HttpResponse::NotFound()
                .json(json!({"error": "expected hold, release or rescan"}));
        }
    };
    match result {
        Ok(v) => {
            tracing::info!(site = %site, action = %what, "site control via admin API");
            HttpResponse::Ok().json(v)
        }
        Err(e) => HttpResponse::NotFound().json(json!({"error": e.to_string()})),
    }
}
