//! Issue 3, part 2: the whole pipeline under a big change set. The release
//! binary runs as a child process against an in-process simulator (no
//! throttling, short flush delay); 10,000 and 100,000 changed paths go in
//! through the admin API, and the bench reports how well they were batched
//! (flush calls / ideal), how soon after the last enqueue the last flush left,
//! how long until all were confirmed, and the daemon's peak memory.
//!
//! Run: `cargo bench --bench pipeline` (builds the release binary first).
//! Env: `BENCH_RUNS` (default 3), `BENCH_SCENARIOS` ("paths:chunk[@pause_ms],...",
//! default below), `BENCH_TIMEOUT_SECS` (300),
//! `EDGEFLUSH_BIN` (default: the binary cargo built for this bench).
//! Scenarios may also be given as arguments: `cargo bench --bench pipeline -- 10000:1000`.

mod daemon;
mod report;
mod scenario;
#[path = "../support/stats.rs"]
mod stats;

use scenario::{Env, Scenario};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("simulator: {0}")]
    Sim(#[from] edgeflush::simulator::SimError),
    #[error("cannot start {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("daemon {what}; last log lines:\n{log_tail}")]
    Daemon { what: String, log_tail: String },
    #[error("/proc: {0}")]
    Proc(String),
    #[error("bad {name}: {value:?}")]
    Arg { name: &'static str, value: String },
    #[error("{0}")]
    Unexpected(String),
}

/// The two sizes of issue 3 as one deploy each, then a stream of small
/// change sets (250 paths every 100 ms) that the flusher keeps up with.
const DEFAULT_SCENARIOS: &str = "10000:1000,100000:1000,10000:250@100";

fn parse_scenarios(name: &'static str, text: &str) -> Result<Vec<Scenario>, BenchError> {
    let bad = || BenchError::Arg {
        name,
        value: text.to_string(),
    };
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let (p, rest) = s.trim().split_once(':').ok_or_else(bad)?;
            let (c, pace) = rest.split_once('@').unwrap_or((rest, "0"));
            let paths = p.trim().parse::<usize>().map_err(|_| bad())?;
            let chunk = c.trim().parse::<usize>().map_err(|_| bad())?;
            let pace_ms = pace.trim().parse::<u64>().map_err(|_| bad())?;
            if paths == 0 || chunk == 0 {
                return Err(bad());
            }
            Ok(Scenario {
                paths,
                chunk,
                pace_ms,
            })
        })
        .collect()
}

fn env_number(name: &'static str, default: u64) -> Result<u64, BenchError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(BenchError::Arg { name, value: v }),
    }
}

/// Scenarios from the command line (cargo passes `--bench`; skipped), else
/// from `BENCH_SCENARIOS`, else the defaults.
fn scenarios() -> Result<Vec<Scenario>, BenchError> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if !args.is_empty() {
        return parse_scenarios("argument", &args.join(","));
    }
    match std::env::var("BENCH_SCENARIOS") {
        Ok(v) => parse_scenarios("BENCH_SCENARIOS", &v),
        Err(_) => parse_scenarios("default", DEFAULT_SCENARIOS),
    }
}

async fn bench() -> Result<(), BenchError> {
    let runs = env_number("BENCH_RUNS", 3)? as usize;
    let timeout = Duration::from_secs(env_number("BENCH_TIMEOUT_SECS", 300)?);
    let bin = std::env::var("EDGEFLUSH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_edgeflush").to_string());
    let tuning = daemon::Tuning {
        max_urls_per_flush: 100,
        linger: "2s",
        max_delay: "15s",
    };
    let env = Env {
        bin: &bin,
        tuning: &tuning,
        flush_delay: "10ms",
        timeout,
        ticks: daemon::clock_ticks(),
    };
    let scenarios = scenarios()?;
    report::header(&env, runs);
    let mut all = Vec::new();
    for sc in scenarios {
        let mut outcomes = Vec::with_capacity(runs);
        for run in 1..=runs {
            let o = scenario::run(&env, sc).await?;
            report::run_row(&sc, run, &o);
            outcomes.push(o);
        }
        all.push((sc, outcomes));
    }
    report::summary(&env, &all);
    Ok(())
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pipeline bench: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(bench()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pipeline bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
