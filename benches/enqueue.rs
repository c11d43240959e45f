//! Issue 3, part 1: how many URLs per second the SQLite queue takes through
//! `Store::enqueue`, on a real file (WAL, `synchronous=FULL`, so every call
//! pays one fsync), for several URLs per call. Measured here rather than
//! asserted in tests: speed depends on the machine, correctness does not.
//!
//! Run: `cargo bench --bench enqueue` (env `BENCH_RUNS`, default 5). Each run
//! opens a fresh store in its own temporary folder; the items are built before
//! the clock starts, so the figure is the store's alone.

#[allow(dead_code)]
#[path = "support/stats.rs"]
mod stats;

use edgeflush::queue::sqlite::SqliteStore;
use edgeflush::queue::{NewPurge, Origin, Store, StoreError};
use stats::{Summary, thousands};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad {name}: {value:?}")]
    Env { name: &'static str, value: String },
    #[error("{case}: {what}")]
    Check { case: String, what: String },
}

/// One measured situation.
struct Case {
    name: &'static str,
    /// URLs per `enqueue` call (one transaction each).
    per_call: usize,
    /// URLs enqueued (and timed) per run.
    total: usize,
    /// URLs already pending before the clock starts (other URLs).
    prefill: usize,
    /// The timed URLs are already pending: every one is coalesced.
    coalesce: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "1 URL per call",
        per_call: 1,
        total: 2_000,
        prefill: 0,
        coalesce: false,
    },
    Case {
        name: "100 per call",
        per_call: 100,
        total: 100_000,
        prefill: 0,
        coalesce: false,
    },
    Case {
        name: "1,000 per call",
        per_call: 1_000,
        total: 100_000,
        prefill: 0,
        coalesce: false,
    },
    Case {
        name: "10,000 per call",
        per_call: 10_000,
        total: 100_000,
        prefill: 0,
        coalesce: false,
    },
    Case {
        name: "1,000 per call, 100,000 already pending",
        per_call: 1_000,
        total: 100_000,
        prefill: 100_000,
        coalesce: false,
    },
    Case {
        name: "1,000 per call, all coalesced",
        per_call: 1_000,
        total: 100_000,
        prefill: 0,
        coalesce: true,
    },
];

fn purge(i: usize) -> NewPurge {
    NewPurge {
        site: "www".into(),
        vhost: "www.example.com".into(),
        url: format!("https://www.example.com/assets/{i}.js"),
        path: format!("/assets/{i}.js"),
        origin: Origin::new("bench", "enqueue"),
        not_before: 0,
        hold: None,
    }
}

/// URLs `from..from + n`, cut into calls of `per_call`.
fn calls(from: usize, n: usize, per_call: usize) -> Vec<Vec<NewPurge>> {
    let all: Vec<NewPurge> = (from..from + n).map(purge).collect();
    all.chunks(per_call).map(<[NewPurge]>::to_vec).collect()
}

/// One run: fresh store, optional untimed set-up, then the timed calls.
/// Returns URLs per second.
async fn run_once(case: &Case) -> Result<f64, BenchError> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("queue.db"))?;
    let check = |what: String| BenchError::Check {
        case: case.name.to_string(),
        what,
    };
    // Set-up: prefilled URLs are other URLs; a coalescing run first enqueues
    // the very URLs it then times.
    let setup = if case.coalesce {
        calls(0, case.total, 10_000)
    } else {
        calls(case.total, case.prefill, 10_000)
    };
    for c in setup {
        store.enqueue(c).await?;
    }
    let timed = calls(0, case.total, case.per_call);
    let (mut added, mut coalesced) = (0, 0);
    let started = Instant::now();
    for c in timed {
        let r = store.enqueue(c).await?;
        added += r.added;
        coalesced += r.coalesced;
    }
    let secs = started.elapsed().as_secs_f64();
    let want = case.total as u64;
    let (got, kind) = if case.coalesce {
        (coalesced, "coalesced")
    } else {
        (added, "added")
    };
    if got != want {
        return Err(check(format!("{got} {kind}, expected {want}")));
    }
    let pending = store
        .counts()
        .await?
        .get(&edgeflush::queue::PurgeState::Pending)
        .copied()
        .unwrap_or(0);
    let want_pending = (case.total + case.prefill) as u64;
    if pending != want_pending {
        return Err(check(format!("{pending} pending, expected {want_pending}")));
    }
    Ok(case.total as f64 / secs)
}

fn runs_from_env() -> Result<usize, BenchError> {
    match std::env::var("BENCH_RUNS") {
        Err(_) => Ok(5),
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(BenchError::Env {
                name: "BENCH_RUNS",
                value: v,
            }),
    }
}

async fn bench() -> Result<(), BenchError> {
    let runs = runs_from_env()?;
    println!(
        "# enqueue: SqliteStore (WAL, synchronous=FULL), {runs} runs per case, fresh file each run"
    );
    println!();
    println!(
        "| case | URLs per call | URLs timed per run | median URLs/s | min | max | median ms per call |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for case in CASES {
        let mut rates = Vec::with_capacity(runs);
        for _ in 0..runs {
            rates.push(run_once(case).await?);
        }
        let Some(s) = Summary::of(&rates) else {
            continue;
        };
        let ms_per_call = 1000.0 * case.per_call as f64 / s.median;
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} |",
            case.name,
            thousands(case.per_call as f64),
            thousands(case.total as f64),
            thousands(s.median),
            thousands(s.min),
            thousands(s.max),
            ms_per_call
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
            eprintln!("enqueue bench: cannot start tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(bench()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("enqueue bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
