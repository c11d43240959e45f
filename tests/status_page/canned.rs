//! The page on canned API answers: traffic in the shape `/api/traffic`
//! serves (flat and nested figures), hostile text, a failing traffic API.

use crate::chromium::{self, Rendered};
use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use crate::stub;
use serde_json::{Value, json};

fn el<'a>(r: &'a Rendered, tag: &str, attr: &str) -> &'a str {
    r.element(tag, attr)
        .unwrap_or_else(|| panic!("no <{tag} {attr}> in the page:\n{}", r.dom))
}

/// The real page, taken from a real daemon.
async fn real_page() -> stub::Answer {
    let sim = sim().await;
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    stub::page_from(&d.admin("/")).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn status(dead: Value, problems: Value) -> Value {
    json!({
        "queue": {"pending": 0, "sent": 0, "flushed": 0, "confirmed": 0, "failed": dead.as_array().unwrap().len(), "unconfirmed": 0},
        "batches": [],
        "dead_letters": dead,
        "recent": [],
        "ready": {"ready": problems.as_object().unwrap().is_empty(), "problems": problems},
    })
}

#[tokio::test]
async fn traffic_snapshots_are_charted_per_vhost() {
    let Some(bin) = chromium::find() else {
        println!("skipped: chromium not installed");
        return;
    };
    let now = now_ms();
    let mut snaps = Vec::new();
    for i in 0..3i64 {
        let at = now - (3 - i) * 300_000;
        snaps.push(json!({
            "id": 2 * i + 1, "vhost": "www.example.com",
            "taken_at": "2026-01-01T00:00:00Z", "taken_at_ms": at,
            "figures": {"requests": 1000 + i * 10, "bytes": 4_096_000, "status.2xx": 990},
            "data": {"vhost": "www.example.com", "requests": 1000 + i * 10},
        }));
        snaps.push(json!({
            "id": 2 * i + 2, "vhost": "static.example.com", "taken_at_ms": at,
            "figures": {"totals.requests": 50 + i, "cache.hits": 45},
        }));
    }
    let traffic = json!({"enabled": true, "count": snaps.len(), "snapshots": snaps});
    let base = stub::serve(
        real_page().await,
        stub::json(200, &status(json!([]), json!({}))),
        Some(stub::json(200, &traffic)),
    )
    .await;
    let r = chromium::dump_dom(&bin, &format!("{base}/")).await;
    r.assert_quiet_console();
    let t = el(&r, "div", "id=\"traffic\"");
    assert!(t.contains("<svg class=\"chart\""), "{t}");
    assert_eq!(t.matches("<polyline").count(), 2, "one line per vhost: {t}");
    assert_eq!(t.matches("<circle").count(), 6, "{t}");
    assert!(t.contains(">www.example.com (requests)<"), "{t}");
    assert!(t.contains(">static.example.com (totals.requests)<"), "{t}");
    assert!(t.contains("6 snapshots"), "{t}");
    assert!(el(&r, "p", "id=\"summary\"").contains(">OK<"));
}

#[tokio::test]
async fn text_from_outside_stays_text_and_a_failing_traffic_api_is_named() {
    let Some(bin) = chromium::find() else {
        println!("skipped: chromium not installed");
        return;
    };
    let dead = json!([{
        "id": 7, "site": "www", "vhost": "www.example.com",
        "url": "https://www.example.com/<script>alert(1)</script>",
        "state": "failed", "origin": {"kind": "webhook", "reference": "<i>delivery</i>"},
        "attempts": 3, "reflushes": 2, "enqueued_at": now_ms() - 60_000, "updated_at": now_ms(),
        "confirmed_at": null, "batch_id": 1, "error": "API said <b>failed</b> & gave up",
    }]);
    let problems = json!({"watcher:www": "<em>inotify</em> limit reached"});
    let base = stub::serve(
        real_page().await,
        stub::json(200, &status(dead, problems)),
        Some(stub::json(500, &json!({"error": "boom"}))),
    )
    .await;
    let r = chromium::dump_dom(&bin, &format!("{base}/")).await;
    r.assert_quiet_console();
    let row = el(&r, "tr", "data-dead=\"7\"");
    assert!(
        row.contains("/&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{row}"
    );
    assert!(
        row.contains("API said &lt;b&gt;failed&lt;/b&gt; &amp; gave up"),
        "{row}"
    );
    assert!(
        row.contains("webhook: &lt;i&gt;delivery&lt;/i&gt;"),
        "{row}"
    );
    for markup in [
        "<b>failed</b>",
        "<i>delivery</i>",
        "<em>inotify</em>",
        "alert(1)</script>",
    ] {
        assert!(!r.dom.contains(markup), "{markup} became markup");
    }
    let ready = el(&r, "div", "id=\"ready\"");
    assert!(
        ready.contains("&lt;em&gt;inotify&lt;/em&gt; limit reached"),
        "{ready}"
    );
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains("1 dead letter"), "{summary}");
    assert!(summary.contains("not ready: watcher:www"), "{summary}");
    let t = el(&r, "div", "id=\"traffic\"");
    assert!(t.contains("traffic unavailable (HTTP 500)"), "{t}");
}
