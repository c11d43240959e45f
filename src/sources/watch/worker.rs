//! One site's watcher task: startup (resolve the root, check the inotify
//! budget, load the index), then a loop that takes events in, settles
//! them, runs one round at a time (see `job.rs`) and follows holds. The
//! loop never waits on a round: events keep flowing into the settle map
//! while the previous round hashes and stores.

use super::control::SiteControl;
use super::filter::Filter;
use super::hold::{Hold, HoldChange};
use super::job::{self, JobEnv, JobOut, Outcome};
use super::limits::check_watch_budget;
use super::root::{self, RootInfo};
use super::scan::{Index, Known, count_dirs};
use super::settle::Pending;
use super::sink::{EventSink, Msg, Relevance, Signals};
use super::watches::{SharedWatches, WatchSet, lock};
use super::{WatchContext, WatchError, health_component};
use crate::config::Site;
use crate::queue::now_ms;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often a vanished root is looked for again.
const ROOT_RETRY: Duration = Duration::from_secs(2);
/// Events handled per wake-up before timers get a turn.
const DRAIN: usize = 4096;

pub(super) struct Worker {
    pub ctx: WatchContext,
    pub site: Arc<Site>,
    pub name: String,
    pub component: String,
    pub ctl: Arc<SiteControl>,
    pub filter: Filter,
    pub root: RootInfo,
    pub relevance: Arc<RwLock<Relevance>>,
    pub signals: Arc<Signals>,
    pub sink: EventSink,
    pub watches: SharedWatches,
    pub pending: Pending,
    /// None while a round owns it.
    pub index: Option<Index>,
    pub indexed: usize,
    pub first_start: bool,
    pub hold: Hold,
    pub marker_seen: bool,
    /// A hold ended: release its purges once no round is storing.
    pub release_pending: bool,
    /// Take every pending path now, settled or not.
    pub flush_now: bool,
    /// Why the next whole-root round runs.
    pub root_reason: Option<&'static str>,
    pub retry_at: Option<Instant>,
    pub backoff: Duration,
    pub root_lost: bool,
    pub cap: Duration,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WatchError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WatchError::Task(e.to_string()))
}

pub async fn run(
    ctx: WatchContext,
    site: Arc<Site>,
    cancel: CancellationToken,
) -> Result<(), WatchError> {
    let name = site.name().to_string();
    let configured = site
        .map
        .root()
        .map(Path::to_path_buf)
        .ok_or_else(|| WatchError::NoRoot(name.clone()))?;
    let shown = configured.display().to_string();
    let root = blocking(move || root::resolve(&configured))
        .await?
        .map_err(|e| WatchError::Root {
            site: name.clone(),
            root: shown,
            message: e.to_string(),
        })?;
    let filter = Filter::new(&ctx.settings, site.clone());
    let (t, f) = (root.target.clone(), filter.clone());
    let dirs = blocking(move || count_dirs(&t, &f)).await?;
    match check_watch_budget(&name, dirs) {
        Err(advice) => return Err(WatchError::WatchLimit(advice)),
        Ok(Some(warning)) => tracing::warn!(site = %name, "{warning}"),
        Ok(None) => {}
    }
    tracing::info!(site = %name, root = %root.target.display(), dirs, via_symlink = root.via_symlink(), "watching the document root");
    let component = health_component(&name);
    let Some((index, first_start)) = load_index(&ctx, &name, &component, &cancel).await else {
        return Ok(());
    };
    let (tx, rx) = mpsc::channel(ctx.settings.channel_capacity);
    let signals = Arc::new(Signals::default());
    let relevance = Arc::new(RwLock::new(Relevance {
        target: root.target.clone(),
        anchors: root.anchors.clone(),
    }));
    let sink = EventSink::new(tx, signals.clone(), relevance.clone());
    let mut watches = WatchSet::new(&name);
    watches.expect(dirs);
    let settle = ctx.settings.settle;
    let w = Worker {
        ctl: ctx.control.site(&name),
        hold: Hold::new(&name, ctx.settings.max_hold),
        indexed: index.len(),
        index: Some(index),
        watches: Arc::new(Mutex::new(watches)),
        pending: Pending::default(),
        cap: (settle * 10).max(Duration::from_secs(5)),
        marker_seen: false,
        release_pending: false,
        flush_now: false,
        root_reason: None,
        retry_at: None,
        backoff: Duration::from_secs(1),
        root_lost: false,
        ctx,
        site,
        name,
        component,
        filter,
        root,
        relevance,
        signals,
        sink,
        first_start,
    };
    w.run(rx, cancel).await
}

