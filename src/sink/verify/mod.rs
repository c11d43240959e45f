//! Freshness verified at the edge: after the API confirms a purge, fetch a
//! sample of its URLs through the CDN and compare them with the origin. A
//! stale URL is flushed again (durably, through the store) up to
//! `verify.max_reflush` times, then dead-lettered as "stale after purge"; an
//! unreachable edge only counts as unknown, it never causes re-flushes.
//!
//! The poller hands over confirmed URLs through a bounded channel with
//! `try_send`: a full verifier counts them as skipped and never slows the
//! purges down. A check is a read, so checks in flight when the daemon stops
//! are not kept; every re-flush it decides is in the store before it counts.

mod disk;
pub mod judge;
mod lane;
mod probe;

use crate::config::{Settings, Site};
use crate::metrics::Metrics;
use crate::queue::{Millis, NewPurge, Origin, PurgeItem, now_ms};
use judge::{Outcome, Verdict};
use lane::Lane;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Confirmed batches waiting for the verifier.
const QUEUE_JOBS: usize = 256;
/// Checks started (waiting for a permit or in flight) at once.
const MAX_STARTED: usize = 2048;
/// URLs remembered as stale, awaiting their re-flush's verdict.
const MAX_STALE: usize = 10_000;

/// One confirmed URL to check.
#[derive(Debug, Clone)]
pub struct Check {
    pub purge_id: i64,
    pub url: String,
    pub path: String,
    pub enqueued_at: Millis,
}

pub struct VerifyJob {
    site: Arc<Site>,
    checks: Vec<Check>,
    confirmed: tokio::time::Instant,
}

/// Stale URLs: how often re-flushed, and the first enqueue (for the
/// enqueue-to-fresh figure).
type StaleMap = Arc<Mutex<HashMap<String, (u32, Millis)>>>;

/// The poller's end of the verifier. Cheap to clone.
#[derive(Clone)]
pub struct VerifyQueue {
    tx: mpsc::Sender<VerifyJob>,
    sites: Arc<HashMap<String, Arc<Site>>>,
    stale: StaleMap,
    metrics: Metrics,
}

pub struct VerifyWorker {
    rx: mpsc::Receiver<VerifyJob>,
    stale: StaleMap,
}

fn stale_map(m: &StaleMap) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Millis)>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Picks at most `n` of `checks`, spread over the batch, always keeping URLs
/// that await the verdict on a re-flush.
fn sample(checks: Vec<Check>, n: Option<usize>, stale: &StaleMap) -> Vec<Check> {
    let Some(n) = n.filter(|n| *n < checks.len()) else {
        return checks;
    };
    let s = stale_map(stale);
    let len = checks.len();
    let picked: std::collections::HashSet<usize> = (0..n).map(|i| i * len / n).collect();
    checks
        .into_iter()
        .enumerate()
        .filter(|(i, c)| picked.contains(i) || s.contains_key(&c.url))
        .map(|(_, c)| c)
        .collect()
}

impl VerifyQueue {
    /// None when no site verifies: the poller then has nothing to hand over.
    pub fn channel(settings: &Settings, metrics: &Metrics) -> Option<(VerifyQueue, VerifyWorker)> {
        let sites: HashMap<String, Arc<Site>> = settings
            .sites
            .iter()
            .filter(|s| s.verify.is_some())
            .map(|s| (s.vhost().to_string(), s.clone()))
            .collect();
        if sites.is_empty() {
            return None;
        }
        let (tx, rx) = mpsc::channel(QUEUE_JOBS);
        let stale = StaleMap::default();
        Some((
            VerifyQueue {
                tx,
                sites: Arc::new(sites),
                stale: stale.clone(),
                metrics: metrics.clone(),
            },
            VerifyWorker { rx, stale },
        ))
    }

    /// Hands the confirmed purges of a batch to the verifier; never waits.
    pub fn offer(&self, vhost: &str, items: &[&PurgeItem]) {
        let Some(site) = self.sites.get(vhost) else {
            return;
        };
        let Some(v) = &site.verify else { return };
        let checks = items
            .iter()
            .map(|i| Check {
                purge_id: i.id,
                url: i.url.clone(),
                path: i.path.clone(),
                enqueued_at: i.enqueued_at,
            })
            .collect();
        let checks = sample(checks, v.sample, &self.stale);
        let n = checks.len() as u64;
        let job = VerifyJob {
            site: site.clone(),
            checks,
            confirmed: tokio::time::Instant::now(),
        };
        if self.tx.try_send(job).is_err() {
            self.metrics
                .verify_urls
                .with_label_values(&[site.name(), "skipped"])
                .inc_by(n);
            tracing::warn!(
                site = site.name(),
                urls = n,
                "verifier busy: confirmed URLs not checked at the edge"
            );
        }
    }
}

