//! Purge after the deploy, not before: `delay` holds a push's purges, and
//! `release_on = "deployment"` holds them until a successful
//! deployment_status for the same commit (or `max_hold`).

use super::{daemon_with, deliver, fixtures, hook_toml};
use crate::common::sim;
use edgeflush::sources::webhook::Provider;
use std::time::{Duration, Instant};

#[tokio::test]
async fn delay_holds_the_purge() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gh", "github", "delay = \"2s\""));
    let t0 = Instant::now();
    let body = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let (s, v) = deliver(&d, "gh", Provider::Github, "push", "d1", body).await;
    assert_eq!(s, 202, "{v}");
    assert!(v["held_until"].is_i64(), "{v}");
    super::wait_confirmed(&d, 1).await;
    let first_flush = sim
        .state()
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/flush/"))
        .unwrap();
    assert!(t0.elapsed() >= Duration::from_secs(2));
    assert!(first_flush.status < 300);
}

#[tokio::test]
async fn deployment_status_releases_the_held_push() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(
        &sim,
        &hook_toml(
            "gh",
            "github",
            "release_on = \"deployment\"\nmax_hold = \"10m\"",
        ),
    );
    let push = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let sha = fixtures::json(&dir, "github/push.with-new-branch.payload.json")["after"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = deliver(&d, "gh", Provider::Github, "push", "p1", push).await;
    assert_eq!(s, 202, "{v}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(d.queue("pending").await, 1, "held, not flushed");
    assert!(sim.state().flushed_urls().is_empty());

    // A failed deployment releases nothing.
    let mut dep = fixtures::json(&dir, "github/deployment_status.payload.json");
    dep["deployment"]["sha"] = sha.clone().into();
    dep["deployment_status"]["state"] = "failure".into();
    let (s, v) = deliver(
        &d,
        "gh",
        Provider::Github,
        "deployment_status",
        "ds1",
        serde_json::to_vec(&dep).unwrap(),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(d.queue("pending").await, 1);

    dep["deployment_status"]["state"] = "success".into();
    let (s, v) = deliver(
        &d,
        "gh",
        Provider::Github,
        "deployment_status",
        "ds2",
        serde_json::to_vec(&dep).unwrap(),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["released"], 1, "{v}");
    super::wait_confirmed(&d, 1).await;
}
