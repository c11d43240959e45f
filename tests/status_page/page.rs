//! What an operator sees on `GET /` after real purges, rendered by Chromium.

use crate::chromium::{self, Rendered};
use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use edgeflush::simulator::Faults;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

fn browser() -> Option<PathBuf> {
    let found = chromium::find();
    if found.is_none() {
        println!("skipped: chromium not installed");
    }
    found
}

/// Text as it appears in serialized DOM text nodes.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

fn el<'a>(r: &'a Rendered, tag: &str, attr: &str) -> &'a str {
    r.element(tag, attr)
        .unwrap_or_else(|| panic!("no <{tag} {attr}> in the page:\n{}", r.dom))
}

#[tokio::test]
async fn the_console_check_sees_errors_and_policy_violations() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!doctype html><meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">\
         <p id=\"p\">static</p><script>throw new Error('never runs')</script>",
    )
    .unwrap();
    let r = chromium::dump_dom(&bin, &format!("file://{}", page.display())).await;
    assert!(r.dom.contains("<p id=\"p\">static</p>"), "{}", r.dom);
    assert!(
        r.console
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "a blocked script must show up: {:?}",
        r.console
    );
    std::fs::write(&page, "<script>console.error('boom'); null.x;</script>").unwrap();
    let r = chromium::dump_dom(&bin, &format!("file://{}", page.display())).await;
    assert!(r.console.iter().any(|l| l.contains("boom")), "{}", r.log);
    assert!(
        r.console.iter().any(|l| l.contains("Uncaught")),
        "{}",
        r.log
    );
}

#[tokio::test]
async fn shows_queue_sites_batches_and_completion_after_a_confirmed_purge() {
    let Some(bin) = browser() else { return };
    let sim = sim().await;
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    let note = "deploy <img id=\"injected\" src=x onerror=\"document.title='pwned'\"> & co";
    d.purge(json!({"site": "www", "paths": ["a.css", "b.css"], "note": note}))
        .await;
    let s = d
        .wait_for("2 confirmed", Duration::from_secs(20), |s| {
            s["queue"]["confirmed"] == 2 && s["batches"][0]["state"] == "done"
        })
        .await;
    let batch = s["batches"][0]["id"].as_i64().unwrap();

    let r = chromium::dump_dom(&bin, &d.admin("/")).await;
    r.assert_quiet_console();
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains("class=\"summary ok\""), "{summary}");
    assert!(summary.contains(">OK<"), "{summary}");
    assert!(
        el(&r, "p", "id=\"error\"").contains("hidden"),
        "no error shown"
    );

    let confirmed = el(&r, "tr", "data-state=\"confirmed\"");
    assert!(
        confirmed.contains("<td class=\"num\">2</td>"),
        "{confirmed}"
    );
    let pending = el(&r, "tr", "data-state=\"pending\"");
    assert!(pending.contains("<td class=\"num\">0</td>"), "{pending}");

    let row = el(&r, "tr", &format!("data-batch=\"{batch}\""));
    for want in [">www.example.com<", ">done<", "<td class=\"num\">2</td>"] {
        assert!(row.contains(want), "{want} not in {row}");
    }
    assert!(
        row.contains(" ms<") || row.contains(" s<"),
        "latency: {row}"
    );

    let site = el(&r, "tr", "data-site=\"www\"");
    assert!(
        site.contains(&escaped(note)),
        "origin shown as text: {site}"
    );
    assert!(!r.dom.contains("<img id=\"injected\""), "markup injected");
    assert!(r.dom.contains("<title>edgeflush status</title>"));

    let chart = el(&r, "div", "id=\"completion-chart\"");
    assert!(chart.contains("<svg class=\"chart\""), "{chart}");
    assert_eq!(chart.matches("<circle").count(), 1 + 2, "1 batch, 2 purges");

    let ready = el(&r, "div", "id=\"ready\"");
    assert!(ready.contains("no problems"), "{ready}");
    let dead = el(&r, "div", "id=\"dead\"");
    assert!(dead.contains("no dead letters"), "{dead}");
    // Until /api/traffic has snapshots (or exists): a plain notice, no error.
    let traffic = el(&r, "div", "id=\"traffic\"");
    assert!(
        traffic.contains("no traffic snapshots yet") || traffic.contains("<svg class=\"chart\""),
        "{traffic}"
    );

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    chromium::screenshot(&bin, &d.admin("/"), &shot).await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    println!("screenshot: {}", shot.display());
}

