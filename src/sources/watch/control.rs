//! The handle the rest of the daemon holds on the watchers: hold and
//! release a site's purges (the admin API's `POST /api/sites/{name}/hold`
//! and `/release`), ask for a rescan, read each watcher's state. One
//! `WatchControl` per daemon, shared by the workers and the admin API; it
//! is cheap to clone.
//!
//! An admin hold lives in memory: after a restart a site is held only if
//! its marker file says so. What was queued under the hold stays in the
//! store and is released at startup (or by `max_hold`).

use super::sink::EventSink;
use crate::config::Settings;
use crate::queue::Millis;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("site `{0}` is not watched (no such site, or it has no root)")]
    UnknownSite(String),
    #[error("the watcher of site `{0}` is not running")]
    NotRunning(String),
}

/// A watcher's state, for the admin API and `status`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SiteStatus {
    pub site: String,
    pub running: bool,
    /// Purges are held (marker or API) right now.
    pub held: bool,
    pub held_by_marker: bool,
    pub held_by_api: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_since: Option<Millis>,
    /// When `max_hold` releases the held purges anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_until: Option<Millis>,
    /// The folder watched (the root resolved through its symlinks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    pub indexed_files: u64,
    pub watches: u64,
    pub pending_paths: u64,
    /// A round is comparing, enqueuing or writing the index right now.
    pub busy: bool,
    /// Rounds (index comparisons) completed since start; the first one is
    /// the startup reconciliation.
    pub rounds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_round_at: Option<Millis>,
}

/// Per-site shared state between the handle and the worker.
#[derive(Default)]
pub struct SiteControl {
    pub api_hold: AtomicBool,
    pub rescan: AtomicBool,
    pub wake: Notify,
    pub status: Mutex<SiteStatus>,
    pub sink: Mutex<Option<EventSink>>,
}

impl SiteControl {
    fn snapshot(&self) -> SiteStatus {
        let mut s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        s.held_by_api = self.api_hold.load(Ordering::SeqCst);
        s
    }

    pub fn publish(&self, f: impl FnOnce(&mut SiteStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}

#[derive(Clone, Default)]
pub struct WatchControl {
    sites: Arc<Mutex<BTreeMap<String, Arc<SiteControl>>>>,
}

impl WatchControl {
    /// A handle for the given watched sites.
    pub fn new<'a>(sites: impl IntoIterator<Item = &'a str>) -> WatchControl {
        let c = WatchControl::default();
        for s in sites {
            c.site(s);
        }
        c
    }

    /// A handle for every site with a `root`.
    pub fn for_settings(settings: &Settings) -> WatchControl {
        WatchControl::new(
            settings
                .sites
                .iter()
                .filter(|s| s.map.root().is_some())
                .map(|s| s.name()),
        )
    }

    /// Holds the site's purges until `release` (or `watch.max_hold`).
    pub fn hold(&self, site: &str) -> Result<SiteStatus, ControlError> {
        self.set_hold(site, true)
    }

    /// Ends an API hold; what it held is purged together (unless the hold
    /// marker still holds the site).
    pub fn release(&self, site: &str) -> Result<SiteStatus, ControlError> {
        self.set_hold(site, false)
    }

    pub fn status(&self, site: &str) -> Result<SiteStatus, ControlError> {
        Ok(self.known(site)?.snapshot())
    }

    pub fn statuses(&self) -> Vec<SiteStatus> {
        self.all().iter().map(|s| s.snapshot()).collect()
    }

    /// Asks for a full reconciliation of the site's root with its index.
    pub fn rescan(&self, site: &str) -> Result<(), ControlError> {
        let s = self.known(site)?;
        s.rescan.store(true, Ordering::SeqCst);
        s.wake.notify_one();
        Ok(())
    }

    /// Test seam: hands `event` to the site's watcher exactly as notify's
    /// callback would (e.g. a `Flag::Rescan` overflow notice).
    #[doc(hidden)]
    pub fn inject(
        &self,
        site: &str,
        event: notify::Result<notify::Event>,
    ) -> Result<(), ControlError> {
        let s = self.known(site)?;
        let sink = s.sink.lock().ok().and_then(|g| g.clone());
        match sink {
            Some(sink) => {
                sink.deliver(event);
                Ok(())
            }
            None => Err(ControlError::NotRunning(site.to_string())),
        }
    }

    fn set_hold(&self, site: &str, on: bool) -> Result<SiteStatus, ControlError> {
        let s = self.known(site)?;
        s.api_hold.store(on, Ordering::SeqCst);
        s.wake.notify_one();
        Ok(s.snapshot())
    }

    fn known(&self, site: &str) -> Result<Arc<SiteControl>, ControlError> {
        self.sites
            .lock()
            .ok()
            .and_then(|m| m.get(site).cloned())
            .ok_or_else(|| ControlError::UnknownSite(site.to_string()))
    }

    fn all(&self) -> Vec<Arc<SiteControl>> {
        self.sites
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The site's shared state, created on first use (a worker registers
    /// its site even when the handle was built without it).
    pub(super) fn site(&self, name: &str) -> Arc<SiteControl> {
        let mut m = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(SiteControl {
                    status: Mutex::new(SiteStatus {
                        site: name.to_string(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_release_and_unknown_sites() {
        let c = WatchControl::new(["www"]);
        assert_eq!(
            c.hold("nope").unwrap_err(),
            ControlError::UnknownSite("nope".into())
        );
        let s = c.hold("www").unwrap();
        assert!(s.held_by_api);
        assert_eq!(s.site, "www");
        assert!(!c.release("www").unwrap().held_by_api);
        assert_eq!(c.statuses().len(), 1);
        assert_eq!(
            c.inject("www", Err(notify::Error::generic("x")))
                .unwrap_err(),
            ControlError::NotRunning("www".into())
        );
        assert!(c.rescan("www").is_ok());
        assert!(c.site("www").rescan.load(Ordering::SeqCst));
    }
}
