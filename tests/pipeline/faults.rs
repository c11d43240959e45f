//! API failure modes, each switched on in the simulator: throttling with
//! Retry-After, server errors, 413, a refused URL, a revoked token.

use crate::common::daemon::{Daemon, DaemonConfig, metric};
use crate::common::sim;
use edgeflush::simulator::{Faults, RetryAfter};
use serde_json::json;
use std::time::Duration;

fn confirmed(n: u64) -> impl FnMut(&serde_json::Value) -> bool {
    move |s| s["queue"]["confirmed"].as_u64() == Some(n)
}

/// A daemon whose only API calls are the purge pipeline's: the fault
/// switches used here (`fail_next`, `throttle_next`) hit whichever request
/// comes next, and a traffic snapshot must not be the one to take it.
fn purges_only(sim: &edgeflush::simulator::SimHandle) -> DaemonConfig {
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.extra = "[traffic]\nenabled = false".into();
    cfg
}

fn flush_requests(
    sim: &edgeflush::simulator::SimHandle,
) -> Vec<edgeflush::simulator::RecordedRequest> {
    sim.state()
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .collect()
}

async fn throttled_then_waits(retry_after: RetryAfter) {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        throttle_next: 1,
        retry_after,
        retry_after_secs: 2,
        ..Faults::default()
    });
    let d = Daemon::start(&purges_only(&sim));
    d.purge(json!({"site": "www", "paths": ["a.css"]})).await;
    d.wait_for("1 confirmed", Duration::from_secs(20), confirmed(1))
        .await;
    let all = sim.state().requests();
    assert_eq!(all[0].status, 429);
    // Nothing at all reached the API before Retry-After expired (HTTP dates
    // have one-second resolution, hence the 1 s floor).
    let floor = if matches!(retry_after, RetryAfter::Date) {
        1000
    } else {
        2000
    };
    for r in &all[1..] {
        assert!(
            r.at_ms >= all[0].at_ms + floor,
            "request {} {}ms after the 429",
            r.path,
            r.at_ms - all[0].at_ms
        );
    }
    let m = d.metrics().await;
    assert_eq!(
        metric(
            &m,
            "edgeflush_api_throttled_total",
            &[("endpoint", "flush")]
        ),
        1.0
    );
}

#[tokio::test]
async fn throttled_with_retry_after_seconds() {
    throttled_then_waits(RetryAfter::Seconds).await;
}

#[tokio::test]
async fn throttled_with_retry_after_date() {
    throttled_then_waits(RetryAfter::Date).await;
}

#[tokio::test]
async fn server_errors_back_off_and_recover() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        fail_next: 3,
        ..Faults::default()
    });
    let d = Daemon::start(&purges_only(&sim));
    d.purge(json!({"site": "www", "paths": ["a.css", "b.css"]}))
        .await;
    d.wait_for("2 confirmed", Duration::from_secs(30), confirmed(2))
        .await;
    let flushes = flush_requests(&sim);
    let statuses: Vec<u16> = flushes.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![503, 503, 503, 201]);
    // Backoff, not a hot loop: gaps grow (jitter keeps each within [c/2, c]).
    let gaps: Vec<u64> = flushes
        .windows(2)
        .map(|w| w[1].at_ms - w[0].at_ms)
        .collect();
    assert!(gaps[0] >= 400, "first retry after {}ms", gaps[0]);
    assert!(gaps[2] >= 900, "third retry after {}ms", gaps[2]);
    let b = &d.status().await["batches"][0];
    assert_eq!(b["attempts"], 3);
}

#[tokio::test]
async fn too_large_splits_until_accepted() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        max_urls_per_flush: 10,
        ..Faults::default()
    });
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    let paths: Vec<String> = (0..40).map(|i| format!("{i}.css")).collect();
    d.purge(json!({"site": "www", "paths": paths})).await;
    d.wait_for("40 confirmed", Duration::from_secs(30), confirmed(40))
        .await;
    let flushes = flush_requests(&sim);
    assert!(flushes.iter().any(|r| r.status == 413));
    for r in flushes.iter().filter(|r| r.status < 300) {
        assert!(r.body["urls"].as_array().unwrap().len() <= 10);
    }
    let mut got = sim.state().flushed_urls();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 40, "every URL flushed");
    assert_eq!(sim.state().flushed_urls().len(), 40, "and none twice");
}

#[tokio::test]
async fn refused_url_is_isolated_and_dead_lettered() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        reject_url_regex: Some("bad\\.css$".into()),
        ..Faults::default()
    });
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    let mut paths: Vec<String> = (0..15).map(|i| format!("{i}.css")).collect();
    paths.insert(7, "bad.css".into());
    d.purge(json!({"site": "www", "paths": paths})).await;
    let s = d
        .wait_for("15 confirmed, 1 failed", Duration::from_secs(30), |s| {
            s["queue"]["confirmed"] == 15 && s["queue"]["failed"] == 1
        })
        .await;
    let dead = &s["dead_letters"][0];
    assert_eq!(dead["url"], "https://www.example.com/bad.css");
    assert!(
        dead["error"].as_str().unwrap().contains("refused"),
        "{dead}"
    );
    // Bisection costs log2(16) = 4 refused calls, not one per URL.
    let refused = flush_requests(&sim)
        .iter()
        .filter(|r| r.status == 400)
        .count();
    assert!(refused <= 5, "{refused} refused calls");
    let m = d.metrics().await;
    assert_eq!(
        metric(&m, "edgeflush_dead_letters_total", &[("reason", "refused")]),
        1.0
    );
}

#[tokio::test]
async fn revoked_token_pauses_and_resumes_without_loss() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        token: Some("rotated".into()),
        ..Faults::default()
    });
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    d.purge(json!({"site": "www", "paths": ["a.css", "b.css"]}))
        .await;
    // Readiness fails with the reason while the queue is kept.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = d.get_json("/readyz").await;
        if code == 503 {
            assert!(
                body["problems"]["api_auth"]
                    .as_str()
                    .unwrap()
                    .contains("token"),
                "{body}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "readyz never failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(d.queue("sent").await, 2);
    // A slow retry, not a storm: auth_retry is 500ms in tests.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tries = flush_requests(&sim).len();
    assert!((2..=6).contains(&tries), "{tries} flush attempts in ~2s");
    // The token is fixed (here: the API accepts ours again).
    let mut f = sim.state().faults();
    f.token = None;
    sim.state().set_faults(f);
    d.wait_for("2 confirmed", Duration::from_secs(20), confirmed(2))
        .await;
    assert_eq!(d.get_json("/readyz").await.0, 200);
}
