//! `check --online`, `flush-status` and `traffic` against the simulator.

use crate::common::{VHOST, client_for, sim, sim_with};
use crate::run::{Fixture, Out, api_config, run};
use edgeflush::simulator::{Faults, Phase, SimHandle};
use std::time::Duration;

async fn cmd(fx: &Fixture, args: &[&str]) -> Out {
    let mut c = fx.cmd();
    c.args(args);
    run(c).await
}

#[tokio::test]
async fn check_online_accepts_token_and_finds_vhosts() {
    let sim = sim().await;
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), &sim.token(), "");
    let out = cmd(&fx, &["check", "--online"]).await;
    out.expect_code(0);
    assert!(out.fail_lines().is_empty(), "{}", out.stdout);
    out.says(&format!("accepted by {} (1 vhosts)", sim.base_url()))
        .says("vhost www.example.com exists");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("site www")),
        "{}",
        out.stdout
    );

    let out = cmd(&fx, &["check", "--online", "--json"]).await;
    out.expect_code(0);
    let items = out.json();
    let checks: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["check"].as_str().unwrap())
        .collect();
    assert!(checks.contains(&"api token") && checks.contains(&"site www"));
    assert!(items.as_array().unwrap().iter().all(|i| i["ok"] == true));
}

#[tokio::test]
async fn check_online_wrong_token_fails() {
    let sim = sim().await;
    let fx = Fixture::new();
    let wrong = "wrong-7d1e0b-token";
    api_config(&fx, &sim.base_url(), wrong, "");
    let out = cmd(&fx, &["check", "--online"]).await;
    out.expect_code(1).never_shows(wrong);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(fails[0].contains("api token"), "{}", fails[0]);
    assert!(
        fails[0].contains("authentication refused (401)"),
        "{}",
        fails[0]
    );

    let out = cmd(&fx, &["check", "--online", "--json"]).await;
    out.expect_code(1).never_shows(wrong);
    let items = out.json();
    let api = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["check"] == "api token")
        .unwrap();
    assert_eq!(api["ok"], false);
}

#[tokio::test]
async fn check_online_missing_vhost_fails() {
    let sim = sim().await;
    let fx = Fixture::new();
    api_config(
        &fx,
        &sim.base_url(),
        &sim.token(),
        "\n[[site]]\nname = \"blog\"\nvhost = \"blog.example.com\"",
    );
    let out = cmd(&fx, &["check", "--online"]).await;
    out.expect_code(1);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].contains("site blog")
            && fails[0].contains("vhost blog.example.com does not exist"),
        "{}",
        fails[0]
    );
    out.says("vhost www.example.com exists");
}

#[tokio::test]
async fn check_online_unreachable_api_fails() {
    let fx = Fixture::new();
    let port = crate::common::daemon::free_port();
    api_config(&fx, &format!("http://127.0.0.1:{port}/api/v1"), "t", "");
    let out = cmd(&fx, &["check", "--online"]).await;
    out.expect_code(1);
    assert!(
        out.fail_lines().iter().any(|l| l.contains("api token")),
        "{}",
        out.stdout
    );
}

/// Flushes `paths` of www.example.com through the client and waits past the
/// simulator's 100 ms flush delay, so every object not stuck is done.
async fn flushed(sim: &SimHandle, paths: &[&str]) -> Vec<String> {
    let urls: Vec<String> = paths
        .iter()
        .map(|p| format!("https://{VHOST}{p}"))
        .collect();
    client_for(sim).flush(&urls).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    urls
}

#[tokio::test]
async fn flush_status_shows_each_object() {
    let sim = sim_with(Faults {
        stuck_url_regex: Some("/blog/b$".into()),
        ..Faults::default()
    })
    .await;
    let urls = flushed(&sim, &["/blog/a", "/blog/b", "/about"]).await;
    assert_eq!(sim.state().phase(&urls[0]), Some(Phase::Done));
    assert_eq!(sim.state().phase(&urls[1]), Some(Phase::Pending));
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), &sim.token(), "");

    let out = cmd(
        &fx,
        &["flush-status", "--vhost", VHOST, "--regex", "^/blog/"],
    )
    .await;
    out.expect_code(0);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), 3, "header + 2 objects:\n{}", out.stdout);
    assert!(rows[0].starts_with("OBJECT") && rows[0].contains("STATUS"));
    let row = |u: &str| rows.iter().find(|r| r.starts_with(u)).copied();
    assert!(
        row("https://www.example.com/blog/a")
            .unwrap()
            .ends_with("done")
    );
    assert!(
        row("https://www.example.com/blog/b")
            .unwrap()
            .ends_with("pending")
    );
    assert!(row("https://www.example.com/about").is_none());

    let out = cmd(
        &fx,
        &["flush-status", "--vhost", VHOST, "--regex", "^/", "--json"],
    )
    .await;
    out.expect_code(0);
    let v = out.json();
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{v:#}");
    for e in entries {
        let want = if e["path"] == "/blog/b" {
            "pending"
        } else {
            "done"
        };
        assert_eq!(e["state"], want, "{e}");
        assert_eq!(e["vhost"], VHOST);
        assert!(e["requested_at"].as_u64().is_some(), "{e}");
        assert_eq!(e["completed_at"].is_null(), want == "pending", "{e}");
    }

    cmd(&fx, &["flush-status", "--vhost", VHOST, "--regex", "(blog"])
        .await
        .expect_code(2)
        .says("--regex");
}

#[tokio::test]
async fn traffic_of_every_vhost_and_of_one() {
    let sim = sim().await;
    sim.state()
        .upsert_vhost("Blog", "blog.example.com", "http://o/");
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), &sim.token(), "");

    let out = cmd(&fx, &["traffic"]).await;
    out.expect_code(0);
    assert!(out.stdout.starts_with("FIGURE"), "{}", out.stdout);
    for v in [VHOST, "blog.example.com"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with(&format!("{v}.requests "))),
            "{v} missing:\n{}",
            out.stdout
        );
    }
    let all = cmd(&fx, &["traffic", "--json"]).await;
    all.expect_code(0);
    let all = all.json();
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all:#}");

    let out = cmd(&fx, &["traffic", "--vhost", VHOST]).await;
    out.expect_code(0);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("requests ")),
        "{}",
        out.stdout
    );
    let one = cmd(&fx, &["traffic", "--vhost", VHOST, "--json"]).await;
    one.expect_code(0);
    let one = one.json();
    assert_eq!(one["vhost"], VHOST, "{one:#}");
    assert!(one["requests"].as_u64().is_some(), "{one:#}");

    let q: Vec<String> = sim
        .state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/traffic/"))
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(q.len(), 4);
    let one = q.iter().filter(|q| q.contains("vhost=www.example.com"));
    assert_eq!(one.count(), 2, "{q:?}");
}