#[tokio::test]
async fn dead_letters_show_their_reason_and_turn_the_summary_red() {
    let Some(bin) = browser() else { return };
    let sim = sim().await;
    sim.state().set_faults(Faults {
        fail_url_regex: Some("broken\\.css$".into()),
        ..Faults::default()
    });
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.status.push_str("\nmax_reflush = 0");
    let d = Daemon::start(&cfg);
    d.purge(json!({"site": "www", "paths": ["ok.css", "broken.css"]}))
        .await;
    let s = d
        .wait_for("1 confirmed, 1 failed", Duration::from_secs(30), |s| {
            s["queue"]["confirmed"] == 1 && s["queue"]["failed"] == 1
        })
        .await;
    let letter = &s["dead_letters"][0];
    let reason = letter["error"].as_str().unwrap();

    let r = chromium::dump_dom(&bin, &d.admin("/")).await;
    r.assert_quiet_console();
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains("class=\"summary bad\""), "{summary}");
    assert!(summary.contains("1 dead letter"), "{summary}");
    let row = el(&r, "tr", &format!("data-dead=\"{}\"", letter["id"]));
    assert!(row.contains("https://www.example.com/broken.css"), "{row}");
    assert!(row.contains(&escaped(reason)), "{reason} not in {row}");
    let failed = el(&r, "tr", "data-state=\"failed\"");
    assert!(failed.contains("<td class=\"num\">1</td>"), "{failed}");
}

#[tokio::test]
async fn failing_api_auth_is_named_in_summary_and_readiness() {
    let Some(bin) = browser() else { return };
    let sim = sim().await;
    sim.state().set_faults(Faults {
        token: Some("rotated".into()),
        ..Faults::default()
    });
    let d = Daemon::start(&DaemonConfig::new(&sim.base_url(), &sim.token()));
    d.purge(json!({"site": "www", "paths": ["a.css"]})).await;
    d.wait_for("auth to fail", Duration::from_secs(10), |s| {
        s["ready"]["problems"]["api_auth"].is_string()
    })
    .await;

    let r = chromium::dump_dom(&bin, &d.admin("/")).await;
    r.assert_quiet_console();
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains("class=\"summary bad\""), "{summary}");
    assert!(summary.contains("API auth failing"), "{summary}");
    assert!(summary.contains("1 in flight"), "{summary}");
    let ready = el(&r, "div", "id=\"ready\"");
    assert!(ready.contains(">api_auth<"), "{ready}");
}

#[tokio::test]
async fn with_an_admin_token_the_page_asks_for_it_and_then_works() {
    const TOKEN: &str = "page-token-3f9a1c";
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.server_extra = format!("admin_token = \"{TOKEN}\"");
    let d = Daemon::start(&cfg);

    // The page carries no data, so it is served without the token, under a
    // policy that allows nothing but its own inline code and same-origin calls.
    let resp = reqwest::get(d.admin("/")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("connect-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(d.get_json("/api/status").await.0, 401);

    let Some(bin) = browser() else { return };
    let r = chromium::dump_dom(&bin, &d.admin("/")).await;
    r.assert_quiet_console();
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains("needs the bearer token"), "{summary}");
    assert!(
        !el(&r, "form", "id=\"auth\"").contains("hidden"),
        "form shown"
    );
    assert!(
        r.element("tr", "data-state=").is_none(),
        "no data without token"
    );

    let r = chromium::dump_dom(&bin, &d.admin(&format!("/#token={TOKEN}"))).await;
    r.assert_quiet_console();
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains(">OK<"), "{summary}");
    assert!(
        el(&r, "form", "id=\"auth\"").contains("hidden"),
        "form hidden"
    );
    el(&r, "tr", "data-state=\"confirmed\"");
    assert!(!r.dom.contains(TOKEN), "token not written into the page");

    let r = chromium::dump_dom(&bin, &d.admin("/#token=wrong")).await;
    r.assert_quiet_console();
    let summary = el(&r, "p", "id=\"summary\"");
    assert!(summary.contains("refused this token"), "{summary}");
    assert!(!d.logs().contains(TOKEN), "token in the daemon's log");
}
