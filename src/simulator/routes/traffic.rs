//! `GET /traffic/`: made-up but monotonic figures (about ten requests a
//! second per vhost since the simulator started), so collectors see numbers
//! that grow between snapshots.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, FieldErrors, list};
use crate::simulator::reply::Reply;
use crate::simulator::state::{Data, Vhost};

const REQUESTS_PER_SEC: f64 = 10.0;

/// ISO 8601 in UTC (`Z` or `+00:00`, `T` or space) or Unix seconds.
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .ok()
            .map(|n| UNIX_EPOCH + Duration::from_secs(n));
    }
    humantime::parse_rfc3339_weak(s).ok()
}

fn figures(v: &Vhost, from: SystemTime, to: SystemTime, nested: bool) -> Value {
    let secs = to.duration_since(from).unwrap_or_default().as_secs_f64();
    // Truncation is the point: whole requests only.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let requests = (secs * REQUESTS_PER_SEC) as u64;
    let bytes = requests * 4096 + requests / 3 * 512;
    let hits = requests * 9 / 10;
    let misses = requests - hits;
    let s3 = requests * 2 / 100;
    let s4 = requests / 100;
    let s5 = requests / 200;
    let s2 = requests - s3 - s4 - s5;
    let from_s = humantime::format_rfc3339_seconds(from).to_string();
    let to_s = humantime::format_rfc3339_seconds(to).to_string();
    let status = json!({ "2xx": s2, "3xx": s3, "4xx": s4, "5xx": s5 });
    if nested {
        json!({
            "vhost": v.domain_name, "from": from_s, "to": to_s,
            "totals": { "requests": requests, "bytes": bytes },
            "cache": { "hits": hits, "misses": misses },
            "status": status,
        })
    } else {
        json!({
            "vhost": v.domain_name, "from": from_s, "to": to_s,
            "requests": requests, "bytes": bytes, "hits": hits, "misses": misses,
            "status": status,
        })
    }
}

pub(super) fn traffic(ctx: &Ctx, d: &mut Data) -> Result<Reply, Reply> {
    let started = ctx.started.1;
    let now = SystemTime::now();
    let mut errs = FieldErrors::default();
    let mut window = |name: &str, default: SystemTime| match ctx.param(name) {
        None | Some("") => default,
        Some(s) => parse_time(s).unwrap_or_else(|| {
            errs.add(name, "Datetime has wrong format. Use ISO 8601.");
            default
        }),
    };
    let from = window("from", started);
    let to = window("to", now);
    errs.into_result()?;
    // Only the part of the window the simulator has lived through has traffic.
    let (begin, end) = (from.max(started), to.min(now));
    let end = end.max(begin);
    let nested = d.faults.traffic_nested;
    let one = |v: &Vhost| {
        let mut o = figures(v, begin, end, nested);
        o["from"] = json!(humantime::format_rfc3339_seconds(from).to_string());
        o["to"] = json!(humantime::format_rfc3339_seconds(to).to_string());
        o
    };
    match ctx.param("vhost") {
        Some(name) if !name.is_empty() => match d.vhost_by_domain(name) {
            Some(v) => Ok(Reply::json(StatusCode::OK, one(v))),
            None => Err(Reply::detail(StatusCode::NOT_FOUND, "Not found.")),
        },
        _ => {
            let items = d.vhosts.iter().map(one).collect();
            Ok(list(ctx, &d.faults, items))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        let a = parse_time("2024-01-02T03:04:05Z").unwrap();
        assert_eq!(parse_time("2024-01-02T03:04:05+00:00"), Some(a));
        assert_eq!(parse_time("1704164645"), Some(a));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn figures_grow_and_add_up() {
        let v = Vhost {
            id: 1,
            name: "a".into(),
            domain_name: "a.test".into(),
            origin_url: "http://o/".into(),
        };
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let small = figures(&v, t0, t0 + Duration::from_secs(10), false);
        let big = figures(&v, t0, t0 + Duration::from_secs(100), false);
        assert_eq!(small["requests"], 100);
        assert!(big["requests"].as_u64() > small["requests"].as_u64());
        let st = &big["status"];
        let sum: u64 = ["2xx", "3xx", "4xx", "5xx"]
            .iter()
            .map(|k| st[k].as_u64().unwrap())
            .sum();
        assert_eq!(sum, 1000);
        let nested = figures(&v, t0, t0 + Duration::from_secs(10), true);
        assert_eq!(nested["cache"]["hits"], 90);
    }
}
