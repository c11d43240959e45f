//! The same deploy seen by three nodes costs the API what it costs on one.

use crate::fleet_setup::{fleet, paths, url_of};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn the_same_change_on_three_nodes_is_flushed_once() {
    let Some(f) = fleet(3, |c| {
        c.batch = "linger = \"1500ms\"\nmax_delay = \"10s\"".into();
    })
    .await
    else {
        return;
    };
    let leader = f.leader().await;
    let ps = paths("once", 120);
    let body = json!({"site": "www", "paths": ps});
    let (a, b, c) = tokio::join!(
        f.nodes[0].purge(body.clone()),
        f.nodes[1].purge(body.clone()),
        f.nodes[2].purge(body.clone()),
    );
    let queued: u64 = [&a, &b, &c]
        .iter()
        .map(|r| r["queued"].as_u64().unwrap())
        .sum();
    let coalesced: u64 = [&a, &b, &c]
        .iter()
        .map(|r| r["coalesced"].as_u64().unwrap())
        .sum();
    assert_eq!((queued, coalesced), (120, 240), "{a} {b} {c}");
    f.wait_confirmed((leader + 1) % 3, 120, Duration::from_secs(60))
        .await;
    let flushed = f.sim.state().flushed_urls();
    let unique: BTreeSet<&String> = flushed.iter().collect();
    assert_eq!(flushed.len(), 120, "each URL flushed exactly once");
    let expected: BTreeSet<String> = ps.iter().map(|p| url_of(p)).collect();
    assert_eq!(unique, expected.iter().collect());
    // One flush call for the whole deploy, as on a single node.
    let calls = f
        .sim
        .state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .count();
    assert_eq!(calls, 2, "120 URLs at max_urls_per_flush = 100");
    // Every node reads the same shared counts.
    for d in &f.nodes {
        assert_eq!(d.queue("confirmed").await, 120);
    }
}
