//! Benchmarks of the watcher (ignored by default; figures go to
//! docs/benchmarks-watch.md). Speed is printed, never asserted; what is
//! asserted is correctness (every file indexed, the flush-call count).
//!
//! Run: `cargo test --release --test watch bench_ -- --ignored --nocapture --test-threads=1`
//! (`BENCH_FILES` scales the tree of the first one, default 100000.)

use crate::common::sim;
use crate::rig::{Opts, Rig, SITE, write};
use edgeflush::queue::{PurgeState, Store};
use edgeflush::sink::{SinkContext, flusher, poller};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// (VmRSS, VmHWM) of this process, in MiB.
fn memory() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
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
fn tree(root: &Path, files: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(files);
    for i in 0..files {
        let d = i / 10;
        let name = format!("d{}/s{}/f{}.html", d / 100, d % 100, i);
        write(&root.join(&name), &format!("<p>file {i}</p>\n"));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_initial_scan_and_watch() {
    let files = files_from_env();
    let mut r = Rig::new(Opts::default());
    let t = Instant::now();
    tree(&r.root, files);
    println!("tree: {files} files written in {:.1?}", t.elapsed());
    let (rss0, hwm0) = memory();

    let t = Instant::now();
    r.start().await;
    let first = t.elapsed();
    let (rss1, hwm1) = memory();
    let s = r.status();
    assert_eq!(s.indexed_files as usize, files);
    println!(
        "first start: {} files, {} watches: {:.2?}; RSS {rss0:.0} -> {rss1:.0} MiB, peak {hwm0:.0} -> {hwm1:.0} MiB",
        s.indexed_files, s.watches, first
    );
    r.stop().await;

    let t = Instant::now();
    r.start().await;
    let again = t.elapsed();
    let (rss2, hwm2) = memory();
    assert!(r.queued().await.is_empty(), "nothing changed");
    println!(
        "restart (index loaded, stamps compared): {again:.2?}; RSS {rss2:.0} MiB, peak {hwm2:.0} MiB"
    );
    r.stop().await;
}

/// The watcher plus the real flusher and poller against the simulator.
async fn pipeline(r: &Rig, cancel: &CancellationToken) {
    let client = edgeflush::daemon::client(&r.settings).unwrap();
    let sink = SinkContext {
        settings: r.settings.clone(),
        store: r.store.clone(),
        client,
        metrics: r.metrics.clone(),
        health: r.health.clone(),
        flush_wake: r.intake.flush_wake.clone(),
        poll_wake: Arc::new(tokio::sync::Notify::new()),
    };
    tokio::spawn(flusher::run(sink.clone(), cancel.clone()));
    tokio::spawn(poller::run(sink, cancel.clone()));
}

async fn confirmed(r: &Rig) -> u64 {
    r.store.counts().await.unwrap()[&PurgeState::Confirmed]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_10k_changes_and_10k_identical_rewrites() {
    const N: usize = 10_000;
    let sim = sim().await;
    let top = format!(
        "[cloakfusion]\nbase_url = \"{}\"\ntoken = \"{}\"\nmax_urls_per_flush = 100\n\
         max_requests_per_minute = 0\n\n[batch]\nlinger = \"2s\"\nmax_delay = \"15s\"\n\n\
         [status]\ninitial_interval = \"200ms\"\nmax_interval = \"1s\"\n",
        sim.base_url(),
        sim.token()
    );
    let mut r = Rig::new(Opts {
        top,
        settle: Some("500ms".into()),
        ..Opts::default()
    });
    let names = tree(&r.root, N);
    r.start().await;
    let cancel = CancellationToken::new();
    pipeline(&r, &cancel).await;
    let flushes = || {
        sim.state()
            .requests()
            .iter()
            .filter(|q| q.path.ends_with("/flush/"))
            .count()
    };

    let t = Instant::now();
    for (i, n) in names.iter().enumerate() {
        write(&r.root.join(n), &format!("<p>file {i}, v2</p>\n"));
    }
    let written = t.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    while confirmed(&r).await < N as u64 {
        assert!(Instant::now() < deadline, "not all confirmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let calls = flushes();
    let want = N.div_ceil(100);
    println!(
        "{N} files changed (written in {written:.1?}): {calls} flush calls (ceil({N}/100) = {want}), \
         all confirmed {:.1?} after the first write; overflow rescans: {}",
        t.elapsed(),
        r.metric("edgeflush_watch_rescans_total", &[("site", SITE)])
            - r.metric("edgeflush_watch_rescans_total", &[("reason", "startup")])
    );
    // More calls than this mean partial batches went out early: the
    // flusher sends a vhost's remainder as soon as one batch is full.
    assert_eq!(calls, want, "flush calls");

    let before = r.skipped();
    let t = Instant::now();
    for (i, n) in names.iter().enumerate() {
        write(&r.root.join(n), &format!("<p>file {i}, v2</p>\n"));
    }
    r.wait("10k identical rewrites", |r| {
        r.skipped() >= before + N as f64
    })
    .await;
    r.wait("an idle watcher", |r| {
        let s = r.status();
        !s.busy && s.pending_paths == 0
    })
    .await;
    let pending = r.store.counts().await.unwrap()[&PurgeState::Pending];
    println!(
        "{N} identical rewrites: {} skipped in {:.1?}, {pending} purges queued, {} new flush calls",
        r.skipped() - before,
        t.elapsed(),
        flushes() - calls
    );
    assert_eq!(pending, 0);
    assert_eq!(flushes(), calls);
    cancel.cancel();
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn bench_event_to_enqueued_latency() {
    const WRITES: usize = 200;
    let mut r = Rig::new(Opts {
        settle: Some("500ms".into()),
        ..Opts::default()
    });
    tree(&r.root, 1000);
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
