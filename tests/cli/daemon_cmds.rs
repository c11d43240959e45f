//! `purge` and `status` against a running daemon (the real binary, through
//! its admin API), with and without an admin token, and with no daemon.

use crate::common::daemon::{Daemon, DaemonConfig, free_port};
use crate::common::sim;
use crate::run::{Fixture, Out, clean, run};
use std::time::Duration;

const ADMIN_TOKEN: &str = "adm-4be19d-never-print-me";

async fn cli(d: &Daemon, args: &[&str]) -> Out {
    let mut c = clean(d.cli());
    c.args(args);
    run(c).await
}

#[tokio::test]
async fn purge_queues_and_status_shows_it() {
    let sim = sim().await;
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));

    let out = cli(
        &d,
        &[
            "purge",
            "--site",
            "www",
            "css/a.css",
            "/about/",
            "https://www.example.com/x",
        ],
    )
    .await;
    out.expect_code(0)
        .says("queued 3 URL(s) for site www (0 already pending)");
    d.wait_for("3 confirmed", Duration::from_secs(30), |s| {
        s["queue"]["confirmed"].as_u64() == Some(3)
    })
    .await;
    let mut flushed = sim.state().flushed_urls();
    flushed.sort();
    assert_eq!(
        flushed,
        [
            "https://www.example.com/about/",
            "https://www.example.com/css/a.css",
            "https://www.example.com/x",
        ]
    );

    let out = cli(&d, &["status"]).await;
    out.expect_code(0).says("queue:").says("recent batches:");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("confirmed") && l.trim_end().ends_with(" 3")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("www.example.com") && l.contains("done")),
        "{}",
        out.stdout
    );

    let out = cli(&d, &["status", "--json"]).await;
    out.expect_code(0);
    let v = out.json();
    assert_eq!(v["queue"]["confirmed"], 3, "{v:#}");
    assert_eq!(v["batches"][0]["state"], "done", "{v:#}");

    // A refused target is a failure, even when others were queued.
    let out = cli(&d, &["purge", "--json", "--site", "www", "b.css", "../up"]).await;
    out.expect_code(1)
        .says("edgeflush: 1 target(s) refused, not queued");
    let v = out.json();
    assert_eq!(v["queued"], 1, "{v:#}");
    assert_eq!(v["refused"].as_array().map(Vec::len), Some(1), "{v:#}");
    cli(&d, &["purge", "--site", "www", "../up"])
        .await
        .expect_code(1)
        .says("queued 0 URL(s)")
        .says("  refused: ")
        .says("climbs out of the site root");
}

#[tokio::test]
async fn purge_of_unknown_site_exits_1() {
    let sim = sim().await;
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    cli(&d, &["purge", "--site", "nope", "a.css"])
        .await
        .expect_code(1)
        .says("admin API answered 400 Bad Request: unknown site \"nope\"");
}

#[tokio::test]
async fn admin_token_is_sent_and_never_shown() {
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.server_extra = format!("admin_token = \"{ADMIN_TOKEN}\"");
    let d = Daemon::start(&cfg);
    for args in [
        &["purge", "--site", "www", "a.css"][..],
        &["status"],
        &["status", "--json"],
    ] {
        cli(&d, args).await.expect_code(0).never_shows(ADMIN_TOKEN);
    }

    // The same daemon through a config without the token: refused.
    let text = std::fs::read_to_string(d.config_path()).unwrap();
    let without = d.dir.path().join("no-token.toml");
    std::fs::write(
        &without,
        text.replace(&format!("admin_token = \"{ADMIN_TOKEN}\""), ""),
    )
    .unwrap();
    for args in [&["purge", "--site", "www", "a.css"][..], &["status"]] {
        let mut c = crate::run::bin();
        c.arg("--config").arg(&without).args(args);
        run(c)
            .await
            .expect_code(1)
            .says("admin API answered 401 Unauthorized: missing or wrong bearer token")
            .never_shows(ADMIN_TOKEN);
    }
}

#[tokio::test]
async fn no_daemon_is_a_clear_error() {
    let fx = Fixture::new();
    let port = free_port();
    fx.config(&format!(
        "[server]\nadmin_listen = \"127.0.0.1:{port}\"\n\n\
         [[site]]\nname = \"www\"\nvhost = \"www.example.com\"\n"
    ));
    for args in [&["purge", "--site", "www", "a.css"][..], &["status"]] {
        let mut c = fx.cmd();
        c.args(args);
        run(c).await.expect_code(1).says(&format!(
            "edgeflush: cannot reach the daemon's admin API at http://127.0.0.1:{port} \
             (is `edgeflush run` running?)"
        ));
    }
}
