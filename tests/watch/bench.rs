//! Benchmarks of the watcher (ignored by default; figures go to
//! docs/benchmarks-watch.md). Speed is printed, never asserted; what is
//! asserted is correctness (every file indexed, the flush-call count).
//! The first two run the real binary against the simulator; the latency
//! one runs the worker in-process to read the store directly.
//!
//! Run: `cargo test --release --test watch bench_ -- --ignored --nocapture --test-threads=1`
//! (`BENCH_FILES` scales the tree of the first one, default 100000.)

use crate::common::daemon::{Daemon, DaemonConfig, metric};
use crate::common::sim;
use crate::rig::{Opts, Rig, SITE, write};
use edgeflush::queue::Store;
use edgeflush::simulator::SimHandle;
use std::path::Path;
use std::time::{Duration, Instant};

/// (VmRSS, VmHWM) of a process, in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `files` files in `files / 10` leaf folders (100 per parent folder).
fn tree(root: &Path, files: usize, version: &str) -> Vec<String> {
    let mut names = Vec::with_capacity(files);
    for i in 0..files {
        let d = i / 10;
        let name = format!("d{}/s{}/f{}.html", d / 100, d % 100, i);
        write(&root.join(&name), &format!("<p>file {i} {version}</p>\n"));
        names.push(name);
    }
    names
}

fn files_from_env() -> usize {
    std::env::var("BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// The binary's config: the simulator, 100 URLs per flush, settle 500ms.
fn daemon_config(sim: &SimHandle) -> DaemonConfig {
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.cloakfusion_extra = "max_urls_per_flush = 100".into();
    cfg.batch = "linger = \"2s\"\nmax_delay = \"15s\"".into();
    cfg.status = "initial_interval = \"200ms\"\nmax_interval = \"1s\"".into();
    cfg.extra = "[watch]\nsettle = \"500ms\"\n".into();
    cfg
}

async fn watch_metric(d: &Daemon, name: &str) -> f64 {
    metric(&d.metrics().await, name, &[("site", SITE)])
}

/// Waits (polling every 20 ms) until a watcher metric reaches `n`.
async fn wait_metric(d: &Daemon, name: &str, n: f64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while watch_metric(d, name).await < n {
        assert!(Instant::now() < deadline, "{name} < {n}:\n{}", d.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_initial_scan_and_watch() {
    let files = files_from_env();
    let sim = sim().await;
    let mut d = Daemon::start(&daemon_config(&sim));
    assert!(d.sigterm().success());
    // A fresh store: the next start is a first start over the whole tree.
    for f in ["edgeflush.db", "edgeflush.db-wal", "edgeflush.db-shm"] {
        let _ = std::fs::remove_file(d.dir.path().join(f));
    }
    let root = d.dir.path().join("public");
    let t = Instant::now();
    tree(&root, files, "v1");
    println!("tree: {files} files written in {:.1?}", t.elapsed());

    let t = Instant::now();
    d.spawn();
    wait_metric(
        &d,
        "edgeflush_watch_rounds_total",
        1.0,
        Duration::from_secs(120),
    )
    .await;
    let first = t.elapsed();
    let pid = d.pid().unwrap();
    let (rss, hwm) = memory(pid);
    let m = d.metrics().await;
    let indexed = metric(&m, "edgeflush_watch_indexed_files", &[("site", SITE)]);
    let watches = metric(&m, "edgeflush_watch_watches", &[("site", SITE)]);
    assert_eq!(indexed as usize, files);
    assert_eq!(d.queue("pending").await, 0, "a first start purges nothing");
    println!(
        "first start of the binary: {indexed} files indexed, {watches} watches, ready {first:.2?} after spawn; RSS {rss:.0} MiB, peak {hwm:.0} MiB"
    );
    assert!(d.sigterm().success());

    let t = Instant::now();
    d.spawn();
    wait_metric(
        &d,
        "edgeflush_watch_rounds_total",
        1.0,
        Duration::from_secs(120),
    )
    .await;
    let again = t.elapsed();
    let (rss, hwm) = memory(d.pid().unwrap());
    assert_eq!(d.queue("pending").await, 0, "nothing changed");
    println!(
        "restart (index loaded, stamps compared): ready {again:.2?} after spawn; RSS {rss:.0} MiB, peak {hwm:.0} MiB"
    );
}

fn flush_calls(sim: &SimHandle) -> usize {
    sim.state()
        .requests()
        .iter()
        .filter(|q| q.path.ends_with("/flush/"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_10k_changes_and_10k_identical_rewrites() {
    const N: u64 = 10_000;
    let sim = sim().await;
    let d = Daemon::start(&daemon_config(&sim));
    wait_metric(
        &d,
        "edgeflush_watch_rounds_total",
        1.0,
        Duration::from_secs(20),
    )
    .await;
    let root = d.dir.path().join("public");
    let want = N.div_ceil(100) as usize;
    let confirmed =
        |n: u64| move |s: &serde_json::Value| s["queue"]["confirmed"].as_u64() == Some(n);

    let mut calls = 0;
    for (i, (what, version)) in [("created", "v1"), ("changed", "v2")]
        .into_iter()
        .enumerate()
    {
        let t = Instant::now();
        tree(&root, N as usize, version);
        let written = t.elapsed();
        d.wait_for(
            "all confirmed",
            Duration::from_secs(300),
            confirmed(N * (i as u64 + 1)),
        )
        .await;
        let now = flush_calls(&sim);
        println!(
            "{N} files {what} (written in {written:.1?}): {} flush calls (ceil({N}/100) = {want}), \
             all confirmed {:.1?} after the first write; overflow rescans: {}",
            now - calls,
            t.elapsed(),
            watch_metric(&d, "edgeflush_watch_rescans_total").await - 1.0
        );
        // More calls than this mean partial batches went out early (see
        // docs/benchmarks-watch.md).
        assert_eq!(now - calls, want, "flush calls");
        calls = now;
    }

    let t = Instant::now();
    tree(&root, N as usize, "v2");
    wait_metric(
        &d,
        "edgeflush_watch_unchanged_skipped_total",
        N as f64,
        Duration::from_secs(120),
    )
    .await;
    let pending = d.queue("pending").await;
    println!(
        "{N} identical rewrites: {N} skipped {:.1?} after the first write, {pending} purges queued, {} new flush calls",
        t.elapsed(),
        flush_calls(&sim) - calls
    );
    assert_eq!(pending, 0);
    assert_eq!(flush_calls(&sim), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_event_to_enqueued_latency() {
    const WRITES: usize = 200;
    let mut r = Rig::new(Opts {
        settle: Some("500ms".into()),
        ..Opts::default()
    });
    tree(&r.root, 1000, "v1");
    r.start().await;
    let mut lat = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        let name = format!("lat/{}/{i}.css", i % 10);
        let url = crate::rig::u(&name);
        let t = Instant::now();
        write(&r.root.join(&name), "x");
        loop {
            let last = r.store.recent_purges(1, None).await.unwrap();
            if last.first().is_some_and(|p| p.url == url) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "{name} never queued");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "event -> enqueued, settle 500ms, {WRITES} writes: p50 {:.0?}, p99 {:.0?}, max {:.0?} (target p99 < 600ms)",
        pct(0.50),
        pct(0.99),
        lat[lat.len() - 1]
    );
    r.stop().await;
}
