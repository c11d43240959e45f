//! One round of work for a site: check where the root is, (re)build the
//! watches when asked, compare the settled paths with the index, enqueue
//! the purges durably, and only then write the index. Runs as its own task
//! so that the worker keeps draining events meanwhile; it owns the
//! in-memory index while it runs and hands it back.

use super::filter::Filter;
use super::root::{self, RootInfo};
use super::scan::{ChangeKind, Diff, Index, Scan, apply};
use super::settle::{Round, ancestors};
use super::sink::{EventSink, Relevance};
use super::watches::{SharedWatches, lock};
use super::{WatchError, WatchMetrics};
use crate::config::Site;
use crate::intake::{ChangeSet, Intake};
use crate::queue::{DynIndexStore, Millis, Origin};
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// Paths per `Intake::submit` (one store transaction each).
const SUBMIT_CHUNK: usize = 5000;

/// Everything a round needs besides the index; cloned from the worker.
#[derive(Clone)]
pub struct JobEnv {
    pub site: Arc<Site>,
    pub intake: Intake,
    pub index_store: DynIndexStore,
    pub metrics: WatchMetrics,
    pub filter: Filter,
    pub watches: SharedWatches,
    pub sink: EventSink,
    pub relevance: Arc<RwLock<Relevance>>,
    pub root: RootInfo,
    /// The index was never written: record what is there, purge nothing.
    pub first_start: bool,
    /// (hold key, not_before) while the site is held.
    pub hold: Option<(String, Millis)>,
    /// Paths still settling (skipped by this round).
    pub waiting: BTreeSet<String>,
    /// Why a whole-root round runs (for logs, metrics and the origin).
    pub reason: &'static str,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub added: u64,
    pub modified: u64,
    pub removed: u64,
    pub unchanged: u64,
    pub urls_queued: u64,
    pub dirs: u64,
    /// The first start indexed these files without purging them.
    pub indexed_only: u64,
}

pub enum Outcome {
    Done(Stats),
    /// The root does not resolve (being replaced?): nothing was done.
    RootMissing(String),
    /// The store refused a write: put the round back and retry later.
    Retry(String),
    Fatal(WatchError),
}

