//! Tests for turning a site-relative path into URLs: defaults (file, index,
//! pretty), encoding, rules and exclusion, built through `SiteMap::compile`.

use super::super::testutil::{compile, mapped, pairs, rule, site, urls};
use super::*;

#[test]
fn plain_file_maps_to_its_url_on_the_default_base() {
    let m = compile(&site());
    let list = mapped(&m, "css/a.css");
    assert_eq!(
        list,
        [MappedUrl {
            url: "https://www.example.com/css/a.css".into(),
            path: "/css/a.css".into(),
            rule: "file".into(),
        }]
    );
}

#[test]
fn index_files_purge_their_directory() {
    let m = compile(&site());
    assert_eq!(
        pairs(&mapped(&m, "blog/index.html")),
        [
            ("/blog/index.html", "file"),
            ("/blog/", "index"),
            ("/blog", "index")
        ]
    );
    assert_eq!(
        pairs(&mapped(&m, "index.html")),
        [("/index.html", "file"), ("/", "index")]
    );
    // Only an exact file name is an index file.
    assert_eq!(pairs(&mapped(&m, "blog/myindex.html")).len(), 1);
}

#[test]
fn custom_index_files_replace_the_default() {
    let mut raw = site();
    raw.index_files = Some(vec!["index.htm".into(), "default.html".into()]);
    let m = compile(&raw);
    assert_eq!(mapped(&m, "a/index.html").len(), 1);
    assert_eq!(mapped(&m, "a/index.htm").len(), 3);
    assert_eq!(mapped(&m, "a/default.html").len(), 3);
    raw.index_files = Some(vec![]);
    assert_eq!(mapped(&compile(&raw), "index.html").len(), 1);
}

#[test]
fn pretty_urls_add_the_extensionless_url() {
    let mut raw = site();
    raw.pretty_urls = true;
    let m = compile(&raw);
    assert_eq!(
        pairs(&mapped(&m, "about.html")),
        [("/about.html", "file"), ("/about", "pretty")]
    );
    assert_eq!(
        pairs(&mapped(&m, "blog/post.html")),
        [("/blog/post.html", "file"), ("/blog/post", "pretty")]
    );
    assert_eq!(mapped(&m, "a.css").len(), 1);
    assert_eq!(mapped(&m, ".html").len(), 1);
    // Index files get their directory URLs, not `/blog/index`.
    let list = mapped(&m, "blog/index.html");
    let paths = pairs(&list);
    assert!(!paths.iter().any(|(p, _)| *p == "/blog/index"), "{paths:?}");
    raw.pretty_urls = false;
    assert_eq!(mapped(&compile(&raw), "about.html").len(), 1);
}

#[test]
fn every_base_url_gets_every_path_and_prefixes_are_kept() {
    let mut raw = site();
    raw.base_urls = vec![
        "https://www.example.com/".into(),
        "http://EXAMPLE.com:8080/docs//".into(),
    ];
    let m = compile(&raw);
    assert_eq!(
        m.base_urls(),
        ["https://www.example.com", "http://example.com:8080/docs"]
    );
    let list = mapped(&m, "guide/index.html");
    let got: Vec<(&str, &str)> = list
        .iter()
        .map(|u| (u.url.as_str(), u.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "https://www.example.com/guide/index.html",
                "/guide/index.html"
            ),
            (
                "http://example.com:8080/docs/guide/index.html",
                "/docs/guide/index.html"
            ),
            ("https://www.example.com/guide/", "/guide/"),
            ("http://example.com:8080/docs/guide/", "/docs/guide/"),
            ("https://www.example.com/guide", "/guide"),
            ("http://example.com:8080/docs/guide", "/docs/guide"),
        ]
    );
    let top = mapped(&m, "index.html");
    assert!(top.iter().any(|u| u.url == "http://example.com:8080/docs/"));
}

#[test]
fn produced_urls_parse_back_to_their_path() {
    let mut raw = site();
    raw.base_urls = vec!["https://www.example.com/docs".into()];
    raw.pretty_urls = true;
    let m = compile(&raw);
    for rel in ["a b/ü#?%.html", "x/index.html", "y.html"] {
        for u in mapped(&m, rel) {
            let parsed = reqwest::Url::parse(&u.url).unwrap();
            assert_eq!(parsed.path(), u.path, "{u:?}");
            assert_eq!(parsed.as_str(), u.url, "{u:?}");
        }
    }
}

