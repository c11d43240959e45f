//! Property tests of the API response decoders (issue 9, "hostile input"):
//! arbitrary bytes and arbitrary JSON into every decoder, every error
//! status and `Retry-After` value never panic and give typed answers;
//! generated valid pages, arrays and status lists round-trip to the same
//! entries; timestamps in every documented spelling read back exactly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::decode::{flush_receipt, json, object, page, raw_page, status_page};
use super::error::{ApiError, MAX_RETRY_AFTER, parse_retry_after, seconds_in_detail};
use super::flex::timestamp;
use super::text::{extract_urls, looks_html, snippet};
use super::types::{FlushState, Vhost, VhostProperties};

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

const KEYS: &[&str] = &[
    "id",
    "name",
    "domain_name",
    "origin_url",
    "vhost",
    "cname",
    "ttl",
    "gzip",
    "ssl",
    "override_hostheader",
    "host_header",
    "count",
    "next",
    "previous",
    "results",
    "url",
    "filename",
    "status",
    "state",
    "requested_at",
    "completed_at",
    "detail",
    "urls",
    "0",
];

const WORDS: &[&str] = &[
    "done",
    "failed",
    "pending",
    "true",
    "0",
    "60",
    "",
    "2024-01-02T03:04:05+02:00",
    "1e30",
    "https://www.example.com/a b?x#y",
    "<html>",
    "Expected available in 1e300 seconds. Too many URLs",
];

fn json_value() -> impl Strategy<Value = Value> {
    crate::props_json::json_value(KEYS, WORDS, 4)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| json!({"count": 1, "next": "x", "results": [v]})
            .to_string()
            .into_bytes()),
        "[ \t\r\n]{0,3}<(!doctype|html|script|style|p)?\\PC{0,60}".prop_map(String::into_bytes),
    ]
}

fn decode_error(e: &ApiError) -> bool {
    e.kind() == "decode" && !e.is_retryable()
}

