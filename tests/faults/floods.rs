//! Floods, offered far faster than the API budget lets the queue drain.
//!
//! - Admin purges from 16 clients under the default admission limit: the
//!   store keeps up, so every one is stored (202) and coalesced; the suite
//!   measures the acceptance rate and bounds the daemon's peak memory.
//! - Signed webhook deliveries from 32 clients against a small admission
//!   limit (`server.max_concurrent_requests`): the excess is answered 503
//!   with Retry-After once `busy_wait` runs out, and never held open.
//!
//! Both prove that nothing answered 2xx is lost: each URL's last flush at
//! the API comes after the last acknowledged request naming it.

use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Distinct paths the flood draws from; repeats coalesce in the queue.
const UNIVERSE: usize = 3000;
const PER_REQUEST: usize = 50;
const CLIENTS: usize = 16;
/// Requests a minute the daemon may send to the API: with 100 URLs a flush
/// the queue drains at most ~1,000 URLs/s (less the status polls).
const PER_MINUTE: u32 = 600;
/// Peak resident memory the daemon must stay under (VmHWM).
const MEMORY_BOUND_KB: u64 = 128 * 1024;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[derive(Default)]
struct Tally {
    /// Path -> send time of the last request naming it that got a 2xx.
    acked: HashMap<String, u64>,
    accepted: usize,
    accepted_urls: usize,
    refused_503: usize,
    max_latency: Duration,
    /// The slowest 503: how long a refused sender waited for its answer.
    max_refusal: Duration,
}

#[tokio::test]
async fn purge_flood_is_stored_whole_and_memory_stays_bounded() {
    let secs = if crate::long() { 30 } else { 3 };
    let mut seed_rng = crate::rng("floods");
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.extra = "[traffic]\nenabled = false".into();
    cfg.env = vec![(
        "EDGEFLUSH__CLOAKFUSION__MAX_REQUESTS_PER_MINUTE".into(),
        PER_MINUTE.to_string(),
    )];
    let d = Daemon::start(&cfg);
    let pid = d.pid().unwrap();
    let idle_kb = crate::proc_kb(pid, "VmHWM");

    let url = d.admin("/api/purge");
    let t = flood(CLIENTS, secs, &mut seed_rng, move |http, paths, _| {
        http.post(&url)
            .json(&json!({"site": "www", "paths": paths}))
    })
    .await;
    let flood_kb = crate::proc_kb(pid, "VmHWM");
    let drain_started = Instant::now();
    let flushed_during_flood = sim.state().flushed_urls().len();
    wait_drained(&d).await;
    let drain = drain_started.elapsed().as_secs_f64();
    let peak_kb = crate::proc_kb(pid, "VmHWM");

    let offered_per_s = t.accepted_urls as f64 / secs as f64;
    let drained_per_s = flushed_during_flood as f64 / secs as f64;
    eprintln!(
        "[floods] {secs}s, {CLIENTS} clients: {} purges accepted ({offered_per_s:.0} URLs/s offered, {:.1}x the {drained_per_s:.0} URLs/s flushed meanwhile), {} answered 503, slowest answer {:?}; drained in {drain:.1}s; VmHWM idle {idle_kb} kB, after flood {flood_kb} kB, peak {peak_kb} kB",
        t.accepted,
        offered_per_s / drained_per_s.max(1.0),
        t.refused_503,
        t.max_latency,
    );
    assert!(t.accepted > 0);
    assert!(
        peak_kb < MEMORY_BOUND_KB,
        "daemon peak memory {peak_kb} kB over the {MEMORY_BOUND_KB} kB bound"
    );
    let s = d.status().await;
    assert_eq!(s["queue"]["failed"].as_u64().unwrap_or(0), 0, "{s}");
    assert_eq!(s["queue"]["unconfirmed"].as_u64().unwrap_or(0), 0, "{s}");

    assert_nothing_acked_lost(&sim, &t.acked);
}

