//! Happy paths: a manual purge ends confirmed, duplicates coalesce, big
//! change sets are cut at max_urls_per_flush, shutdown keeps the queue.

use crate::common::daemon::{Daemon, DaemonConfig, metric};
use crate::common::sim;
use serde_json::json;
use std::time::Duration;

fn confirmed(n: u64) -> impl FnMut(&serde_json::Value) -> bool {
    move |s| s["queue"]["confirmed"].as_u64() == Some(n)
}

#[tokio::test]
async fn manual_purge_is_flushed_and_confirmed() {
    let sim = sim().await;
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    let r = d
        .purge(json!({"site": "www", "paths": ["css/a.css", "blog/index.html"]}))
        .await;
    assert_eq!(r["queued"], 4, "{r}"); // a.css, blog/index.html, blog/, blog
    d.wait_for("4 confirmed", Duration::from_secs(20), confirmed(4))
        .await;
    let flushed = sim.state().flushed_urls();
    let mut sorted = flushed.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            "https://www.example.com/blog",
            "https://www.example.com/blog/",
            "https://www.example.com/blog/index.html",
            "https://www.example.com/css/a.css",
        ]
    );
    let flush_calls = sim
        .state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .count();
    assert_eq!(flush_calls, 1);
    let m = d.metrics().await;
    assert_eq!(
        metric(
            &m,
            "edgeflush_purge_completion_seconds_count",
            &[("vhost", "www.example.com")]
        ),
        4.0
    );
    assert_eq!(metric(&m, "edgeflush_urls_flushed_total", &[]), 4.0);
    assert_eq!(
        metric(&m, "edgeflush_queue_purges", &[("state", "confirmed")]),
        4.0
    );
}

#[tokio::test]
async fn duplicates_coalesce_and_also_purge_once() {
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.batch = "linger = \"1s\"\nmax_delay = \"5s\"".into();
    cfg.site_extra = "also_purge = [\"/\", \"/sitemap.xml\"]".into();
    let d = Daemon::start(&cfg);
    let a = d.purge(json!({"site": "www", "paths": ["a.css"]})).await;
    let b = d
        .purge(json!({"site": "www", "paths": ["a.css", "b.css"]}))
        .await;
    assert_eq!(a["queued"], 3);
    assert_eq!(b["queued"], 1);
    assert_eq!(b["coalesced"], 3);
    d.wait_for("4 confirmed", Duration::from_secs(20), confirmed(4))
        .await;
    assert_eq!(
        sim.state().flushed_urls().len(),
        4,
        "one flush of 4 distinct URLs"
    );
    let m = d.metrics().await;
    assert_eq!(
        metric(&m, "edgeflush_urls_coalesced_total", &[("site", "www")]),
        3.0
    );
}

#[tokio::test]
async fn batches_are_cut_at_max_urls_per_flush() {
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.cloakfusion_extra = "max_urls_per_flush = 100".into();
    let d = Daemon::start(&cfg);
    let paths: Vec<String> = (0..250).map(|i| format!("f/{i}.js")).collect();
    d.purge(json!({"site": "www", "paths": paths})).await;
    d.wait_for("250 confirmed", Duration::from_secs(30), confirmed(250))
        .await;
    let sizes: Vec<usize> = sim
        .state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .map(|r| r.body["urls"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![100, 100, 50]);
}

#[tokio::test]
async fn sigterm_exits_cleanly_and_keeps_pending_work() {
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.batch = "linger = \"30s\"\nmax_delay = \"60s\"".into();
    let mut d = Daemon::start(&cfg);
    d.purge(json!({"site": "www", "paths": ["x.css", "y.css"]}))
        .await;
    let status = d.sigterm();
    assert!(status.success(), "exit status {status}");
    assert!(sim.state().flushed_urls().is_empty());
    // Restart with a short linger: the two purges are still there and go out.
    std::fs::write(
        d.config_path(),
        std::fs::read_to_string(d.config_path()).unwrap().replace(
            "linger = \"30s\"\nmax_delay = \"60s\"",
            "linger = \"100ms\"\nmax_delay = \"1s\"",
        ),
    )
    .unwrap();
    d.spawn();
    d.wait_for("2 confirmed", Duration::from_secs(20), confirmed(2))
        .await;
    assert_eq!(sim.state().flushed_urls().len(), 2);
}

#[tokio::test]
async fn admin_token_is_required_when_set() {
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.server_extra = "admin_token = \"let-me-in\"".into();
    let d = Daemon::start(&cfg);
    let c = reqwest::Client::new();
    for (token, want) in [(None, 401), (Some("wrong"), 401), (Some("let-me-in"), 202)] {
        let mut rb = c
            .post(d.admin("/api/purge"))
            .json(&json!({"site": "www", "paths": ["a"]}));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        assert_eq!(rb.send().await.unwrap().status(), want, "token {token:?}");
    }
    // Health stays open for probes.
    assert_eq!(
        reqwest::get(d.admin("/healthz")).await.unwrap().status(),
        200
    );
}
