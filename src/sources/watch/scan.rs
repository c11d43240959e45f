//! Disk against index: walks part of a root (or all of it), and says which
//! files were added, modified or removed, and which were only rewritten
//! with the same bytes. Blocking code, run on tokio's blocking pool.
//!
//! A file whose stamp (size, mtime, ctime, inode) equals its index entry is
//! not read: any write changes ctime. Files that had an event of their own
//! are always hashed. Directories are not followed through symlinks (no
//! loops, nothing outside the root), like the webhook's `list_files`.

use super::filter::Filter;
use super::hash::{Hashed, hash_many};
use crate::queue::file_index::{ContentHash, FileStamp, IndexUpdate, IndexedFile};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

/// What the index knows of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub stamp: FileStamp,
    pub hash: ContentHash,
}

/// A site's index in memory, by site-relative path.
pub type Index = BTreeMap<String, Known>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

impl ChangeKind {
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "modified",
            ChangeKind::Removed => "removed",
        }
    }
}

/// The outcome of one reconciliation.
#[derive(Debug, Default)]
pub struct Diff {
    /// Files whose URLs must be purged.
    pub changed: Vec<(String, ChangeKind)>,
    /// Index writes: the changed files plus refreshed stamps.
    pub updates: Vec<IndexUpdate>,
    /// Files read again and found identical (no purge).
    pub unchanged: u64,
    /// Directories walked.
    pub dirs: u64,
    /// Recovered problems: (kind, message).
    pub errors: Vec<(&'static str, String)>,
}

/// What one reconciliation looks at.
pub struct Scan<'a> {
    /// The resolved root folder.
    pub root: &'a Path,
    pub filter: &'a Filter,
    pub index: &'a Index,
    /// Paths that had an event of their own: hashed whatever their stamp.
    pub touched: &'a BTreeSet<String>,
    /// Paths still settling: left for a later round.
    pub waiting: &'a (dyn Fn(&str) -> bool + Sync),
}

/// Per directory walked (before it is listed), e.g. to add its watch.
pub type OnDir<'a, E> = &'a mut dyn FnMut(&Path) -> Result<(), E>;

