//! Deploys that replace trees: a `current -> releases/N` symlink switched
//! atomically (no event inside the tree at all), and rsync of a build.

use crate::rig::{Opts, Rig, set, sh, write};
use std::os::unix::fs::symlink;

#[tokio::test]
async fn a_release_switch_purges_exactly_what_differs() {
    let mut r = Rig::new(Opts {
        root: Some("current".into()),
        ..Opts::default()
    });
    let base = r.base.clone();
    let rel = |n: &str, f: &str| base.join("releases").join(n).join(f);
    for (f, c) in [
        ("index.html", "v1"),
        ("css/a.css", "same"),
        ("js/app.js", "v1"),
        ("old.html", "gone in 2"),
    ] {
        write(&rel("1", f), c);
    }
    for (f, c) in [
        ("index.html", "v1"),
        ("css/a.css", "same"),
        ("js/app.js", "v2"),
        ("new.html", "new in 2"),
    ] {
        write(&rel("2", f), c);
    }
    symlink(r.base.join("releases/1"), r.base.join("current")).unwrap();
    r.start().await;
    assert_eq!(r.status().indexed_files, 4);
    assert!(r.queued().await.is_empty());

    // Capistrano's switch: a new link renamed over the old one.
    symlink(r.base.join("releases/2"), r.base.join("current.tmp")).unwrap();
    std::fs::rename(r.base.join("current.tmp"), r.base.join("current")).unwrap();
    r.expect_queued(&set(&["js/app.js", "old.html", "new.html"]))
        .await;
    let new_root = r.base.join("releases/2").display().to_string();
    r.wait("the new root", |r| {
        r.status().root.as_ref() == Some(&new_root)
    })
    .await;
    assert_eq!(
        r.metric(
            "edgeflush_watch_rescans_total",
            &[("reason", "root_switch")]
        ),
        1.0
    );
    assert_eq!(r.skipped(), 2.0, "index.html and css/a.css are identical");

    // The watches moved: the new release is watched, the old one is not.
    r.clear_queue().await;
    write(&rel("1", "css/stale.css"), "x");
    write(&rel("2", "css/b.css"), "b");
    r.expect_queued(&set(&["css/b.css"])).await;
    assert!(!r.queued().await.contains(&crate::rig::u("css/stale.css")));

    // Switching back with `ln -sfn` works too.
    r.clear_queue().await;
    sh("ln", &["-sfn", "releases/1", "current"], &r.base);
    r.expect_queued(&set(&[
        "js/app.js",
        "old.html",
        "new.html",
        "css/b.css",
        "css/stale.css",
    ]))
    .await;
}

#[tokio::test]
async fn rsync_of_a_tree() {
    let mut r = Rig::new(Opts::default());
    r.start().await;
    let build = r.base.join("build");
    let names: Vec<String> = (0..20).map(|i| format!("d{}/f{i}.css", i % 4)).collect();
    for n in &names {
        write(&build.join(n), n);
    }
    sh("rsync", &["-a", "build/", "public/"], &r.base);
    let all = names.iter().map(|n| crate::rig::u(n)).collect();
    r.expect_queued(&all).await;
    r.clear_queue().await;

    // Every file sent again with the same bytes (-I: ignore times).
    let before = r.skipped();
    sh("rsync", &["-a", "-I", "build/", "public/"], &r.base);
    r.wait("20 identical files", |r| r.skipped() >= before + 20.0)
        .await;
    assert!(r.queued().await.is_empty());

    // Two files changed in the build: only they are purged.
    write(&build.join(&names[3]), "changed");
    write(&build.join(&names[17]), "changed too");
    sh("rsync", &["-a", "build/", "public/"], &r.base);
    r.expect_queued(&set(&[&names[3], &names[17]])).await;
    assert!(r.metric("edgeflush_watch_ignored_total", &[("reason", "temporary")]) > 0.0);
}
