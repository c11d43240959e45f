//! `kill -9` of the node that flushes, in the middle of a batch: another
//! node takes the roles, takes over the batch once its lease runs out, and
//! the work completes; at most that one batch is sent twice.

use crate::fleet_setup::{TOOK_ROLE, fleet, paths, url_of};
use edgeflush::simulator::Faults;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn kill_9_of_the_flushing_node_mid_batch_and_the_others_finish() {
    let Some(mut f) = fleet(3, |c| {
        c.cloakfusion_extra = "max_urls_per_flush = 20".into();
        c.timeout = "10s".into();
    })
    .await
    else {
        return;
    };
    f.sim.state().set_faults(Faults {
        latency_ms: 1500,
        ..Faults::default()
    });
    let leader = f.leader().await;
    let standby = (leader + 1) % 3;
    // A standby takes the change: it enqueues into the shared store.
    let ps = paths("kill", 100);
    let r = f.nodes[standby]
        .purge(json!({"site": "www", "paths": ps}))
        .await;
    assert_eq!(r["queued"], 100, "{r}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f
        .sim
        .state()
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/flush/") && r.status == 0)
    {
        assert!(Instant::now() < deadline, "no flush ever in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f.nodes[leader].kill9();
    f.wait_confirmed(standby, 100, Duration::from_secs(90))
        .await;

    let flushed = f.sim.state().flushed_urls();
    let unique: BTreeSet<&String> = flushed.iter().collect();
    let expected: BTreeSet<String> = ps.iter().map(|p| url_of(p)).collect();
    assert_eq!(unique, expected.iter().collect(), "every URL flushed");
    assert!(
        flushed.len() <= 100 + 20,
        "at most the in-flight batch again: {} flushed",
        flushed.len()
    );
    let survivors: Vec<String> = (0..3)
        .filter(|i| *i != leader)
        .map(|i| f.nodes[i].logs())
        .collect();
    assert_eq!(
        survivors.iter().filter(|l| l.contains(TOOK_ROLE)).count(),
        1,
        "exactly one survivor took the roles"
    );
    assert!(
        survivors
            .iter()
            .any(|l| l.contains("took over a batch whose lease expired")),
        "the killed node's batch was taken over"
    );
}
