//! Deploy windows: while the marker file exists (or the API holds the
//! site) purges are queued durably but not due; they are released together
//! when the hold ends, or by `max_hold`.

use crate::rig::{Opts, Rig, SITE, set};

fn marker(max_hold: &str) -> Opts {
    Opts {
        watch: format!("hold_marker = \".edgeflush-hold\"\nmax_hold = \"{max_hold}\""),
        ..Opts::default()
    }
}

#[tokio::test]
async fn the_marker_holds_and_its_removal_releases_together() {
    let mut r = Rig::new(marker("10m"));
    r.start().await;
    r.write(".edgeflush-hold", "");
    r.wait("held", |r| r.status().held).await;
    assert!(r.status().held_by_marker);
    r.write("a.css", "a");
    r.write("b/c.css", "c");
    r.expect_queued(&set(&["a.css", "b/c.css"])).await;
    assert_eq!(r.pending_and_due().await, (2, 0), "queued, held");
    assert_eq!(r.metric("edgeflush_watch_held", &[("site", SITE)]), 1.0);

    std::fs::remove_file(r.path(".edgeflush-hold")).unwrap();
    r.wait("released", |r| !r.status().held).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.pending_and_due().await != (2, 2) {
        assert!(std::time::Instant::now() < deadline, "not released");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The marker itself is never purged.
    assert!(!r.queued().await.contains(&crate::rig::u(".edgeflush-hold")));
}

#[tokio::test]
async fn the_admin_api_holds_and_releases() {
    let mut r = Rig::new(Opts::default());
    r.start().await;
    let s = r.control.hold(SITE).unwrap();
    assert!(s.held_by_api);
    r.wait("held", |r| r.status().held).await;
    r.write("a.css", "a");
    r.expect_queued(&set(&["a.css"])).await;
    assert_eq!(r.pending_and_due().await, (1, 0));
    r.control.release(SITE).unwrap();
    r.wait("released", |r| !r.status().held).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.pending_and_due().await != (1, 1) {
        assert!(std::time::Instant::now() < deadline, "not released");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(r.control.hold("nope").is_err());
}

#[tokio::test]
async fn max_hold_ends_a_forgotten_hold() {
    let mut r = Rig::new(marker("1s"));
    r.start().await;
    r.write(".edgeflush-hold", "");
    r.wait("held", |r| r.status().held).await;
    r.write("a.css", "a");
    r.expect_queued(&set(&["a.css"])).await;
    assert_eq!(r.pending_and_due().await, (1, 0));
    // The marker stays; max_hold releases anyway, and later changes are
    // not held either.
    r.wait("expired", |r| !r.status().held).await;
    assert!(r.status().held_by_marker);
    r.write("b.css", "b");
    r.expect_queued(&set(&["a.css", "b.css"])).await;
    assert_eq!(r.pending_and_due().await, (2, 2));
}

#[tokio::test]
async fn held_purges_survive_a_restart_and_go_out_when_unheld() {
    let mut r = Rig::new(marker("10m"));
    r.start().await;
    r.write(".edgeflush-hold", "");
    r.wait("held", |r| r.status().held).await;
    r.write("a.css", "a");
    r.expect_queued(&set(&["a.css"])).await;
    r.stop().await;
    assert_eq!(r.pending_and_due().await, (1, 0));
    std::fs::remove_file(r.path(".edgeflush-hold")).unwrap();
    r.start().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while r.pending_and_due().await != (1, 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "not released at start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
