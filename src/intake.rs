//! The one door into the queue: sources (webhooks, the file watcher, the admin
//! API, the CLI) hand over a site and changed paths or URLs; this maps them,
//! adds the site's `also_purge` URLs once per change set, and returns only
//! when the store holds them durably.

use crate::config::Site;
use crate::mapping::{MapOutcome, MappedUrl};
use crate::metrics::Metrics;
use crate::queue::{DeliveryKey, DynStore, EnqueueReport, Millis, NewPurge, Origin, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct Intake {
    pub store: DynStore,
    pub metrics: Metrics,
    pub flush_wake: Arc<Notify>,
}

/// One change set for one site.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// Site-relative paths (`blog/a.css`).
    pub paths: Vec<String>,
    /// Repository paths from a webhook: only those under the site's
    /// `repo_prefix` map, with the prefix removed; others are not this site's.
    pub repo_paths: Vec<String>,
    /// URL paths (`/blog/`) or absolute URLs under the site's base URLs.
    pub urls: Vec<String>,
    pub not_before: Millis,
    /// Releasable hold (see `NewPurge::hold`).
    pub hold: Option<String>,
}

/// Mapped purges of one site, ready to store.
#[derive(Debug, Default)]
pub struct Prepared {
    pub items: Vec<NewPurge>,
    pub report: IntakeReport,
}

/// What became of a change set: the summary a webhook or `purge` answers with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntakeReport {
    pub site: String,
    pub urls: usize,
    pub queued: u64,
    pub coalesced: u64,
    pub excluded: usize,
    /// Repository paths outside the site's `repo_prefix`.
    #[serde(skip_serializing_if = "is_zero")]
    pub outside_prefix: usize,
    pub refused: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Intake {
    pub async fn submit(
        &self,
        site: &Site,
        changes: ChangeSet,
        origin: Origin,
    ) -> Result<IntakeReport, IntakeError> {
        let kind = origin.kind.clone();
        let p = self.prepare(site, changes, origin);
        let mut reports = self.commit(None, &kind, vec![p]).await?.unwrap_or_default();
        Ok(reports.pop().unwrap_or_default())
    }

    /// Maps a change set to purges (refusals are logged and counted here).
    pub fn prepare(&self, site: &Site, changes: ChangeSet, origin: Origin) -> Prepared {
        let mut report = IntakeReport {
            site: site.name().to_string(),
            ..Default::default()
        };
        let mut urls: Vec<MappedUrl> = Vec::new();
        for p in &changes.paths {
            match site.map.map_relative(p) {
                Ok(MapOutcome::Urls(u)) => urls.extend(u),
                Ok(MapOutcome::Excluded { .. }) => report.excluded += 1,
                Err(e) => self.refused(site, &mut report, p, e.kind(), &e.to_string()),
            }
        }
        for p in &changes.repo_paths {
            match site.map.map_repo_path(p) {
                Ok(Some(MapOutcome::Urls(u))) => urls.extend(u),
                Ok(Some(MapOutcome::Excluded { .. })) => report.excluded += 1,
                Ok(None) => report.outside_prefix += 1,
                Err(e) => self.refused(site, &mut report, p, e.kind(), &e.to_string()),
            }
        }
        for u in &changes.urls {
            match site.map.urls_for_url_or_path(u) {
                Ok(v) => urls.extend(v),
                Err(e) => self.refused(site, &mut report, u, e.kind(), &e.to_string()),
            }
        }
        if !urls.is_empty() {
            urls.extend(site.map.also_purge_urls());
        }
        let mut seen = BTreeSet::new();
        urls.retain(|u| seen.insert(u.url.clone()));
        report.urls = urls.len();
        let items = urls
            .into_iter()
            .map(|u| NewPurge {
                site: site.name().to_string(),
                vhost: site.vhost().to_string(),
                url: u.url,
                path: u.path,
                origin: origin.clone(),
                not_before: changes.not_before,
                hold: changes.hold.clone(),
            })
            .collect();
        Prepared { items, report }
    }

    /// Stores prepared purges of one or more sites in one transaction, with
    /// the delivery id when there is one. `None`: a redelivery, nothing added.
    pub async fn commit(
        &self,
        delivery: Option<DeliveryKey>,
        source: &str,
        prepared: Vec<Prepared>,
    ) -> Result<Option<Vec<IntakeReport>>, IntakeError> {
        let mut items = Vec::new();
        let mut reports = Vec::new();
        for p in prepared {
            items.extend(p.items);
            reports.push(p.report);
        }
        if items.is_empty() && delivery.is_none() {
            return Ok(Some(reports));
        }
        let Some(EnqueueReport {
            added, per_site, ..
        }) = self.store.enqueue_delivery(delivery, items).await?
        else {
            return Ok(None);
        };
        for r in reports.iter_mut() {
            let (a, c) = per_site.get(&r.site).copied().unwrap_or_default();
            r.queued = a;
            r.coalesced = c;
            self.metrics
                .urls_enqueued
                .with_label_values(&[&r.site, source])
                .inc_by(a);
            self.metrics
                .urls_coalesced
                .with_label_values(&[&r.site, source])
                .inc_by(c);
        }
        if added > 0 {
            self.flush_wake.notify_one();
        }
        Ok(Some(reports))
    }

    fn refused(&self, site: &Site, report: &mut IntakeReport, input: &str, kind: &str, why: &str) {
        self.metrics
            .paths_refused
            .with_label_values(&[site.name(), kind])
            .inc();
        tracing::warn!(site = site.name(), path = %input.escape_debug(), reason = why, "path refused");
        report
            .refused
            .push(format!("{}: {why}", input.escape_debug()));
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