impl Scan<'_> {
    /// Reconciles each scope ("" = the whole root; scopes never overlap).
    pub fn run<E>(&self, scopes: &[String], on_dir: OnDir<'_, E>) -> Result<Diff, E> {
        let mut diff = Diff::default();
        let mut seen = BTreeSet::new();
        let mut to_hash = Vec::new();
        for scope in scopes {
            if scope.is_empty() {
                self.walk("", &mut seen, &mut to_hash, &mut diff, on_dir)?;
                self.gone_under("", &seen, &mut diff);
                continue;
            }
            let abs = self.root.join(scope);
            match std::fs::symlink_metadata(&abs) {
                Ok(m) if m.is_dir() => {
                    if self.filter.dir(scope).is_none() {
                        self.walk(scope, &mut seen, &mut to_hash, &mut diff, on_dir)?;
                    }
                    // A file that became a directory, and what left the directory.
                    self.gone(scope, &seen, &mut diff);
                    self.gone_under(scope, &seen, &mut diff);
                }
                Ok(m) => {
                    self.gone_under(scope, &seen, &mut diff);
                    if self.filter.file(scope).is_none() {
                        self.file(scope, &m, &mut seen, &mut to_hash);
                    }
                    self.gone(scope, &seen, &mut diff);
                }
                Err(e) if is_gone(&e) => {
                    self.gone(scope, &seen, &mut diff);
                    self.gone_under(scope, &seen, &mut diff);
                }
                Err(e) => diff.errors.push(("io", format!("{scope}: {e}"))),
            }
        }
        for h in hash_many(self.root, to_hash) {
            self.classify(h, &mut diff);
        }
        Ok(diff)
    }

    fn walk<E>(
        &self,
        start: &str,
        seen: &mut BTreeSet<String>,
        to_hash: &mut Vec<String>,
        diff: &mut Diff,
        on_dir: OnDir<'_, E>,
    ) -> Result<(), E> {
        let mut stack = vec![start.to_string()];
        while let Some(rel) = stack.pop() {
            let abs = self.root.join(&rel);
            on_dir(&abs)?;
            diff.dirs += 1;
            let entries = match std::fs::read_dir(&abs) {
                Ok(e) => e,
                Err(e) if is_gone(&e) => continue,
                Err(e) => {
                    // Unreadable: keep what the index says rather than purge it.
                    self.keep_under(&rel, seen);
                    diff.errors.push(("io", format!("{}: {e}", abs.display())));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        diff.errors.push(("io", format!("{}: {e}", abs.display())));
                        continue;
                    }
                };
                let name = entry.file_name();
                let Some(name) = name.to_str() else {
                    diff.errors.push((
                        "non_utf8",
                        format!(
                            "{}: file name is not UTF-8; not watched",
                            entry.path().display()
                        ),
                    ));
                    continue;
                };
                let child = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                let Ok(ft) = entry.file_type() else {
                    continue;
                };
                if ft.is_dir() {
                    if self.filter.dir(&child).is_none() {
                        stack.push(child);
                    }
                } else if self.filter.file(&child).is_none() {
                    if (self.waiting)(&child) {
                        seen.insert(child);
                    } else if let Ok(m) = entry.metadata() {
                        self.file(&child, &m, seen, to_hash);
                    }
                }
            }
        }
        Ok(())
    }

    /// A file found on disk (`m` from lstat): unchanged, or to be hashed.
    fn file(
        &self,
        rel: &str,
        m: &std::fs::Metadata,
        seen: &mut BTreeSet<String>,
        to_hash: &mut Vec<String>,
    ) {
        let followed;
        let m = if m.file_type().is_symlink() {
            match std::fs::metadata(self.root.join(rel)) {
                Ok(t) => {
                    followed = t;
                    &followed
                }
                Err(_) => return,
            }
        } else {
            m
        };
        if !m.is_file() {
            return;
        }
        seen.insert(rel.to_string());
        let same = self
            .index
            .get(rel)
            .is_some_and(|k| k.stamp == super::hash::stamp_of(m));
        if !same || self.touched.contains(rel) {
            to_hash.push(rel.to_string());
        }
    }

    fn classify(&self, h: Hashed, diff: &mut Diff) {
        let old = self.index.get(&h.path);
        match h.result {
            Ok((stamp, hash)) => {
                let kind = match old {
                    Some(k) if k.hash == hash => {
                        diff.unchanged += 1;
                        if k.stamp != stamp {
                            diff.updates.push(put(&h.path, stamp, hash));
                        }
                        return;
                    }
                    Some(_) => ChangeKind::Modified,
                    None => ChangeKind::Added,
                };
                diff.updates.push(put(&h.path, stamp, hash));
                diff.changed.push((h.path, kind));
            }
            Err(e) if is_gone(&e) => {
                if old.is_some() {
                    diff.updates.push(IndexUpdate::Remove(h.path.clone()));
                    diff.changed.push((h.path, ChangeKind::Removed));
                }
            }
            Err(e) => diff.errors.push(("io", format!("{}: {e}", h.path))),
        }
    }

    /// `rel` itself, if indexed and not seen on disk.
    fn gone(&self, rel: &str, seen: &BTreeSet<String>, diff: &mut Diff) {
        if self.index.contains_key(rel) && !seen.contains(rel) && !(self.waiting)(rel) {
            diff.updates.push(IndexUpdate::Remove(rel.to_string()));
            diff.changed.push((rel.to_string(), ChangeKind::Removed));
        }
    }

    /// Everything indexed below `rel` ("" = all) and not seen on disk.
    fn gone_under(&self, rel: &str, seen: &BTreeSet<String>, diff: &mut Diff) {
        for path in under(self.index, rel) {
            if !seen.contains(path) && !(self.waiting)(path) {
                diff.updates.push(IndexUpdate::Remove(path.clone()));
                diff.changed.push((path.clone(), ChangeKind::Removed));
            }
        }
    }

    fn keep_under(&self, rel: &str, seen: &mut BTreeSet<String>) {
        for path in under(self.index, rel) {
            seen.insert(path.clone());
        }
    }
}

/// Indexed paths below `rel` ("" = all of them).
pub fn under<'a>(index: &'a Index, rel: &str) -> impl Iterator<Item = &'a String> + 'a {
    let prefix = if rel.is_empty() {
        String::new()
    } else {
        format!("{rel}/")
    };
    index
        .range(prefix.clone()..)
        .map(|(k, _)| k)
        .take_while(move |k| k.starts_with(&prefix))
}

fn put(path: &str, stamp: FileStamp, hash: ContentHash) -> IndexUpdate {
    IndexUpdate::Put(IndexedFile {
        path: path.to_string(),
        stamp,
        hash,
    })
}

fn is_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Applies index updates to the in-memory copy (after the store has them).
pub fn apply(index: &mut Index, updates: &[IndexUpdate]) {
    for u in updates {
        match u {
            IndexUpdate::Put(f) => {
                index.insert(
                    f.path.clone(),
                    Known {
                        stamp: f.stamp,
                        hash: f.hash,
                    },
                );
            }
            IndexUpdate::Remove(p) => {
                index.remove(p);
            }
        }
    }
}

/// Directories under `root` that will be watched (the root included), for
/// the limit check before any watch is added.
pub fn count_dirs(root: &Path, filter: &Filter) -> u64 {
    let mut n = 0;
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        n += 1;
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if filter.dir(&child).is_none() {
                stack.push(child);
            }
        }
    }
    n
}
