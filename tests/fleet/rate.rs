//! The account's request budget holds for the fleet, not per node: with
//! three nodes busy, the simulator never sees more requests in any window
//! than one node's token bucket allows (burst + rate x window).

use crate::fleet_setup::{fleet, paths};
use serde_json::json;
use std::time::Duration;

const PER_MINUTE: u32 = 120;

#[tokio::test]
async fn the_fleet_never_exceeds_the_configured_request_rate() {
    let Some(f) = fleet(3, |c| {
        c.max_requests_per_minute = PER_MINUTE;
        c.cloakfusion_extra = "max_urls_per_flush = 3".into();
    })
    .await
    else {
        return;
    };
    f.leader().await;
    // Each node gets its own changes: 150 URLs, 50 flush calls, plus polls
    // (the flush calls alone must outrun the budget: polls vary with timing).
    let bodies: Vec<_> = ["r", "s", "t"]
        .iter()
        .map(|p| json!({"site": "www", "paths": paths(p, 50)}))
        .collect();
    tokio::join!(
        f.nodes[0].purge(bodies[0].clone()),
        f.nodes[1].purge(bodies[1].clone()),
        f.nodes[2].purge(bodies[2].clone()),
    );
    f.wait_confirmed(0, 150, Duration::from_secs(120)).await;
    let mut at: Vec<u64> = f.sim.state().requests().iter().map(|r| r.at_ms).collect();
    at.sort_unstable();
    let burst = f64::from(PER_MINUTE / 6);
    let per_ms = f64::from(PER_MINUTE) / 60_000.0;
    // Offered load far above the budget, or the check below proves nothing.
    assert!(
        at.len() as f64 > burst + per_ms * 10_000.0,
        "{} requests",
        at.len()
    );
    for window in [1_000u64, 5_000, 10_000, 30_000] {
        let allowed = (burst + per_ms * window as f64).floor() as usize + 1;
        for (i, start) in at.iter().enumerate() {
            let n = at[i..].iter().take_while(|t| **t < start + window).count();
            assert!(
                n <= allowed,
                "{n} requests in {window} ms from {start} (allowed {allowed}); all: {at:?}"
            );
        }
    }
}
