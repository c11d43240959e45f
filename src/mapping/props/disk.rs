//! Property tests of the mapping against a real document root in a temp
//! dir (issue 9): files whose names are arbitrary bytes (Linux allows any
//! but `/` and NUL, UTF-8 or not) map to URLs that decode back to those
//! bytes, or are refused with a typed error, never a panic; symlinks that
//! leave the root and `..` that climbs out are always refused. Few cases:
//! each one touches the disk.

#![cfg(unix)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use proptest::prelude::*;

use super::{check_url, hostile_site, raw_path, urls_of};
use crate::mapping::fs::lexical_normalize;
use crate::mapping::{MapError, SiteMap};

struct Tree {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    map: SiteMap,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    let root = base.join("site");
    let outside = base.join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(outside.join("deeper")).unwrap();
    let map = hostile_site(Some(root.to_str().unwrap().to_string()));
    Tree {
        _tmp: tmp,
        root,
        outside,
        map,
    }
}

/// A file name Linux accepts: 1..=255 bytes, no `/`, no NUL, not `.`/`..`.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..24),
        prop::collection::vec(
            prop::sample::select(vec![b'a', 0xff, 0xc3, 0xa9, b'%', b' ']),
            200..256
        ),
        "\\PC{1,10}".prop_map(String::into_bytes),
    ]
    .prop_map(|mut v| {
        v.retain(|b| *b != b'/' && *b != 0);
        v.truncate(255);
        v
    })
    .prop_filter("a real file name", |v| {
        !v.is_empty() && v.as_slice() != b"." && v.as_slice() != b".."
    })
}

fn decoded_file_url(urls: &[crate::mapping::MappedUrl]) -> Option<Vec<u8>> {
    let u = urls
        .iter()
        .find(|u| u.rule == "file" && u.url.starts_with("https://www.example.com/"))?;
    Some(percent_encoding::percent_decode_str(&u.path[1..]).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Existing and deleted files with any byte names: mapped, URLs clean
    /// and decoding to the path's bytes below the root.
    #[test]
    fn byte_named_files_on_disk_map_to_their_bytes(dir in name(), file in name(), keep in any::<bool>()) {
        let t = tree();
        let d = t.root.join(OsStr::from_bytes(&dir));
        std::fs::create_dir(&d).unwrap();
        let abs = d.join(OsStr::from_bytes(&file));
        std::fs::write(&abs, b"x").unwrap();
        if !keep {
            std::fs::remove_file(&abs).unwrap();
        }
        let urls = urls_of(t.map.map_fs_path(&abs).unwrap());
        let mut want = dir.clone();
        want.push(b'/');
        want.extend(&file);
        if dir != b"private" {
            prop_assert_eq!(decoded_file_url(&urls), Some(want));
        }
        for u in &urls {
            prop_assert!(check_url(u).is_ok(), "{:?}", check_url(u));
        }
    }

    /// A directory symlink to anywhere outside the root: everything behind
    /// it is refused as a symlink escape, existing or not, whatever its name.
    #[test]
    fn symlinks_leaving_the_root_are_refused(link in name(), file in name(), deeper in any::<bool>(), exists in any::<bool>()) {
        let t = tree();
        let target = if deeper { t.outside.join("deeper") } else { t.outside.clone() };
        symlink(&target, t.root.join(OsStr::from_bytes(&link))).unwrap();
        if exists {
            std::fs::write(target.join(OsStr::from_bytes(&file)), b"s").unwrap();
        }
        let abs = t.root.join(OsStr::from_bytes(&link)).join(OsStr::from_bytes(&file));
        let e = t.map.map_fs_path(&abs).unwrap_err();
        prop_assert!(matches!(e, MapError::SymlinkEscape { .. }), "{:?}", e);
        prop_assert_eq!(e.kind(), "outside_root");
    }

    /// Arbitrary byte paths (with `..`, `.`, `//`, NUL, long names) joined
    /// to the root: refused, or mapped only when they stay inside it.
    #[test]
    fn hostile_paths_below_the_root_never_escape(raw in raw_path()) {
        let t = tree();
        let abs = t.root.join(OsStr::from_bytes(raw.strip_prefix(b"/").unwrap_or(&raw)));
        match t.map.map_fs_path(&abs) {
            Ok(out) => {
                let norm = lexical_normalize(&abs);
                prop_assert!(norm.starts_with(&t.root) && norm != t.root, "{:?}", abs);
                for u in &urls_of(out) {
                    prop_assert!(check_url(u).is_ok(), "{:?}", check_url(u));
                }
            }
            Err(e) => prop_assert!(
                matches!(e.kind(), "outside_root" | "invalid_path" | "io"),
                "{:?}", e
            ),
        }
    }
}

/// `..` out of the root to a real file outside is refused, not mapped.
#[test]
fn dot_dot_to_a_real_file_outside_is_refused() {
    let t = tree();
    std::fs::write(t.outside.join("secret.html"), b"s").unwrap();
    let abs = t.root.join("a/../../outside/secret.html");
    let e = t.map.map_fs_path(&abs).unwrap_err();
    assert_eq!(e.kind(), "outside_root", "{e:?}");
}
