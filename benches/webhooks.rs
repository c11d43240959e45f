//! Webhook benchmark (issue 4, docs/benchmarks-webhooks.md): signed GitHub
//! push deliveries through the real release binary (verify + parse + durable
//! SQLite enqueue) over loopback, closed-loop throughput and open-loop latency
//! at 500/s, each beside the listener's bare `GET /healthz` as the ratio, and
//! a ~25 MB push end to end and in-process. Fixtures are read at run time
//! from `$EDGEFLUSH_FIXTURES` (default `../shared/fixtures/webhooks`).
//! Run with `cargo bench --bench webhooks`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/daemon.rs"]
#[allow(dead_code)]
mod daemon;
#[path = "support/stats.rs"]
#[allow(dead_code)]
mod stats;

use daemon::{Daemon, DaemonConfig, metric};
use edgeflush::config::Secret;
use edgeflush::simulator::{SimOptions, start};
use edgeflush::sources::webhook::{Headers, Provider, verify, verify_and_parse};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use stats::{Summary, thousands};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

const SECRET: &str = "bench-secret";
const FIXTURE: &str = "github/push.with-new-branch.payload.json";
const TAG_FIXTURE: &str = "github/push.payload.json";
const ROUNDS: usize = 3;
const CONCURRENCY: usize = 32;
const CLOSED_SECS: u64 = 5;
const OPEN_RATE: u64 = 500;
const OPEN_SECS: u64 = 10;

fn fixtures_dir() -> std::path::PathBuf {
    std::env::var_os("EDGEFLUSH_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/webhooks")
        })
}

fn read_fixture(rel: &str) -> String {
    let p = fixtures_dir().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set EDGEFLUSH_FIXTURES to the webhooks fixture folder)",
            p.display()
        )
    })
}

