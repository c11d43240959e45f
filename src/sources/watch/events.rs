//! From a notify event to dirty paths. The kind of event barely matters:
//! every path it names is marked dirty and later compared with the index.
//! Kinds matter for two things only: a new directory gets its watches at
//! once (so that what is written into it is seen), and a directory that
//! left the tree is forgotten by the watch set.

use super::filter::Ignored;
use super::watches::lock;
use super::worker::Worker;
use super::{WatchError, sink::Msg};
use notify::event::{CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode};
use std::path::{Path, PathBuf};
use std::time::Instant;

impl Worker {
    pub(super) async fn on_msg(&mut self, msg: Msg) -> Result<(), WatchError> {
        let ev = match msg {
            Msg::Event(ev) => ev,
            Msg::Error(e) => return self.on_error(e),
        };
        // A matched rename also comes as its two halves (From, To).
        if matches!(
            ev.kind,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        ) {
            return Ok(());
        }
        let now = Instant::now();
        for p in &ev.paths {
            if self.root.is_anchor(p) || *p == self.root.target {
                self.count("anchor");
                self.pending.touch_root(now, false, true);
                self.root_reason.get_or_insert("root_check");
                continue;
            }
            let Ok(rel) = p.strip_prefix(&self.root.target) else {
                continue;
            };
            let Some(rel) = rel.to_str().map(str::to_string) else {
                self.error("non_utf8");
                continue;
            };
            if rel.is_empty() {
                continue;
            }
            if self.filter.is_marker(&rel) {
                self.count("marker");
                self.check_hold().await;
                continue;
            }
            if let Some(why) = self.ignored(&ev.kind, p, &rel) {
                self.count("ignored");
                self.ctx
                    .metrics
                    .ignored
                    .with_label_values(&[&self.name, why.label()])
                    .inc();
                continue;
            }
            self.count("change");
            if arrives(&ev.kind) && is_dir(p) {
                self.watch_new_tree(p.clone()).await?;
            } else if leaves(&ev.kind) {
                lock(&self.watches).forget(p);
            }
            self.pending.touch(&rel, now);
        }
        Ok(())
    }

    fn on_error(&mut self, e: notify::Error) -> Result<(), WatchError> {
        if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
            return Err(WatchError::WatchLimit(super::limits::watches_advice(
                &self.name,
                lock(&self.watches).count() as u64 + 1,
                super::limits::read_limit(super::limits::MAX_USER_WATCHES),
            )));
        }
        tracing::warn!(site = %self.name, error = %e, "watcher error; rescanning the root");
        self.error("watch");
        self.pending.touch_root(Instant::now(), true, false);
        self.root_reason.get_or_insert("error");
        Ok(())
    }

    /// Ignore rules for directories hold for any path; file rules only once
    /// the path is known not to be a directory (a folder named `x.tmp`
    /// still holds real files).
    fn ignored(&self, kind: &EventKind, abs: &Path, rel: &str) -> Option<Ignored> {
        if let Some(why) = self.filter.dir(rel) {
            return Some(why);
        }
        let why = self.filter.file(rel)?;
        let file_kind = match kind {
            EventKind::Create(CreateKind::Folder) | EventKind::Remove(RemoveKind::Folder) => false,
            EventKind::Create(CreateKind::File)
            | EventKind::Remove(RemoveKind::File)
            | EventKind::Modify(ModifyKind::Data(_))
            | EventKind::Access(_) => true,
            _ => std::fs::symlink_metadata(abs).is_ok_and(|m| !m.is_dir()),
        };
        file_kind.then_some(why)
    }

    /// Watches a directory that just appeared, and the directories already
    /// inside it (`mkdir -p`, a tree moved in), before anything else is
    /// written there unseen. Files already inside are found when the
    /// directory settles and is walked.
    async fn watch_new_tree(&mut self, dir: PathBuf) -> Result<(), WatchError> {
        let watches = self.watches.clone();
        let filter = self.filter.clone();
        let target = self.root.target.clone();
        let added = tokio::task::spawn_blocking(move || {
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                lock(&watches).add_dir(&d)?;
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries.flatten() {
                    if !e.file_type().is_ok_and(|t| t.is_dir()) {
                        continue;
                    }
                    let p = e.path();
                    let keep = p
                        .strip_prefix(&target)
                        .ok()
                        .and_then(|r| r.to_str())
                        .is_some_and(|r| filter.dir(r).is_none());
                    if keep {
                        stack.push(p);
                    }
                }
            }
            Ok::<(), WatchError>(())
        })
        .await;
        match added {
            Ok(r) => r,
            Err(e) => Err(WatchError::Task(e.to_string())),
        }
    }

    fn count(&self, kind: &str) {
        self.ctx
            .metrics
            .events
            .with_label_values(&[&self.name, kind])
            .inc();
    }

    fn error(&self, kind: &str) {
        self.ctx
            .metrics
            .errors
            .with_label_values(&[&self.name, kind])
            .inc();
    }
}

/// Something (maybe a directory) appeared at the path.
fn arrives(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Any))
    )
}

/// Something (maybe a directory) left the path.
fn leaves(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From))
    )
}

fn is_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}
