//! Where a root really is. Release deploys (Capistrano, Deployer) point a
//! `current` symlink at `releases/N` and switch it atomically: the watched
//! tree sees no event at all. So the watcher also watches the parent folder
//! of the configured root and of every symlink on the way to it (its
//! "anchors"); an event naming an anchor makes it resolve the root again and,
//! when it now is another folder, move the watches and diff the new tree
//! against the index. A plain root folder replaced by `mv new public` is
//! caught the same way (same path, another inode).

use std::io;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootInfo {
    /// The root as configured (lexically normalised).
    pub configured: PathBuf,
    /// What it resolves to: the folder that is watched and walked.
    pub target: PathBuf,
    /// (device, inode) of the target: a folder swapped in under the same
    /// path is another root.
    pub id: (u64, u64),
    /// The configured root and every symlink on its path: an event naming
    /// one of them may mean that the root moved.
    pub anchors: Vec<PathBuf>,
}

impl RootInfo {
    /// The folders watched (non-recursively) to see the anchors change.
    pub fn anchor_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .anchors
            .iter()
            .filter_map(|a| a.parent().map(Path::to_path_buf))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn is_anchor(&self, p: &Path) -> bool {
        self.anchors.iter().any(|a| a == p)
    }

    /// Whether the root goes through a symlink (a release-style deploy).
    pub fn via_symlink(&self) -> bool {
        self.anchors.len() > 1
    }
}

/// Resolves `configured` (absolute) to a directory.
pub fn resolve(configured: &Path) -> io::Result<RootInfo> {
    let configured = normalize(configured);
    let target = std::fs::canonicalize(&configured)?;
    let meta = std::fs::metadata(&target)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", target.display()),
        ));
    }
    let mut anchors = Vec::new();
    let mut prefix = PathBuf::new();
    for c in configured.components() {
        prefix.push(c.as_os_str());
        if matches!(c, Component::Normal(_))
            && std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink())
        {
            anchors.push(prefix.clone());
        }
    }
    if !anchors.contains(&configured) {
        anchors.push(configured.clone());
    }
    Ok(RootInfo {
        id: id_of(&meta),
        configured,
        target,
        anchors,
    })
}

#[cfg(unix)]
fn id_of(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn id_of(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Removes `.` and resolves `..` textually (the configured path may name
/// a symlink that `..` must not walk through the link's target).
fn normalize(p: &Path) -> PathBuf {
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn plain_root_is_its_own_anchor() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let root = base.join("public");
        std::fs::create_dir(&root).unwrap();
        let r = resolve(&root.join("./x/..")).unwrap();
        assert_eq!(r.target, root);
        assert_eq!(r.anchors, vec![root.clone()]);
        assert_eq!(r.anchor_dirs(), vec![base.clone()]);
        assert!(!r.via_symlink());
        assert!(r.is_anchor(&root));
    }

    #[test]
    fn symlinked_release_root_and_switch() {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        for n in ["1", "2"] {
            std::fs::create_dir_all(base.join("releases").join(n).join("public")).unwrap();
        }
        symlink(base.join("releases/1"), base.join("current")).unwrap();
        let configured = base.join("current/public");
        let a = resolve(&configured).unwrap();
        assert_eq!(a.target, base.join("releases/1/public"));
        assert_eq!(a.anchors, vec![base.join("current"), configured.clone()]);
        assert_eq!(a.anchor_dirs(), vec![base.clone(), base.join("current")]);
        assert!(a.via_symlink());
        // Atomic switch: a new link renamed over the old one.
        symlink(base.join("releases/2"), base.join("next")).unwrap();
        std::fs::rename(base.join("next"), base.join("current")).unwrap();
        let b = resolve(&configured).unwrap();
        assert_eq!(b.target, base.join("releases/2/public"));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn a_folder_swapped_in_is_another_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("public");
        std::fs::create_dir(&root).unwrap();
        let a = resolve(&root).unwrap();
        std::fs::create_dir(tmp.path().join("new")).unwrap();
        std::fs::remove_dir(&root).unwrap();
        std::fs::rename(tmp.path().join("new"), &root).unwrap();
        let b = resolve(&root).unwrap();
        assert_eq!(a.target, b.target);
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn missing_or_file_roots_fail() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(resolve(&tmp.path().join("nope")).is_err());
        std::fs::write(tmp.path().join("f"), "x").unwrap();
        assert!(resolve(&tmp.path().join("f")).is_err());
    }
}
