//! The store's side of flushing, without HTTP: how fast `claim_batch` +
//! `mark_flushed` (what the flush worker does per batch) drain a backlog of
//! pending URLs. The pipeline bench showed the flusher, not the API, bounding
//! a 100,000-URL deploy; this isolates the store's share so a change to the
//! claim query can be measured on its own.
//!
//! Run: `cargo bench --bench drain` (env `BENCH_RUNS`, default 3).

#[allow(dead_code)]
#[path = "support/stats.rs"]
mod stats;

use edgeflush::queue::sqlite::SqliteStore;
use edgeflush::queue::{NewPurge, Origin, Store, StoreError, now_ms};
use stats::{Summary, thousands};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad BENCH_RUNS: {0:?}")]
    Runs(String),
    #[error("drained {got} URLs of {want}")]
    Short { got: usize, want: usize },
}

const VHOST: &str = "www.example.com";
const PER_BATCH: usize = 100;

/// What one drain measured.
struct Drain {
    urls_per_second: f64,
    first_batch_ms: f64,
    last_batch_ms: f64,
}

async fn fill(store: &SqliteStore, n: usize) -> Result<(), BenchError> {
    let all: Vec<NewPurge> = (0..n)
        .map(|i| NewPurge {
            site: "www".into(),
            vhost: VHOST.into(),
            url: format!("https://{VHOST}/assets/{i}.js"),
            path: format!("/assets/{i}.js"),
            origin: Origin::new("bench", "drain"),
            not_before: 0,
            hold: None,
        })
        .collect();
    for c in all.chunks(10_000) {
        store.enqueue(c.to_vec()).await?;
    }
    Ok(())
}

/// Fresh store with `pending` URLs, then claim + mark_flushed until empty.
async fn run_once(pending: usize) -> Result<Drain, BenchError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("queue.db");
    fill(&SqliteStore::open(&path)?, pending).await?;
    // Reopened: closing checkpoints the fill's WAL, which the first timed
    // commits would otherwise pay for.
    let store = SqliteStore::open(&path)?;
    let mut drained = 0;
    let mut batch_ms = Vec::new();
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let now = now_ms();
        let Some(b) = store.claim_batch(VHOST, PER_BATCH, now).await? else {
            break;
        };
        drained += b.items.len();
        store
            .mark_flushed(b.id, Some(b.id.to_string()), now, now + 1_000)
            .await?;
        batch_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let secs = started.elapsed().as_secs_f64();
    if drained != pending {
        return Err(BenchError::Short {
            got: drained,
            want: pending,
        });
    }
    // Mean of the first and of the last ten batches: the cost at a full
    // backlog against the cost at an almost empty one.
    let k = batch_ms.len().min(10);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    Ok(Drain {
        urls_per_second: pending as f64 / secs,
        first_batch_ms: mean(&batch_ms[..k]),
        last_batch_ms: mean(&batch_ms[batch_ms.len() - k..]),
    })
}

async fn bench() -> Result<(), BenchError> {
    let runs = match std::env::var("BENCH_RUNS") {
        Err(_) => 3,
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(BenchError::Runs(v))?,
    };
    println!(
        "# drain: SqliteStore claim_batch({PER_BATCH}) + mark_flushed until empty, {runs} runs per case"
    );
    println!();
    println!(
        "| pending at start | median URLs/s drained | min | max | ms per batch, first 10 | ms per batch, last 10 |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for pending in [10_000, 100_000] {
        let mut d = Vec::with_capacity(runs);
        for _ in 0..runs {
            d.push(run_once(pending).await?);
        }
        let rate: Vec<f64> = d.iter().map(|x| x.urls_per_second).collect();
        let first: Vec<f64> = d.iter().map(|x| x.first_batch_ms).collect();
        let last: Vec<f64> = d.iter().map(|x| x.last_batch_ms).collect();
        let (Some(r), Some(f), Some(l)) =
            (Summary::of(&rate), Summary::of(&first), Summary::of(&last))
        else {
            continue;
        };
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |",
            thousands(pending as f64),
            thousands(r.median),
            thousands(r.min),
            thousands(r.max),
            f.median,
            l.median
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("drain bench: cannot start tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(bench()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drain bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
