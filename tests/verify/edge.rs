//! The simulated edge on its own, through the API client: a cached copy is
//! served with its origin's validators and an `Age` until the vhost's `ttl`
//! runs out or a flush of its URL completes, unknown hosts are refused, and
//! the `edge_ignore_purge_regex` fault keeps a copy past its purge.

use super::{at_edge, sim_with_edge};
use crate::common::{VHOST, client_for};
use edgeflush::cloakfusion::PropertiesSpec;
use edgeflush::simulator::{self, Faults};
use std::time::Duration;

#[tokio::test]
async fn the_edge_caches_until_ttl_or_a_completed_flush() {
    let sim = sim_with_edge().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.css"), "one").unwrap();
    let origin = simulator::serve_dir(dir.path().to_path_buf(), "127.0.0.1:0").unwrap();
    sim.state().upsert_vhost("www", VHOST, &origin.url());
    let client = client_for(&sim);

    assert_eq!(
        at_edge(&sim, "/a.css").await,
        (200, "MISS".into(), "one".into())
    );
    std::fs::write(dir.path().join("a.css"), "two").unwrap();
    assert_eq!(
        at_edge(&sim, "/a.css").await,
        (200, "HIT".into(), "one".into())
    );
    let r = reqwest::Client::new()
        .head(format!("http://{}/a.css", sim.edge_addr().unwrap()))
        .header("Host", VHOST)
        .send()
        .await
        .unwrap();
    assert!(r.headers()["etag"].to_str().unwrap().starts_with('"'));
    assert!(r.headers().contains_key("last-modified"));
    assert!(r.headers().contains_key("age"));

    // A flush drops the copy once it completes (100 ms), not before.
    client
        .flush(&["https://www.example.com/a.css".to_string()])
        .await
        .unwrap();
    assert_eq!(
        at_edge(&sim, "/a.css").await.2,
        "one",
        "flush still pending"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        at_edge(&sim, "/a.css").await,
        (200, "MISS".into(), "two".into())
    );

    // ttl 1 s: the copy expires on its own.
    client
        .set_properties(&PropertiesSpec {
            vhost: VHOST.into(),
            ttl: 1,
            cname: None,
            gzip: None,
            ssl: None,
            override_hostheader: None,
            host_header: None,
        })
        .await
        .unwrap();
    std::fs::write(dir.path().join("a.css"), "three").unwrap();
    assert_eq!(at_edge(&sim, "/a.css").await.2, "two");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(at_edge(&sim, "/a.css").await.2, "three");

    // An edge that ignores purges keeps serving the old copy.
    sim.state().set_faults(Faults {
        edge_ignore_purge_regex: Some("a\\.css$".into()),
        ..Faults::default()
    });
    std::fs::write(dir.path().join("a.css"), "four").unwrap();
    client
        .flush(&["https://www.example.com/a.css".to_string()])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        at_edge(&sim, "/a.css").await,
        (200, "HIT".into(), "three".into())
    );

    // Hosts no vhost serves, and methods an edge does not take.
    let r = reqwest::Client::new()
        .get(format!("http://{}/a.css", sim.edge_addr().unwrap()))
        .header("Host", "nobody.test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = reqwest::Client::new()
        .post(format!("http://{}/a.css", sim.edge_addr().unwrap()))
        .header("Host", VHOST)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let log = sim.edge().requests();
    assert!(log.iter().any(|q| q.cache == "hit") && log.iter().any(|q| q.cache == "miss"));
    assert!(
        log.iter()
            .any(|q| q.host == "nobody.test" && q.status == 404)
    );
}

#[tokio::test]
async fn an_unreachable_origin_is_a_502_and_is_not_cached() {
    let sim = sim_with_edge().await;
    let port = crate::common::daemon::free_port();
    sim.state()
        .upsert_vhost("www", VHOST, &format!("http://127.0.0.1:{port}/"));
    assert_eq!(at_edge(&sim, "/x").await.0, 502);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x"), "now").unwrap();
    let _origin =
        simulator::serve_dir(dir.path().to_path_buf(), &format!("127.0.0.1:{port}")).unwrap();
    assert_eq!(
        at_edge(&sim, "/x").await,
        (200, "MISS".into(), "now".into())
    );
}
