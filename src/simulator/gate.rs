//! Front door of `/api/v1/*`: records the request, then applies what sits in
//! front of the real API in production (proxy failures, hangs, latency),
//! authentication and throttling, before handing over to the routes.

use std::time::{Duration, Instant, SystemTime};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use rand::RngExt;

use super::faults::RetryAfter;
use super::reply::Reply;
use super::routes::{Ctx, dispatch};
use super::state::{Data, SimState};

const PREFIX: &str = "/api/v1";
const HANG: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Ok,
    Missing,
    Wrong,
}

/// DRF's TokenAuthentication: keyword "Token" (any case), one space-separated key.
fn check_auth(req: &HttpRequest, accepted: &str) -> Auth {
    let Some(value) = req.headers().get("authorization") else {
        return Auth::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Auth::Wrong;
    };
    let mut parts = value.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(kw), Some(key), None) if kw.eq_ignore_ascii_case("token") && key == accepted => {
            Auth::Ok
        }
        (None, _, _) => Auth::Missing,
        _ => Auth::Wrong,
    }
}

fn parse_params(query: &str) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// Transport-level faults decided under the lock, in the order a request
/// meets them on its way in.
enum Pre {
    Hang,
    Reply(Reply),
    Pass,
}

fn take_pre_fault(d: &mut Data) -> Pre {
    let f = &mut d.faults;
    if f.hang_next > 0 {
        f.hang_next -= 1;
        return Pre::Hang;
    }
    if f.reset_next > 0 {
        f.reset_next -= 1;
        return Pre::Reply(Reply::broken());
    }
    if f.fail_next > 0 {
        f.fail_next -= 1;
        let status = StatusCode::from_u16(f.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Pre::Reply(Reply::proxy_error(status));
    }
    if f.fail_rate > 0.0 {
        let mut rng = rand::rng();
        if rng.random::<f64>() < f.fail_rate {
            let status = [500, 502, 503, 504][rng.random_range(0..4usize)];
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return Pre::Reply(Reply::proxy_error(status));
        }
    }
    Pre::Pass
}

/// Seconds to wait if this request is throttled; otherwise admits it.
fn throttle(d: &mut Data, now: Instant) -> Option<u64> {
    if d.faults.throttle_next > 0 {
        d.faults.throttle_next -= 1;
        return Some(d.faults.retry_after_secs);
    }
    let limit = d.faults.throttle_per_minute as usize;
    if limit == 0 {
        // Count only while a limit is on, so switching one on starts fresh.
        d.admitted.clear();
        return None;
    }
    let minute = Duration::from_secs(60);
    while d
        .admitted
        .front()
        .is_some_and(|t| now.duration_since(*t) >= minute)
    {
        d.admitted.pop_front();
    }
    if d.admitted.len() >= limit {
        let oldest = d.admitted.front().copied().unwrap_or(now);
        let left = (oldest + minute).saturating_duration_since(now);
        return Some(left.as_secs() + u64::from(left.subsec_nanos() > 0));
    }
    d.admitted.push_back(now);
    None
}

fn throttled(secs: u64, how: RetryAfter) -> Reply {
    let r = Reply::detail(
        StatusCode::TOO_MANY_REQUESTS,
        format!("Request was throttled. Expected available in {secs} seconds."),
    );
    match how {
        RetryAfter::Seconds => r.with_header("Retry-After", secs.to_string()),
        RetryAfter::Date => r.with_header(
            "Retry-After",
            httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(secs)),
        ),
        RetryAfter::None => r,
    }
}

fn unauthorized(auth: Auth, status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
    let msg = match auth {
        Auth::Missing => "Authentication credentials were not provided.",
        _ => "Invalid token.",
    };
    let r = Reply::detail(status, msg);
    if status == StatusCode::UNAUTHORIZED {
        r.with_header("WWW-Authenticate", "Token".to_string())
    } else {
        r
    }
}

/// Handler for every `/api/v1/*` request.
pub(crate) async fn api(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<SimState>,
) -> HttpResponse {
    let query = req.query_string().to_string();
    let params = parse_params(&query);
    let browsable = params.iter().any(|(k, v)| k == "format" && v == "api");
    let json_body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let auth = check_auth(&req, state.lock().accepted_token());
    let seq = state.arrived(
        req.method().as_str(),
        req.path(),
        &query,
        json_body,
        auth == Auth::Ok,
    );

    let pre = take_pre_fault(&mut state.lock());
    if let Pre::Hang = pre {
        let stopping = state.stopping();
        tokio::select! {
            () = tokio::time::sleep(HANG) => {}
            () = stopping.cancelled() => {}
        }
        let r = Reply::proxy_error(StatusCode::GATEWAY_TIMEOUT);
        return r.into_response(false, false);
    }
    let latency = state.lock().faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let mut d = state.lock();
    let reply = match pre {
        Pre::Reply(r) => r,
        Pre::Hang | Pre::Pass if auth != Auth::Ok => unauthorized(auth, d.faults.auth_status),
        Pre::Hang | Pre::Pass => match throttle(&mut d, Instant::now()) {
            Some(secs) => throttled(secs, d.faults.retry_after),
            None => {
                let path = req.path();
                let endpoint = path
                    .strip_prefix(PREFIX)
                    .unwrap_or(path)
                    .trim_matches('/')
                    .to_string();
                let conn = req.connection_info().clone();
                let ctx = Ctx {
                    method: req.method(),
                    self_url: format!("{}://{}{}", conn.scheme(), conn.host(), path),
                    params,
                    body: &body,
                    started: state.started(),
                };
                dispatch(&endpoint, &ctx, &mut d)
            }
        },
    };
    let html_errors = d.faults.html_errors;
    drop(d);
    state.answered(seq, reply.status.as_u16());
    reply.into_response(html_errors, browsable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::faults::Faults;

    #[test]
    fn sliding_minute_limit() {
        let st = SimState::new(
            "t".into(),
            Duration::ZERO,
            Faults {
                throttle_per_minute: 2,
                ..Faults::default()
            },
        );
        let mut d = st.lock();
        let t0 = Instant::now();
        assert_eq!(throttle(&mut d, t0), None);
        assert_eq!(throttle(&mut d, t0 + Duration::from_secs(10)), None);
        assert_eq!(throttle(&mut d, t0 + Duration::from_secs(20)), Some(40));
        assert_eq!(throttle(&mut d, t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn throttle_next_counts_down() {
        let st = SimState::new(
            "t".into(),
            Duration::ZERO,
            Faults {
                throttle_next: 1,
                retry_after_secs: 7,
                ..Faults::default()
            },
        );
        let mut d = st.lock();
        assert_eq!(throttle(&mut d, Instant::now()), Some(7));
        assert_eq!(throttle(&mut d, Instant::now()), None);
    }
}
