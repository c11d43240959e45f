//! What a verified delivery does: filters (repository, branch, tag), the
//! change set per site (incomplete ones become a whole-site purge or are
//! ignored, per `on_incomplete`), deploy delays and holds released by a
//! successful deployment, and the durable, deduplicated enqueue.

use super::listener::WebhookState;
use super::{Delivery, Event, Push};
use crate::config::{HookSettings, OnIncomplete, Settings, Site};
use crate::intake::{ChangeSet, IntakeReport, Prepared};
use crate::queue::{DeliveryKey, Millis, Origin, now_ms};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

pub enum Outcome {
    Ping,
    Duplicate {
        delivery: String,
    },
    Ignored {
        delivery: Option<String>,
        reason: String,
    },
    Queued(Summary),
    Released {
        delivery: Option<String>,
        released: u64,
    },
    BadRequest(String),
    StoreDown(String),
}

/// The 202 body: what was queued, per site.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub delivery: Option<String>,
    pub hook: String,
    pub event: String,
    pub sites: Vec<IntakeReport>,
    /// Purges wait until this time (ms since epoch) unless released earlier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_until: Option<Millis>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Summary {
    pub fn urls(&self) -> usize {
        self.sites.iter().map(|s| s.urls).sum()
    }
}

/// The key under which a push's purges wait for its deployment.
pub fn hold_key(repository: &str, sha: &str) -> String {
    format!(
        "deploy:{}:{}",
        repository.to_ascii_lowercase(),
        sha.to_ascii_lowercase()
    )
}

pub async fn act(
    st: &WebhookState,
    settings: &Settings,
    hook: &HookSettings,
    delivery: Delivery,
) -> Outcome {
    let id = delivery.id.clone();
    match delivery.event {
        Event::Ping => Outcome::Ping,
        Event::Ignored { reason } => Outcome::Ignored {
            delivery: id,
            reason,
        },
        Event::Deployed {
            repository,
            sha,
            success,
            kind,
        } => {
            if hook.release_on_deployment.is_none() {
                return ignored(id, format!("{kind} event, but this hook has no release_on"));
            }
            if !success {
                return ignored(
                    id,
                    format!("{kind} did not succeed; held purges wait for max_hold"),
                );
            }
            if !hook.repository_allowed(&repository) {
                return ignored(
                    id,
                    format!("repository {repository:?} is not in hook.repositories"),
                );
            }
            match st
                .intake
                .store
                .release_hold(&hold_key(&repository, &sha))
                .await
            {
                Ok(n) => {
                    tracing::info!(hook = %hook.name, repository, sha, released = n, "deployment released held purges");
                    st.intake.flush_wake.notify_one();
                    Outcome::Released {
                        delivery: id,
                        released: n,
                    }
                }
                Err(e) => Outcome::StoreDown(e.to_string()),
            }
        }
        Event::Generic {
            site,
            paths,
            urls,
            purge_site,
        } => {
            let Some(s) = settings.site(&site).cloned() else {
                return Outcome::BadRequest(format!("unknown site {site:?}"));
            };
            if !hook.sites.is_empty() && !hook.sites.contains(&site) {
                return Outcome::BadRequest(format!(
                    "site {site:?} is not among this hook's sites"
                ));
            }
            if paths.is_empty() && urls.is_empty() && !purge_site {
                return Outcome::BadRequest("give `paths`, `urls` or `purge_site: true`".into());
            }
            let mut notes = Vec::new();
            let mut changes = ChangeSet {
                paths,
                urls,
                not_before: not_before(hook, None),
                ..Default::default()
            };
            if purge_site {
                site_wide(st, &s, &mut changes, &mut notes).await;
            }
            let origin = origin(hook, &id);
            let prepared = vec![st.intake.prepare(&s, changes, origin)];
            commit(st, hook, id, "standard", prepared, None, notes).await
        }
        Event::Push(p) => pushes(st, settings, hook, id, delivery.event_name, vec![p]).await,
        Event::Pushes(ps) => pushes(st, settings, hook, id, delivery.event_name, ps).await,
    }
}

fn ignored(delivery: Option<String>, reason: String) -> Outcome {
    Outcome::Ignored { delivery, reason }
}

fn origin(hook: &HookSettings, id: &Option<String>) -> Origin {
    Origin::new(
        "webhook",
        format!("{}:{}", hook.name, id.as_deref().unwrap_or("-")),
    )
}

fn not_before(hook: &HookSettings, hold: Option<&str>) -> Millis {
    let now = now_ms();
    match (hold, hook.release_on_deployment) {
        (Some(_), Some(max_hold)) => now + max_hold.as_millis() as i64,
        _ if hook.delay.is_zero() => 0,
        _ => now + hook.delay.as_millis() as i64,
    }
}

