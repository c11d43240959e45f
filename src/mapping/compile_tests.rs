//! Tests for `SiteMap::compile`: defaults, normalisation, and that every
//! error is reported with the key that holds it.

use super::*;
use crate::config::raw::RawRule;

fn site() -> RawSite {
    RawSite {
        name: "www".into(),
        vhost: "www.example.com".into(),
        ..RawSite::default()
    }
}

fn errors(raw: &RawSite) -> Vec<String> {
    SiteMap::compile(raw, 3).unwrap_err()
}

fn has(errs: &[String], prefix: &str, needle: &str) -> bool {
    errs.iter()
        .any(|e| e.starts_with(prefix) && e.contains(needle))
}

#[test]
fn minimal_site_gets_defaults() {
    let mut raw = site();
    raw.vhost = "WWW.Example.COM".into();
    let m = SiteMap::compile(&raw, 0).unwrap();
    assert_eq!(m.name(), "www");
    assert_eq!(m.vhost(), "www.example.com");
    assert_eq!(m.base_urls(), ["https://www.example.com"]);
    assert_eq!(m.root(), None);
}

#[test]
fn bad_name_is_keyed_by_index() {
    for name in ["", "my site", "a/b", "é"] {
        let mut raw = site();
        raw.name = name.into();
        let errs = errors(&raw);
        assert!(has(&errs, "site[3].name:", "A-Z"), "{errs:?}");
    }
    for name in ["a", "A-b_9"] {
        let mut raw = site();
        raw.name = name.into();
        assert!(SiteMap::compile(&raw, 0).is_ok(), "{name}");
    }
}

#[test]
fn vhost_must_be_a_hostname() {
    for vhost in [
        "",
        "exa mple.com",
        "-a.com",
        "a-.com",
        "a..com",
        "https://a.com",
        "a.com:80",
        "a_b.com",
    ] {
        let mut raw = site();
        raw.vhost = vhost.into();
        assert!(has(&errors(&raw), "site[www].vhost:", ""), "{vhost:?}");
    }
    let mut raw = site();
    raw.vhost = "127.0.0.1".into();
    assert!(SiteMap::compile(&raw, 0).is_ok());
}

#[test]
fn base_urls_are_validated_without_echoing_credentials() {
    let mut raw = site();
    raw.base_urls = vec![
        "https://www.example.com".into(),
        "ftp://example.com".into(),
        "not a url".into(),
        "https://user:s3cret@example.com".into(),
        "https://example.com/?a=1".into(),
        "https://www.example.com/".into(),
        "https://example.com/a//b".into(),
    ];
    let errs = errors(&raw);
    assert!(has(&errs, "site[www].base_urls[1]:", "scheme"), "{errs:?}");
    assert!(
        has(&errs, "site[www].base_urls[2]:", "not a URL"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "site[www].base_urls[3]:", "credentials"),
        "{errs:?}"
    );
    assert!(has(&errs, "site[www].base_urls[4]:", "query"), "{errs:?}");
    assert!(has(
        &errs,
        "site[www].base_urls[5]:",
        "duplicate of base_urls[0]"
    ));
    assert!(has(&errs, "site[www].base_urls[6]:", "//"), "{errs:?}");
    assert_eq!(errs.len(), 6, "{errs:?}");
    assert!(errs.iter().all(|e| !e.contains("s3cret")), "{errs:?}");
}

#[test]
fn root_must_be_absolute_and_is_normalised() {
    let mut raw = site();
    raw.root = Some("var/www".into());
    assert!(has(&errors(&raw), "site[www].root:", "absolute"));
    raw.root = Some("/var/www/./site/../html/".into());
    let m = SiteMap::compile(&raw, 0).unwrap();
    assert_eq!(m.root(), Some(Path::new("/var/www/html")));
}

#[test]
fn repo_prefix_and_index_files_are_checked() {
    let mut raw = site();
    raw.repo_prefix = Some("../public".into());
    raw.index_files = Some(vec!["index.html".into(), "a/index.html".into(), "".into()]);
    let errs = errors(&raw);
    assert!(has(&errs, "site[www].repo_prefix:", ""), "{errs:?}");
    assert!(has(&errs, "site[www].index_files[1]:", "plain file name"));
    assert!(has(&errs, "site[www].index_files[2]:", "plain file name"));
    assert_eq!(errs.len(), 3, "{errs:?}");
}

#[test]
fn globs_and_templates_name_their_key() {
    let mut raw = site();
    raw.exclude = vec!["*.tmp".into(), "[".into()];
    raw.rule = vec![
        RawRule {
            glob: "content/*.md".into(),
            urls: vec!["/ok/{stem}/".into(), "/blog/{slug}/".into()],
            keep_default: None,
        },
        RawRule {
            glob: "a/[".into(),
            urls: vec![],
            keep_default: Some(false),
        },
        RawRule {
            glob: "/abs/*.md".into(),
            urls: vec!["relative/{stem}".into()],
            keep_default: None,
        },
    ];
    raw.also_purge = vec!["/".into(), "/feed/{stem}".into(), "/a b".into()];
    raw.full_purge = vec!["https://bob:pw@example.com/".into()];
    let errs = errors(&raw);
    assert!(
        has(&errs, "site[www].exclude[1]:", "invalid glob `[`"),
        "{errs:?}"
    );
    assert!(
        has(&errs, "site[www].rule[0].urls[1]:", "`{slug}`"),
        "{errs:?}"
    );
    assert!(has(&errs, "site[www].rule[1].glob:", "invalid glob `a/[`"));
    assert!(has(&errs, "site[www].rule[1].urls:", "empty"), "{errs:?}");
    assert!(has(
        &errs,
        "site[www].rule[2].glob:",
        "relative to the site root"
    ));
    assert!(has(&errs, "site[www].rule[2].urls[0]:", "must start with"));
    assert!(has(
        &errs,
        "site[www].also_purge[1]:",
        "only allowed in rule urls"
    ));
    assert!(has(&errs, "site[www].also_purge[2]:", "percent-encoded"));
    assert!(has(&errs, "site[www].full_purge[0]:", "credentials"));
    assert_eq!(errs.len(), 9, "{errs:?}");
    assert!(errs.iter().all(|e| !e.contains("bob:pw")), "{errs:?}");
}

#[test]
fn all_errors_are_collected_at_once() {
    let raw = RawSite {
        name: "bad name".into(),
        vhost: "".into(),
        root: Some("rel".into()),
        exclude: vec!["[".into()],
        ..RawSite::default()
    };
    let errs = SiteMap::compile(&raw, 7).unwrap_err();
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs.iter().all(|e| e.starts_with("site[7].")), "{errs:?}");
}
