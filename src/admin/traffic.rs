//! `GET /api/traffic?vhost=&since=&limit=`: the stored traffic snapshots as a
//! series, oldest first, each with its raw answer and the figures read from
//! it, for `edgeflush traffic --history`, the status page and scripts.

use super::AdminState;
use super::routes::{authorized, unauthorized};
use crate::queue::{Millis, TrafficQuery, now_ms};
use crate::sink::traffic::figures;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::time::{Duration, UNIX_EPOCH};

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 100_000;

#[derive(Deserialize)]
pub(super) struct TrafficParams {
    vhost: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

/// `since` as Unix seconds, RFC 3339, or a duration back from now ("1h").
fn parse_since(s: &str, now: Millis) -> Result<Millis, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(1000))
            .ok_or_else(|| format!("since={s:?} is out of range"));
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        return Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    }
    Err(format!(
        "since={s:?}: expected Unix seconds, an RFC 3339 time or a duration such as \"1h\""
    ))
}

fn rfc3339(ms: Millis) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

/// Whole numbers stay integers in JSON (12, not 12.0).
fn number(f: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() < EXACT {
        json!(f as i64)
    } else {
        json!(f)
    }
}

pub(super) async fn list(
    st: web::Data<AdminState>,
    req: HttpRequest,
    q: web::Query<TrafficParams>,
) -> HttpResponse {
    if !authorized(&st, &req) {
        return unauthorized();
    }
    let since = match q.since.as_deref().filter(|s| !s.trim().is_empty()) {
        None => 0,
        Some(s) => match parse_since(s, now_ms()) {
            Ok(t) => t,
            Err(e) => return HttpResponse::BadRequest().json(json!({"error": e})),
        },
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let vhost = q.vhost.clone().filter(|v| !v.is_empty());
    let query = TrafficQuery {
        vhost: vhost.clone(),
        since,
        limit: limit + 1,
    };
    let mut rows = match st.store.list_traffic(query).await {
        Ok(r) => r,
        Err(e) => {
            return HttpResponse::ServiceUnavailable().json(json!({"error": e.to_string()}));
        }
    };
    // One more than asked tells whether older snapshots were left out.
    let truncated = rows.len() > limit;
    if truncated {
        rows.remove(0);
    }
    let snapshots: Vec<Value> = rows
        .into_iter()
        .map(|s| {
            let f: Map<String, Value> = figures(&s.data, &s.vhost)
                .fields
                .into_iter()
                .map(|(k, v)| (k, number(v)))
                .collect();
            json!({
                "id": s.id,
                "vhost": s.vhost,
                "taken_at": rfc3339(s.taken_at),
                "taken_at_ms": s.taken_at,
                "figures": f,
                "data": s.data,
            })
        })
        .collect();
    let settings = st.settings.get();
    let t = &settings.traffic;
    HttpResponse::Ok().json(json!({
        "enabled": t.enabled,
        "interval_seconds": t.interval.as_secs_f64(),
        "retention_seconds": t.retention.as_secs_f64(),
        "vhosts": settings.sites.iter().map(|s| s.vhost()).collect::<Vec<_>>(),
        "vhost": vhost,
        "since": (since > 0).then(|| rfc3339(since)),
        "count": snapshots.len(),
        "truncated": truncated,
        "snapshots": snapshots,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_since("1700000000", now), Ok(1_700_000_000_000));
        assert_eq!(
            parse_since("2023-11-14T22:13:20Z", now),
            Ok(1_700_000_000_000)
        );
        assert_eq!(parse_since("1h", now), Ok(now - 3_600_000));
        assert!(parse_since("last tuesday", now).is_err());
        assert!(parse_since("99999999999999999999", now).is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(number(12.0).to_string(), "12");
        assert_eq!(number(-3.0).to_string(), "-3");
        assert_eq!(number(0.5).to_string(), "0.5");
        assert_eq!(number(1e300), json!(1e300));
        assert!(number(1e300).is_f64());
    }
}
