//! `/_sim/*`: the test-side control API (no auth, loopback only, never
//! subject to faults) to read what the client sent and flip faults mid-run.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::vhosts::vhost_json;
use crate::simulator::faults::Faults;
use crate::simulator::state::{Phase, SimState, unix_ms};

fn bad_request(msg: String) -> HttpResponse {
    HttpResponse::build(StatusCode::BAD_REQUEST).json(json!({ "detail": msg }))
}

async fn requests(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(state.requests())
}

async fn clear_requests(state: web::Data<SimState>) -> HttpResponse {
    state.clear_requests();
    HttpResponse::NoContent().finish()
}

async fn get_faults(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(state.faults())
}

/// POST merges a partial object into the current faults.
async fn merge_faults(state: web::Data<SimState>, body: web::Bytes) -> HttpResponse {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e.to_string()),
    };
    let mut d = state.lock();
    match d.faults.merged_value(&patch) {
        Ok(f) => {
            d.faults = f.clone();
            HttpResponse::Ok().json(f)
        }
        Err(e) => bad_request(e.to_string()),
    }
}

/// PUT replaces the faults; fields left out take their defaults.
async fn put_faults(state: web::Data<SimState>, body: web::Bytes) -> HttpResponse {
    let f: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(e.to_string()),
    };
    if let Err(e) = f.validate() {
        return bad_request(e.to_string());
    }
    state.set_faults(f.clone());
    HttpResponse::Ok().json(f)
}

async fn sim_state(state: web::Data<SimState>) -> HttpResponse {
    let d = state.lock();
    let now = Instant::now();
    let vhosts: Vec<Value> = d.vhosts.iter().map(|v| vhost_json(v, &d.faults)).collect();
    let properties: Vec<Value> = d
        .properties
        .iter()
        .map(|p| {
            let vhost = d.vhost_by_id(p.vhost_id).map(|v| v.domain_name.clone());
            json!({
                "vhost": vhost, "vhost_id": p.vhost_id, "cname": p.cname, "ttl": p.ttl,
                "gzip": p.gzip, "ssl": p.ssl, "override_hostheader": p.override_hostheader,
                "host_header": p.host_header,
            })
        })
        .collect();
    let flushes: Vec<Value> = d
        .flushes
        .iter()
        .map(|r| {
            let phase = d.phase_of(r, now).0;
            json!({
                "flush_id": r.flush_id,
                "url": r.url,
                "vhost": r.vhost,
                "requested_at_ms": unix_ms(r.requested_at),
                "done": phase != Phase::Pending,
                "failed": phase == Phase::Failed,
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "vhosts": vhosts,
        "properties": properties,
        "flushes": flushes,
        "flush_delay_ms": u64::try_from(d.flush_delay().as_millis()).unwrap_or(u64::MAX),
    }))
}

async fn flushed(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(state.flushed_urls())
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "detail": "Not found." }))
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim")
            .route("/requests", web::get().to(requests))
            .route("/requests", web::delete().to(clear_requests))
            .route("/faults", web::get().to(get_faults))
            .route("/faults", web::post().to(merge_faults))
            .route("/faults", web::put().to(put_faults))
            .route("/state", web::get().to(sim_state))
            .route("/flushed", web::get().to(flushed))
            .default_service(web::to(not_found)),
    );
}