fn sign(body: &[u8]) -> String {
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// What one load shape sends: a signed unique delivery, or the bare GET.
#[derive(Clone)]
enum Target {
    /// The fixture with its one file (`README.md`) renamed per delivery to
    /// `public/bench/<n>.html`, so each delivery enqueues one new URL.
    Push {
        url: String,
        body: Arc<String>,
    },
    /// The verbatim 7.3 KB fixture (a tag deletion: verified, parsed, 202
    /// `ignored`, nothing written).
    Verbatim {
        url: String,
        body: Arc<String>,
    },
    Bare {
        url: String,
    },
}

/// Deliveries answered as expected, and anything else (counted as errors).
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    bad: AtomicU64,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

async fn send(http: &reqwest::Client, t: &Target) -> bool {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let (url, body, expect_new) = match t {
        Target::Bare { url } => {
            let r = http.get(url).send().await;
            return r.is_ok_and(|r| r.status() == 200);
        }
        Target::Push { url, body } => (
            url,
            body.replace("\"README.md\"", &format!("\"public/bench/{n}.html\"")),
            true,
        ),
        Target::Verbatim { url, body } => (url, body.to_string(), false),
    };
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", format!("bench-{n}"))
        .header("x-hub-signature-256", sign(body.as_bytes()))
        .body(body)
        .send()
        .await;
    let Ok(r) = r else { return false };
    if r.status() != 202 {
        return false;
    }
    let text = r.text().await.unwrap_or_default();
    if expect_new {
        text.contains("\"queued\":1,")
    } else {
        text.contains("\"ignored\"")
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Closed loop: `CONCURRENCY` workers send back to back for `secs`.
/// Returns (answers/s, p50 ms, p99 ms, failures).
async fn closed(http: &reqwest::Client, t: &Target, secs: u64) -> (f64, f64, f64, u64) {
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let workers = (0..CONCURRENCY).map(|_| {
        let (http, t, tally) = (http.clone(), t.clone(), tally.clone());
        tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < end {
                let s = Instant::now();
                let ok = send(&http, &t).await;
                lat.push(s.elapsed().as_secs_f64() * 1e3);
                let c = if ok { &tally.ok } else { &tally.bad };
                c.fetch_add(1, Ordering::Relaxed);
            }
            lat
        })
    });
    let mut lat: Vec<f64> = Vec::new();
    for w in futures_util::future::join_all(workers).await {
        lat.extend(w.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let ok = tally.ok.load(Ordering::Relaxed);
    (
        ok as f64 / elapsed,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        tally.bad.load(Ordering::Relaxed),
    )
}

/// Open loop: one send scheduled every 1/`OPEN_RATE` s by a timer, latency
/// from the scheduled instant (no coordinated omission). (p50, p99, max ms, failures).
async fn open(http: &reqwest::Client, t: &Target) -> (f64, f64, f64, u64) {
    let n = OPEN_RATE * OPEN_SECS;
    let period = Duration::from_secs_f64(1.0 / OPEN_RATE as f64);
    let t0 = tokio::time::Instant::now() + Duration::from_millis(10);
    let mut tasks = Vec::with_capacity(n as usize);
    for i in 0..n {
        let due = t0 + period * i as u32;
        tokio::time::sleep_until(due).await;
        let (http, t) = (http.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let ok = send(&http, &t).await;
            (due.elapsed().as_secs_f64() * 1e3, ok)
        }));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    let mut bad = 0;
    for r in futures_util::future::join_all(tasks).await {
        let (ms, ok) = r.unwrap();
        lat.push(ms);
        bad += u64::from(!ok);
    }
    lat.sort_by(f64::total_cmp);
    (
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        *lat.last().unwrap(),
        bad,
    )
}

/// A compact GitHub push of about `target` bytes: the fixture's envelope,
/// 2,000 commits (under GitHub's cap of 2,048, so the change set counts as
/// complete) each listing files under `public/r<run>/`, 20,000 distinct paths.
fn big_push(fixture: &Value, run: usize, target: usize) -> String {
    let mut v = fixture.clone();
    let commit = v["commits"][0].clone();
    let commits_n = 2000;
    let per_commit = target / commits_n / 62;
    let commits: Vec<Value> = (0..commits_n)
        .map(|i| {
            let files: Vec<String> = (0..per_commit)
                .map(|j| {
                    let k = (i * 97 + j * 101) % 20_000;
                    format!(
                        "public/r{run}/assets/build/chunk-{:08x}/module-{k:05}.js",
                        k * 2654435761 % 0xffff_ffff
                    )
                })
                .collect();
            let (a, m) = files.split_at(files.len() / 2);
            let mut c = commit.clone();
            c["id"] = json!(format!("{:040x}", i + 1));
            c["added"] = json!(a);
            c["modified"] = json!(m);
            c["removed"] = json!([]);
            c
        })
        .collect();
    v["commits"] = json!(commits);
    v["created"] = json!(false);
    serde_json::to_string(&v).unwrap()
}

fn summary(xs: &[f64]) -> String {
    match Summary::of(xs) {
        Some(s) => format!("{:.2} ({:.2}–{:.2})", s.median, s.min, s.max),
        None => "n/a".into(),
    }
}

fn rate_summary(xs: &[f64]) -> String {
    match Summary::of(xs) {
        Some(s) => format!(
            "{} ({}–{})",
            thousands(s.median),
            thousands(s.min),
            thousands(s.max)
        ),
        None => "n/a".into(),
    }
}

/// User + system CPU seconds of a process so far (/proc/<pid>/stat, 100 Hz).
fn cpu_s(pid: u32) -> f64 {
    let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<f64> = st.rsplit_once(')').map_or(vec![], |(_, r)| {
        r.split_whitespace()
            .map(|x| x.parse().unwrap_or(0.0))
            .collect()
    });
    f.get(11)
        .zip(f.get(12))
        .map_or(f64::NAN, |(u, s)| (u + s) / 100.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

async fn large(d: &Daemon, http: &reqwest::Client, hook: &str, fixture: &Value) {
    let secrets = vec![Secret::new(SECRET)];
    let (mut e2e, mut inproc, mut hmac, mut plain) = (vec![], vec![], vec![], vec![]);
    let mut size = 0;
    let mut urls = 0;
    for run in 0..5 {
        let body = big_push(fixture, run, 26_500_000);
        size = body.len();
        let sig = sign(body.as_bytes());
        let headers = Headers::new([
            ("x-github-event".to_string(), "push".to_string()),
            ("x-github-delivery".to_string(), format!("big-{run}")),
            ("x-hub-signature-256".to_string(), sig.clone()),
            ("content-type".to_string(), "application/json".to_string()),
        ]);
        let t = Instant::now();
        verify(
            Provider::Github,
            &headers,
            body.as_bytes(),
            &secrets,
            SystemTime::now(),
        )
        .unwrap();
        hmac.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _: Value = serde_json::from_slice(body.as_bytes()).unwrap();
        plain.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let parsed = verify_and_parse(
            Provider::Github,
            &headers,
            body.as_bytes(),
            &secrets,
            SystemTime::now(),
        )
        .unwrap();
        inproc.push(t.elapsed().as_secs_f64() * 1e3);
        let p = &parsed.event.pushes()[0];
        assert!(p.incomplete.is_none(), "{:?}", p.incomplete);
        let t = Instant::now();
        let r = http
            .post(d.hook_url(hook))
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .header("x-github-delivery", format!("big-{run}"))
            .header("x-hub-signature-256", sig)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        e2e.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(status, 202, "{v}");
        let queued = v["sites"][0]["queued"].as_u64().unwrap();
        assert_eq!(
            queued as usize,
            p.changed.len(),
            "every listed file queued: {v}"
        );
        urls = queued;
    }
    println!(
        "\n## One ~25 MB push ({} bytes, 2,000 commits, {} distinct files), 5 runs\n",
        thousands(size as f64),
        thousands(urls as f64)
    );
    println!("| measure | median ms (min–max) |\n|---|---|");
    for (what, xs) in [
        ("in-process `verify` alone (HMAC-SHA256 of the body)", &hmac),
        (
            "reference: `serde_json::from_slice::<Value>` of the body",
            &plain,
        ),
        (
            "in-process `verify_and_parse` (HMAC + JSON + union)",
            &inproc,
        ),
        (
            "HTTP end to end: send, verify, parse, map, enqueue, 202",
            &e2e,
        ),
    ] {
        println!("| {what} | {} |", summary(xs));
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let push_text = read_fixture(FIXTURE);
        let fixture: Value = serde_json::from_str(&push_text).unwrap();
        assert!(push_text.contains("\"README.md\""), "{FIXTURE} changed: no README.md");
        let tag_text = read_fixture(TAG_FIXTURE);
        println!("machine: {} cores; load average before: {}", std::thread::available_parallelism().map_or(0, |n| n.get()), load_average());
        let sim = start(SimOptions {
            listen: "127.0.0.1:0".into(),
            vhosts: vec!["www.example.com".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
        // The product's batching and polling defaults, and its default log level.
        cfg.batch = String::new();
        cfg.status = String::new();
        cfg.env.push(("EDGEFLUSH__LOG__LEVEL".into(), "info".into()));
        cfg.site_extra = "repo_prefix = \"public/\"".into();
        cfg.extra = format!(
            "[[hook]]\nname = \"gh\"\nprovider = \"github\"\npath = \"/hooks/github\"\nsecret = \"{SECRET}\"\nsites = [\"www\"]\n"
        );
        let d = Daemon::start(&cfg);
        let http = reqwest::Client::builder().pool_max_idle_per_host(1024).build().unwrap();
        let hook = d.hook_url("/hooks/github");
        let push = Target::Push { url: hook.clone(), body: Arc::new(push_text.clone()) };
        let verbatim = Target::Verbatim { url: hook.clone(), body: Arc::new(tag_text) };
        let bare = Target::Bare { url: d.hook_url("/healthz") };
        // Warm up connections and the store.
        let (_, _, _, bad) = closed(&http, &push, 1).await;
        assert_eq!(bad, 0, "warm-up deliveries failed:\n{}", d.logs());
        // One row per round: push r/s, p50, p99; bare r/s, p50, p99; ratio;
        // verbatim r/s; open push p50, p99, max; open bare p50, p99, max.
        let mut rows: Vec<[f64; 14]> = Vec::new();
        for round in 0..ROUNDS {
            let (pid, c0) = (d.pid().unwrap(), cpu_s(d.pid().unwrap()));
            let (r, a, b, bad) = closed(&http, &push, CLOSED_SECS).await;
            let cores = (cpu_s(pid) - c0) / CLOSED_SECS as f64;
            assert_eq!(bad, 0, "round {round}: deliveries not answered 202 queued:1");
            let (br, ba, bb, bbad) = closed(&http, &bare, CLOSED_SECS).await;
            let (vr, _, _, vbad) = closed(&http, &verbatim, CLOSED_SECS).await;
            assert_eq!(vbad, 0, "the verbatim tag-deletion fixture was not 202 ignored");
            let (oa, ob, om, obad) = open(&http, &push).await;
            let (pa, pb, pm, pbad) = open(&http, &bare).await;
            assert_eq!((bbad, obad, pbad), (0, 0, 0), "round {round}: failed requests");
            eprintln!("round {round}: {r:.0}/s (daemon {cores:.2} cores) p50 {a:.2} p99 {b:.2} | bare {br:.0}/s | tag {vr:.0}/s | open p99 {ob:.2} max {om:.2} | bare open p99 {pb:.2}");
            rows.push([r, a, b, br, ba, bb, r / br, vr, oa, ob, om, pa, pb, pm]);
        }
        let col = |i: usize| rows.iter().map(|r| r[i]).collect::<Vec<f64>>();
        let (thr, p50, p99, bthr, bp50, bp99, ratio) = (col(0), col(1), col(2), col(3), col(4), col(5), col(6));
        let (vthr, o50, o99, omax, ob50, ob99, obmax) = (col(7), col(8), col(9), col(10), col(11), col(12), col(13));
        // Correctness: the daemon's own count of queued deliveries and of
        // URLs enqueued equals the 202s we counted, and the store holds them.
        let sent_push = SEQ.load(Ordering::Relaxed);
        let m = d.metrics().await;
        let queued = metric(&m, "edgeflush_webhook_requests_total", &[("outcome", "queued")]);
        let enq = metric(&m, "edgeflush_urls_enqueued_total", &[("source", "webhook")]);
        let ignored = metric(&m, "edgeflush_webhook_requests_total", &[("outcome", "ignored")]);
        let dup = metric(&m, "edgeflush_webhook_requests_total", &[("outcome", "duplicate")]);
        let q = d.status().await["queue"].clone();
        let in_store: u64 = q.as_object().unwrap().values().filter_map(Value::as_u64).sum();
        assert_eq!(dup, 0.0, "duplicates measured");
        assert_eq!(queued, enq, "each queued delivery enqueued exactly one URL");
        assert!(in_store as f64 >= enq, "store holds {in_store} < {enq} URLs: {q}");
        println!("\n## Signed GitHub push deliveries, {ROUNDS} rounds (median (min–max))\n");
        println!("closed loop: {CONCURRENCY} connections, {CLOSED_SECS} s per shape; open loop: {OPEN_RATE}/s for {OPEN_SECS} s, latency from the scheduled send\n");
        println!("| shape | answers/s | p50 ms | p99 ms |\n|---|---|---|---|");
        println!("| push ({} B), verify + parse + enqueue, 202 | {} | {} | {} |", push_text.len() + 10, rate_summary(&thr), summary(&p50), summary(&p99));
        println!("| bare `GET /healthz`, same server | {} | {} | {} |", rate_summary(&bthr), summary(&bp50), summary(&bp99));
        println!("| verbatim {TAG_FIXTURE} (tag deletion: 202 ignored, no write) | {} | | |", rate_summary(&vthr));
        println!("\nratio push / bare (throughput): {}\n", summary(&ratio));
        println!("| open loop {OPEN_RATE}/s | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
        println!("| push | {} | {} | {} |", summary(&o50), summary(&o99), summary(&omax));
        println!("| bare `GET /healthz` | {} | {} | {} |", summary(&ob50), summary(&ob99), summary(&obmax));
        println!("\ncheck: {sent_push} requests sent (all shapes); daemon counted queued {queued}, ignored {ignored}, duplicate {}; URLs enqueued {enq}; store holds {in_store} ({q})",
            dup as u64);
        large(&d, &http, "/hooks/github", &fixture).await;
        println!("\nload average after: {}", load_average());
        drop(d);
        sim.stop().await;
    });
}
