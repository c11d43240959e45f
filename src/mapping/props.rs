//! Property tests of the mapping (issue 9, "hostile input"): arbitrary path
//! segments (`..`, `.`, NUL, 4 KiB names, non-UTF-8 bytes, dot-only stems)
//! never yield a URL outside the site's base URLs, every URL is
//! percent-encoded per RFC 3986 (only `pchar` characters and `/` stay raw)
//! and decodes back to the file's bytes, and Unicode is mapped byte for byte:
//! no normalisation, so NFC and NFD names are two URLs, each the one the
//! server serves for that name. Real files on disk are in `props/disk.rs`.

mod disk;

use proptest::prelude::*;

use super::encode;
use super::relpath::RelPath;
use super::testutil::{compile, rule, site};
use super::{MapError, MapOutcome, MappedUrl, SiteMap};

/// Bases of the test site: URLs must stay below one of them.
const BASES: [&str; 2] = ["https://www.example.com", "https://a.test/docs"];
/// The origin of the one absolute rule template.
const STATIC: &str = "https://static.example.net";

/// Two bases (one with a path prefix), pretty URLs, an exclude and rules
/// with every capture, one of them absolute.
pub(super) fn hostile_site(root: Option<String>) -> SiteMap {
    let mut raw = site();
    raw.base_urls = BASES.iter().map(|s| s.to_string()).collect();
    raw.pretty_urls = true;
    raw.root = root;
    raw.exclude = vec!["private/**".into()];
    raw.rule = vec![
        rule(
            "**/*.md",
            &["/blog/{stem}/", "/t/{dir}/{name}.{ext}"],
            Some(true),
        ),
        rule("**", &[&format!("{STATIC}/{{path}}")], None),
    ];
    compile(&raw)
}

/// RFC 3986 `pchar` minus `%`: what may stay raw inside a segment.
fn is_pchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b)
}

/// Only pchar, `/` and `%XX` (upper-case hex) triplets.
pub(super) fn check_encoded(path: &str) -> Result<(), String> {
    let b = path.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or("cut triplet")?;
                if !hex
                    .iter()
                    .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(h))
                {
                    return Err(format!("bad triplet in {path:?}"));
                }
                i += 3;
            }
            c if c == b'/' || is_pchar(c) => i += 1,
            c => return Err(format!("raw byte {c:#x} in {path:?}")),
        }
    }
    Ok(())
}

/// A segment a WHATWG URL parser (and so many CDNs) reads as `.` or `..`.
fn dot_segment(seg: &str) -> bool {
    matches!(
        seg.to_ascii_lowercase().replace("%2e", ".").as_str(),
        "." | ".."
    )
}

/// The URL is an allowed origin + path, below a base, and its path has no
/// dot segment (`..`, `%2e%2e`, ...) nor `//` a CDN would normalise away.
fn check_url_shape(u: &MappedUrl) -> Result<(), String> {
    let under_base = BASES.iter().any(|b| {
        u.url
            .strip_prefix(b)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }) || u.url.starts_with(&format!("{STATIC}/"));
    if !under_base {
        return Err(format!("{:?} is outside every base", u.url));
    }
    if !u.url.ends_with(&u.path) {
        return Err(format!("path {:?} is not the end of {:?}", u.path, u.url));
    }
    if u.path.split('/').any(dot_segment) {
        return Err(format!("dot segment in {:?}", u.url));
    }
    encode::check_path_shape(&u.path).map_err(|e| format!("{:?}: {e}", u.url))
}

/// [`check_url_shape`], and encoded as file names are: only pchar, `/` and
/// upper-case `%XX` triplets.
pub(super) fn check_url(u: &MappedUrl) -> Result<(), String> {
    check_url_shape(u)?;
    check_encoded(&u.path)
}

fn urls_of(out: MapOutcome) -> Vec<MappedUrl> {
    match out {
        MapOutcome::Urls(list) => list,
        MapOutcome::Excluded { .. } => Vec::new(),
    }
}

