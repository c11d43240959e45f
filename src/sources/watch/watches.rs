//! The inotify watches of one site: one non-recursive watch per directory,
//! added by the watcher itself while it walks (before listing a directory,
//! so nothing created after the listing goes unseen). Doing the recursion
//! here rather than in notify keeps `.git/` and ignored trees unwatched,
//! counts the watches exactly, and turns the kernel's limits into errors
//! that say what to raise.
//!
//! After an overflow or a root switch the set is rebuilt with a fresh
//! watcher: the kernel may have dropped watches whose events were lost.

use super::WatchError;
use super::limits::{MAX_USER_WATCHES, instances_advice, read_limit, watches_advice};
use super::root::RootInfo;
use super::sink::EventSink;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct WatchSet {
    site: String,
    watcher: Option<RecommendedWatcher>,
    dirs: BTreeSet<PathBuf>,
    anchors: usize,
    /// Directories the last count found (for the limit's advice).
    expected: u64,
    /// Recovered problems since the last `take_problems`.
    problems: Vec<String>,
}

pub type SharedWatches = Arc<Mutex<WatchSet>>;

impl WatchSet {
    pub fn new(site: &str) -> WatchSet {
        WatchSet {
            site: site.to_string(),
            watcher: None,
            dirs: BTreeSet::new(),
            anchors: 0,
            expected: 0,
            problems: Vec::new(),
        }
    }

    /// How many directories the tree has (counted before watching it).
    pub fn expect(&mut self, dirs: u64) {
        self.expected = dirs;
    }

    /// Watches in use (directories plus anchor folders).
    pub fn count(&self) -> usize {
        self.dirs.len() + self.anchors
    }

    pub fn take_problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }

    /// A fresh watcher (a new inotify instance) on the root's anchor
    /// folders; the directories are added again by the walk that follows.
    pub fn rebuild(&mut self, sink: &EventSink, root: &RootInfo) -> Result<(), WatchError> {
        let config = notify::Config::default().with_follow_symlinks(false);
        let mut w = RecommendedWatcher::new(sink.clone(), config).map_err(|e| self.fatal(e, 0))?;
        let mut anchors = 0;
        for dir in root.anchor_dirs() {
            match w.watch(&dir, RecursiveMode::NonRecursive) {
                Ok(()) => anchors += 1,
                Err(e) => {
                    if let Some(f) = self.limit(&e, 1) {
                        return Err(f);
                    }
                    self.problems.push(format!(
                        "cannot watch {} (root switches through it go unseen): {e}",
                        dir.display()
                    ));
                }
            }
        }
        // The old watcher (if any) is dropped here; its last events are
        // still valid changes and are filtered like any other.
        self.watcher = Some(w);
        self.dirs.clear();
        self.anchors = anchors;
        Ok(())
    }

    /// Watches `dir` unless it already is. A directory that vanished is
    /// not an error; running out of watches is.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), WatchError> {
        if self.dirs.contains(dir) {
            return Ok(());
        }
        let Some(w) = self.watcher.as_mut() else {
            return Ok(());
        };
        match w.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.dirs.insert(dir.to_path_buf());
                Ok(())
            }
            Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => Ok(()),
            Err(e) => {
                if let Some(f) = self.limit(&e, 1) {
                    return Err(f);
                }
                self.problems
                    .push(format!("cannot watch {}: {e}", dir.display()));
                Ok(())
            }
        }
    }

    /// `dir` and everything below it left the tree: the kernel dropped
    /// those watches with them.
    pub fn forget(&mut self, dir: &Path) {
        let below: Vec<PathBuf> = self
            .dirs
            .range(dir.to_path_buf()..)
            .take_while(|d| d.starts_with(dir))
            .cloned()
            .collect();
        for d in below {
            self.dirs.remove(&d);
        }
    }

    /// Stops watching (the worker ends).
    pub fn close(&mut self) {
        self.watcher = None;
        self.dirs.clear();
        self.anchors = 0;
    }

    /// The fatal errors: out of watches, out of inotify instances.
    fn limit(&self, e: &notify::Error, more: u64) -> Option<WatchError> {
        match &e.kind {
            notify::ErrorKind::MaxFilesWatch => Some(WatchError::WatchLimit(watches_advice(
                &self.site,
                (self.dirs.len() as u64 + more).max(self.expected),
                read_limit(MAX_USER_WATCHES),
            ))),
            notify::ErrorKind::Io(io) if is_instance_limit(io) => {
                Some(WatchError::InstanceLimit(instances_advice(&self.site)))
            }
            _ => None,
        }
    }

    fn fatal(&self, e: notify::Error, more: u64) -> WatchError {
        self.limit(&e, more)
            .unwrap_or_else(|| WatchError::Watcher(format!("site `{}`: {e}", self.site)))
    }
}

fn is_instance_limit(e: &std::io::Error) -> bool {
    // EMFILE (24): per-user instances or per-process descriptors; ENFILE (23): system-wide.
    matches!(e.raw_os_error(), Some(24) | Some(23))
}

/// Locks the set, recovering from a poisoned lock (a panic elsewhere
/// leaves it usable: the worst case is a watch counted twice).
pub fn lock(w: &SharedWatches) -> std::sync::MutexGuard<'_, WatchSet> {
    w.lock().unwrap_or_else(|p| p.into_inner())
}
