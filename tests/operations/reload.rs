//! SIGHUP and SIGTERM on the real binary.

use crate::common::daemon::{Daemon, DaemonConfig, metric};
use crate::common::sim;
use serde_json::json;
use std::time::Duration;

fn edit(d: &Daemon, from: &str, to: &str) {
    let text = std::fs::read_to_string(d.config_path()).unwrap();
    assert!(text.contains(from), "{from:?} not in config");
    std::fs::write(d.config_path(), text.replacen(from, to, 1)).unwrap();
}

#[tokio::test]
async fn sighup_applies_a_valid_config_and_keeps_the_queue() {
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.batch = "linger = \"3s\"\nmax_delay = \"10s\"".into();
    let d = Daemon::start(&cfg);
    d.purge(json!({"site": "www", "paths": ["queued-before.css"]}))
        .await;
    // New mapping and a shorter linger.
    edit(&d, "name = \"www\"", "name = \"www\"\nalso_purge = [\"/\"]");
    edit(&d, "linger = \"3s\"", "linger = \"100ms\"");
    d.signal("HUP");
    // The queued purge survives the reload and goes out.
    d.wait_for("1 confirmed", Duration::from_secs(20), |s| {
        s["queue"]["confirmed"] == 1
    })
    .await;
    let r = d
        .purge(json!({"site": "www", "paths": ["after.css"]}))
        .await;
    assert_eq!(r["urls"], 2, "also_purge applied after reload: {r}");
    d.wait_for("3 confirmed", Duration::from_secs(20), |s| {
        s["queue"]["confirmed"] == 3
    })
    .await;
    assert!(d.logs().contains("reloading the configuration"));
}

#[tokio::test]
async fn sighup_with_a_broken_config_keeps_the_running_one() {
    let sim = sim().await;
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    edit(&d, "[batch]", "[batch]\nlingerr = \"1s\"");
    d.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = d.metrics().await;
        if metric(&m, "edgeflush_config_reload_failures_total", &[]) == 1.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reload failure not counted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(d.logs().contains("lingerr"), "the log names the bad key");
    d.purge(json!({"site": "www", "paths": ["still-works.css"]}))
        .await;
    d.wait_for("1 confirmed", Duration::from_secs(20), |s| {
        s["queue"]["confirmed"] == 1
    })
    .await;
}

#[tokio::test]
async fn sigterm_mid_load_loses_nothing_accepted() {
    let sim = sim().await;
    sim.state().set_faults(edgeflush::simulator::Faults {
        latency_ms: 20,
        ..Default::default()
    });
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.cloakfusion_extra = "max_urls_per_flush = 20".into();
    let mut d = Daemon::start(&cfg);
    let admin = d.admin("/api/purge");
    // A client posting purges as fast as it can; it records what got a 202.
    let sender = tokio::spawn(async move {
        let c = reqwest::Client::new();
        let mut accepted = Vec::new();
        for i in 0..100_000 {
            let path = format!("load/{i}.css");
            match c
                .post(&admin)
                .json(&json!({"site": "www", "paths": [path]}))
                .send()
                .await
            {
                Ok(r) if r.status() == 202 => accepted.push(path),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        accepted
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = d.sigterm();
    assert!(status.success(), "{status}");
    let accepted = sender.await.unwrap();
    assert!(accepted.len() > 10, "load too small: {}", accepted.len());
    d.spawn();
    let n = accepted.len() as u64;
    d.wait_for(
        "every accepted purge confirmed",
        Duration::from_secs(60),
        |s| s["queue"]["confirmed"].as_u64() == Some(n),
    )
    .await;
    let flushed: std::collections::HashSet<String> =
        sim.state().flushed_urls().into_iter().collect();
    for p in &accepted {
        assert!(
            flushed.contains(&format!("https://www.example.com/{p}")),
            "{p} lost"
        );
    }
}