/// One path segment, hostile more often than not.
pub(super) fn segment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[a-z0-9]{1,8}(\\.html|\\.md|\\.css)?".prop_map(String::into_bytes),
        1 => prop::sample::select(vec!["..", ".", "", "...", "...html", "..html", "...md", "..md",
            "%2e%2e", ".%2E", "%2F", "a%00b", "index.html", "private", "a b?c#d"])
            .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..12),
        1 => "\\PC{1,8}".prop_map(String::into_bytes),
        1 => (prop::sample::select(vec![b'a', b'%', 0xe9, 0xff]), 4000usize..4100)
            .prop_map(|(b, n)| vec![b; n]),
    ]
}

pub(super) fn raw_path() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), prop::collection::vec(segment(), 1..6)).prop_map(|(abs, segs)| {
        let mut p = if abs { b"/".to_vec() } else { Vec::new() };
        p.extend(segs.join(&b'/'));
        p
    })
}

/// The documented rules of `RelPath::parse_bytes`, written plainly.
fn model(raw: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if raw.is_empty() || raw.contains(&0) {
        return Err("invalid_path");
    }
    if raw[0] == b'/' {
        return Err("outside_root");
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for seg in raw.split(|b| *b == b'/') {
        match seg {
            b"" => return Err("invalid_path"),
            b"." => {}
            b".." if out.pop().is_none() => return Err("outside_root"),
            b".." => {}
            s => out.push(s.to_vec()),
        }
    }
    if out.is_empty() {
        return Err("invalid_path");
    }
    Ok(out)
}

fn decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

/// Canonically equivalent pairs (NFC, NFD), written out by hand.
const NF_PAIRS: &[(&str, &str)] = &[
    ("\u{e9}", "e\u{301}"),
    ("\u{fc}", "u\u{308}"),
    ("\u{c5}", "A\u{30a}"),
    ("\u{f1}", "n\u{303}"),
    ("\u{1e9b}\u{323}", "\u{17f}\u{323}\u{307}"),
    ("\u{ac00}", "\u{1100}\u{1161}"),
];

proptest! {
    #[test]
    fn relpath_follows_its_model(raw in raw_path()) {
        match (RelPath::parse_bytes(&raw), model(&raw)) {
            (Ok(p), Ok(want)) => prop_assert_eq!(p.segs(), &want[..]),
            (Err(e), Err(kind)) => prop_assert_eq!(e.kind(), kind),
            (got, want) => prop_assert!(false, "{:?} vs {:?}", got, want),
        }
    }

    /// Repo paths and relative paths: refused with a typed error, or URLs
    /// that pass [`check_url`]; the file's own URL decodes to its bytes.
    #[test]
    fn mapped_urls_stay_below_a_base_and_are_encoded(raw in raw_path()) {
        let m = hostile_site(None);
        let text = String::from_utf8_lossy(&raw).into_owned();
        match m.map_relative(&text) {
            Ok(out) => {
                let want = model(text.as_bytes()).unwrap().join(&b'/');
                for u in urls_of(out) {
                    prop_assert!(check_url(&u).is_ok(), "{}", check_url(&u).unwrap_err());
                    if u.rule == "file" && u.url.starts_with(BASES[0]) {
                        prop_assert_eq!(decode(&u.path[1..]), want.clone());
                    }
                }
            }
            Err(e) => prop_assert!(model(text.as_bytes()).is_err(), "{e}"),
        }
        if let Ok(Some(out)) = m.map_repo_path(&text) {
            for u in urls_of(out) {
                prop_assert!(check_url(&u).is_ok(), "{}", check_url(&u).unwrap_err());
            }
        }
    }

    /// Segment encoding: injective, reversible, never a raw `/`.
    #[test]
    fn segment_encoding_round_trips(a in prop::collection::vec(any::<u8>(), 0..64), b in prop::collection::vec(any::<u8>(), 0..64)) {
        let ea = encode::segment(&a);
        prop_assert!(check_encoded(&ea).is_ok() && !ea.contains('/'), "{}", ea);
        prop_assert_eq!(decode(&ea), a.clone());
        prop_assert_eq!(ea == encode::segment(&b), a == b);
    }

    /// No Unicode normalisation: the NFC and NFD spellings of a name are two
    /// files with two different URLs, each decoding to its own bytes, and
    /// each URL reads back to its own file only.
    #[test]
    fn nfc_and_nfd_names_map_to_different_urls(
        pair in prop::sample::select(NF_PAIRS),
        pre in "[a-z]{0,4}",
        post in "[a-z]{0,4}",
    ) {
        let m = hostile_site(None);
        let nfc = format!("{pre}{}{post}.css", pair.0);
        let nfd = format!("{pre}{}{post}.css", pair.1);
        let first = |p: &str| urls_of(m.map_relative(p).unwrap()).remove(0);
        let (c, d) = (first(&nfc), first(&nfd));
        prop_assert_ne!(&c.url, &d.url);
        prop_assert_eq!(decode(&c.path[1..]), nfc.as_bytes().to_vec());
        prop_assert_eq!(decode(&d.path[1..]), nfd.as_bytes().to_vec());
        let (back_c, back_d) = (m.files_for_url(&c.url), m.files_for_url(&d.url));
        prop_assert_eq!(back_c.first(), Some(&nfc));
        prop_assert_eq!(back_d.first(), Some(&nfd));
        prop_assert!(!back_c.contains(&nfd) && !back_d.contains(&nfc));
    }

    /// Operator input (paths and absolute URLs): refused, or URLs below a
    /// base with a clean shape.
    #[test]
    fn operator_input_stays_below_a_base(
        origin in prop::sample::select(vec!["", "https://www.example.com", "https://a.test/docs",
            "https://a.test", "HTTPS://WWW.EXAMPLE.COM:443", "http://www.example.com", "https://u:p@www.example.com"]),
        path in prop_oneof!["/\\PC{0,30}", "(/(\\.|\\.\\.|%2e|%2E%2e|\\.%2e|[a-z%]{1,4})){0,5}/?", "\\PC{0,30}"],
    ) {
        let m = hostile_site(None);
        let input = format!("{origin}{path}");
        if let Ok(list) = m.urls_for_url_or_path(&input) {
            for u in &list {
                prop_assert!(check_url_shape(u).is_ok(), "{:?}: {:?}", input, check_url_shape(u));
            }
        }
    }

    /// Reading a URL back to files never panics, and what it finds maps
    /// forward to that very URL.
    #[test]
    fn files_for_url_only_returns_files_mapping_back(
        origin in prop::sample::select(vec!["https://www.example.com", "https://a.test/docs", "https://x.test"]),
        path in prop_oneof!["/\\PC{0,20}", "(/[a-z%0-9A-F.]{0,6}){0,4}/?"],
    ) {
        let m = hostile_site(None);
        let url = format!("{origin}{path}");
        let bare = url.split(['?', '#']).next().unwrap();
        for f in m.files_for_url(&url) {
            let back = urls_of(m.map_relative(&f).unwrap());
            prop_assert!(back.iter().any(|u| u.url == bare), "{} -> {:?}", f, back);
        }
    }
}

/// Regression (found by `mapped_urls_stay_below_a_base_and_are_encoded`): a
/// file named `...html` had the pretty URL `/..` and `...md` the rule URL
/// `/blog/../`; under the base `https://a.test/docs` a CDN resolves `/docs/..`
/// to `/`, outside the base. Such URLs are now dropped, the file's own URL kept.
#[test]
fn dot_segment_urls_are_never_produced() {
    let m = hostile_site(None);
    for name in ["...html", "..html", "blog/...html", "...md", "x/..md"] {
        let list = urls_of(m.map_relative(name).unwrap());
        assert!(list.iter().any(|u| u.rule == "file"), "{name}: {list:?}");
        for u in &list {
            assert!(check_url(u).is_ok(), "{name}: {:?}", check_url(u));
        }
    }
    assert!(matches!(
        m.map_relative("a/../../x"),
        Err(MapError::OutsideRoot { .. })
    ));
}
