//! The one door into the queue: sources (webhooks, the file watcher, the admin
//! API, the CLI) hand over a site and changed paths or URLs; this maps them,
//! adds the site's `also_purge` URLs once per change set, and returns only
//! when the store holds them durably.

use crate::config::Site;
use crate::mapping::{MapOutcome, MappedUrl};
use crate::metrics::Metrics;
use crate::queue::{DynStore, EnqueueReport, Millis, NewPurge, Origin, StoreError};
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
    /// URL paths (`/blog/`) or absolute URLs under the site's base URLs.
    pub urls: Vec<String>,
    pub not_before: Millis,
}

/// What became of a change set: the summary a webhook or `purge` answers with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntakeReport {
    pub site: String,
    pub urls: usize,
    pub queued: u64,
    pub coalesced: u64,
    pub excluded: usize,
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
        let mut report = IntakeReport {
            site: site.name().to_string(),
            ..Default::default()
        };
        let mut urls: Vec<MappedUrl> = Vec::new();
        for p in &changes.paths {
            match site.map.map_relative(p) {
                Ok(MapOutcome::Urls(u)) => urls.extend(u),
                Ok(MapOutcome::Excluded { .. }) => report.excluded += 1,
                Err(e) => {
                    self.refused(site, &mut report, p, e.kind(), &e.to_string());
                }
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
        if urls.is_empty() {
            return Ok(report);
        }
        let items: Vec<NewPurge> = urls
            .into_iter()
            .map(|u| NewPurge {
                site: site.name().to_string(),
                vhost: site.vhost().to_string(),
                url: u.url,
                path: u.path,
                origin: origin.clone(),
                not_before: changes.not_before,
            })
            .collect();
        let EnqueueReport { added, coalesced } = self.store.enqueue(items).await?;
        report.queued = added;
        report.coalesced = coalesced;
        self.metrics
            .urls_enqueued
            .with_label_values(&[site.name(), &origin.kind])
            .inc_by(added);
        self.metrics
            .urls_coalesced
            .with_label_values(&[site.name(), &origin.kind])
            .inc_by(coalesced);
        self.flush_wake.notify_one();
        Ok(report)
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