#[test]
fn names_are_percent_encoded_per_segment() {
    let m = compile(&site());
    let path = |rel: &str| mapped(&m, rel)[0].path.clone();
    assert_eq!(path("my docs/a b.pdf"), "/my%20docs/a%20b.pdf");
    assert_eq!(
        path("naïve/日本.html"),
        "/na%C3%AFve/%E6%97%A5%E6%9C%AC.html"
    );
    assert_eq!(path("c#/q?.html"), "/c%23/q%3F.html");
    assert_eq!(path("100%.html"), "/100%25.html");
    assert_eq!(path("a%20b.html"), "/a%2520b.html");
    assert_eq!(
        path("a+b,c;d=e@f:g!$&'()*~.html"),
        "/a+b,c;d=e@f:g!$&'()*~.html"
    );
}

#[test]
fn rules_use_captures_and_keep_default() {
    let mut raw = site();
    raw.rule = vec![
        rule("content/posts/*.md", &["/blog/{stem}/"], Some(false)),
        rule("assets/**/*.css", &["/{dir}/", "/all/{stem}.{ext}"], None),
    ];
    let m = compile(&raw);
    assert_eq!(
        pairs(&mapped(&m, "content/posts/hello world.md")),
        [("/blog/hello%20world/", "rule[0] content/posts/*.md")]
    );
    // `*` does not cross `/`.
    assert_eq!(
        pairs(&mapped(&m, "content/posts/2024/x.md")),
        [("/content/posts/2024/x.md", "file")]
    );
    // `**` does; keep_default (None = true) keeps the file URL first.
    assert_eq!(
        pairs(&mapped(&m, "assets/v1/site.css")),
        [
            ("/assets/v1/site.css", "file"),
            ("/assets/v1/", "rule[1] assets/**/*.css"),
            ("/all/site.css", "rule[1] assets/**/*.css"),
        ]
    );
}

#[test]
fn several_matching_rules_all_apply_and_opt_out_wins() {
    let mut raw = site();
    raw.rule = vec![
        rule("docs/*.md", &["/docs/{stem}/"], Some(true)),
        rule("**/*.md", &["/search.json"], Some(false)),
        rule("*.md", &["/docs/{stem}/"], None),
    ];
    let m = compile(&raw);
    assert_eq!(
        pairs(&mapped(&m, "docs/a.md")),
        [
            ("/docs/a/", "rule[0] docs/*.md"),
            ("/search.json", "rule[1] **/*.md")
        ]
    );
    // Duplicates keep the first label.
    let mut raw = site();
    raw.rule = vec![rule("*.html", &["/{name}"], None)];
    assert_eq!(
        pairs(&mapped(&compile(&raw), "a.html")),
        [("/a.html", "file")]
    );
}

#[test]
fn absolute_rule_urls_are_not_multiplied_by_base_urls() {
    let mut raw = site();
    raw.base_urls = vec![
        "https://www.example.com".into(),
        "https://example.com".into(),
    ];
    raw.rule = vec![rule(
        "img/*",
        &["https://img.example.com/{name}"],
        Some(false),
    )];
    let list = mapped(&compile(&raw), "img/a b.png");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].url, "https://img.example.com/a%20b.png");
    assert_eq!(list[0].path, "/a%20b.png");
}

#[test]
fn exclude_is_an_outcome_and_wins_over_rules() {
    let mut raw = site();
    raw.exclude = vec!["**/*.tmp".into(), "drafts/**".into(), "*.tmp".into()];
    raw.rule = vec![rule("drafts/*.md", &["/x/"], None)];
    let m = compile(&raw);
    assert_eq!(
        m.map_relative("drafts/a.md").unwrap(),
        MapOutcome::Excluded {
            glob: "drafts/**".into()
        }
    );
    assert_eq!(
        m.map_relative("x.tmp").unwrap(),
        MapOutcome::Excluded {
            glob: "**/*.tmp".into()
        }
    );
    assert!(m.is_excluded("a/b/c.tmp"));
    assert!(!m.is_excluded("a/b/c.html"));
    assert!(!m.is_excluded("../x.tmp"));
    assert_eq!(urls(m.map_relative("a.md").unwrap()).len(), 1);
}

#[test]
fn escaping_and_malformed_relative_paths_are_refused() {
    let m = compile(&site());
    let kind = |p: &str| m.map_relative(p).unwrap_err().kind();
    assert_eq!(kind("../secret"), "outside_root");
    assert_eq!(kind("a/../../secret"), "outside_root");
    assert_eq!(kind("/etc/passwd"), "outside_root");
    assert_eq!(kind("a\0.html"), "invalid_path");
    assert_eq!(kind("a//b.html"), "invalid_path");
    assert_eq!(kind(""), "invalid_path");
    assert_eq!(urls(m.map_relative("a/../b.html").unwrap()).len(), 1);
}
