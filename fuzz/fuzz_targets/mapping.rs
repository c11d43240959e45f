//! The mapping: the input is a path (bytes; UTF-8 or not) mapped as a
//! site-relative path, a repo path, a filesystem path under a real root, an
//! operator path or URL, and read back from a URL. Every URL produced must
//! stay below a base URL of the site and hold no dot segment; every path
//! URL is percent-encoded (only RFC 3986 pchar and `/` raw).

#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use edgeflush::fuzzing::{MapOutcome, MappedUrl, RawRule, RawSite, SiteMap};
use libfuzzer_sys::fuzz_target;

const BASES: [&str; 2] = ["https://www.example.com", "https://a.test/docs"];
const STATIC: &str = "https://static.example.net/";

fn site() -> &'static (SiteMap, PathBuf) {
    static SITE: OnceLock<(SiteMap, PathBuf)> = OnceLock::new();
    SITE.get_or_init(|| {
        let root = std::env::temp_dir().join("edgeflush-fuzz-root");
        std::fs::create_dir_all(root.join("blog")).expect("temp root");
        let root = std::fs::canonicalize(root).expect("temp root");
        let raw = RawSite {
            name: "www".into(),
            vhost: "www.example.com".into(),
            base_urls: BASES.iter().map(|s| s.to_string()).collect(),
            root: Some(root.to_string_lossy().into_owned()),
            pretty_urls: true,
            exclude: vec!["private/**".into()],
            rule: vec![
                RawRule {
                    glob: "**/*.md".into(),
                    urls: vec!["/blog/{stem}/".into(), "/t/{dir}/{name}.{ext}".into()],
                    keep_default: Some(true),
                },
                RawRule {
                    glob: "**".into(),
                    urls: vec![format!("{STATIC}{{path}}")],
                    keep_default: None,
                },
            ],
            ..RawSite::default()
        };
        (SiteMap::compile(&raw, 0).expect("fuzz site compiles"), root)
    })
}

fn dot_segment(seg: &str) -> bool {
    matches!(
        seg.to_ascii_lowercase().replace("%2e", ".").as_str(),
        "." | ".."
    )
}

fn check(u: &MappedUrl, encoded: bool) {
    let below = BASES.iter().any(|b| {
        u.url
            .strip_prefix(b)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    }) || u.url.starts_with(STATIC);
    assert!(below, "outside every base: {u:?}");
    assert!(u.url.ends_with(&u.path), "{u:?}");
    assert!(!u.path.split('/').any(dot_segment), "dot segment: {u:?}");
    if encoded {
        let raw_ok = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c);
        let mut rest = u.path.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '%' {
                let hex = rest.get(1..3).unwrap_or_default();
                assert!(
                    hex.len() == 2
                        && hex
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
                    "bad triplet: {u:?}"
                );
                rest = &rest[3..];
            } else {
                assert!(raw_ok(c), "not encoded: {u:?}");
                rest = &rest[c.len_utf8()..];
            }
        }
    }
}

fn check_outcome(out: MapOutcome) {
    if let MapOutcome::Urls(list) = out {
        list.iter().for_each(|u| check(u, true));
    }
}

fuzz_target!(|data: &[u8]| {
    let (map, root) = site();
    let text = String::from_utf8_lossy(data);
    if let Ok(out) = map.map_relative(&text) {
        check_outcome(out);
    }
    if let Ok(Some(out)) = map.map_repo_path(&text) {
        check_outcome(out);
    }
    if let Ok(out) = map.map_fs_path(&root.join(OsStr::from_bytes(data))) {
        check_outcome(out);
    }
    if let Ok(list) = map.urls_for_url_or_path(&text) {
        list.iter().for_each(|u| check(u, false));
    }
    for f in map.files_for_url(&format!("{}{text}", BASES[0])) {
        assert!(map.map_relative(&f).is_ok(), "{f:?}");
    }
});
