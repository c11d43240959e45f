//! Root containment for paths reported by the filesystem watcher. A path is
//! mapped only if its directory really lies inside the site root once
//! symlinks are resolved, so a symlinked directory pointing elsewhere cannot
//! make us purge (or reveal) anything about files outside the site.
//!
//! The parent directory is what is checked, not the file: a deleted file can
//! no longer be resolved, and a file symlink still has its URL inside the site.
//! The root itself is resolved on every call because deploys commonly swap a
//! `current -> releases/N` symlink under a running daemon.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::MapError;

fn shown(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn io_error(p: &Path, e: &io::Error) -> MapError {
    MapError::Io {
        path: shown(p),
        message: e.to_string(),
    }
}

/// Removes `.` and resolves `..` textually; `..` at `/` stays at `/`.
pub(crate) fn lexical_normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The raw bytes of a path, so non-UTF-8 names survive to the encoder.
pub(crate) fn path_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().replace('\\', "/").into_bytes()
    }
}

/// The '/'-separated path of `abs` below `root` (as raw bytes), after
/// proving that its directory resolves inside the canonical root.
pub(crate) fn relative_to_root(root: &Path, abs: &Path) -> Result<Vec<u8>, MapError> {
    if path_bytes(abs).contains(&0) {
        return Err(MapError::InvalidPath {
            path: shown(abs),
            reason: "NUL byte in path".into(),
        });
    }
    if !abs.is_absolute() {
        return Err(MapError::InvalidPath {
            path: shown(abs),
            reason: "filesystem path is not absolute".into(),
        });
    }
    let norm = lexical_normalize(abs);
    let canon_root = std::fs::canonicalize(root).map_err(|e| io_error(root, &e))?;
    // The watcher may report paths under the configured root or under what
    // it resolves to; both name the same files.
    let rel = norm
        .strip_prefix(root)
        .or_else(|_| norm.strip_prefix(&canon_root))
        .map_err(|_| MapError::OutsideRoot { path: shown(abs) })?;
    if rel.as_os_str().is_empty() {
        return Err(MapError::InvalidPath {
            path: shown(abs),
            reason: "path names the site root, not a file".into(),
        });
    }
    let parent = norm.parent().unwrap_or(&norm);
    check_inside(parent, &canon_root, abs)?;
    let mut bytes = Vec::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            bytes.push(b'/');
        }
        bytes.extend(path_bytes(Path::new(c.as_os_str())));
    }
    Ok(bytes)
}

/// Resolves `dir` (or, when it no longer exists, its nearest existing
/// ancestor) and requires the result to be inside `canon_root`.
fn check_inside(dir: &Path, canon_root: &Path, abs: &Path) -> Result<(), MapError> {
    let mut cur = dir;
    loop {
        match std::fs::canonicalize(cur) {
            Ok(real) if real.starts_with(canon_root) => return Ok(()),
            Ok(_) => return Err(MapError::SymlinkEscape { path: shown(abs) }),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                // A dangling symlink cannot be proven to stay inside.
                if std::fs::symlink_metadata(cur).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Err(MapError::SymlinkEscape { path: shown(abs) });
                }
                match cur.parent() {
                    Some(up) => cur = up,
                    None => return Err(MapError::OutsideRoot { path: shown(abs) }),
                }
            }
            Err(e) => return Err(io_error(cur, &e)),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Tree {
        _tmp: tempfile::TempDir,
        base: PathBuf,
        root: PathBuf,
    }

    /// base/site (root, with blog/a.html) and base/outside/secret.html.
    fn tree() -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let root = base.join("site");
        std::fs::create_dir_all(root.join("blog")).unwrap();
        std::fs::write(root.join("blog/a.html"), "a").unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(base.join("outside/secret.html"), "s").unwrap();
        Tree {
            _tmp: tmp,
            base,
            root,
        }
    }

    fn rel(root: &Path, abs: &Path) -> Result<String, MapError> {
        relative_to_root(root, abs).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn existing_and_deleted_files_inside_map() {
        let t = tree();
        assert_eq!(
            rel(&t.root, &t.root.join("blog/a.html")).unwrap(),
            "blog/a.html"
        );
        // Deleted file in a deleted directory: nearest existing ancestor is checked.
        assert_eq!(
            rel(&t.root, &t.root.join("gone/deeper/x.css")).unwrap(),
            "gone/deeper/x.css"
        );
        assert_eq!(
            rel(&t.root, &t.root.join("blog/./b/../a.html")).unwrap(),
            "blog/a.html"
        );
    }

    #[test]
    fn paths_outside_or_at_the_root_are_refused() {
        let t = tree();
        let kind = |p: PathBuf| rel(&t.root, &p).unwrap_err().kind();
        assert_eq!(kind(t.base.join("outside/secret.html")), "outside_root");
        assert_eq!(kind(t.root.join("../outside/secret.html")), "outside_root");
        assert_eq!(kind(t.base.join("site2/a.html")), "outside_root");
        assert_eq!(kind(t.root.clone()), "invalid_path");
        assert_eq!(kind(PathBuf::from("site/blog/a.html")), "invalid_path");
    }

    #[test]
    fn directory_symlink_leaving_the_root_is_refused() {
        let t = tree();
        symlink(t.base.join("outside"), t.root.join("ext")).unwrap();
        let e = rel(&t.root, &t.root.join("ext/secret.html")).unwrap_err();
        assert!(matches!(e, MapError::SymlinkEscape { .. }), "{e:?}");
        assert_eq!(e.kind(), "outside_root");
        // Even for a file that does not exist (yet) behind the link.
        let e = rel(&t.root, &t.root.join("ext/new/file.html")).unwrap_err();
        assert_eq!(e.kind(), "outside_root");
    }

    #[test]
    fn dangling_directory_symlink_is_refused() {
        let t = tree();
        symlink(t.base.join("nowhere"), t.root.join("dangling")).unwrap();
        let e = rel(&t.root, &t.root.join("dangling/x.html")).unwrap_err();
        assert_eq!(e.kind(), "outside_root");
    }

    #[test]
    fn symlink_inside_the_root_is_fine() {
        let t = tree();
        symlink(t.root.join("blog"), t.root.join("news")).unwrap();
        assert_eq!(
            rel(&t.root, &t.root.join("news/a.html")).unwrap(),
            "news/a.html"
        );
    }

    #[test]
    fn symlinked_root_accepts_both_spellings() {
        let t = tree();
        let current = t.base.join("current");
        symlink(&t.root, &current).unwrap();
        assert_eq!(
            rel(&current, &current.join("blog/a.html")).unwrap(),
            "blog/a.html"
        );
        assert_eq!(
            rel(&current, &t.root.join("blog/a.html")).unwrap(),
            "blog/a.html"
        );
    }

    #[test]
    fn missing_root_is_an_io_error() {
        let t = tree();
        let root = t.base.join("no-such-root");
        assert_eq!(rel(&root, &root.join("a.html")).unwrap_err().kind(), "io");
    }

    #[test]
    fn non_utf8_names_keep_their_bytes() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let t = tree();
        let abs = t.root.join(OsStr::from_bytes(b"bl\xffg.html"));
        assert_eq!(relative_to_root(&t.root, &abs).unwrap(), b"bl\xffg.html");
    }
}