pub struct JobOut {
    pub index: Index,
    pub round: Round,
    pub outcome: Outcome,
    /// The root moved (release switch): watch this one from now on.
    pub new_root: Option<RootInfo>,
    pub problems: Vec<(&'static str, String)>,
}

struct Scanned {
    diff: Diff,
    new_root: Option<RootInfo>,
}

pub async fn run(env: JobEnv, index: Index, round: Round) -> JobOut {
    let env2 = env.clone();
    let round2 = round.clone();
    let scanned = tokio::task::spawn_blocking(move || {
        let r = scan(&env2, &index, &round2);
        (index, r)
    })
    .await;
    let (mut index, scanned) = match scanned {
        Ok(v) => v,
        Err(e) => {
            // The index went down with the task; the worker reloads it.
            return JobOut {
                index: Index::new(),
                round,
                outcome: Outcome::Fatal(WatchError::Task(e.to_string())),
                new_root: None,
                problems: Vec::new(),
            };
        }
    };
    let mut out = JobOut {
        index: Index::new(),
        round,
        outcome: Outcome::Done(Stats::default()),
        new_root: None,
        problems: Vec::new(),
    };
    match scanned {
        Err(Ok(missing)) => out.outcome = Outcome::RootMissing(missing),
        Err(Err(fatal)) => out.outcome = Outcome::Fatal(fatal),
        Ok(Scanned { mut diff, new_root }) => {
            out.problems = std::mem::take(&mut diff.errors);
            out.new_root = new_root;
            out.outcome = commit(&env, &mut index, diff, &out.round).await;
        }
    }
    out.index = index;
    out
}

/// The blocking half. Err(Ok(why)): the root is missing; Err(Err(e)): fatal.
fn scan(env: &JobEnv, index: &Index, round: &Round) -> Result<Scanned, Result<String, WatchError>> {
    let mut root = env.root.clone();
    let mut rebuild = round.rebuild;
    let mut scopes = round.scopes.clone();
    let mut new_root = None;
    match root::resolve(&root.configured) {
        Err(e) => return Err(Ok(format!("{}: {e}", root.configured.display()))),
        Ok(r) if r.target != root.target || r.id != root.id => {
            tracing::info!(site = env.site.name(), from = %root.target.display(), to = %r.target.display(), "root switched: diffing the new tree against the index");
            env.metrics
                .rescans
                .with_label_values(&[env.site.name(), "root_switch"])
                .inc();
            rebuild = true;
            scopes = vec![String::new()];
            root = r.clone();
            new_root = Some(r);
        }
        Ok(_) => {}
    }
    if rebuild {
        if let Ok(mut rel) = env.relevance.write() {
            *rel = Relevance {
                target: root.target.clone(),
                anchors: root.anchors.clone(),
            };
        }
        lock(&env.watches).rebuild(&env.sink, &root).map_err(Err)?;
    }
    let waiting = |p: &str| super::settle::waiting(&env.waiting, p);
    let s = Scan {
        root: &root.target,
        filter: &env.filter,
        index,
        touched: &round.touched,
        waiting: &waiting,
    };
    let watches = env.watches.clone();
    let mut on_dir = |dir: &std::path::Path| lock(&watches).add_dir(dir);
    let mut diff = s.run(&scopes, &mut on_dir).map_err(Err)?;
    for p in lock(&env.watches).take_problems() {
        diff.errors.push(("watch", p));
    }
    Ok(Scanned { diff, new_root })
}

/// Purges durably, then records the new index state.
async fn commit(env: &JobEnv, index: &mut Index, diff: Diff, round: &Round) -> Outcome {
    let name = env.site.name();
    let mut stats = Stats {
        unchanged: diff.unchanged,
        dirs: diff.dirs,
        ..Stats::default()
    };
    if env.first_start {
        stats.indexed_only = diff.changed.len() as u64;
    } else if !diff.changed.is_empty() {
        let whole = round.scopes.iter().any(|s| s.is_empty());
        let paths: Vec<String> = diff.changed.iter().map(|(p, _)| p.clone()).collect();
        let origin = if whole {
            Origin::new("reconcile", env.reason)
        } else if paths.len() == 1 {
            Origin::new("file", paths[0].clone())
        } else {
            Origin::new("file", format!("{} files", paths.len()))
        };
        let (hold, not_before) = match &env.hold {
            Some((k, nb)) => (Some(k.clone()), *nb),
            None => (None, 0),
        };
        for chunk in paths.chunks(SUBMIT_CHUNK) {
            let changes = ChangeSet {
                paths: chunk.to_vec(),
                hold: hold.clone(),
                not_before,
                ..Default::default()
            };
            match env.intake.submit(&env.site, changes, origin.clone()).await {
                Ok(r) => stats.urls_queued += r.queued,
                Err(e) => return Outcome::Retry(format!("enqueue: {e}")),
            }
        }
        let now = Instant::now();
        for (p, kind) in &diff.changed {
            match kind {
                ChangeKind::Added => stats.added += 1,
                ChangeKind::Modified => stats.modified += 1,
                ChangeKind::Removed => stats.removed += 1,
            }
            env.metrics
                .files_purged
                .with_label_values(&[name, kind.label()])
                .inc();
            let last = std::iter::once(p.as_str())
                .chain(ancestors(p))
                .find_map(|a| round.last.get(a));
            if let (Some(t), false) = (last, whole) {
                env.metrics
                    .event_to_enqueue
                    .with_label_values(&[name])
                    .observe(now.saturating_duration_since(*t).as_secs_f64());
            }
        }
    }
    if !diff.updates.is_empty() || env.first_start {
        if let Err(e) = env
            .index_store
            .update_index(name, diff.updates.clone())
            .await
        {
            return Outcome::Retry(format!("file index: {e}"));
        }
        apply(index, &diff.updates);
    }
    env.metrics
        .unchanged_skipped
        .with_label_values(&[name])
        .inc_by(diff.unchanged);
    Outcome::Done(stats)
}
