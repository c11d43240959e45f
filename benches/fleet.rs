//! Fleet benchmarks (docs/benchmarks-fleet.md): enqueue and claim
//! throughput of the two stores on one harness, and the API calls a
//! 10,000-file deploy costs when three nodes see it, divided by the
//! single-node minimum (target 1.00). PostgreSQL parts need
//! `EDGEFLUSH_TEST_POSTGRES_URL`; run with `cargo bench --bench fleet`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/daemon.rs"]
#[allow(dead_code)]
mod daemon;
#[path = "../tests/store_suite/pgdb.rs"]
mod pgdb;

use daemon::{Daemon, DaemonConfig};
use edgeflush::queue::postgres::PgStore;
use edgeflush::queue::sqlite::SqliteStore;
use edgeflush::queue::*;
use edgeflush::simulator::{SimOptions, start};
use pgdb::TestDb;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: usize = 10_000;
const CHUNK: usize = 500;
const VHOST: &str = "www.example.com";

fn purges(tag: &str, n: usize) -> Vec<NewPurge> {
    (0..n)
        .map(|i| NewPurge {
            site: "www".into(),
            vhost: VHOST.into(),
            url: format!("https://{VHOST}/{tag}/{i}.css"),
            path: format!("/{tag}/{i}.css"),
            origin: Origin::new("file", format!("{tag}/{i}.css")),
            not_before: 0,
            hold: None,
        })
        .collect()
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:>9.0}/s", n as f64 / d.as_secs_f64())
}

/// Enqueue in chunks of 500 (a watcher round), then the same again (all
/// coalesced), then claims of 100 until empty; with `others`, the claims
/// run on that many stores at once (nodes of a fleet).
async fn store_bench(name: &str, stores: Vec<DynStore>) {
    let s = &stores[0];
    let items = purges(name, N);
    let t = Instant::now();
    for c in items.chunks(CHUNK) {
        s.enqueue(c.to_vec()).await.unwrap();
    }
    let enq = t.elapsed();
    let t = Instant::now();
    for c in items.chunks(CHUNK) {
        let r = s.enqueue(c.to_vec()).await.unwrap();
        assert_eq!(r.coalesced as usize, c.len());
    }
    let coal = t.elapsed();
    let t = Instant::now();
    let claimers = stores.iter().map(|st| async move {
        let mut n = 0;
        while let Some(b) = st.claim_batch(VHOST, 100, now_ms()).await.unwrap() {
            n += b.items.len();
        }
        n
    });
    let claimed: usize = futures_util::future::join_all(claimers).await.iter().sum();
    let claim = t.elapsed();
    assert_eq!(claimed, N);
    println!(
        "| {name:<24} | {} | {} | {} ({} claimer{}) |",
        rate(N, enq),
        rate(N, coal),
        rate(N, claim),
        stores.len(),
        if stores.len() == 1 { "" } else { "s" }
    );
}

async fn sqlite_store(dir: &tempfile::TempDir, file: &str) -> DynStore {
    Arc::new(SqliteStore::open(&dir.path().join(file)).unwrap())
}

async fn pg_store(db: &TestDb) -> DynStore {
    Arc::new(PgStore::connect(&db.url()).await.unwrap())
}

/// Three daemons on one schema; each node gets the same 10,000 paths (in
/// chunks of 1,000, as a watcher would report them), the nodes `stagger`
/// apart. Returns (flush calls, URLs flushed, flushstatus calls, seconds).
async fn deploy(db: &TestDb, nodes: usize, stagger: Duration) -> (usize, usize, usize, f64) {
    let sim = start(SimOptions {
        listen: "127.0.0.1:0".into(),
        vhosts: vec![VHOST.into()],
        flush_delay: "100ms".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.store = Some(db.url());
    cfg.status = "initial_interval = \"500ms\"\nmax_interval = \"2s\"".into();
    let daemons: Vec<Daemon> = (0..nodes)
        .map(|i| {
            let mut c = cfg.clone();
            c.env.push(("EDGEFLUSH_NODE".into(), format!("node{i}")));
            Daemon::start(&c)
        })
        .collect();
    let paths: Vec<String> = (0..N).map(|i| format!("release/{i}.css")).collect();
    let t = Instant::now();
    let sends = daemons.iter().enumerate().map(|(i, d)| {
        let paths = &paths;
        async move {
            tokio::time::sleep(stagger * i as u32).await;
            for c in paths.chunks(1000) {
                d.purge(json!({"site": "www", "paths": c})).await;
            }
        }
    });
    futures_util::future::join_all(sends).await;
    let total = {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let s = daemons[0].status().await;
            let q = &s["queue"];
            let open: u64 = ["pending", "sent", "flushed"]
                .iter()
                .map(|k| q[k].as_u64().unwrap_or(0))
                .sum();
            if open == 0 && q["confirmed"].as_u64().unwrap_or(0) >= N as u64 {
                break t.elapsed().as_secs_f64();
            }
            assert!(Instant::now() < deadline, "deploy never finished: {q}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let reqs = sim.state().requests();
    let flushes = reqs.iter().filter(|r| r.path.ends_with("/flush/")).count();
    let polls = reqs
        .iter()
        .filter(|r| r.path.ends_with("/flushstatus/"))
        .count();
    let urls = sim.state().flushed_urls().len();
    drop(daemons);
    sim.stop().await;
    (flushes, urls, polls, total)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("## Store throughput ({N} purges, enqueue chunks of {CHUNK}, claims of 100)\n");
        println!("| store | enqueue (new) | enqueue (coalesced) | claim |");
        println!("|---|---|---|---|");
        let dir = tempfile::tempdir().unwrap();
        store_bench("SQLite", vec![sqlite_store(&dir, "a.db").await]).await;
        let Some(db) = TestDb::create().await else {
            return;
        };
        store_bench("PostgreSQL", vec![pg_store(&db).await]).await;
        let db3 = TestDb::create().await.unwrap();
        let three = vec![
            pg_store(&db3).await,
            pg_store(&db3).await,
            pg_store(&db3).await,
        ];
        store_bench("PostgreSQL, 3 nodes", three).await;

        println!("\n## API calls for a {N}-file deploy (max_urls_per_flush = 100: minimum 100)\n");
        println!(
            "| nodes | arrival | flush calls | ratio | URLs flushed | flushstatus calls | seconds |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (nodes, stagger) in [
            (1, Duration::ZERO),
            (3, Duration::ZERO),
            (3, Duration::from_millis(500)),
        ] {
            let db = TestDb::create().await.unwrap();
            let (flushes, urls, polls, secs) = deploy(&db, nodes, stagger).await;
            println!(
                "| {nodes} | {} | {flushes} | {:.2} | {urls} | {polls} | {secs:.1} |",
                if stagger.is_zero() {
                    "together".to_string()
                } else {
                    format!("{} ms apart", stagger.as_millis())
                },
                flushes as f64 / (N / 100) as f64
            );
        }
    });
}
