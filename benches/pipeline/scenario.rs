//! One run of the pipeline: a fresh simulator and a fresh daemon, N unique
//! changed paths pushed through `POST /api/purge` in chunks, then a wait until
//! every URL is confirmed. The figures come from outside the daemon: the
//! simulator's request log (what reached the API, and when), the bench's own
//! clock (when the purge calls returned) and /proc (memory, CPU).

use super::BenchError;
use super::daemon::{Daemon, Tuning, own_cpu_seconds};
use super::stats::unix_ms;
use edgeflush::simulator::{self, SimOptions};
use std::collections::HashSet;
use std::time::{Duration, Instant};

pub const VHOST: &str = "www.example.com";

#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Unique changed paths (`assets/<n>.js`, one URL each).
    pub paths: usize,
    /// Paths per `POST /api/purge` call.
    pub chunk: usize,
    /// Pause between two calls: 0 = back to back (one big deploy); more
    /// models a stream of small change sets that the flusher keeps up with.
    pub pace_ms: u64,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub unique_urls: usize,
    /// Every URL the API accepted, re-flushes included.
    pub urls_flushed: usize,
    pub flush_calls: usize,
    pub flush_calls_refused: usize,
    pub ideal_calls: usize,
    pub status_calls: usize,
    /// First purge call sent -> last purge call returned.
    pub enqueue_ms: i64,
    /// Last purge call returned -> last flush call reached the API.
    pub last_flush_after_ms: i64,
    /// Last purge call returned -> last URL confirmed (the daemon's own stamp).
    pub confirmed_after_ms: i64,
    pub peak_rss_kib: u64,
    pub cpu_seconds: f64,
    /// The bench process (simulator + HTTP client) over the same run.
    pub bench_cpu_seconds: f64,
    /// Mean `POST /flush/` round trip as the daemon measured it.
    pub flush_rtt_ms: f64,
}

impl Outcome {
    pub fn ratio(&self) -> f64 {
        self.flush_calls as f64 / self.ideal_calls.max(1) as f64
    }
}

/// Sums a metric's samples whose labels include every `k="v"` given.
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = l.strip_prefix(name) else {
            continue;
        };
        if !rest.starts_with(['{', ' ']) {
            continue;
        }
        if !labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        {
            continue;
        }
        if let Some(x) = l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            found = Some(found.unwrap_or(0.0) + x);
        }
    }
    found
}

/// Mean of the daemon's flush-duration histogram, in milliseconds.
fn flush_rtt_ms(text: &str) -> f64 {
    let name = "edgeflush_flush_request_duration_seconds";
    let sum = metric(text, &format!("{name}_sum"), &[]).unwrap_or(f64::NAN);
    let count = metric(text, &format!("{name}_count"), &[]).unwrap_or(f64::NAN);
    1000.0 * sum / count
}

fn queue(text: &str, state: &str) -> u64 {
    metric(text, "edgeflush_queue_purges", &[("state", state)]).unwrap_or(0.0) as u64
}

/// The purge bodies, built before the clock starts.
fn bodies(sc: &Scenario) -> Result<Vec<Vec<u8>>, BenchError> {
    let paths: Vec<String> = (0..sc.paths).map(|i| format!("assets/{i}.js")).collect();
    paths
        .chunks(sc.chunk)
        .map(|c| {
            serde_json::to_vec(&serde_json::json!({"site": "www", "paths": c, "note": "bench"}))
                .map_err(BenchError::from)
        })
        .collect()
}

/// Pushes every chunk through the admin API, one call at a time, and checks
/// that each URL was queued (not coalesced, not refused).
async fn enqueue(http: &reqwest::Client, d: &Daemon, sc: &Scenario) -> Result<(), BenchError> {
    let mut queued = 0u64;
    for (i, body) in bodies(sc)?.into_iter().enumerate() {
        if i > 0 && sc.pace_ms > 0 {
            tokio::time::sleep(Duration::from_millis(sc.pace_ms)).await;
        }
        let r = http
            .post(format!("{}/api/purge", d.admin))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await?;
        if status != 202 {
            return Err(BenchError::Unexpected(format!(
                "purge answered {status}: {v}"
            )));
        }
        queued += v["queued"].as_u64().unwrap_or(0);
    }
    if queued != sc.paths as u64 {
        return Err(BenchError::Unexpected(format!(
            "{queued} URLs queued for {} unique paths",
            sc.paths
        )));
    }
    Ok(())
}

