//! Fault suites (issue 9): the real binary against the simulator under
//! repeated crashes, combined API faults, request floods and a full disk.
//! The single-fault tests live in `tests/pipeline/faults.rs` and
//! `tests/crash.rs`; these combine and repeat faults to back the promise
//! "nothing accepted is lost, nothing runs away".
//!
//! Two profiles: the short one runs in `cargo test`; `EDGEFLUSH_FAULTS=long`
//! (see `scripts/faults-long.sh`) repeats more and floods longer. Random
//! choices come from one seed, printed, and replayable with
//! `EDGEFLUSH_FAULTS_SEED`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "faults/api.rs"]
mod api;
#[path = "faults/crashes.rs"]
mod crashes;
#[path = "faults/disk.rs"]
mod disk;
#[path = "webhook_providers/fixtures.rs"]
mod fixtures;
#[path = "faults/floods.rs"]
mod floods;

use rand::SeedableRng;
use rand::rngs::StdRng;

/// Whether the long profile was asked for.
pub fn long() -> bool {
    std::env::var("EDGEFLUSH_FAULTS").is_ok_and(|v| v == "long")
}

/// A generator seeded from `EDGEFLUSH_FAULTS_SEED` or the clock; the seed is
/// printed so that a failing run can be replayed.
pub fn rng(suite: &str) -> StdRng {
    let seed = std::env::var("EDGEFLUSH_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("[{suite}] EDGEFLUSH_FAULTS_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

/// A `/proc/<pid>/status` field in kB (`VmHWM`, `VmRSS`).
pub fn proc_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// CPU time (user + system) the process used so far, in seconds.
pub fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}
