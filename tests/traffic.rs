//! Traffic snapshots on the real binary against the simulator: snapshots
//! stored and listed by `/api/traffic` and `edgeflush traffic --history`,
//! figures exported as metrics and growing, failures (unknown vhost, a 503)
//! counted without disturbing a purge or bringing retries, retention, and
//! the feature switched off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "cli/run.rs"]
mod run;

use common::daemon::{Daemon, DaemonConfig, metric};
use common::{VHOST, sim};
use edgeflush::simulator::{RecordedRequest, SimHandle};
use run::{Out, clean};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const GHOST: &str = "ghost.example.com";

fn config(sim: &SimHandle, traffic: &str) -> DaemonConfig {
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.extra = format!("[traffic]\ninterval = \"1s\"\n{traffic}\n");
    cfg
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The simulator's record of `GET /traffic/` calls for `vhost`.
fn traffic_calls(sim: &SimHandle, vhost: &str) -> Vec<RecordedRequest> {
    let q = format!("vhost={vhost}");
    sim.state()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/traffic/") && r.query.split('&').any(|p| p == q))
        .collect()
}

async fn history(d: &Daemon, query: &str) -> Value {
    let (status, v) = d.get_json(&format!("/api/traffic{query}")).await;
    assert_eq!(status, 200, "/api/traffic{query}: {v}");
    v
}

async fn cli(d: &Daemon, args: &[&str]) -> Out {
    let mut c = clean(d.cli());
    c.args(args);
    run::run(c).await
}

/// Polls until `cond` holds on what `probe` returns, or panics with the logs.
async fn wait_until<T, P, F>(d: &Daemon, what: &str, mut probe: P, cond: impl Fn(&T) -> bool) -> T
where
    P: FnMut() -> F,
    F: std::future::Future<Output = T>,
    T: std::fmt::Debug,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = probe().await;
        if cond(&v) {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; last: {v:?}\n{}", d.logs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_stored(d: &Daemon, vhost: &str, n: usize) -> Value {
    let q = format!("?vhost={vhost}");
    wait_until(
        d,
        &format!("{n} snapshots of {vhost}"),
        || history(d, &q),
        |v| v["count"].as_u64() >= Some(n as u64),
    )
    .await
}

fn figure(m: &str, vhost: &str, field: &str) -> f64 {
    metric(
        m,
        "edgeflush_traffic",
        &[("vhost", vhost), ("field", field)],
    )
}

#[tokio::test]
async fn snapshots_are_stored_listed_and_exported() {
    let sim = sim().await;
    let started = Instant::now();
    let started_unix = now_ms() as f64 / 1000.0;
    let d = Daemon::start(&config(&sim, ""));
    let v = wait_stored(&d, VHOST, 3).await;

    let snaps = v["snapshots"].as_array().unwrap();
    assert_eq!(v["interval_seconds"], 1.0);
    assert_eq!(v["vhosts"], json!([VHOST]));
    let times: Vec<i64> = snaps
        .iter()
        .map(|s| s["taken_at_ms"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let requests: Vec<u64> = snaps
        .iter()
        .map(|s| s["figures"]["requests"].as_u64().unwrap())
        .collect();
    assert!(requests.windows(2).all(|w| w[0] < w[1]), "{requests:?}");
    for s in snaps {
        assert_eq!(s["vhost"], VHOST);
        // The raw answer is kept whole, strings included.
        assert_eq!(s["data"]["vhost"], VHOST);
        assert!(s["data"]["from"].is_string(), "{s}");
        let fields: Vec<&String> = s["figures"].as_object().unwrap().keys().collect();
        let want = [
            "bytes",
            "hits",
            "misses",
            "requests",
            "status.2xx",
            "status.3xx",
            "status.4xx",
            "status.5xx",
        ];
        assert_eq!(fields, want, "{s}");
    }

    let m1 = d.metrics().await;
    assert!(m1.contains("# HELP edgeflush_traffic "), "{m1}");
    assert!(figure(&m1, VHOST, "requests") > 0.0, "{m1}");
    assert!(figure(&m1, VHOST, "status.2xx") > 0.0, "{m1}");
    let last = metric(
        &m1,
        "edgeflush_last_traffic_snapshot_timestamp_seconds",
        &[],
    );
    assert!(
        last >= started_unix - 1.0 && last <= now_ms() as f64 / 1000.0 + 1.0,
        "{last} vs {started_unix}"
    );
    assert_eq!(
        metric(&m1, "edgeflush_traffic_snapshot_failures_total", &[]),
        0.0
    );
    let r1 = figure(&m1, VHOST, "requests");
    wait_until(
        &d,
        "the requests figure to grow",
        || d.metrics(),
        |m| figure(m, VHOST, "requests") > r1,
    )
    .await;

    // Filters: since, limit, a bad since.
    let v = history(&d, "?since=4000000000").await;
    assert_eq!(v["count"], 0, "{v}");
    let v = history(&d, "?limit=1").await;
    assert_eq!(
        (v["count"].as_u64(), v["truncated"].as_bool()),
        (Some(1), Some(true))
    );
    let v = history(&d, "?since=1h&vhost=other.test").await;
    assert_eq!(v["count"], 0, "{v}");
    let (status, v) = d.get_json("/api/traffic?since=someday").await;
    assert_eq!(status, 400, "{v}");

    // The CLI reads the same series from the admin API.
    let out = cli(&d, &["traffic", "--history", "--json", "--vhost", VHOST]).await;
    out.expect_code(0);
    let j = out.json();
    assert!(j["count"].as_u64() >= Some(3), "{j}");
    assert!(
        j["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["vhost"] == VHOST)
    );
    let out = cli(&d, &["traffic", "--history", "--since", "1h"]).await;
    out.expect_code(0)
        .says(VHOST)
        .says("TIME")
        .says("requests")
        .says("status.5xx");
    let out = cli(&d, &["traffic", "--since", "1h"]).await;
    out.expect_code(2).says("--history");

    // One call per interval at most: no burst, no retries.
    let calls = traffic_calls(&sim, VHOST).len() as f64;
    assert!(
        calls <= started.elapsed().as_secs_f64() + 1.0,
        "{calls} calls in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn failing_snapshots_are_counted_and_purges_still_flow() {
    let sim = sim().await;
    let started = Instant::now();
    // The simulator knows no ghost.example.com: its traffic answers 404.
    let ghost = format!("[[site]]\nname = \"ghost\"\nvhost = \"{GHOST}\"");
    let d = Daemon::start(&config(&sim, &ghost));
    let r = d.purge(json!({"site": "www", "paths": ["a.css"]})).await;
    assert_eq!(r["queued"], 1, "{r}");
    let m = wait_until(
        &d,
        "two failed ghost snapshots",
        || d.metrics(),
        |m| {
            metric(
                m,
                "edgeflush_traffic_snapshot_failures_total",
                &[("vhost", GHOST)],
            ) >= 2.0
        },
    )
    .await;
    d.wait_for("the purge confirmed", Duration::from_secs(20), |s| {
        s["queue"]["confirmed"].as_u64() == Some(1)
    })
    .await;
    assert_eq!(
        sim.state().flushed_urls(),
        ["https://www.example.com/a.css"]
    );
    assert!(
        metric(
            &m,
            "edgeflush_api_errors_total",
            &[("endpoint", "traffic"), ("kind", "not_found")]
        ) >= 2.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "edgeflush_traffic_snapshot_failures_total",
            &[("vhost", VHOST)]
        ),
        0.0
    );
    assert_eq!(figure(&m, GHOST, "requests"), 0.0);
    // The good vhost goes on; nothing is stored for the failing one.
    wait_stored(&d, VHOST, 2).await;
    assert_eq!(history(&d, &format!("?vhost={GHOST}")).await["count"], 0);
    // A failing snapshot is no readiness problem and no dead letter.
    let (ready, body) = d.get_json("/readyz").await;
    assert_eq!(ready, 200, "{body}");
    assert_eq!(d.queue("failed").await, 0);
    // Failures wait for their next slot: no retry storm.
    let calls = traffic_calls(&sim, GHOST).len() as f64;
    assert!(
        calls <= started.elapsed().as_secs_f64() + 1.0,
        "{calls} ghost calls in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_error_costs_one_snapshot_and_no_early_retry() {
    let sim = sim().await;
    let d = Daemon::start(&config(&sim, ""));
    wait_stored(&d, VHOST, 1).await;
    let mut f = sim.state().faults();
    f.fail_next = 1;
    f.fail_status = 503;
    sim.state().set_faults(f);
    let failures = |m: &String| {
        metric(
            m,
            "edgeflush_traffic_snapshot_failures_total",
            &[("vhost", VHOST)],
        )
    };
    wait_until(&d, "one failure", || d.metrics(), |m| failures(m) == 1.0).await;
    let stored = history(&d, "").await["count"].as_u64().unwrap() as usize;
    wait_stored(&d, VHOST, stored + 2).await;
    let m = d.metrics().await;
    assert_eq!(failures(&m), 1.0);
    assert_eq!(
        metric(
            &m,
            "edgeflush_api_errors_total",
            &[("endpoint", "traffic"), ("kind", "server")]
        ),
        1.0
    );
    let calls = traffic_calls(&sim, VHOST);
    let failed = calls.iter().position(|c| c.status == 503).unwrap();
    let next = &calls[failed + 1];
    assert_eq!(next.status, 200);
    assert!(
        next.at_ms - calls[failed].at_ms >= 500,
        "retried after {} ms",
        next.at_ms - calls[failed].at_ms
    );
}

#[tokio::test]
async fn old_snapshots_are_pruned() {
    let sim = sim().await;
    let d = Daemon::start(&config(&sim, "retention = \"2s\""));
    wait_until(
        &d,
        "six snapshots taken",
        || async { traffic_calls(&sim, VHOST).len() },
        |n| *n >= 6,
    )
    .await;
    let taken = traffic_calls(&sim, VHOST).len();
    let v = history(&d, "").await;
    let kept = v["count"].as_u64().unwrap() as usize;
    assert!(
        (1..=4).contains(&kept) && kept < taken,
        "{kept} of {taken}: {v}"
    );
    let oldest = v["snapshots"][0]["taken_at_ms"].as_i64().unwrap();
    assert!(now_ms() - oldest < 6_000, "{v}");
}

#[tokio::test]
async fn switched_off_and_behind_the_admin_token() {
    let sim = sim().await;
    let mut cfg = config(&sim, "enabled = false");
    cfg.server_extra = "admin_token = \"traffic-admin-secret\"".into();
    let started = Instant::now();
    let d = Daemon::start(&cfg);
    let (status, _) = d.get_json("/api/traffic").await;
    assert_eq!(status, 401);
    // Longer than the first snapshot would take if it were on.
    tokio::time::sleep(Duration::from_millis(2_500).saturating_sub(started.elapsed())).await;
    assert!(traffic_calls(&sim, VHOST).is_empty());
    let out = cli(&d, &["traffic", "--history", "--json"]).await;
    out.expect_code(0).never_shows("traffic-admin-secret");
    let j = out.json();
    assert_eq!(
        (j["enabled"].as_bool(), j["count"].as_u64()),
        (Some(false), Some(0))
    );
    cli(&d, &["traffic", "--history"])
        .await
        .expect_code(0)
        .says("traffic snapshots are off");
    let m = d.metrics().await;
    assert!(!m.contains("edgeflush_traffic{"), "{m}");
}
