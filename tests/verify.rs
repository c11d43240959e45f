//! Freshness verified at the edge (issue 10), on the real binary: the
//! simulator serves `www.example.com` as a caching edge filled from a static
//! origin over the daemon's document root, and edgeflush checks each
//! confirmed purge there. A changed file is stale at the edge, flushed,
//! confirmed and verified fresh; an edge that ignores purges is re-flushed
//! up to the limit and dead-lettered; an unreachable edge is "unknown" and
//! costs neither re-flushes nor a request per URL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "verify/edge.rs"]
mod edge;

use common::VHOST;
use common::daemon::{Daemon, DaemonConfig, free_port, metric};
use edgeflush::simulator::{self, Faults, OriginHandle, SimHandle, SimOptions};
use std::time::Duration;

/// A simulator with its edge on a free port; flushes done after 100 ms.
async fn sim_with_edge() -> SimHandle {
    let sim = simulator::start(SimOptions {
        listen: "127.0.0.1:0".into(),
        edge_listen: Some("127.0.0.1:0".into()),
        vhosts: vec![VHOST.into()],
        flush_delay: "100ms".into(),
        ..SimOptions::default()
    })
    .await
    .expect("simulator starts");
    sim.state().set_faults(Faults::default());
    sim
}

/// The daemon on `public/` with verification through `via`, and the origin
/// (a static server over that same folder) the edge and the verifier ask.
struct Rig {
    sim: SimHandle,
    d: Daemon,
    _origin: OriginHandle,
}

/// `ask_origin`: the verifier asks the origin for its ETag; without it the
/// file on disk is the only reference.
async fn rig(sim: SimHandle, via: &str, ask_origin: bool, files: &[(&str, &str)]) -> Rig {
    let origin_port = free_port();
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    let origin = if ask_origin {
        format!("origin = \"http://127.0.0.1:{origin_port}\"\n")
    } else {
        String::new()
    };
    cfg.site_extra = format!(
        "[site.verify]\nenabled = true\nvia = \"{via}\"\n{origin}sample = \"all\"\nmax_reflush = 2\n"
    );
    cfg.extra = "[watch]\nsettle = \"100ms\"\n".into();
    cfg.files = files
        .iter()
        .map(|(p, b)| (p.to_string(), b.to_string()))
        .collect();
    let d = Daemon::start(&cfg);
    let origin = simulator::serve_dir(
        d.dir.path().join("public"),
        &format!("127.0.0.1:{origin_port}"),
    )
    .expect("origin starts");
    sim.state().upsert_vhost("www", VHOST, &origin.url());
    d.wait_metric("edgeflush_watch_rounds_total", &[("site", "www")], 1.0)
        .await;
    Rig {
        sim,
        d,
        _origin: origin,
    }
}

fn write(d: &Daemon, rel: &str, body: &str) {
    let p = d.dir.path().join("public").join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// GET through the simulated edge, as a browser in front of the CDN would.
async fn at_edge(sim: &SimHandle, path: &str) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .get(format!("http://{}{path}", sim.edge_addr().unwrap()))
        .header("Host", VHOST)
        .send()
        .await
        .unwrap();
    let cache = r
        .headers()
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), cache, r.text().await.unwrap())
}

fn flushes_of(sim: &SimHandle, url: &str) -> usize {
    sim.state()
        .flushed_urls()
        .iter()
        .filter(|u| *u == url)
        .count()
}

#[tokio::test]
async fn a_changed_file_is_stale_at_the_edge_then_verified_fresh() {
    let sim = sim_with_edge().await;
    let edge = format!("http://{}", sim.edge_addr().unwrap());
    let r = rig(sim, &edge, true, &[("news.html", "<p>old news</p>")]).await;
    assert_eq!(
        at_edge(&r.sim, "/news.html").await,
        (200, "MISS".into(), "<p>old news</p>".into())
    );
    assert_eq!(at_edge(&r.sim, "/news.html").await.1, "HIT");

    write(&r.d, "news.html", "<p>fresh news, longer</p>");
    // The origin has the new file; the edge still serves the old one.
    assert_eq!(at_edge(&r.sim, "/news.html").await.2, "<p>old news</p>");

    let m =
        r.d.wait_metric("edgeflush_verify_urls_total", &[("outcome", "fresh")], 1.0)
            .await;
    assert_eq!(
        at_edge(&r.sim, "/news.html").await.2,
        "<p>fresh news, longer</p>"
    );
    assert_eq!(
        metric(&m, "edgeflush_verify_urls_total", &[("outcome", "stale")]),
        0.0
    );
    assert_eq!(metric(&m, "edgeflush_verify_reflushes_total", &[]), 0.0);
    assert_eq!(
        metric(
            &m,
            "edgeflush_verify_fresh_seconds_count",
            &[("vhost", VHOST)]
        ),
        1.0
    );
    assert_eq!(flushes_of(&r.sim, "https://www.example.com/news.html"), 1);
    // The verifier asked the edge once, after the flush had completed.
    let asked: Vec<_> = r
        .sim
        .edge()
        .requests()
        .into_iter()
        .filter(|q| q.path == "/news.html")
        .collect();
    assert_eq!(asked.len(), 5, "{asked:?}");
    assert_eq!(
        asked[3].cache, "miss",
        "the purge dropped the cached copy: {asked:?}"
    );
}

