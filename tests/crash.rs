//! Crash safety: `kill -9` of the real binary in the middle of a large purge,
//! then a restart. On the simulator's record, every URL is flushed at least
//! once and none more than twice (at-least-once, no runaway duplicates), and
//! every purge ends confirmed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::daemon::{Daemon, DaemonConfig};
use edgeflush::simulator::Faults;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

async fn wait_flushed(sim: &edgeflush::simulator::SimHandle, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.state().flushed_urls().len() < n {
        assert!(Instant::now() < deadline, "never reached {n} flushed URLs");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn kill_9_mid_purge_loses_nothing_and_duplicates_little() {
    const N: usize = 3000;
    let sim = common::sim().await;
    sim.state().set_faults(Faults {
        latency_ms: 25,
        ..Faults::default()
    });
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.cloakfusion_extra = "max_urls_per_flush = 50".into();
    let mut d = Daemon::start(&cfg);
    let paths: Vec<String> = (0..N).map(|i| format!("assets/{i}.js")).collect();
    let r = d.purge(json!({"site": "www", "paths": paths})).await;
    assert_eq!(r["queued"], N);

    // Two crashes at different depths of the purge, each followed by a restart.
    for fraction in [5, 2] {
        wait_flushed(&sim, N / fraction).await;
        d.kill9();
        let before = sim.state().flushed_urls().len();
        assert!(
            before < N,
            "the purge finished before the crash; make it slower"
        );
        d.spawn();
    }
    d.wait_for("every purge confirmed", Duration::from_secs(120), |s| {
        s["queue"]["confirmed"].as_u64() == Some(N as u64)
    })
    .await;

    let mut seen: HashMap<String, usize> = HashMap::new();
    for u in sim.state().flushed_urls() {
        *seen.entry(u).or_default() += 1;
    }
    assert_eq!(seen.len(), N, "every URL flushed at least once");
    let max = seen.values().copied().max().unwrap_or(0);
    let twice = seen.values().filter(|n| **n == 2).count();
    assert!(max <= 2, "a URL was flushed {max} times");
    // Only what was in flight at a crash may go twice: at most one batch per crash.
    assert!(twice <= 2 * 50, "{twice} URLs flushed twice");
    eprintln!("flushed twice after two kill -9: {twice} of {N}");
}
