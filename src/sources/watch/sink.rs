//! The notify callback. It runs on notify's inotify thread, so it never
//! blocks and never drops a change silently: events go to the site's worker
//! through a bounded channel with `try_send`; when the channel is full (or
//! the kernel's own queue overflowed, notify's `Rescan` flag) it raises a
//! flag and wakes the worker, which then rescans the whole root and purges
//! only what differs from the index.
//!
//! Reads (open, close without write) are not changes and are dropped here:
//! a web server reading its files, or the watcher hashing them, would
//! otherwise flood the channel. So are events about neither the root nor
//! one of its anchors (the store's own files often live next to the root).

use notify::event::{AccessKind, AccessMode, EventKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{Notify, mpsc};

pub enum Msg {
    Event(notify::Event),
    Error(notify::Error),
}

/// Raised by the callback, taken by the worker.
#[derive(Default)]
pub struct Signals {
    pub kernel_overflow: AtomicBool,
    pub channel_full: AtomicBool,
    pub wake: Notify,
}

/// What the callback passes on: paths under `target`, and the anchors.
#[derive(Debug, Default, Clone)]
pub struct Relevance {
    pub target: PathBuf,
    pub anchors: Vec<PathBuf>,
}

impl Relevance {
    fn wants(&self, p: &Path) -> bool {
        p.starts_with(&self.target) || self.anchors.iter().any(|a| a == p)
    }
}

#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Msg>,
    signals: Arc<Signals>,
    relevance: Arc<RwLock<Relevance>>,
}

impl EventSink {
    pub fn new(
        tx: mpsc::Sender<Msg>,
        signals: Arc<Signals>,
        relevance: Arc<RwLock<Relevance>>,
    ) -> EventSink {
        EventSink {
            tx,
            signals,
            relevance,
        }
    }

    /// Hands one notify result to the worker (or raises a flag).
    pub fn deliver(&self, ev: notify::Result<notify::Event>) {
        match ev {
            Ok(ev) if ev.need_rescan() => self.raise(&self.signals.kernel_overflow),
            Ok(ev) if is_read(&ev.kind) => {}
            Ok(ev) => {
                let wanted = match self.relevance.read() {
                    Ok(r) => ev.paths.iter().any(|p| r.wants(p)),
                    Err(_) => true,
                };
                if wanted {
                    self.send(Msg::Event(ev));
                }
            }
            Err(e) => self.send(Msg::Error(e)),
        }
    }

    fn send(&self, m: Msg) {
        match self.tx.try_send(m) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.raise(&self.signals.channel_full),
            // The worker is gone (shutting down): nothing left to tell.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn raise(&self, flag: &AtomicBool) {
        flag.store(true, Ordering::SeqCst);
        self.signals.wake.notify_one();
    }
}

impl notify::EventHandler for EventSink {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        self.deliver(event);
    }
}

/// Opening or reading a file changes nothing; closing after a write does.
fn is_read(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
        EventKind::Access(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, Flag};

    fn sink(cap: usize) -> (EventSink, mpsc::Receiver<Msg>, Arc<Signals>) {
        let (tx, rx) = mpsc::channel(cap);
        let signals = Arc::new(Signals::default());
        let rel = Arc::new(RwLock::new(Relevance {
            target: "/srv/www".into(),
            anchors: vec!["/srv/current".into()],
        }));
        (EventSink::new(tx, signals.clone(), rel), rx, signals)
    }

    fn ev(kind: EventKind, p: &str) -> notify::Result<notify::Event> {
        Ok(notify::Event::new(kind).add_path(p.into()))
    }

    #[test]
    fn reads_and_foreign_paths_are_dropped_changes_pass() {
        let (s, mut rx, sig) = sink(8);
        s.deliver(ev(
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            "/srv/www/a",
        ));
        s.deliver(ev(
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            "/srv/www/a",
        ));
        s.deliver(ev(
            EventKind::Create(CreateKind::File),
            "/srv/edgeflush.db-wal",
        ));
        s.deliver(ev(EventKind::Create(CreateKind::File), "/srv/www/a"));
        s.deliver(ev(
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            "/srv/www/a",
        ));
        s.deliver(ev(EventKind::Create(CreateKind::File), "/srv/current"));
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, 3);
        assert!(!sig.channel_full.load(Ordering::SeqCst));
    }

    #[test]
    fn full_channel_and_kernel_overflow_raise_flags() {
        let (s, _rx, sig) = sink(1);
        s.deliver(ev(EventKind::Create(CreateKind::File), "/srv/www/a"));
        assert!(!sig.channel_full.load(Ordering::SeqCst));
        s.deliver(ev(EventKind::Create(CreateKind::File), "/srv/www/b"));
        assert!(sig.channel_full.load(Ordering::SeqCst));
        let overflow = notify::Event::new(EventKind::Other).set_flag(Flag::Rescan);
        s.deliver(Ok(overflow));
        assert!(sig.kernel_overflow.load(Ordering::SeqCst));
    }
}
