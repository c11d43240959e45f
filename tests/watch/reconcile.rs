//! Whole-root comparisons: changes made while the watcher was stopped, an
//! overflow of the kernel's queue (injected through the test seam), and a
//! channel too small for a burst. Each purges exactly the differences.

use crate::rig::{Opts, Rig, SITE, set, sh};
use edgeflush::queue::Store;
use notify::event::{EventKind, Flag};

#[tokio::test]
async fn changes_made_while_stopped_are_purged_at_start() {
    let mut r = Rig::new(Opts::default());
    r.write("a.css", "a");
    r.write("b.css", "b");
    r.write("d/c.css", "c");
    r.write("d/e.css", "e");
    r.start().await;
    r.stop().await;
    r.write("a.css", "a2");
    std::fs::remove_file(r.path("b.css")).unwrap();
    r.write("new.css", "n");
    sh("touch", &["d/c.css"], &r.root);
    std::fs::remove_dir_all(r.path("d")).unwrap_or(());
    r.write("d/c.css", "c");
    r.start().await;
    r.expect_queued(&set(&["a.css", "b.css", "new.css", "d/e.css"]))
        .await;
    let rows = r.store.recent_purges(100, None).await.unwrap();
    assert!(
        rows.iter()
            .all(|p| p.origin.kind == "reconcile" && p.origin.reference == "startup")
    );
    assert_eq!(
        r.skipped(),
        1.0,
        "d/c.css was rewritten with the same bytes"
    );
    assert_eq!(
        r.metric("edgeflush_watch_rescans_total", &[("reason", "startup")]),
        2.0
    );
}

fn overflow() -> notify::Result<notify::Event> {
    Ok(notify::Event::new(EventKind::Other).set_flag(Flag::Rescan))
}

#[tokio::test]
async fn kernel_overflow_rescans_and_purges_only_differences() {
    let mut r = Rig::new(Opts::default());
    for i in 0..50 {
        r.write(&format!("f/{i}.js"), &i.to_string());
    }
    r.start().await;
    let rounds = r.status().rounds;
    r.control.inject(SITE, overflow()).unwrap();
    r.wait_round(rounds).await;
    assert_eq!(
        r.metric("edgeflush_watch_rescans_total", &[("reason", "overflow")]),
        1.0
    );
    assert!(r.queued().await.is_empty(), "nothing differs");
    assert_eq!(r.skipped(), 0.0, "unchanged stamps are not even read");
    // Changes and an overflow together: the rescan finds exactly them.
    r.write("f/3.js", "three");
    r.write("f/44.js", "forty-four");
    std::fs::remove_file(r.path("f/7.js")).unwrap();
    r.control.inject(SITE, overflow()).unwrap();
    r.expect_queued(&set(&["f/3.js", "f/44.js", "f/7.js"]))
        .await;
    r.wait("49 indexed files", |r| r.status().indexed_files == 49)
        .await;
    // The watches were rebuilt and still work.
    r.clear_queue().await;
    r.write("f/new.js", "n");
    r.expect_queued(&set(&["f/new.js"])).await;
}

#[tokio::test]
async fn a_full_channel_loses_no_change() {
    let mut r = Rig::new(Opts {
        watch: "channel_capacity = 1".into(),
        ..Opts::default()
    });
    std::fs::create_dir(r.path("burst")).unwrap();
    r.start().await;
    // Written without yielding into a watched folder: the worker cannot
    // drain meanwhile, so the one-slot channel overflows for sure.
    let names: Vec<String> = (0..300).map(|i| format!("burst/{i}.css")).collect();
    for n in &names {
        r.write(n, n);
    }
    let want = names.iter().map(|n| crate::rig::u(n)).collect();
    r.expect_queued(&want).await;
    assert!(
        r.metric(
            "edgeflush_watch_rescans_total",
            &[("reason", "channel_full")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn a_rescan_can_be_requested() {
    let mut r = Rig::new(Opts::default());
    r.write("a.css", "a");
    r.start().await;
    let rounds = r.status().rounds;
    r.control.rescan(SITE).unwrap();
    r.wait_round(rounds).await;
    assert_eq!(
        r.metric("edgeflush_watch_rescans_total", &[("reason", "request")]),
        1.0
    );
    assert!(r.queued().await.is_empty());
    assert!(r.control.rescan("nope").is_err());
}
