//! The real binary, its watcher on `<tmp>/public`, against the simulator:
//! files written end as confirmed flushes, identical rewrites cost no API
//! call, a deploy under the hold marker (or the admin hold) is one flush,
//! and what changed while the daemon was stopped is purged at restart.
//! These need the daemon to run the watcher (`sources::watch::run_site`)
//! and the admin routes `POST /api/sites/{name}/hold|release`.

use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use crate::rig::write;
use edgeflush::simulator::SimHandle;
use serde_json::json;
use std::time::Duration;

const WATCH: &str = "[watch]\nsettle = \"100ms\"\n";

fn config(sim: &SimHandle, watch_extra: &str) -> DaemonConfig {
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.extra = format!("{WATCH}{watch_extra}");
    cfg
}

/// Starts the daemon and waits for the watcher's startup round.
async fn start(cfg: &DaemonConfig) -> Daemon {
    let d = Daemon::start(cfg);
    ready(&d).await;
    d
}

async fn ready(d: &Daemon) {
    wait_metric(d, "edgeflush_watch_rounds_total", 1.0).await;
}

/// Waits until the metric (site www) reaches at least `n`.
async fn wait_metric(d: &Daemon, name: &str, n: f64) {
    d.wait_metric(name, &[("site", "www")], n).await;
}

fn confirmed(n: u64) -> impl FnMut(&serde_json::Value) -> bool {
    move |s| s["queue"]["confirmed"].as_u64() == Some(n)
}

fn flush_calls(sim: &SimHandle) -> Vec<usize> {
    sim.state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .map(|r| r.body["urls"].as_array().map_or(0, |a| a.len()))
        .collect()
}

fn public(d: &Daemon, rel: &str) -> std::path::PathBuf {
    d.dir.path().join("public").join(rel)
}

fn u(p: &str) -> String {
    format!("https://www.example.com/{p}")
}

/// A manual purge that goes through the flusher: once it is confirmed,
/// anything that was due then has been flushed too.
async fn flush_cycle(d: &Daemon, path: &str, total_confirmed: u64) {
    d.purge(json!({"site": "www", "paths": [path]})).await;
    d.wait_for(
        "the probe purge",
        Duration::from_secs(20),
        confirmed(total_confirmed),
    )
    .await;
}

#[tokio::test]
async fn a_file_written_in_the_root_ends_as_a_confirmed_flush() {
    let sim = sim().await;
    let d = start(&config(&sim, "")).await;
    write(&public(&d, "css/a.css"), "body {}");
    d.wait_for(
        "the file's purge confirmed",
        Duration::from_secs(20),
        confirmed(1),
    )
    .await;
    assert_eq!(sim.state().flushed_urls(), vec![u("css/a.css")]);
    let s = d.status().await;
    assert_eq!(s["recent"][0]["origin"]["kind"], "file", "{s:#}");
    assert_eq!(s["recent"][0]["origin"]["reference"], "css/a.css", "{s:#}");
}

#[tokio::test]
async fn identical_rewrites_make_no_api_call() {
    let sim = sim().await;
    let d = start(&config(&sim, "")).await;
    write(&public(&d, "a.css"), "same");
    d.wait_for("a.css confirmed", Duration::from_secs(20), confirmed(1))
        .await;
    assert_eq!(flush_calls(&sim).len(), 1);
    write(&public(&d, "a.css"), "same");
    wait_metric(&d, "edgeflush_watch_unchanged_skipped_total", 1.0).await;
    std::process::Command::new("touch")
        .arg(public(&d, "a.css"))
        .status()
        .unwrap();
    wait_metric(&d, "edgeflush_watch_unchanged_skipped_total", 2.0).await;
    flush_cycle(&d, "probe.css", 2).await;
    assert_eq!(flush_calls(&sim).len(), 2, "only the probe was flushed");
    assert!(!sim.state().flushed_urls()[1..].contains(&u("a.css")));
}

