//! The same release written into the roots of three nodes: each watcher
//! sees it in its own file index (per node), and the URLs coalesce in the
//! shared queue, so the API is asked once per URL.

use crate::common::daemon::{Daemon, metric};
use crate::fleet_setup::{fleet, url_of};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

async fn watcher_ready(d: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = d.metrics().await;
        if metric(&m, "edgeflush_watch_rounds_total", &[("site", "www")]) >= 1.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "watcher never ready:\n{}",
            d.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_release_on_three_nodes_is_flushed_once() {
    let Some(f) = fleet(3, |c| {
        c.batch = "linger = \"2s\"\nmax_delay = \"10s\"".into();
        c.extra = "[watch]\nsettle = \"100ms\"\n".into();
    })
    .await
    else {
        return;
    };
    for d in &f.nodes {
        watcher_ready(d).await;
    }
    let files: Vec<String> = (0..60).map(|i| format!("assets/r{i}.css")).collect();
    for d in &f.nodes {
        let root = d.dir.path().join("public");
        std::fs::create_dir_all(root.join("assets")).unwrap();
        for p in &files {
            std::fs::write(root.join(p), format!("body {{ --release: 2; /* {p} */ }}")).unwrap();
        }
    }
    f.wait_confirmed(0, 60, Duration::from_secs(60)).await;
    let flushed = f.sim.state().flushed_urls();
    let expected: BTreeSet<String> = files.iter().map(|p| url_of(p)).collect();
    assert_eq!(
        flushed.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every file's URL"
    );
    assert_eq!(flushed.len(), 60, "each URL flushed once for three nodes");
    let per_node: Vec<(String, i64)> = f
        .db
        .client()
        .await
        .query(
            "SELECT node, COUNT(*) FROM file_index WHERE site = 'www' GROUP BY node ORDER BY node",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        per_node,
        [
            ("node0".to_string(), 60),
            ("node1".to_string(), 60),
            ("node2".to_string(), 60)
        ],
        "each node keeps its own index"
    );
}
