//! Admission on the real binary: past `server.max_concurrent_requests` a
//! delivery is answered 503 with Retry-After after `busy_wait` (never held
//! open, never a 2xx for work not stored), a body that does not arrive
//! within `body_timeout` is 408, and either way the turn comes back. The
//! one turn is held by a sender that stops half-way through its body, so
//! nothing here depends on timing.

use super::{SECRET, hook_toml, post};
use crate::common::daemon::{Daemon, DaemonConfig, metric};
use crate::common::sim;
use crate::fixtures;
use edgeflush::sources::webhook::Provider;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A small push made here (no fixture needed): one changed page.
fn push(page: &str) -> Vec<u8> {
    serde_json::json!({
        "ref": "refs/heads/main",
        "after": "0123456789abcdef0123456789abcdef01234567",
        "commits": [{"added": [], "modified": [page], "removed": []}],
        "repository": {"full_name": "example/site"},
    })
    .to_string()
    .into_bytes()
}

async fn deliver_push(d: &Daemon, id: &str, page: &str) -> (u16, serde_json::Value) {
    let body = push(page);
    let h = fixtures::delivery_headers(
        Provider::Github,
        SECRET,
        "push",
        id,
        &body,
        SystemTime::now(),
    );
    post(d, "/hooks/gh", &h, body).await
}

/// Sends the headers and half of a 1,000-byte body, then stalls.
async fn stalled_sender(d: &Daemon) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", d.webhook_port))
        .await
        .unwrap();
    let head = "POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                Content-Type: application/json\r\nX-GitHub-Event: push\r\n\
                Content-Length: 1000\r\n\r\n";
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[b' '; 500]).await.unwrap();
    s.flush().await.unwrap();
    s
}

/// A daemon with the GitHub hook `gh` and these `[server]` keys.
fn daemon(sim: &edgeflush::simulator::SimHandle, server: &str) -> Daemon {
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.site_extra = "repo_prefix = \"\"".into();
    cfg.server_extra = server.into();
    cfg.extra = hook_toml("gh", "github", "");
    Daemon::start(&cfg)
}

#[tokio::test]
async fn past_the_limit_a_delivery_is_refused_at_once_then_admitted() {
    let sim = sim().await;
    let d = daemon(&sim, "max_concurrent_requests = 1\nbusy_wait = \"50ms\"");
    let holder = stalled_sender(&d).await;
    // The stalled sender holds the only turn once its headers are read.
    let mut refused = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while refused.is_none() && Instant::now() < deadline {
        let r = reqwest::Client::new()
            .post(d.hook_url("/hooks/gh"))
            .header("content-type", "application/json")
            .header("x-github-event", "push")
            .body(push("busy.html"))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 503 {
            refused = Some(r);
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let r = refused.expect("a delivery past the limit is answered 503");
    assert_eq!(r.headers()["retry-after"], "1");
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("busy"), "{v}");
    let m = d.metrics().await;
    assert!(
        metric(
            &m,
            "edgeflush_requests_busy_total",
            &[("listener", "webhook")]
        ) >= 1.0
    );
    assert!(
        metric(
            &m,
            "edgeflush_webhook_requests_total",
            &[("hook", "gh"), ("outcome", "busy")]
        ) >= 1.0
    );
    assert_eq!(d.queue("pending").await, 0, "nothing refused is enqueued");

    // The holder goes away: its turn comes back and a delivery is taken.
    drop(holder);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = deliver_push(&d, "after-the-flood", "style.css").await;
        if s == 202 {
            assert_eq!(v["sites"][0]["queued"], 1, "{v}");
            break;
        }
        assert_eq!(s, 503, "{v}");
        assert!(Instant::now() < deadline, "the turn never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_and_frees_the_turn() {
    let sim = sim().await;
    let d = daemon(
        &sim,
        "max_concurrent_requests = 1\nbody_timeout = \"300ms\"",
    );
    let mut s = stalled_sender(&d).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("the stalled request is answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("server.body_timeout"), "{answer}");
    let m = d.metrics().await;
    assert_eq!(
        metric(
            &m,
            "edgeflush_webhook_requests_total",
            &[("hook", "gh"), ("outcome", "body_timeout")]
        ),
        1.0
    );
    // The one turn is free again.
    let (st, v) = deliver_push(&d, "next", "index.html").await;
    assert_eq!(st, 202, "{v}");
}
