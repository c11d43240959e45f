//! flushstatus outcomes: a purge the API reports failed is flushed again up
//! to status.max_reflush, then dead-lettered; one never confirmed is flushed
//! once more after status.timeout, then marked unconfirmed.

use crate::common::daemon::{Daemon, DaemonConfig, metric};
use crate::common::sim;
use edgeflush::simulator::Faults;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn failed_purge_is_reflushed_then_dead_lettered() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        fail_url_regex: Some("broken\\.css$".into()),
        ..Faults::default()
    });
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.status.push_str("\nmax_reflush = 2");
    let d = Daemon::start(&cfg);
    d.purge(json!({"site": "www", "paths": ["ok.css", "broken.css"]}))
        .await;
    let s = d
        .wait_for("1 confirmed, 1 failed", Duration::from_secs(30), |s| {
            s["queue"]["confirmed"] == 1 && s["queue"]["failed"] == 1
        })
        .await;
    let broken = sim
        .state()
        .flushed_urls()
        .iter()
        .filter(|u| u.ends_with("broken.css"))
        .count();
    assert_eq!(broken, 3, "first flush + 2 re-flushes");
    assert!(
        s["dead_letters"][0]["error"]
            .as_str()
            .unwrap()
            .contains("failed")
    );
    let m = d.metrics().await;
    assert_eq!(
        metric(
            &m,
            "edgeflush_dead_letters_total",
            &[("reason", "failed_after_reflush")]
        ),
        1.0
    );
}

#[tokio::test]
async fn never_confirmed_purge_is_reflushed_once_then_unconfirmed() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        stuck_url_regex: Some("stuck\\.css$".into()),
        ..Faults::default()
    });
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.status.push_str("\ntimeout = \"1s\"");
    let d = Daemon::start(&cfg);
    d.purge(json!({"site": "www", "paths": ["stuck.css"]}))
        .await;
    d.wait_for("1 unconfirmed", Duration::from_secs(30), |s| {
        s["queue"]["unconfirmed"] == 1
    })
    .await;
    assert_eq!(
        sim.state().flushed_urls().len(),
        2,
        "flushed, then once more"
    );
    let m = d.metrics().await;
    assert_eq!(metric(&m, "edgeflush_purges_unconfirmed_total", &[]), 2.0);
}

#[tokio::test]
async fn status_words_and_filename_entries_are_understood() {
    let sim = sim().await;
    sim.state().set_faults(Faults {
        done_word: "Completed".into(),
        entry_key: edgeflush::simulator::EntryKey::Filename,
        pages: true,
        page_size: 1,
        ..Faults::default()
    });
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    d.purge(json!({"site": "www", "paths": ["a b.css", "ü.css", "c.css"]}))
        .await;
    d.wait_for("3 confirmed", Duration::from_secs(20), |s| {
        s["queue"]["confirmed"] == 3
    })
    .await;
}
