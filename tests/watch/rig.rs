//! An in-process watcher on a temporary root: the real worker, a real
//! SQLite store and intake, settings loaded from a real config file. Tests
//! change files and then look at what the queue holds.
#![allow(dead_code)]

use edgeflush::config::Settings;
use edgeflush::health::Health;
use edgeflush::intake::Intake;
use edgeflush::metrics::Metrics;
use edgeflush::queue::sqlite::SqliteStore;
use edgeflush::queue::{PurgeState, Store, now_ms};
use edgeflush::sources::watch::{
    SiteStatus, WatchContext, WatchControl, WatchError, WatchMetrics, run_site,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SITE: &str = "www";

pub fn u(path: &str) -> String {
    format!("https://www.example.com/{path}")
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|p| u(p)).collect()
}

#[derive(Default)]
pub struct Opts {
    /// Extra `[watch]` keys.
    pub watch: String,
    /// The configured root, relative to the temporary folder ("public").
    pub root: Option<String>,
    pub site_extra: String,
}

pub struct Rig {
    pub tmp: tempfile::TempDir,
    /// The temporary folder, canonical.
    pub base: PathBuf,
    /// Where the test writes files: the configured root.
    pub root: PathBuf,
    pub settings: Arc<Settings>,
    pub store: Arc<SqliteStore>,
    pub metrics: Metrics,
    pub wm: WatchMetrics,
    pub control: WatchControl,
    pub health: Arc<Health>,
    pub intake: Intake,
    running: Option<(CancellationToken, JoinHandle<Result<(), WatchError>>)>,
}

impl Rig {
    pub fn new(opts: Opts) -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        let root = base.join(opts.root.as_deref().unwrap_or("public"));
        if opts.root.is_none() {
            std::fs::create_dir_all(&root).unwrap();
        }
        let cfg = base.join("edgeflush.toml");
        std::fs::write(
            &cfg,
            format!(
                "[store]\npath = \"{db}\"\n\n[watch]\nsettle = \"100ms\"\n{watch}\n\n\
                 [[site]]\nname = \"{SITE}\"\nvhost = \"www.example.com\"\nroot = \"{root}\"\n{site}\n",
                db = base.join("edgeflush.db").display(),
                watch = opts.watch,
                root = root.display(),
                site = opts.site_extra,
            ),
        )
        .unwrap();
        let settings = Arc::new(edgeflush::config::load_file(&cfg).unwrap());
        let store = Arc::new(SqliteStore::open(&base.join("edgeflush.db")).unwrap());
        let metrics = Metrics::new();
        let wm = WatchMetrics::register(&metrics.registry).unwrap();
        let intake = Intake {
            store: store.clone(),
            metrics: metrics.clone(),
            flush_wake: Arc::new(tokio::sync::Notify::new()),
        };
        Rig {
            control: WatchControl::for_settings(&settings),
            health: Arc::new(Health::default()),
            tmp,
            base,
            root,
            settings,
            store,
            metrics,
            wm,
            intake,
            running: None,
        }
    }

    /// Starts the worker and waits for its startup round.
    pub async fn start(&mut self) {
        let rounds = self.status().rounds;
        self.spawn();
        self.wait("the startup round", |r| r.status().rounds > rounds)
            .await;
    }

    /// Starts the worker without waiting.
    pub fn spawn(&mut self) {
        assert!(self.running.is_none(), "already running");
        let ctx = WatchContext {
            intake: self.intake.clone(),
            index: self.store.clone(),
            metrics: self.wm.clone(),
            health: self.health.clone(),
            settings: self.settings.watch.clone(),
            control: self.control.clone(),
        };
        let site = self.settings.site(SITE).unwrap().clone();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run_site(ctx, site, cancel.clone()));
        self.running = Some((cancel, task));
    }

    /// Stops the worker; it must end without error.
    pub async fn stop(&mut self) {
        let (cancel, task) = self.running.take().expect("running");
        cancel.cancel();
        task.await.unwrap().unwrap();
    }

    /// The worker's result if it stopped by itself.
    pub async fn join(&mut self) -> Result<(), WatchError> {
        let (_c, task) = self.running.take().expect("running");
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the worker did not stop")
            .unwrap()
    }

    pub fn status(&self) -> SiteStatus {
        self.control.status(SITE).unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        write(&self.path(rel), content);
    }

    /// Every URL ever queued (any state).
    pub async fn queued(&self) -> BTreeSet<String> {
        self.store
            .recent_purges(1_000_000, None)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.url)
            .collect()
    }

    /// (pending, due now): held purges are pending but not due.
    pub async fn pending_and_due(&self) -> (u64, u64) {
        let pending = self.store.counts().await.unwrap()[&PurgeState::Pending];
        let due = self
            .store
            .pending_groups(now_ms())
            .await
            .unwrap()
            .iter()
            .map(|g| g.count)
            .sum();
        (pending, due)
    }

    /// Empties the queue, so that the next change's purges are new rows
    /// rather than coalesced into pending ones: claims everything into
    /// batches, dead-letters them, prunes.
    pub async fn clear_queue(&self) {
        loop {
            let Some(b) = self
                .store
                .claim_batch("www.example.com", 100_000, i64::MAX)
                .await
                .unwrap()
            else {
                break;
            };
            self.store
                .dead_letter_batch(b.id, "test: cleared", 0)
                .await
                .unwrap();
        }
        self.store.prune(i64::MAX, i64::MAX).await.unwrap();
        assert!(self.queued().await.is_empty());
    }

    /// Waits until the queue holds exactly `want` (as URLs) and the
    /// watcher is idle (its metrics and index written), then returns.
    pub async fn expect_queued(&self, want: &BTreeSet<String>) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.queued().await;
            let s = self.status();
            if &got == want && !s.busy && s.pending_paths == 0 {
                return;
            }
            if Instant::now() > deadline || !got.is_subset(want) {
                panic!(
                    "queued URLs differ\n  want: {want:?}\n  got:  {got:?}\n  status: {:?}\n{}",
                    self.status(),
                    self.metrics.render()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `cond` (every 20 ms, at most 15 s).
    pub async fn wait(&self, what: &str, mut cond: impl FnMut(&Rig) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !cond(self) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; status: {:?}\n{}",
                    self.status(),
                    self.metrics.render()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for one more completed round than `after`.
    pub async fn wait_round(&self, after: u64) {
        self.wait("another round", |r| r.status().rounds > after)
            .await;
    }

    /// Sums a watcher metric's samples with the given labels.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        crate::common::daemon::metric(&self.metrics.render(), name, labels)
    }

    pub fn skipped(&self) -> f64 {
        self.metric("edgeflush_watch_unchanged_skipped_total", &[("site", SITE)])
    }
}

pub fn write(p: &Path, content: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

/// Runs a command; it must succeed.
pub fn sh(cmd: &str, args: &[&str], dir: &Path) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
