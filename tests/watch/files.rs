//! Everyday file operations under a watched root and exactly what each one
//! queues: create, modify, delete, rename, `mkdir -p`, `rm -rf`, a folder
//! moved, a temp file renamed into place, identical rewrites (nothing),
//! scratch files (nothing), and the first start (index only).

use crate::rig::{Opts, Rig, SITE, set, sh, write};
use edgeflush::sources::watch::site_files;

#[tokio::test]
async fn first_start_indexes_without_purging() {
    let mut r = Rig::new(Opts::default());
    r.write("index.html", "home");
    r.write("css/a.css", "a");
    r.write(".git/HEAD", "ref: refs/heads/main");
    r.write("upload.tmp", "scratch");
    assert_eq!(site_files(&*r.store, SITE).await.unwrap(), None);
    r.start().await;
    assert!(r.queued().await.is_empty());
    assert_eq!(r.status().indexed_files, 2);
    assert_eq!(
        site_files(&*r.store, SITE).await.unwrap().unwrap(),
        vec!["css/a.css", "index.html"]
    );
    // Watches: the root and css/ (not .git/).
    assert_eq!(r.status().watches, 2 + 1, "two directories and the anchor");
    // The watcher is live after the first start: a change is purged.
    r.write("css/a.css", "b");
    r.expect_queued(&set(&["css/a.css"])).await;
}

#[tokio::test]
async fn create_modify_rename_delete() {
    let mut r = Rig::new(Opts::default());
    r.start().await;
    r.write("css/a.css", "1");
    r.expect_queued(&set(&["css/a.css"])).await;
    r.clear_queue().await;

    r.write("css/a.css", "2");
    r.expect_queued(&set(&["css/a.css"])).await;
    r.clear_queue().await;

    std::fs::rename(r.path("css/a.css"), r.path("css/b.css")).unwrap();
    r.expect_queued(&set(&["css/a.css", "css/b.css"])).await;
    r.clear_queue().await;

    std::fs::remove_file(r.path("css/b.css")).unwrap();
    r.expect_queued(&set(&["css/b.css"])).await;
    r.wait("an empty index", |r| r.status().indexed_files == 0)
        .await;
    let m = |c| r.metric("edgeflush_watch_files_purged_total", &[("change", c)]);
    assert_eq!((m("added"), m("modified"), m("removed")), (2.0, 1.0, 2.0));
}

#[tokio::test]
async fn mkdir_p_then_rm_rf() {
    let mut r = Rig::new(Opts::default());
    r.start().await;
    std::fs::create_dir_all(r.path("a/b/c")).unwrap();
    r.write("a/b/c/1.css", "1");
    r.write("a/b/2.css", "2");
    r.write("a/3.css", "3");
    let all = set(&["a/b/c/1.css", "a/b/2.css", "a/3.css"]);
    r.expect_queued(&all).await;
    r.clear_queue().await;
    // The new directories are watched: a later write in the deepest one.
    r.write("a/b/c/4.css", "4");
    r.expect_queued(&set(&["a/b/c/4.css"])).await;
    r.clear_queue().await;

    std::fs::remove_dir_all(r.path("a")).unwrap();
    r.expect_queued(&set(&[
        "a/b/c/1.css",
        "a/b/2.css",
        "a/3.css",
        "a/b/c/4.css",
    ]))
    .await;
    r.wait("an empty index", |r| r.status().indexed_files == 0)
        .await;
}

#[tokio::test]
async fn a_directory_moved_purges_old_and_new_paths() {
    let mut r = Rig::new(Opts::default());
    r.write("docs/x.html", "x");
    r.write("docs/sub/y.css", "y");
    r.write("keep.css", "k");
    r.start().await;
    std::fs::rename(r.path("docs"), r.path("manual")).unwrap();
    r.expect_queued(&set(&[
        "docs/x.html",
        "docs/sub/y.css",
        "manual/x.html",
        "manual/sub/y.css",
    ]))
    .await;
    r.clear_queue().await;
    // The watches moved with the folder.
    r.write("manual/sub/z.css", "z");
    r.expect_queued(&set(&["manual/sub/z.css"])).await;
    // A folder moved out of the root is a removal, one moved in an addition.
    r.clear_queue().await;
    std::fs::rename(r.path("manual"), r.base.join("outside")).unwrap();
    r.expect_queued(&set(&[
        "manual/x.html",
        "manual/sub/y.css",
        "manual/sub/z.css",
    ]))
    .await;
    r.clear_queue().await;
    std::fs::rename(r.base.join("outside"), r.path("back")).unwrap();
    r.expect_queued(&set(&["back/x.html", "back/sub/y.css", "back/sub/z.css"]))
        .await;
}

#[tokio::test]
async fn a_temp_file_renamed_into_place_purges_the_final_name_only() {
    let mut r = Rig::new(Opts::default());
    r.write("app.js", "old");
    r.start().await;
    r.write(".app.js.Xy12Zq", "new");
    std::fs::rename(r.path(".app.js.Xy12Zq"), r.path("app.js")).unwrap();
    r.expect_queued(&set(&["app.js"])).await;
    // Editors: vim's probe and swap files, a backup, a tmp file; then one
    // real change proves the round ran.
    for scratch in ["4913", ".app.js.swp", "app.js~", "save.tmp", ".#app.js"] {
        r.write(scratch, "x");
    }
    r.write("real.css", "r");
    r.expect_queued(&set(&["app.js", "real.css"])).await;
    assert!(r.metric("edgeflush_watch_ignored_total", &[("reason", "temporary")]) >= 6.0);
}

#[tokio::test]
async fn identical_rewrites_queue_nothing() {
    let mut r = Rig::new(Opts::default());
    r.write("a.css", "same");
    r.write("b/c.css", "same too");
    r.start().await;
    let skipped = |r: &Rig, n: f64| r.skipped() >= n;

    r.write("a.css", "same");
    r.wait("a rewrite with the same bytes", |r| skipped(r, 1.0))
        .await;
    sh("touch", &["b/c.css"], &r.root);
    r.wait("a touch", |r| skipped(r, 2.0)).await;
    // A full copy of an identical build over the root.
    let build = r.base.join("build");
    write(&build.join("a.css"), "same");
    write(&build.join("b/c.css"), "same too");
    sh("cp", &["-r", "build/.", "public/"], &r.base);
    r.wait("the copied build", |r| skipped(r, 4.0)).await;
    assert!(r.queued().await.is_empty());
    // Alive all along: a real change is purged.
    r.write("b/c.css", "changed");
    r.expect_queued(&set(&["b/c.css"])).await;
}

#[tokio::test]
async fn scratch_vcs_ignored_and_excluded_paths_queue_nothing() {
    let mut r = Rig::new(Opts {
        watch: "ignore = [\"drafts/**\", \"drafts\"]".into(),
        site_extra: "exclude = [\"private/**\"]".into(),
        ..Opts::default()
    });
    r.start().await;
    r.write(".git/config", "[core]");
    r.write(".git/objects/ab/cdef", "blob");
    r.write("drafts/post.html", "draft");
    r.write("private/secret.html", "s");
    r.write("x.tmp", "t");
    r.write("real.html", "r");
    r.expect_queued(&set(&["real.html"])).await;
    r.wait("real.html indexed", |r| r.status().indexed_files == 1)
        .await;
    assert_eq!(
        site_files(&*r.store, SITE).await.unwrap().unwrap(),
        vec!["real.html"]
    );
    let ignored = |why| r.metric("edgeflush_watch_ignored_total", &[("reason", why)]);
    assert!(ignored("temporary") >= 1.0, "x.tmp");
}