/// Loads the index, retrying while the store is unavailable. None: cancelled.
async fn load_index(
    ctx: &WatchContext,
    name: &str,
    component: &str,
    cancel: &CancellationToken,
) -> Option<(Index, bool)> {
    let mut backoff = Duration::from_secs(1);
    loop {
        let loaded = async {
            let created = ctx.index.index_created(name).await?;
            let files = ctx.index.load_index(name).await?;
            Ok::<_, crate::queue::StoreError>((files, created.is_none()))
        }
        .await;
        match loaded {
            Ok((files, first)) => {
                ctx.health.ok(component);
                let index = files
                    .into_iter()
                    .map(|f| {
                        let known = Known {
                            stamp: f.stamp,
                            hash: f.hash,
                        };
                        (f.path, known)
                    })
                    .collect();
                return Some((index, first));
            }
            Err(e) => {
                tracing::warn!(site = name, error = %e, "cannot load the file index; retrying");
                ctx.health.fail(component, format!("file index: {e}"));
                ctx.metrics.errors.with_label_values(&[name, "store"]).inc();
                tokio::select! {
                    _ = cancel.cancelled() => return None,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

impl Worker {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        cancel: CancellationToken,
    ) -> Result<(), WatchError> {
        if let Ok(mut s) = self.ctl.sink.lock() {
            *s = Some(self.sink.clone());
        }
        self.pending.touch_root(Instant::now(), true, false);
        self.root_reason = Some("startup");
        self.flush_now = true;
        if !self.check_hold().await {
            // Whatever a hold queued before a restart goes out now.
            self.release_pending = true;
        }
        self.publish();
        let mut running: Option<JoinHandle<JobOut>> = None;
        let result = loop {
            if running.is_none() {
                if self.release_pending && self.retry_due() {
                    self.release().await;
                }
                running = self.start_round();
            }
            let deadline = self.deadline(running.is_some());
            let job_done = async {
                match running.as_mut() {
                    Some(j) => j.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ok(()),
                done = job_done => {
                    running = None;
                    if let Err(e) = self.finish(done).await {
                        break Err(e);
                    }
                }
                _ = self.signals.wake.notified() => self.on_signals(),
                _ = self.ctl.wake.notified() => self.on_control().await,
                msg = rx.recv() => {
                    let mut next = msg;
                    let mut n = 0;
                    let mut failed = None;
                    while let Some(m) = next {
                        if let Err(e) = self.on_msg(m).await {
                            failed = Some(e);
                            break;
                        }
                        n += 1;
                        next = if n < DRAIN { rx.try_recv().ok() } else { None };
                    }
                    if let Some(e) = failed {
                        break Err(e);
                    }
                    let pending = self.pending.len() as u64;
                    self.ctl.publish(|s| s.pending_paths = pending);
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    self.check_hold().await;
                }
            }
        };
        if let Some(j) = running {
            // Let the round store what it found (the daemon's shutdown
            // deadline still bounds this).
            let _ = j.await;
        }
        lock(&self.watches).close();
        if let Ok(mut s) = self.ctl.sink.lock() {
            *s = None;
        }
        self.ctl.publish(|s| s.running = false);
        result
    }

    fn retry_due(&self) -> bool {
        self.retry_at.is_none_or(|t| t <= Instant::now())
    }

    /// The next moment something is due: a settled path, a retry, the end
    /// of a hold.
    fn deadline(&self, job_running: bool) -> Instant {
        let now = Instant::now();
        let mut d = now + Duration::from_secs(3600);
        if let Some(until) = self.hold.until() {
            let ms = (until - now_ms()).max(0) as u64;
            d = d.min(now + Duration::from_millis(ms));
        }
        if !job_running && (!self.pending.is_empty() || self.release_pending) {
            let due = if self.flush_now || self.release_pending {
                Some(now)
            } else {
                self.pending.next_due(self.ctx.settings.settle, self.cap)
            };
            if let Some(due) = due {
                d = d.min(self.retry_at.map_or(due, |r| r.max(due)));
            }
        }
        d
    }

    fn start_round(&mut self) -> Option<JoinHandle<JobOut>> {
        if self.index.is_none() || !self.retry_due() {
            return None;
        }
        let round = if std::mem::take(&mut self.flush_now) {
            self.pending.take_all()
        } else {
            self.pending
                .take_due(Instant::now(), self.ctx.settings.settle, self.cap)
        };
        if round.scopes.is_empty() {
            return None;
        }
        let whole = round.scopes.iter().any(|s| s.is_empty());
        let reason = if whole {
            let r = self.root_reason.take().unwrap_or("request");
            self.ctx
                .metrics
                .rescans
                .with_label_values(&[&self.name, r])
                .inc();
            r
        } else {
            "change"
        };
        let index = self.index.take()?;
        let env = JobEnv {
            site: self.site.clone(),
            intake: self.ctx.intake.clone(),
            index_store: self.ctx.index.clone(),
            metrics: self.ctx.metrics.clone(),
            filter: self.filter.clone(),
            watches: self.watches.clone(),
            sink: self.sink.clone(),
            relevance: self.relevance.clone(),
            root: self.root.clone(),
            first_start: self.first_start,
            hold: self.hold.queue_params(),
            waiting: self.pending.snapshot(),
            reason,
        };
        self.ctl.publish(|s| s.busy = true);
        Some(tokio::spawn(job::run(env, index, round)))
    }

    async fn finish(&mut self, done: Result<JobOut, JoinError>) -> Result<(), WatchError> {
        self.ctl.publish(|s| s.busy = false);
        let out = match done {
            Ok(out) => out,
            Err(e) => return self.recover(format!("round task failed: {e}")).await,
        };
        self.index = Some(out.index);
        for (kind, msg) in &out.problems {
            tracing::warn!(site = %self.name, kind, "{msg}");
            self.ctx
                .metrics
                .errors
                .with_label_values(&[self.name.as_str(), kind])
                .inc();
        }
        if let Some(r) = out.new_root {
            self.root = r;
        }
        match out.outcome {
            Outcome::Done(stats) => {
                self.retry_at = None;
                self.backoff = Duration::from_secs(1);
                if self.first_start {
                    tracing::info!(site = %self.name, files = stats.indexed_only, dirs = stats.dirs, "first start: indexed the root, purged nothing");
                    self.first_start = false;
                } else if stats.added + stats.modified + stats.removed + stats.unchanged > 0 {
                    tracing::info!(site = %self.name, added = stats.added, modified = stats.modified, removed = stats.removed, unchanged = stats.unchanged, urls = stats.urls_queued, held = self.hold.since().is_some(), "files changed");
                }
                if self.root_lost {
                    tracing::info!(site = %self.name, root = %self.root.target.display(), "the root is back");
                    self.root_lost = false;
                }
                self.ctx.health.ok(&self.component);
                self.ctx
                    .metrics
                    .rounds
                    .with_label_values(&[&self.name])
                    .inc();
                self.ctl.publish(|s| {
                    s.rounds += 1;
                    s.last_round_at = Some(now_ms());
                });
            }
            Outcome::RootMissing(why) => {
                if !self.root_lost {
                    tracing::error!(site = %self.name, reason = %why, "the root is gone; nothing is purged until it is back");
                    self.ctx
                        .metrics
                        .errors
                        .with_label_values(&[&self.name, "root"])
                        .inc();
                }
                self.root_lost = true;
                self.ctx
                    .health
                    .fail(&self.component, format!("root missing: {why}"));
                self.pending.restore(&out.round, Instant::now());
                self.retry_at = Some(Instant::now() + ROOT_RETRY);
            }
            Outcome::Retry(why) => {
                tracing::warn!(site = %self.name, error = %why, retry_in = ?self.backoff, "round failed; the changes are kept and tried again");
                self.ctx
                    .metrics
                    .errors
                    .with_label_values(&[&self.name, "store"])
                    .inc();
                self.ctx.health.fail(&self.component, why);
                self.pending.restore(&out.round, Instant::now());
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
            Outcome::Fatal(WatchError::Task(e)) => return self.recover(e).await,
            Outcome::Fatal(e) => return Err(e),
        }
        self.publish();
        Ok(())
    }

    /// A round panicked and took the in-memory index with it: reload it
    /// from the store and rescan everything.
    async fn recover(&mut self, why: String) -> Result<(), WatchError> {
        tracing::error!(site = %self.name, error = %why, "reloading the file index and rescanning");
        self.ctx
            .metrics
            .errors
            .with_label_values(&[&self.name, "task"])
            .inc();
        let cancel = CancellationToken::new();
        if let Some((index, first)) =
            load_index(&self.ctx, &self.name, &self.component, &cancel).await
        {
            self.indexed = index.len();
            self.index = Some(index);
            self.first_start = first;
        }
        self.pending.touch_root(Instant::now(), true, false);
        self.root_reason.get_or_insert("error");
        Ok(())
    }

    fn on_signals(&mut self) {
        let now = Instant::now();
        for (flag, reason) in [
            (&self.signals.kernel_overflow, "overflow"),
            (&self.signals.channel_full, "channel_full"),
        ] {
            if flag.swap(false, Ordering::SeqCst) {
                tracing::warn!(site = %self.name, reason, "events were lost; rescanning the root against the index");
                self.pending.touch_root(now, true, false);
                self.root_reason.get_or_insert(reason);
            }
        }
    }

    async fn on_control(&mut self) {
        if self.ctl.rescan.swap(false, Ordering::SeqCst) {
            self.pending.touch_root(Instant::now(), false, false);
            self.root_reason.get_or_insert("request");
        }
        self.check_hold().await;
    }

    /// Follows the marker and the API hold; true while held.
    pub(super) async fn check_hold(&mut self) -> bool {
        self.marker_seen = match &self.ctx.settings.hold_marker {
            Some(m) => tokio::fs::try_exists(self.root.target.join(m))
                .await
                .unwrap_or(false),
            None => false,
        };
        let api = self.ctl.api_hold.load(Ordering::SeqCst);
        let change = self.hold.update(self.marker_seen || api, now_ms());
        let held = self.hold.since().is_some();
        match change {
            HoldChange::None => return held,
            HoldChange::Started => {
                tracing::info!(site = %self.name, by_marker = self.marker_seen, by_api = api, until_ms = self.hold.until(), "hold: purges are queued and held");
            }
            HoldChange::Ended => {
                tracing::info!(site = %self.name, "hold ended: releasing the held purges together");
                self.release_pending = true;
                self.flush_now = true;
            }
            HoldChange::Expired => {
                tracing::warn!(site = %self.name, max_hold = ?self.ctx.settings.max_hold, "hold lasted longer than watch.max_hold: releasing the held purges");
                self.release_pending = true;
                self.flush_now = true;
            }
        }
        self.ctx
            .metrics
            .held
            .with_label_values(&[&self.name])
            .set(i64::from(held));
        self.publish();
        held
    }

    async fn release(&mut self) {
        let key = self.hold.key().to_string();
        match self.ctx.intake.store.release_hold(&key).await {
            Ok(n) => {
                self.release_pending = false;
                if n > 0 {
                    tracing::info!(site = %self.name, released = n, "held purges released");
                    self.ctx.intake.flush_wake.notify_one();
                }
            }
            Err(e) => {
                tracing::warn!(site = %self.name, error = %e, "cannot release held purges yet");
                self.ctx
                    .metrics
                    .errors
                    .with_label_values(&[&self.name, "store"])
                    .inc();
                self.retry_at = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    pub(super) fn publish(&mut self) {
        if let Some(i) = &self.index {
            self.indexed = i.len();
        }
        let watches = lock(&self.watches).count() as u64;
        let m = &self.ctx.metrics;
        m.watches
            .with_label_values(&[&self.name])
            .set(watches as i64);
        m.indexed_files
            .with_label_values(&[&self.name])
            .set(self.indexed as i64);
        let (held, since, until) = (
            self.hold.since().is_some(),
            self.hold.since(),
            self.hold.until(),
        );
        let (marker, root, indexed, pending) = (
            self.marker_seen,
            self.root.target.display().to_string(),
            self.indexed as u64,
            self.pending.len() as u64,
        );
        self.ctl.publish(|s| {
            s.running = true;
            s.held = held;
            s.held_by_marker = marker;
            s.held_since = since;
            s.held_until = until;
            s.root = Some(root);
            s.indexed_files = indexed;
            s.watches = watches;
            s.pending_paths = pending;
        });
    }
}
