//! Markdown output of the pipeline bench: one row per run as it finishes (so
//! a long run shows progress), then medians per scenario against the targets
//! of issue 3, ready to paste into docs/benchmarks.md.

use super::scenario::{Env, Outcome, Scenario};
use super::stats::{Summary, thousands};

pub fn header(env: &Env<'_>, runs: usize) {
    let t = env.tuning;
    println!(
        "# pipeline: {} run (release) against the in-process simulator",
        env.bin
    );
    println!();
    println!(
        "max_urls_per_flush = {}, max_requests_per_minute = 0, linger = {}, max_delay = {}, \
         status polling at the defaults (1 s doubling to 30 s), simulator flush_delay = {}, \
         no throttling; {runs} runs per scenario, fresh daemon and simulator each run.",
        t.max_urls_per_flush, t.linger, t.max_delay, env.flush_delay
    );
    println!();
    println!(
        "| scenario | run | enqueue s | paths/s | flush calls | ideal | ratio | \
         last enqueue -> last flush ms | -> all confirmed ms | flushstatus calls | \
         URLs flushed | flush RTT ms | peak RSS MiB | daemon CPU s | bench CPU s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

/// `10,000 paths, 250/call, 100 ms apart`.
fn label(sc: &Scenario) -> String {
    let pace = if sc.pace_ms > 0 {
        format!(", {} ms apart", sc.pace_ms)
    } else {
        String::new()
    };
    format!(
        "{} paths, {}/call{pace}",
        thousands(sc.paths as f64),
        thousands(sc.chunk as f64)
    )
}

pub fn run_row(sc: &Scenario, run: usize, o: &Outcome) {
    let secs = o.enqueue_ms as f64 / 1000.0;
    let refused = if o.flush_calls_refused > 0 {
        format!(" ({} refused)", o.flush_calls_refused)
    } else {
        String::new()
    };
    println!(
        "| {} | {run} | {secs:.2} | {} | {}{refused} | {} | {:.2} | {} | {} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} |",
        label(sc),
        thousands(sc.paths as f64 / secs.max(0.001)),
        o.flush_calls,
        o.ideal_calls,
        o.ratio(),
        thousands(o.last_flush_after_ms as f64),
        thousands(o.confirmed_after_ms as f64),
        o.status_calls,
        thousands(o.urls_flushed as f64),
        o.flush_rtt_ms,
        o.peak_rss_kib as f64 / 1024.0,
        o.cpu_seconds,
        o.bench_cpu_seconds,
    );
}

fn med(outcomes: &[Outcome], f: impl Fn(&Outcome) -> f64) -> Summary {
    let v: Vec<f64> = outcomes.iter().map(f).collect();
    Summary::of(&v).unwrap_or(Summary {
        median: f64::NAN,
        min: f64::NAN,
        max: f64::NAN,
    })
}

fn spread(s: Summary, digits: usize) -> String {
    if digits == 0 {
        return format!(
            "{} ({}-{})",
            thousands(s.median),
            thousands(s.min),
            thousands(s.max)
        );
    }
    format!("{:.d$} ({:.d$}-{:.d$})", s.median, s.min, s.max, d = digits)
}

pub fn summary(env: &Env<'_>, all: &[(Scenario, Vec<Outcome>)]) {
    let linger_ms = humantime::parse_duration(env.tuning.linger)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(f64::NAN);
    println!();
    println!("## medians (min-max) per scenario");
    println!();
    println!(
        "| scenario | runs | ratio (target 1.00) | last enqueue -> last flush ms \
         (target < {:.0} for 10,000) | -> all confirmed ms | flushstatus calls | peak RSS MiB \
         (target < 150 for 100,000) | enqueue paths/s | flush RTT ms | daemon CPU s |",
        linger_ms + 1000.0
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (sc, o) in all {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            label(sc),
            o.len(),
            spread(med(o, Outcome::ratio), 2),
            spread(med(o, |x| x.last_flush_after_ms as f64), 0),
            spread(med(o, |x| x.confirmed_after_ms as f64), 0),
            spread(med(o, |x| x.status_calls as f64), 0),
            spread(med(o, |x| x.peak_rss_kib as f64 / 1024.0), 1),
            spread(
                med(o, |x| sc.paths as f64 * 1000.0
                    / (x.enqueue_ms.max(1) as f64)),
                0
            ),
            spread(med(o, |x| x.flush_rtt_ms), 2),
            spread(med(o, |x| x.cpu_seconds), 1),
        );
    }
}