/// The verifier worker: checks under each site's concurrency and rate
/// limits, then acts on the verdicts.
pub async fn run(
    cx: super::SinkContext,
    mut worker: VerifyWorker,
    cancel: CancellationToken,
) -> Result<(), crate::queue::StoreError> {
    let mut lanes: HashMap<String, Arc<Lane>> = HashMap::new();
    for site in cx.settings.sites.iter() {
        let Some(v) = &site.verify else { continue };
        match Lane::new(site, v) {
            Ok(l) => {
                lanes.insert(site.name().to_string(), Arc::new(l));
            }
            Err(e) => {
                tracing::error!(site = site.name(), error = %e, "verification off for this site")
            }
        }
    }
    let mut tasks: JoinSet<(Arc<Site>, Check, Verdict)> = JoinSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((site, check, verdict)) = done {
                    settle(&cx, &worker.stale, &site, check, verdict).await;
                }
            }
            job = worker.rx.recv(), if tasks.len() < MAX_STARTED => {
                let Some(job) = job else { return Ok(()) };
                let Some(lane) = lanes.get(job.site.name()) else { continue };
                let at = job.confirmed + job.site.verify.as_ref().map(|v| v.delay).unwrap_or_default();
                for check in job.checks {
                    let (lane, site) = (lane.clone(), job.site.clone());
                    tasks.spawn(async move {
                        tokio::time::sleep_until(at).await;
                        let verdict = lane.check(&site, &check).await;
                        (site, check, verdict)
                    });
                }
            }
        }
    }
}

/// Counts a verdict and acts on it.
async fn settle(cx: &super::SinkContext, stale: &StaleMap, site: &Site, check: Check, v: Verdict) {
    let m = &cx.metrics;
    let (name, vhost) = (site.name(), site.vhost());
    m.verify_urls
        .with_label_values(&[name, v.outcome.as_str()])
        .inc();
    match v.outcome {
        Outcome::Fresh => {
            let first = stale_map(stale)
                .remove(&check.url)
                .map_or(check.enqueued_at, |(_, t)| t);
            let secs = (now_ms() - first.min(check.enqueued_at)).max(0) as f64 / 1000.0;
            m.verify_fresh.with_label_values(&[vhost]).observe(secs);
            tracing::debug!(
                site = name,
                url = check.url,
                basis = v.basis,
                "fresh at the edge"
            );
        }
        Outcome::Unknown => {
            tracing::info!(
                site = name,
                url = check.url,
                reason = v.detail,
                "freshness at the edge unknown"
            );
        }
        Outcome::Stale => stale_found(cx, stale, site, check, v).await,
    }
}

async fn stale_found(
    cx: &super::SinkContext,
    stale: &StaleMap,
    site: &Site,
    check: Check,
    v: Verdict,
) {
    let max = site.verify.as_ref().map_or(0, |v| v.max_reflush);
    let tries = {
        let mut s = stale_map(stale);
        if s.len() >= MAX_STALE && !s.contains_key(&check.url) {
            tracing::warn!(
                entries = s.len(),
                "too many stale URLs remembered; forgetting their re-flush counts"
            );
            s.clear();
        }
        let e = s.entry(check.url.clone()).or_insert((0, check.enqueued_at));
        e.0 += 1;
        e.0
    };
    let (name, vhost) = (site.name(), site.vhost());
    if tries <= max {
        let purge = NewPurge {
            site: name.to_string(),
            vhost: vhost.to_string(),
            url: check.url.clone(),
            path: check.path.clone(),
            origin: Origin::new("verify", format!("stale after purge ({tries} of {max})")),
            not_before: 0,
            hold: None,
        };
        match cx.store.enqueue(vec![purge]).await {
            Ok(_) => {
                cx.metrics.verify_reflushes.with_label_values(&[name]).inc();
                cx.metrics
                    .urls_enqueued
                    .with_label_values(&[name, "verify"])
                    .inc();
                cx.flush_wake.notify_one();
                tracing::warn!(
                    site = name,
                    url = check.url,
                    basis = v.basis,
                    detail = v.detail,
                    re_flush = tries,
                    max,
                    "stale at the edge after a confirmed purge; flushing again"
                );
            }
            Err(e) => {
                tracing::error!(site = name, url = check.url, error = %e, "stale at the edge, and the re-flush could not be stored")
            }
        }
        return;
    }
    stale_map(stale).remove(&check.url);
    match cx
        .store
        .dead_letter_confirmed(check.purge_id, "stale after purge", now_ms())
        .await
    {
        Ok(_) => {
            cx.metrics
                .dead_letters
                .with_label_values(&[vhost, "stale_after_purge"])
                .inc();
            tracing::error!(
                site = name,
                url = check.url,
                detail = v.detail,
                re_flushes = max,
                "still stale at the edge after every re-flush: dead letter"
            );
        }
        Err(e) => {
            tracing::error!(site = name, url = check.url, error = %e, "could not record the dead letter")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(n: usize) -> Vec<Check> {
        (0..n)
            .map(|i| Check {
                purge_id: i as i64,
                url: format!("https://a.test/{i}"),
                path: format!("/{i}"),
                enqueued_at: 0,
            })
            .collect()
    }

    #[test]
    fn sampling_spreads_and_keeps_stale_urls() {
        let stale = StaleMap::default();
        assert_eq!(sample(checks(5), None, &stale).len(), 5);
        assert_eq!(sample(checks(5), Some(10), &stale).len(), 5);
        let picked: Vec<i64> = sample(checks(100), Some(4), &stale)
            .iter()
            .map(|c| c.purge_id)
            .collect();
        assert_eq!(picked, [0, 25, 50, 75]);
        stale_map(&stale).insert("https://a.test/99".into(), (1, 0));
        let picked: Vec<i64> = sample(checks(100), Some(4), &stale)
            .iter()
            .map(|c| c.purge_id)
            .collect();
        assert_eq!(picked, [0, 25, 50, 75, 99]);
    }
}