proptest! {
    #[test]
    fn any_body_into_every_decoder_is_ok_or_a_decode_error(b in body()) {
        let checks = [
            json(&b, "x").err(),
            object::<Vhost>(&b, "x").err(),
            object::<VhostProperties>(&b, "x").err(),
            page::<Vhost>(&b, "x").err(),
            page::<VhostProperties>(&b, "x").err(),
            raw_page(&b, "x").err(),
            status_page(&b).err(),
        ];
        for e in checks.iter().flatten() {
            prop_assert!(decode_error(e), "{:?}", e);
        }
        prop_assert_eq!(flush_receipt(&b).is_err(), looks_html(&b));
    }

    /// Every error answer becomes the error its status says, and a 429
    /// always carries a wait no longer than [`MAX_RETRY_AFTER`].
    #[test]
    fn any_error_answer_is_typed(
        status in prop_oneof![100u16..600, Just(429), Just(400), Just(413)],
        retry_after in prop::option::of(prop_oneof!["\\PC{0,30}", "[0-9]{1,25}(\\.[0-9]{0,5})?",
            "[0-9]\\.?[0-9]*e[0-9]{1,3}", Just("Wed, 21 Oct 2015 07:28:00 GMT".to_string()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_string())]),
        b in body(),
    ) {
        let e = ApiError::from_status(status, retry_after.as_deref(), &b, now());
        let want = match status {
            401 | 403 => "auth",
            404 | 410 => "not_found",
            413 => "too_large",
            429 => "throttled",
            500..=599 => "server",
            400 if e.kind() == "too_large" => "too_large", // names too many URLs
            _ => "rejected",
        };
        prop_assert_eq!(e.kind(), want);
        prop_assert_eq!(e.is_retryable(), status == 429 || status >= 500);
        if status == 429 {
            let wait = e.retry_after().unwrap();
            prop_assert!(wait <= MAX_RETRY_AFTER, "{:?}", wait);
        }
        let _ = e.rejected_urls();
        let _ = e.clone().redact("tok");
    }

    #[test]
    fn retry_after_forms(secs in any::<u64>(), frac in 0u32..1000, junk in "\\PC{0,40}") {
        let cap = |d: Duration| d.min(MAX_RETRY_AFTER);
        prop_assert_eq!(parse_retry_after(&format!(" {secs} "), now()), Some(cap(Duration::from_secs(secs))));
        let f = format!("{secs}.{frac:03}");
        prop_assert!(parse_retry_after(&f, now()).unwrap() <= MAX_RETRY_AFTER);
        let ahead = secs % (3 * 86_400);
        let date = httpdate::fmt_http_date(now() + Duration::from_secs(ahead));
        prop_assert_eq!(parse_retry_after(&date, now()), Some(cap(Duration::from_secs(ahead))));
        if let Some(d) = parse_retry_after(&junk, now()) {
            prop_assert!(d <= MAX_RETRY_AFTER);
        }
        if let Some(d) = seconds_in_detail(&format!("Expected available in {junk}")) {
            prop_assert!(d <= MAX_RETRY_AFTER);
        }
    }

    /// Vhost lists, as arrays or as pages, read back to the same entries.
    #[test]
    fn vhost_lists_round_trip(
        items in prop::collection::vec((prop_oneof![any::<u32>().prop_map(|n| json!(n)), "\\PC{1,8}".prop_map(|s| json!(s))],
            "\\PC{0,10}", "\\PC{1,20}", "\\PC{0,20}"), 0..5),
        as_page in any::<bool>(),
        next in prop::option::of("[ ]{0,2}\\PC{0,20}[ ]{0,2}"),
    ) {
        let arr: Vec<Value> = items.iter().map(|(id, name, domain, origin)| json!({"id": id, "name": name,
            "domain_name": domain, "origin_url": origin, "unknown": [1, {"x": null}]})).collect();
        let body = if as_page {
            json!({"count": arr.len(), "next": next, "previous": null, "results": arr})
        } else {
            json!(arr)
        };
        let p = page::<Vhost>(body.to_string().as_bytes(), "vhosts").unwrap();
        let want: Vec<Vhost> = items.iter().map(|(id, name, domain, origin)| Vhost {
            id: match id { Value::String(s) => s.clone(), n => n.to_string() },
            name: name.clone(), domain_name: domain.clone(), origin_url: origin.clone(),
        }).collect();
        prop_assert_eq!(p.items, want);
        let want_next = next.filter(|_| as_page).map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
        prop_assert_eq!(p.next, want_next);
    }

    /// Flush-status entries keyed by `url` or `filename` read back to the
    /// same path, state and times, whatever the status word's case.
    #[test]
    fn status_entries_round_trip(
        entries in prop::collection::vec(("(/[a-z][a-z0-9%._~-]{0,7}){1,3}/?", any::<bool>(),
            prop::sample::select(vec!["done", "DONE", "completed", "failed", "Error", "pending", "queued", "banana"]),
            0u64..4_000_000_000), 0..6),
    ) {
        let arr: Vec<Value> = entries.iter().map(|(path, by_url, word, t)| {
            let key = if *by_url { json!({"url": format!("https://www.example.com{path}")}) }
                      else { json!({"filename": path}) };
            let mut m = key.as_object().unwrap().clone();
            m.insert("status".into(), json!(word));
            m.insert("requested_at".into(), json!(t));
            m.insert("completed_at".into(), json!(httpdate::fmt_http_date(UNIX_EPOCH)));
            Value::Object(m)
        }).collect();
        let p = status_page(json!({"results": arr}).to_string().as_bytes()).unwrap();
        prop_assert_eq!(p.items.len(), entries.len());
        for (got, (path, by_url, word, t)) in p.items.iter().zip(&entries) {
            prop_assert_eq!(&got.path, path);
            prop_assert_eq!(got.url.is_some(), *by_url);
            prop_assert_eq!(got.state, FlushState::from_word(word));
            prop_assert_eq!(got.requested_at, Some(UNIX_EPOCH + Duration::from_secs(*t)));
        }
    }

    /// Unix seconds (number, string, milliseconds) and ISO 8601 with any
    /// offset read back to the same instant; anything else never panics.
    #[test]
    fn timestamps_read_back(t in 0u64..253_402_300_000, off_min in -1439i64..1440, v in json_value()) {
        // Documented: from 1e11 on, a Unix time is in milliseconds.
        let unix = |n: u64| Some(if n >= 100_000_000_000 { UNIX_EPOCH + Duration::from_millis(n) }
            else { UNIX_EPOCH + Duration::from_secs(n) });
        // Read through f64: exact for seconds, within a microsecond for millis.
        let close = |a: Option<SystemTime>, b: Option<SystemTime>| match (a, b) {
            (Some(a), Some(b)) => a.max(b).duration_since(a.min(b)).unwrap() <= Duration::from_micros(1),
            _ => false,
        };
        for v in [json!(t), json!(t.to_string()), json!(t * 1000)] {
            let n = v.as_u64().unwrap_or(t);
            prop_assert!(close(timestamp(&v), unix(n)), "{} -> {:?}", v, timestamp(&v));
        }
        if t < 100_000_000_000 {
            prop_assert_eq!(timestamp(&json!(t)), unix(t));
        }
        let local = UNIX_EPOCH + Duration::from_secs(t) + Duration::from_secs(86_400);
        let local = if off_min >= 0 { local + Duration::from_secs(off_min as u64 * 60) }
                    else { local - Duration::from_secs(off_min.unsigned_abs() * 60) };
        if local < UNIX_EPOCH + Duration::from_secs(253_402_300_000) {
            let text = humantime::format_rfc3339_seconds(local).to_string();
            let (sign, m) = (if off_min < 0 { '-' } else { '+' }, off_min.unsigned_abs());
            let iso = format!("{}{sign}{:02}:{:02}", text.trim_end_matches('Z'), m / 60, m % 60);
            prop_assert_eq!(timestamp(&json!(iso)), Some(UNIX_EPOCH + Duration::from_secs(t + 86_400)), "{}", iso);
        }
        let _ = timestamp(&v);
    }

    /// Snippets are short single lines; found URLs are http(s) and unbroken.
    #[test]
    fn text_helpers_are_total(b in body(), s in "\\PC{0,200}") {
        let sn = snippet(&b);
        prop_assert!(sn.chars().count() <= 201 && !sn.contains('\n'), "{:?}", sn);
        for u in extract_urls(&s).into_iter().chain(extract_urls(&String::from_utf8_lossy(&b))) {
            let l = u.to_ascii_lowercase();
            prop_assert!(l.starts_with("http://") || l.starts_with("https://"), "{}", u);
            prop_assert!(!u.contains(char::is_whitespace), "{}", u);
        }
    }
}

/// Regression (found by `retry_after_forms` / `any_error_answer_is_typed`):
/// `Retry-After: 1e30` made `Duration::from_secs_f64` panic, and
/// `Retry-After: 18446744073709551615` panicked later in `Instant + wait`;
/// both, and a throttle message naming 1e27 seconds, are now capped.
#[test]
fn absurd_retry_after_is_capped_not_a_panic() {
    for h in [
        "1e30",
        "18446744073709551615",
        "99999999999999999999999",
        "1e19",
    ] {
        assert_eq!(parse_retry_after(h, now()), Some(MAX_RETRY_AFTER), "{h}");
    }
    let detail = r#"{"detail": "Expected available in 1000000000000000000000000000 seconds."}"#;
    let e = ApiError::from_status(429, None, detail.as_bytes(), now());
    assert_eq!(e.retry_after(), Some(MAX_RETRY_AFTER));
    let _ = std::time::Instant::now() + e.retry_after().unwrap();
    assert_eq!(
        parse_retry_after("120", now()),
        Some(Duration::from_secs(120))
    );
}