#[tokio::test]
async fn changes_made_while_stopped_are_purged_at_restart() {
    let sim = sim().await;
    let mut d = start(&config(&sim, "")).await;
    write(&public(&d, "a.css"), "1");
    write(&public(&d, "keep.css"), "k");
    d.wait_for("2 confirmed", Duration::from_secs(20), confirmed(2))
        .await;
    assert!(d.sigterm().success());
    write(&public(&d, "a.css"), "2");
    write(&public(&d, "b.css"), "b");
    d.spawn();
    d.wait_for("2 more confirmed", Duration::from_secs(20), confirmed(4))
        .await;
    let mut flushed = sim.state().flushed_urls();
    flushed.sort();
    assert_eq!(
        flushed,
        vec![u("a.css"), u("a.css"), u("b.css"), u("keep.css")]
    );
}

#[tokio::test]
async fn a_deploy_under_the_hold_marker_is_one_flush() {
    let sim = sim().await;
    let d = start(&config(&sim, "hold_marker = \".edgeflush-hold\"\n")).await;
    write(&public(&d, ".edgeflush-hold"), "");
    wait_metric(&d, "edgeflush_watch_held", 1.0).await;
    for i in 0..5 {
        write(&public(&d, &format!("js/{i}.js")), "v2");
    }
    wait_metric(&d, "edgeflush_watch_files_purged_total", 5.0).await;
    // Held: a later purge goes out, the deploy's five do not.
    flush_cycle(&d, "probe.css", 1).await;
    assert_eq!(flush_calls(&sim), vec![1]);
    std::fs::remove_file(public(&d, ".edgeflush-hold")).unwrap();
    d.wait_for(
        "the deploy confirmed",
        Duration::from_secs(20),
        confirmed(6),
    )
    .await;
    assert_eq!(flush_calls(&sim), vec![1, 5], "one flush for the deploy");
}

#[tokio::test]
async fn the_admin_api_holds_a_site() {
    let sim = sim().await;
    let d = start(&config(&sim, "")).await;
    let c = reqwest::Client::new();
    let r = c.post(d.admin("/api/sites/www/hold")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["held_by_api"], true, "{body}");
    let r = c
        .post(d.admin("/api/sites/nope/hold"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    wait_metric(&d, "edgeflush_watch_held", 1.0).await;
    write(&public(&d, "a.css"), "a");
    wait_metric(&d, "edgeflush_watch_files_purged_total", 1.0).await;
    flush_cycle(&d, "probe.css", 1).await;
    assert_eq!(sim.state().flushed_urls(), vec![u("probe.css")]);
    let r = c
        .post(d.admin("/api/sites/www/release"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.wait_for("a.css confirmed", Duration::from_secs(20), confirmed(2))
        .await;
}

#[tokio::test]
async fn many_files_are_cut_at_max_urls_per_flush() {
    let sim = sim().await;
    let mut cfg = config(&sim, "");
    cfg.cloakfusion_extra = "max_urls_per_flush = 100".into();
    cfg.batch = "linger = \"500ms\"\nmax_delay = \"5s\"".into();
    let d = start(&cfg).await;
    std::fs::create_dir_all(public(&d, "assets")).unwrap();
    for i in 0..250 {
        write(&public(&d, &format!("assets/{i}.js")), &i.to_string());
    }
    d.wait_for("250 confirmed", Duration::from_secs(30), confirmed(250))
        .await;
    let mut sizes = flush_calls(&sim);
    sizes.sort_unstable();
    assert_eq!(sizes, vec![50, 100, 100]);
}

#[tokio::test]
async fn a_tiny_channel_loses_nothing_through_the_binary() {
    let sim = sim().await;
    let d = start(&config(&sim, "channel_capacity = 1\n")).await;
    std::fs::create_dir_all(public(&d, "burst")).unwrap();
    for i in 0..200 {
        write(&public(&d, &format!("burst/{i}.css")), &i.to_string());
    }
    d.wait_for("200 confirmed", Duration::from_secs(30), confirmed(200))
        .await;
    assert_eq!(sim.state().flushed_urls().len(), 200);
}
