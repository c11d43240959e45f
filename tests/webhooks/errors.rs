//! What is refused, and how: signatures (401), redeliveries (200 duplicate),
//! filters (202 ignored), bodies (400, 413, 415), routes (404, 405), a store
//! that cannot take the work (503). Nothing refused is enqueued.

use super::{SECRET, daemon_with, deliver, fixtures, hook_toml, post};
use crate::common::daemon::metric;
use crate::common::sim;
use edgeflush::sources::webhook::Provider;
use std::time::SystemTime;

#[tokio::test]
async fn signatures_missing_wrong_or_rotated() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(
        &sim,
        &hook_toml("gh", "github", "secrets = [\"next-secret\"]"),
    );
    let body = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let good = fixtures::delivery_headers(
        Provider::Github,
        SECRET,
        "push",
        "d1",
        &body,
        SystemTime::now(),
    );
    let mut missing = good.clone();
    missing.retain(|(k, _)| k != "x-hub-signature-256");
    let (s, v) = post(&d, "/hooks/gh", &missing, body.clone()).await;
    assert_eq!(s, 401, "{v}");
    let wrong = fixtures::delivery_headers(
        Provider::Github,
        "not-the-secret",
        "push",
        "d2",
        &body,
        SystemTime::now(),
    );
    let (s, v) = post(&d, "/hooks/gh", &wrong, body.clone()).await;
    assert_eq!(s, 401, "{v}");
    assert!(
        !v.to_string().contains(SECRET),
        "the answer names no secret"
    );
    assert_eq!(d.queue("pending").await, 0, "nothing enqueued");
    // The rotation secret verifies too.
    let rotated = fixtures::delivery_headers(
        Provider::Github,
        "next-secret",
        "push",
        "d3",
        &body,
        SystemTime::now(),
    );
    let (s, v) = post(&d, "/hooks/gh", &rotated, body.clone()).await;
    assert_eq!(s, 202, "{v}");
    let m = d.metrics().await;
    let bad: f64 = ["missing_signature", "bad_signature"]
        .iter()
        .map(|o| {
            metric(
                &m,
                "edgeflush_webhook_requests_total",
                &[("hook", "gh"), ("outcome", o)],
            )
        })
        .sum();
    assert_eq!(bad, 2.0, "{m}");
    assert!(!m.contains(SECRET));
    let log = d.logs();
    assert!(
        !log.contains(SECRET) && !log.contains("next-secret"),
        "a secret reached the log"
    );
}

#[tokio::test]
async fn redelivery_is_answered_and_enqueues_nothing() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gh", "github", ""));
    let body = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let (s, _) = deliver(&d, "gh", Provider::Github, "push", "same-id", body.clone()).await;
    assert_eq!(s, 202);
    super::wait_confirmed(&d, 1).await;
    let (s, v) = deliver(&d, "gh", Provider::Github, "push", "same-id", body).await;
    assert_eq!(s, 200);
    assert_eq!(v["duplicate"], true);
    assert_eq!(d.queue("pending").await, 0);
    assert_eq!(sim.state().flushed_urls().len(), 1);
}

#[tokio::test]
async fn ping_tags_and_branch_filters() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gh", "github", "branches = [\"main\"]"));
    let (s, v) = deliver(
        &d,
        "gh",
        Provider::Github,
        "ping",
        "p1",
        fixtures::read(&dir, "github/ping.payload.json"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // master is not main.
    let (s, v) = deliver(
        &d,
        "gh",
        Provider::Github,
        "push",
        "b1",
        fixtures::read(&dir, "github/push.with-new-branch.payload.json"),
    )
    .await;
    assert_eq!(s, 202);
    assert!(v["ignored"].as_str().unwrap().contains("branch"), "{v}");
    // A tag deletion, and tags are not configured anyway.
    let (s, v) = deliver(
        &d,
        "gh",
        Provider::Github,
        "push",
        "t1",
        fixtures::read(&dir, "github/push.payload.json"),
    )
    .await;
    assert_eq!(s, 202);
    assert!(v["ignored"].is_string(), "{v}");
    // An event we do not act on.
    let (s, v) = deliver(
        &d,
        "gh",
        Provider::Github,
        "release",
        "r1",
        fixtures::read(&dir, "github/release.published.payload.json"),
    )
    .await;
    assert_eq!(s, 202);
    assert!(v["ignored"].is_string(), "{v}");
    assert_eq!(d.queue("pending").await, 0);
}

#[tokio::test]
async fn bodies_routes_and_methods() {
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gh", "github", "max_body = \"1KiB\""));
    let big = vec![b' '; 4096];
    let h = fixtures::delivery_headers(
        Provider::Github,
        SECRET,
        "push",
        "x1",
        &big,
        SystemTime::now(),
    );
    assert_eq!(post(&d, "/hooks/gh", &h, big).await.0, 413);
    let junk = b"{not json".to_vec();
    let h = fixtures::delivery_headers(
        Provider::Github,
        SECRET,
        "push",
        "x2",
        &junk,
        SystemTime::now(),
    );
    assert_eq!(post(&d, "/hooks/gh", &h, junk.clone()).await.0, 400);
    let mut h = fixtures::delivery_headers(
        Provider::Github,
        SECRET,
        "push",
        "x3",
        &junk,
        SystemTime::now(),
    );
    h.retain(|(k, _)| k != "content-type");
    h.push(("content-type".into(), "text/plain".into()));
    assert_eq!(post(&d, "/hooks/gh", &h, junk).await.0, 415);
    assert_eq!(post(&d, "/hooks/nope", &[], b"{}".to_vec()).await.0, 404);
    let r = reqwest::get(d.hook_url("/hooks/gh")).await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(d.queue("pending").await, 0);
}

#[tokio::test]
async fn store_that_cannot_take_work_answers_503() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gh", "github", ""));
    // Another process holds the write lock: the enqueue cannot commit.
    let db = rusqlite::Connection::open(d.dir.path().join("edgeflush.db")).unwrap();
    db.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let body = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let (s, v) = deliver(&d, "gh", Provider::Github, "push", "locked-1", body.clone()).await;
    assert_eq!(s, 503, "{v}");
    db.execute_batch("ROLLBACK").unwrap();
    drop(db);
    // The sender retries the same delivery: it is not a duplicate, it is new.
    let (s, v) = deliver(&d, "gh", Provider::Github, "push", "locked-1", body).await;
    assert_eq!(s, 202, "{v}");
    super::wait_confirmed(&d, 1).await;
}
