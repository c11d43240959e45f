//! Tests for the other entry points: repo paths, watcher paths (real temp
//! dirs and symlinks), operator input, and the per-change-set URL lists.

use super::super::testutil::{compile, mapped, site, urls};
use super::*;

#[test]
fn repo_paths_honour_the_prefix() {
    let mut raw = site();
    raw.repo_prefix = Some("/public/".into());
    let m = compile(&raw);
    let got = m.map_repo_path("public/blog/a.css").unwrap().unwrap();
    assert_eq!(urls(got), ["https://www.example.com/blog/a.css"]);
    assert_eq!(m.map_repo_path("src/main.rs").unwrap(), None);
    assert_eq!(m.map_repo_path("publicity/a.css").unwrap(), None);
    assert_eq!(m.map_repo_path("public").unwrap(), None);
    assert_eq!(
        m.map_repo_path("public/../../x").unwrap_err().kind(),
        "outside_root"
    );
    // No prefix: the whole repo is the site.
    let m = compile(&site());
    let got = m.map_repo_path("blog/a.css").unwrap().unwrap();
    assert_eq!(urls(got), ["https://www.example.com/blog/a.css"]);
}

#[test]
fn operator_paths_join_every_base_url() {
    let mut raw = site();
    raw.base_urls = vec![
        "https://www.example.com".into(),
        "https://example.com/docs".into(),
    ];
    let m = compile(&raw);
    let got = m.urls_for_url_or_path("/my page/%20x").unwrap();
    assert_eq!(
        got.iter().map(|u| u.url.as_str()).collect::<Vec<_>>(),
        [
            "https://www.example.com/my%20page/%20x",
            "https://example.com/docs/my%20page/%20x"
        ]
    );
    assert!(got.iter().all(|u| u.rule == "operator"));
    let kind = |s: &str| m.urls_for_url_or_path(s).unwrap_err().kind();
    assert_eq!(kind("blog/a.css"), "invalid_path");
    assert_eq!(kind("/a/../b"), "invalid_path");
    assert_eq!(kind("/a?x=1"), "invalid_path");
}

#[test]
fn operator_urls_must_be_under_a_base_url() {
    let mut raw = site();
    raw.base_urls = vec![
        "https://www.example.com".into(),
        "https://example.com/docs".into(),
    ];
    let m = compile(&raw);
    let ok = m
        .urls_for_url_or_path("HTTPS://example.com/docs/a b.css")
        .unwrap();
    assert_eq!(
        ok,
        [MappedUrl {
            url: "https://example.com/docs/a%20b.css".into(),
            path: "/docs/a%20b.css".into(),
            rule: "operator".into(),
        }]
    );
    assert_eq!(
        m.urls_for_url_or_path("https://example.com/docs").unwrap()[0].path,
        "/docs"
    );
    let kind = |s: &str| m.urls_for_url_or_path(s).unwrap_err().kind();
    assert_eq!(kind("https://example.com/docsx/a.css"), "foreign_url");
    assert_eq!(kind("https://example.com/a.css"), "foreign_url");
    assert_eq!(kind("http://www.example.com/a.css"), "foreign_url");
    assert_eq!(kind("https://evil.com/a.css"), "foreign_url");
    assert_eq!(kind("https://www.example.com/a.css?v=1"), "invalid_url");
    assert_eq!(kind("https://www.example.com/a.css#x"), "invalid_url");
    assert_eq!(kind("https://"), "invalid_url");
    let e = m
        .urls_for_url_or_path("https://bob:hunter2@www.example.com/a.css")
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_url");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
}

#[test]
fn also_and_full_purge_are_exposed_separately() {
    let mut raw = site();
    raw.base_urls = vec![
        "https://www.example.com".into(),
        "https://example.com".into(),
    ];
    raw.also_purge = vec!["/".into(), "/sitemap.xml".into(), "/feed.xml".into()];
    raw.full_purge = vec!["/*".into(), "https://cdn.example.com/all".into()];
    let m = compile(&raw);
    assert_eq!(mapped(&m, "a.css").len(), 2, "also_purge is not mixed in");
    let also = m.also_purge_urls();
    assert_eq!(also.len(), 6);
    assert!(also.iter().all(|u| u.rule == "also_purge"));
    assert_eq!(also[0].url, "https://www.example.com/");
    assert_eq!(also[3].url, "https://example.com/sitemap.xml");
    let full: Vec<String> = m.full_purge_urls().into_iter().map(|u| u.url).collect();
    assert_eq!(
        full,
        [
            "https://www.example.com/*",
            "https://example.com/*",
            "https://cdn.example.com/all"
        ]
    );
    assert!(compile(&site()).also_purge_urls().is_empty());
}

#[cfg(unix)]
#[test]
fn fs_paths_map_inside_the_root_only() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let root = base.join("www");
    std::fs::create_dir_all(root.join("blog")).unwrap();
    std::fs::write(root.join("blog/index.html"), "x").unwrap();
    std::fs::create_dir_all(base.join("private")).unwrap();
    symlink(base.join("private"), root.join("leak")).unwrap();
    let mut raw = site();
    raw.root = Some(format!("{}/./", root.display()));
    let m = compile(&raw);
    assert_eq!(m.root(), Some(root.as_path()));
    assert_eq!(
        urls(m.map_fs_path(&root.join("blog/index.html")).unwrap()),
        [
            "https://www.example.com/blog/index.html",
            "https://www.example.com/blog/",
            "https://www.example.com/blog"
        ]
    );
    let kind = |p: &Path| m.map_fs_path(p).unwrap_err().kind();
    assert_eq!(kind(&root.join("leak/key.html")), "outside_root");
    assert_eq!(kind(&root.join("../private/key.html")), "outside_root");
    assert_eq!(kind(&base.join("private/key.html")), "outside_root");
    assert_eq!(kind(Path::new("blog/index.html")), "invalid_path");
    assert_eq!(
        compile(&site())
            .map_fs_path(&root.join("a.html"))
            .unwrap_err()
            .kind(),
        "no_root"
    );
}

#[cfg(unix)]
#[test]
fn fs_paths_with_non_utf8_names_are_byte_encoded() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let mut raw = site();
    raw.root = Some(root.display().to_string());
    raw.exclude = vec!["*.tmp".into()];
    let m = compile(&raw);
    let abs = root.join(OsStr::from_bytes(b"caf\xe9 menu.html"));
    assert_eq!(
        urls(m.map_fs_path(&abs).unwrap()),
        ["https://www.example.com/caf%E9%20menu.html"]
    );
    let abs = root.join(OsStr::from_bytes(b"x\xff.tmp"));
    assert!(matches!(
        m.map_fs_path(&abs).unwrap(),
        MapOutcome::Excluded { .. }
    ));
}