async fn pushes(
    st: &WebhookState,
    settings: &Settings,
    hook: &HookSettings,
    id: Option<String>,
    event: String,
    pushes: Vec<Push>,
) -> Outcome {
    let mut reasons = Vec::new();
    let allowed: Vec<Push> = pushes
        .into_iter()
        .filter(|p| {
            let why = if p.deleted {
                Some(format!("{} was deleted", p.git_ref))
            } else if !hook.repository_allowed(&p.repository) {
                Some(format!(
                    "repository {:?} is not in hook.repositories",
                    p.repository
                ))
            } else {
                hook.ref_allowed(&p.git_ref).err()
            };
            if let Some(w) = &why {
                reasons.push(w.clone());
            }
            why.is_none()
        })
        .collect();
    if allowed.is_empty() {
        let reason = if reasons.is_empty() {
            "no ref in this push".to_string()
        } else {
            reasons.join("; ")
        };
        return ignored(id, reason);
    }
    let mut notes = reasons;
    let mut prepared = Vec::new();
    let mut held_until = None;
    let sites: Vec<Arc<Site>> = hook
        .sites
        .iter()
        .filter_map(|n| settings.site(n).cloned())
        .collect();
    for site in &sites {
        for p in &allowed {
            let hold = hook
                .release_on_deployment
                .and(p.after.as_deref())
                .map(|sha| hold_key(&p.repository, sha));
            let nb = not_before(hook, hold.as_deref());
            if nb > 0 {
                held_until = Some(nb);
            }
            let mut changes = ChangeSet {
                not_before: nb,
                hold,
                ..Default::default()
            };
            match (&p.incomplete, hook.on_incomplete) {
                (None, _) => changes.repo_paths = p.changed.iter().cloned().collect(),
                (Some(why), OnIncomplete::PurgeSite) => {
                    notes.push(format!(
                        "{}: incomplete change set ({why}); purging the whole site {}",
                        p.git_ref,
                        site.name()
                    ));
                    // What the payload does list is still purged.
                    changes.repo_paths = p.changed.iter().cloned().collect();
                    site_wide(st, site, &mut changes, &mut notes).await;
                }
                (Some(why), OnIncomplete::Ignore) => {
                    notes.push(format!(
                        "{}: incomplete change set ({why}); ignored (on_incomplete = \"ignore\")",
                        p.git_ref
                    ));
                    tracing::warn!(hook = %hook.name, git_ref = %p.git_ref, reason = %why, "incomplete change set ignored");
                    continue;
                }
            }
            prepared.push(st.intake.prepare(site, changes, origin(hook, &id)));
        }
    }
    let mut out = commit(st, hook, id, &event, prepared, held_until, notes).await;
    if let Outcome::Queued(s) = &mut out {
        merge_site_reports(&mut s.sites);
    }
    out
}

/// One report per site even when several refs of one delivery touched it.
fn merge_site_reports(reports: &mut Vec<IntakeReport>) {
    let mut merged: Vec<IntakeReport> = Vec::new();
    for r in reports.drain(..) {
        match merged.iter_mut().find(|m| m.site == r.site) {
            Some(m) => {
                m.urls += r.urls;
                m.excluded += r.excluded;
                m.outside_prefix += r.outside_prefix;
                m.refused.extend(r.refused);
            }
            None => merged.push(r),
        }
    }
    *reports = merged;
}

async fn commit(
    st: &WebhookState,
    hook: &HookSettings,
    id: Option<String>,
    event: &str,
    prepared: Vec<Prepared>,
    held_until: Option<Millis>,
    notes: Vec<String>,
) -> Outcome {
    let key = id.clone().map(|d| DeliveryKey {
        hook: hook.name.clone(),
        id: d,
    });
    match st.intake.commit(key, "webhook", prepared).await {
        Ok(Some(sites)) => Outcome::Queued(Summary {
            delivery: id,
            hook: hook.name.clone(),
            event: event.to_string(),
            sites,
            held_until,
            notes,
        }),
        Ok(None) => Outcome::Duplicate {
            delivery: id.unwrap_or_default(),
        },
        Err(e) => Outcome::StoreDown(e.to_string()),
    }
}

/// Every URL of a site: its files from the watcher's index when it has one,
/// else listed from its root, else its `full_purge` list.
async fn site_wide(
    st: &WebhookState,
    site: &Site,
    changes: &mut ChangeSet,
    notes: &mut Vec<String>,
) {
    let index: &dyn crate::queue::IndexStore = &*st.intake.store;
    match crate::sources::watch::site_files(index, site.name()).await {
        Ok(Some(files)) => {
            changes.paths.extend(files);
            return;
        }
        Ok(None) => {}
        Err(e) => notes.push(format!(
            "cannot read the file index of site {}: {e}",
            site.name()
        )),
    }
    if let Some(root) = site.map.root().map(Path::to_path_buf) {
        match tokio::task::spawn_blocking(move || list_files(&root)).await {
            Ok(Ok(files)) => {
                changes.paths.extend(files);
                return;
            }
            Ok(Err(e)) => notes.push(format!(
                "cannot list the files of site {}: {e}",
                site.name()
            )),
            Err(e) => notes.push(format!(
                "cannot list the files of site {}: {e}",
                site.name()
            )),
        }
    }
    let urls: Vec<String> = site
        .map
        .full_purge_urls()
        .into_iter()
        .map(|u| u.url)
        .collect();
    if urls.is_empty() {
        notes.push(format!(
            "site {} has no root to list and no full_purge URLs: nothing to purge site-wide",
            site.name()
        ));
    }
    changes.urls.extend(urls);
}

/// Site-relative paths of every regular file under `root`, not following
/// symlinked directories (no loops, nothing outside the root).
pub fn list_files(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let path = entry.path();
            if ft.is_dir() {
                if entry.file_name() != ".git" {
                    stack.push(path);
                }
            } else if ft.is_file() || ft.is_symlink() && path.is_file() {
                if let Some(rel) = path.strip_prefix(root).ok().and_then(|r| r.to_str()) {
                    out.push(rel.to_string());
                }
            }
        }
    }
    out.sort();
    Ok(out)
}
