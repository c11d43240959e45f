//! `kill -9` at a random moment of a 5,000-URL purge, round after round: the
//! moment is drawn over the whole life of the purge (before the first flush,
//! between flushes, after the last flush while confirmations are polled).
//! Each round must end with every URL flushed and confirmed, none flushed
//! more than twice, and only one in-flight batch's worth flushed twice.

use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use edgeflush::simulator::{Faults, SimHandle};
use rand::RngExt;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const N: usize = 5000;
const PER_FLUSH: usize = 100;

async fn wait_flushed(sim: &SimHandle, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.state().flushed_urls().len() < n {
        assert!(Instant::now() < deadline, "never reached {n} flushed URLs");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One round; returns (URLs flushed when killed, URLs flushed twice).
async fn round(i: usize, rng: &mut rand::rngs::StdRng) -> (usize, usize) {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        latency_ms: 20,
        ..Faults::default()
    });
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.cloakfusion_extra = format!("max_urls_per_flush = {PER_FLUSH}");
    cfg.extra = "[traffic]\nenabled = false".into();
    let mut d = Daemon::start(&cfg);
    let paths: Vec<String> = (0..N).map(|k| format!("r{i}/{k}.js")).collect();
    let r = d.purge(json!({"site": "www", "paths": paths})).await;
    assert_eq!(r["queued"], N);

    // A moment over the purge's life: a flushed-URL count to reach (past N
    // means "while confirmations are polled"), plus a few ms of jitter so
    // the kill lands anywhere inside a request, not only right after one.
    let target = rng.random_range(0..N + N / 5);
    wait_flushed(&sim, target.min(N)).await;
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..25))).await;
    d.kill9();
    let at_kill = sim.state().flushed_urls().len();
    d.spawn();
    d.wait_for("every purge confirmed", Duration::from_secs(90), |s| {
        s["queue"]["confirmed"].as_u64() == Some(N as u64)
    })
    .await;

    let mut seen: HashMap<String, usize> = HashMap::new();
    for u in sim.state().flushed_urls() {
        *seen.entry(u).or_default() += 1;
    }
    assert_eq!(seen.len(), N, "round {i}: every URL flushed at least once");
    let max = seen.values().copied().max().unwrap_or(0);
    assert!(max <= 2, "round {i}: a URL was flushed {max} times");
    let twice = seen.values().filter(|n| **n == 2).count();
    // The flusher sends one batch at a time: only that one can go twice.
    assert!(twice <= PER_FLUSH, "round {i}: {twice} URLs flushed twice");
    let s = d.status().await;
    assert_eq!(s["queue"]["failed"].as_u64().unwrap_or(0), 0, "{s}");
    (at_kill, twice)
}

#[tokio::test]
async fn kill_9_at_random_moments_loses_nothing() {
    let rounds = if crate::long() { 20 } else { 3 };
    let mut rng = crate::rng("crashes");
    let started = Instant::now();
    let mut total_twice = 0;
    for i in 0..rounds {
        let (at_kill, twice) = round(i, &mut rng).await;
        eprintln!("[crashes] round {i}: killed at {at_kill}/{N} flushed; {twice} flushed twice");
        total_twice += twice;
    }
    eprintln!(
        "[crashes] {rounds} rounds of {N} URLs, 0 lost, {total_twice} flushed twice in all, {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