/// Polls /metrics until every URL is confirmed; returns the last metrics text.
async fn wait_confirmed(
    http: &reqwest::Client,
    d: &mut Daemon,
    n: u64,
    timeout: Duration,
) -> Result<String, BenchError> {
    let deadline = Instant::now() + timeout;
    loop {
        d.check_alive()?;
        let text = http
            .get(format!("{}/metrics", d.admin))
            .send()
            .await?
            .text()
            .await?;
        let lost = queue(&text, "failed") + queue(&text, "unconfirmed");
        if lost > 0 {
            return Err(d.died(&format!("{lost} purges failed or unconfirmed")));
        }
        if queue(&text, "confirmed") >= n {
            return Ok(text);
        }
        if Instant::now() > deadline {
            let left = n - queue(&text, "confirmed");
            return Err(d.died(&format!("{left} of {n} not confirmed after {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub struct Env<'a> {
    pub bin: &'a str,
    pub tuning: &'a Tuning,
    pub flush_delay: &'a str,
    pub timeout: Duration,
    pub ticks: f64,
}

pub async fn run(env: &Env<'_>, sc: Scenario) -> Result<Outcome, BenchError> {
    let sim = simulator::start(SimOptions {
        listen: "127.0.0.1:0".into(),
        vhosts: vec![VHOST.into()],
        flush_delay: env.flush_delay.into(),
        ..SimOptions::default()
    })
    .await?;
    let mut d = Daemon::start(env.bin, &sim.base_url(), &sim.token(), env.tuning).await?;
    let http = reqwest::Client::new();
    let own_cpu_before = own_cpu_seconds(env.ticks)?;

    let first_sent = unix_ms();
    enqueue(&http, &d, &sc).await?;
    let last_returned = unix_ms();
    let text = wait_confirmed(&http, &mut d, sc.paths as u64, env.timeout).await?;
    let peak_rss_kib = d.peak_rss_kib()?;
    let cpu_seconds = d.cpu_seconds(env.ticks)?;
    let bench_cpu_seconds = own_cpu_seconds(env.ticks)? - own_cpu_before;
    drop(d);

    let requests = sim.state().requests();
    let flushes: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .collect();
    let flushed = sim.state().flushed_urls();
    let unique: HashSet<&String> = flushed.iter().collect();
    let last_flush = flushes.iter().map(|r| r.at_ms as i64).max().unwrap_or(0);
    let confirmed_at = metric(
        &text,
        "edgeflush_last_confirmed_purge_timestamp_seconds",
        &[],
    )
    .map(|s| (s * 1000.0).round() as i64)
    .unwrap_or(0);
    let out = Outcome {
        unique_urls: unique.len(),
        urls_flushed: flushed.len(),
        flush_calls: flushes.len(),
        flush_calls_refused: flushes.iter().filter(|r| r.status >= 300).count(),
        ideal_calls: unique.len().div_ceil(env.tuning.max_urls_per_flush),
        status_calls: requests
            .iter()
            .filter(|r| r.path.ends_with("/flushstatus/"))
            .count(),
        enqueue_ms: last_returned - first_sent,
        last_flush_after_ms: last_flush - last_returned,
        confirmed_after_ms: confirmed_at - last_returned,
        peak_rss_kib,
        cpu_seconds,
        bench_cpu_seconds,
        flush_rtt_ms: flush_rtt_ms(&text),
    };
    sim.stop().await;
    if out.unique_urls != sc.paths {
        return Err(BenchError::Unexpected(format!(
            "{} unique URLs reached the API for {} paths",
            out.unique_urls, sc.paths
        )));
    }
    Ok(out)
}