/// `clients` senders, each drawing `PER_REQUEST` paths a request until
/// `secs` run out; `request` builds one request from the paths and an id
/// unique to it. Every answer must be 202 or 503.
async fn flood<F>(clients: usize, secs: u64, seed_rng: &mut StdRng, request: F) -> Tally
where
    F: Fn(&reqwest::Client, &[String], &str) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let tally = Arc::new(Mutex::new(Tally::default()));
    let (http, request) = (reqwest::Client::new(), Arc::new(request));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (tally, http, request) = (tally.clone(), http.clone(), request.clone());
        let mut rng = StdRng::seed_from_u64(seed_rng.random());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let paths: Vec<String> = (0..PER_REQUEST)
                    .map(|_| format!("flood/{}.html", rng.random_range(0..UNIVERSE)))
                    .collect();
                let rb = request(&http, &paths, &format!("c{client}-{n}"));
                let (sent, t0) = (now_ms(), Instant::now());
                let r = rb.send().await.expect("the daemon answers every request");
                let latency = t0.elapsed();
                let mut t = tally.lock().unwrap();
                t.max_latency = t.max_latency.max(latency);
                match r.status().as_u16() {
                    202 => {
                        t.accepted += 1;
                        t.accepted_urls += paths.len();
                        for p in paths {
                            t.acked.insert(p, sent);
                        }
                    }
                    503 => {
                        t.refused_503 += 1;
                        t.max_refusal = t.max_refusal.max(latency);
                    }
                    s => panic!("answered {s}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    std::mem::take(&mut *tally.lock().unwrap())
}

async fn wait_drained(d: &Daemon) {
    d.wait_for("the queue drained", Duration::from_secs(120), |s| {
        let q = &s["queue"];
        ["pending", "sent", "flushed"]
            .iter()
            .all(|k| q[*k].as_u64().unwrap_or(0) == 0)
    })
    .await;
}

/// Each path's last flush at the API is no older than the last 2xx request
/// that named it.
fn assert_nothing_acked_lost(sim: &edgeflush::simulator::SimHandle, acked: &HashMap<String, u64>) {
    let mut last_flush: HashMap<String, u64> = HashMap::new();
    for f in sim.state().flushes() {
        let at = f
            .requested_at
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let e = last_flush.entry(f.url).or_default();
        *e = (*e).max(at);
    }
    let mut lost = Vec::new();
    for (path, sent) in acked {
        let url = format!("https://www.example.com/{path}");
        match last_flush.get(&url) {
            Some(at) if *at >= *sent => {}
            other => lost.push(format!("{url} acked at {sent}, last flushed {other:?}")),
        }
    }
    assert!(
        lost.is_empty(),
        "{} acknowledged URLs lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

const HOOK_SECRET: &str = "flood-secret";
const HOOK_CLIENTS: usize = 32;

/// A GitHub push naming `paths` (one commit), signed for the flood's hook.
fn signed_push(paths: &[String], id: &str) -> (Vec<u8>, Vec<(String, String)>) {
    let body = json!({
        "ref": "refs/heads/main",
        "after": "0123456789abcdef0123456789abcdef01234567",
        "commits": [{"added": [], "modified": paths, "removed": []}],
        "repository": {"full_name": "example/site"},
    })
    .to_string()
    .into_bytes();
    let headers = vec![
        ("content-type".into(), "application/json".into()),
        ("x-github-event".into(), "push".into()),
        ("x-github-delivery".into(), id.to_string()),
        (
            "x-hub-signature-256".into(),
            format!("sha256={}", crate::fixtures::hex_hmac(HOOK_SECRET, &body)),
        ),
    ];
    (body, headers)
}

#[tokio::test]
async fn webhook_flood_past_the_limit_is_refused_with_503_and_nothing_acked_is_lost() {
    let secs = if crate::long() { 30 } else { 3 };
    let mut seed_rng = crate::rng("floods-webhooks");
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.site_extra = "repo_prefix = \"\"".into();
    // Two turns, 5 ms to get one: far below what 32 senders ask for.
    cfg.server_extra = "max_concurrent_requests = 2\nbusy_wait = \"5ms\"".into();
    cfg.extra = format!(
        "[traffic]\nenabled = false\n\n[[hook]]\nname = \"gh\"\nprovider = \"github\"\n\
         path = \"/hooks/gh\"\nsecret = \"{HOOK_SECRET}\"\nsites = [\"www\"]\n"
    );
    cfg.env = vec![(
        "EDGEFLUSH__CLOAKFUSION__MAX_REQUESTS_PER_MINUTE".into(),
        PER_MINUTE.to_string(),
    )];
    let d = Daemon::start(&cfg);
    let pid = d.pid().unwrap();

    let url = d.hook_url("/hooks/gh");
    let t = flood(HOOK_CLIENTS, secs, &mut seed_rng, move |http, paths, id| {
        let (body, headers) = signed_push(paths, id);
        headers
            .into_iter()
            .fold(http.post(&url).body(body), |rb, (k, v)| rb.header(k, v))
    })
    .await;
    let flood_kb = crate::proc_kb(pid, "VmHWM");
    wait_drained(&d).await;
    let m = d.metrics().await;
    let busy = crate::common::daemon::metric(
        &m,
        "edgeflush_requests_busy_total",
        &[("listener", "webhook")],
    );
    eprintln!(
        "[floods-webhooks] {secs}s, {HOOK_CLIENTS} senders, 2 turns: {} deliveries accepted ({:.0} URLs/s), {} answered 503 (slowest 503 after {:?}), slowest answer {:?}; VmHWM after flood {flood_kb} kB",
        t.accepted,
        t.accepted_urls as f64 / secs as f64,
        t.refused_503,
        t.max_refusal,
        t.max_latency,
    );
    assert!(t.accepted > 0, "some deliveries get through");
    assert!(t.refused_503 > 0, "the excess is refused");
    assert_eq!(busy as usize, t.refused_503, "every refusal is counted");
    assert!(flood_kb < MEMORY_BOUND_KB, "{flood_kb} kB");
    assert_nothing_acked_lost(&sim, &t.acked);
}