#[tokio::test]
async fn without_an_origin_the_file_on_disk_is_the_reference() {
    let sim = sim_with_edge().await;
    sim.state().set_faults(Faults {
        edge_ignore_purge_regex: Some("/kept\\.css$".into()),
        ..Faults::default()
    });
    let edge = format!("http://{}", sim.edge_addr().unwrap());
    let r = rig(sim, &edge, false, &[("a.css", "a1"), ("kept.css", "k1")]).await;
    at_edge(&r.sim, "/a.css").await;
    at_edge(&r.sim, "/kept.css").await;
    // Back-dated a minute: the new mtime differs from the old one even
    // within the same second (Last-Modified has second precision).
    for f in ["a.css", "kept.css"] {
        write(&r.d, f, "changed");
        let p = r.d.dir.path().join("public").join(f);
        let t = std::time::SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    r.d.wait_for(
        "the dead letter of kept.css",
        Duration::from_secs(40),
        |s| s["queue"]["failed"].as_u64() == Some(1),
    )
    .await;
    let m = r.d.metrics().await;
    assert_eq!(
        metric(&m, "edgeflush_verify_urls_total", &[("outcome", "fresh")]),
        1.0
    );
    assert_eq!(
        metric(&m, "edgeflush_verify_urls_total", &[("outcome", "stale")]),
        3.0
    );
    assert_eq!(flushes_of(&r.sim, "https://www.example.com/a.css"), 1);
    assert_eq!(flushes_of(&r.sim, "https://www.example.com/kept.css"), 3);
    let logs = r.d.logs();
    assert!(
        logs.contains("fresh at the edge") && logs.contains("size_mtime"),
        "{logs}"
    );
}

#[tokio::test]
async fn an_edge_that_ignores_purges_is_reflushed_then_dead_lettered() {
    let sim = sim_with_edge().await;
    sim.state().set_faults(Faults {
        edge_ignore_purge_regex: Some("/page\\.html$".into()),
        ..Faults::default()
    });
    let edge = format!("http://{}", sim.edge_addr().unwrap());
    let r = rig(
        sim,
        &edge,
        true,
        &[("page.html", "v1"), ("other.html", "o1")],
    )
    .await;
    at_edge(&r.sim, "/page.html").await;
    at_edge(&r.sim, "/other.html").await;
    write(&r.d, "page.html", "v2 is here");
    write(&r.d, "other.html", "o2 is here");

    let s =
        r.d.wait_for("a dead letter", Duration::from_secs(40), |s| {
            s["queue"]["failed"].as_u64() == Some(1)
        })
        .await;
    let dead = &s["dead_letters"][0];
    assert_eq!(dead["url"], "https://www.example.com/page.html");
    assert_eq!(dead["error"], "stale after purge");
    let m = r.d.metrics().await;
    // The first flush and the two re-flushes verification allows.
    assert_eq!(flushes_of(&r.sim, "https://www.example.com/page.html"), 3);
    assert_eq!(
        metric(&m, "edgeflush_verify_reflushes_total", &[("site", "www")]),
        2.0
    );
    assert_eq!(
        metric(&m, "edgeflush_verify_urls_total", &[("outcome", "stale")]),
        3.0
    );
    assert_eq!(
        metric(
            &m,
            "edgeflush_dead_letters_total",
            &[("reason", "stale_after_purge")]
        ),
        1.0
    );
    // The edge that honours purges for the other file: fresh, flushed once.
    assert_eq!(flushes_of(&r.sim, "https://www.example.com/other.html"), 1);
    assert!(metric(&m, "edgeflush_verify_urls_total", &[("outcome", "fresh")]) >= 1.0);
    assert_eq!(at_edge(&r.sim, "/page.html").await.2, "v1");
}

#[tokio::test]
async fn an_unreachable_edge_is_unknown_and_causes_no_storm() {
    // An "edge" that accepts and drops every connection, counting them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    let sim = sim_with_edge().await;
    let r = rig(sim, &format!("http://{addr}"), true, &[]).await;
    for i in 0..10 {
        write(&r.d, &format!("f{i}.css"), "x");
    }
    let m =
        r.d.wait_metric(
            "edgeflush_verify_urls_total",
            &[("outcome", "unknown")],
            10.0,
        )
        .await;
    assert_eq!(
        metric(&m, "edgeflush_verify_urls_total", &[("outcome", "stale")]),
        0.0
    );
    assert_eq!(metric(&m, "edgeflush_verify_reflushes_total", &[]), 0.0);
    assert_eq!(
        r.sim.state().flushed_urls().len(),
        10,
        "each URL flushed once"
    );
    let n = accepted.load(std::sync::atomic::Ordering::SeqCst);
    assert!((1..=3).contains(&n), "{n} connections for 10 URLs");
    let s = r.d.status().await;
    assert_eq!(s["queue"]["confirmed"], 10, "{s:#}");
    assert_eq!(s["queue"]["failed"], 0, "{s:#}");
}
