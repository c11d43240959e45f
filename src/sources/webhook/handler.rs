//! One webhook request: refuse early what is not ours (draining, size,
//! content type), verify the signature on the raw bytes, parse, deduplicate
//! and enqueue durably, then answer. Never a 2xx unless the work is on disk.

use super::actions::{self, Outcome};
use super::listener::WebhookState;
use super::{Headers, verify_and_parse};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

pub async fn handle(
    req: HttpRequest,
    mut payload: web::Payload,
    st: web::Data<WebhookState>,
) -> HttpResponse {
    let started = Instant::now();
    let settings = st.settings.get();
    let Some(hook) = settings.hooks.iter().find(|h| h.path == req.path()) else {
        return HttpResponse::NotFound().json(json!({"error": "no hook at this path"}));
    };
    if req.method() != actix_web::http::Method::POST {
        return HttpResponse::MethodNotAllowed()
            .insert_header(("Allow", "POST"))
            .json(json!({"error": "webhooks are POSTed"}));
    }
    let provider = hook.provider.as_str();
    let count = |outcome: &str| {
        st.metrics
            .webhook_requests
            .with_label_values(&[&hook.name, provider, outcome])
            .inc();
    };
    let reject = |status: u16, outcome: &str, message: String| {
        count(outcome);
        tracing::warn!(hook = %hook.name, provider, status, reason = %message, "webhook rejected");
        let code = actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
        HttpResponse::build(code).json(json!({"error": message}))
    };
    if st.draining.load(Ordering::Relaxed) {
        return reject(503, "draining", "shutting down; retry later".into());
    }
    if let Some(len) = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > hook.max_body {
            return reject(
                413,
                "too_large",
                format!(
                    "body of {len} bytes is over this hook's max_body ({})",
                    hook.max_body
                ),
            );
        }
    }
    // The turn is taken before the body is read: bodies in memory are
    // bounded by the number of turns (crate::admission).
    let server = &settings.server;
    let _turn = match st.admission.enter_for(server, &st.metrics, "webhook").await {
        Ok(turn) => turn,
        Err(busy) => {
            count("busy");
            tracing::warn!(hook = %hook.name, provider, status = 503, reason = %busy, "webhook rejected");
            return busy.response();
        }
    };
    let body =
        match tokio::time::timeout(server.body_timeout, read_body(&mut payload, hook.max_body))
            .await
        {
            Ok(Ok(body)) => body,
            Ok(Err((status, outcome, message))) => return reject(status, outcome, message),
            Err(_) => {
                return reject(
                    408,
                    "body_timeout",
                    format!(
                        "the body did not arrive within server.body_timeout ({:?})",
                        server.body_timeout
                    ),
                );
            }
        };
    let headers = Headers::new(req.headers().iter().filter_map(|(k, v)| {
        v.to_str()
            .ok()
            .map(|v| (k.as_str().to_string(), v.to_string()))
    }));
    let delivery = match verify_and_parse(
        hook.provider,
        &headers,
        &body,
        &hook.secrets,
        SystemTime::now(),
    ) {
        Ok(d) => d,
        Err(e) => return reject(e.status(), e.kind(), e.to_string()),
    };
    let outcome = actions::act(&st, &settings, hook, delivery).await;
    st.metrics
        .webhook_duration
        .with_label_values(&[&hook.name])
        .observe(started.elapsed().as_secs_f64());
    match outcome {
        Outcome::Ping => {
            count("ping");
            HttpResponse::Ok().json(json!({"pong": true, "hook": hook.name}))
        }
        Outcome::Duplicate { delivery } => {
            count("duplicate");
            tracing::info!(hook = %hook.name, delivery = %delivery, "redelivery: nothing enqueued");
            HttpResponse::Ok().json(json!({"duplicate": true, "delivery": delivery}))
        }
        Outcome::Ignored { delivery, reason } => {
            count("ignored");
            tracing::info!(hook = %hook.name, delivery = delivery.as_deref().unwrap_or("-"), reason = %reason, "webhook ignored");
            HttpResponse::Accepted().json(json!({"delivery": delivery, "ignored": reason}))
        }
        Outcome::Queued(summary) => {
            count("queued");
            tracing::info!(hook = %hook.name, delivery = summary.delivery.as_deref().unwrap_or("-"),
                urls = summary.urls(), "webhook queued");
            HttpResponse::Accepted().json(summary)
        }
        Outcome::Released { delivery, released } => {
            count("released");
            HttpResponse::Accepted().json(json!({"delivery": delivery, "released": released}))
        }
        Outcome::BadRequest(message) => reject(400, "bad_request", message),
        Outcome::StoreDown(message) => {
            tracing::error!(hook = %hook.name, error = %message, "webhook not stored; answering 503");
            reject(
                503,
                "store_unavailable",
                "the queue cannot take work right now; retry later".into(),
            )
        }
    }
}

/// The body, refused as soon as it grows past `max_body` (a lying or absent
/// Content-Length is not trusted).
async fn read_body(
    payload: &mut web::Payload,
    max_body: usize,
) -> Result<web::BytesMut, (u16, &'static str, String)> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Err((
                400,
                "malformed",
                "the request body could not be read".into(),
            ));
        };
        if body.len() + chunk.len() > max_body {
            return Err((
                413,
                "too_large",
                format!("body is over this hook's max_body ({max_body})"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
