//! `[[hook]]` sections compiled: provider, secrets, filters as glob sets,
//! durations, and what to do with incomplete change sets.

use super::Secret;
use super::raw::RawHook;
use super::settings::Site;
use super::units::{parse_duration, parse_size};
use crate::sources::webhook::Provider;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnIncomplete {
    /// Every URL of the site: its files from its root, else `full_purge`.
    PurgeSite,
    Ignore,
}

#[derive(Debug, Clone)]
pub struct HookSettings {
    pub name: String,
    pub provider: Provider,
    pub path: String,
    pub secrets: Vec<Secret>,
    pub sites: Vec<String>,
    pub repositories: Vec<String>,
    /// None = any branch.
    pub branches: Option<GlobSet>,
    /// None = tag pushes are ignored.
    pub tags: Option<GlobSet>,
    pub on_incomplete: OnIncomplete,
    pub delay: Duration,
    /// Some(max_hold) when purges wait for a successful deployment.
    pub release_on_deployment: Option<Duration>,
    pub max_body: usize,
}

impl HookSettings {
    pub fn repository_allowed(&self, full_name: &str) -> bool {
        self.repositories.is_empty()
            || self
                .repositories
                .iter()
                .any(|r| r.eq_ignore_ascii_case(full_name))
    }

    /// Whether a pushed ref passes the branch/tag filters; Err(reason) if not.
    pub fn ref_allowed(&self, git_ref: &str) -> Result<(), String> {
        if let Some(b) = git_ref.strip_prefix("refs/heads/") {
            return match &self.branches {
                Some(set) if !set.is_match(b) => {
                    Err(format!("branch {b:?} is not in hook.branches"))
                }
                _ => Ok(()),
            };
        }
        if let Some(t) = git_ref.strip_prefix("refs/tags/") {
            return match &self.tags {
                Some(set) if set.is_match(t) => Ok(()),
                Some(_) => Err(format!("tag {t:?} is not in hook.tags")),
                None => Err("tag pushes are ignored (hook.tags is empty)".into()),
            };
        }
        Err(format!("ref {git_ref:?} is neither a branch nor a tag"))
    }
}

fn globs(list: &[String], key: &str, push: &mut impl FnMut(&str, String)) -> Option<GlobSet> {
    if list.is_empty() {
        return None;
    }
    let mut b = GlobSetBuilder::new();
    for (i, g) in list.iter().enumerate() {
        match Glob::new(g) {
            Ok(g) => {
                b.add(g);
            }
            Err(e) => push(&format!("{key}[{i}]"), format!("invalid glob {g:?}: {e}")),
        }
    }
    b.build().ok()
}

pub(super) fn compile_hooks(
    raw: &[RawHook],
    sites: &[Arc<Site>],
    mut push: impl FnMut(&str, String),
    mut secret: impl FnMut(&Option<String>, &Option<String>) -> Result<Option<Secret>, String>,
) -> Vec<HookSettings> {
    let mut paths = HashSet::new();
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, h) in raw.iter().enumerate() {
        let k = |f: &str| format!("hook[{i}].{f}");
        if !names.insert(h.name.clone()) {
            push(&k("name"), format!("duplicate hook name {:?}", h.name));
        }
        let provider = Provider::parse(&h.provider).unwrap_or_else(|| {
            let all: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
            push(
                &k("provider"),
                format!(
                    "unknown provider {:?}; expected one of: {}",
                    h.provider,
                    all.join(", ")
                ),
            );
            Provider::Standard
        });
        if !h.path.starts_with('/') {
            push(&k("path"), "must start with '/'".into());
        }
        if !paths.insert(h.path.clone()) {
            push(
                &k("path"),
                format!("path {:?} is used by two hooks", h.path),
            );
        }
        let (mut secrets, reported) = match secret(&h.secret, &h.secret_file) {
            Ok(s) => (s.into_iter().collect::<Vec<_>>(), false),
            Err(e) => {
                push(&k("secret"), e);
                (Vec::new(), true)
            }
        };
        secrets.extend(h.secrets.iter().map(|s| Secret::new(s.trim())));
        for (n, s) in secrets.iter().enumerate() {
            if let Some(problem) = provider.secret_problem(s) {
                push(&k("secret"), format!("secret #{} {problem}", n + 1));
            }
        }
        secrets.retain(|s| !s.is_empty());
        // A secret that is set but unusable is already reported above.
        if secrets.is_empty() && !reported {
            push(
                &k("secret"),
                "a hook needs `secret`, `secret_file` or `secrets`: unsigned webhooks are refused"
                    .into(),
            );
        }
        if h.sites.is_empty() && provider != Provider::Standard {
            push(
                &k("sites"),
                "name at least one site this hook purges".into(),
            );
        }
        for s in &h.sites {
            if !sites.iter().any(|x| x.name() == s) {
                push(&k("sites"), format!("unknown site {s:?}"));
            }
        }
        let on_incomplete = match h.on_incomplete.as_deref().unwrap_or("purge_site") {
            "purge_site" => OnIncomplete::PurgeSite,
            "ignore" => OnIncomplete::Ignore,
            other => {
                push(
                    &k("on_incomplete"),
                    format!("{other:?}: expected \"purge_site\" or \"ignore\""),
                );
                OnIncomplete::PurgeSite
            }
        };
        let mut dur = |key: &str, v: &Option<String>, d: Duration| match v {
            None => d,
            Some(s) => parse_duration(s).unwrap_or_else(|e| {
                push(&k(key), e);
                d
            }),
        };
        let delay = dur("delay", &h.delay, Duration::ZERO);
        let max_hold = dur("max_hold", &h.max_hold, Duration::from_secs(1800));
        let release_on_deployment = match h.release_on.as_deref() {
            None => None,
            Some("deployment") => {
                if provider != Provider::Github {
                    push(
                        &k("release_on"),
                        "release_on = \"deployment\" needs GitHub deployment_status or workflow_run events".into(),
                    );
                }
                Some(max_hold)
            }
            Some(other) => {
                push(
                    &k("release_on"),
                    format!("{other:?}: the only value is \"deployment\""),
                );
                None
            }
        };
        let max_body = match &h.max_body {
            None => 26 * 1024 * 1024,
            Some(s) => parse_size(s).map(|n| n as usize).unwrap_or_else(|e| {
                push(&k("max_body"), e);
                26 * 1024 * 1024
            }),
        };
        out.push(HookSettings {
            name: h.name.clone(),
            provider,
            path: h.path.clone(),
            secrets,
            sites: h.sites.clone(),
            repositories: h.repositories.clone(),
            branches: globs(&h.branches, &k("branches"), &mut push),
            tags: globs(&h.tags, &k("tags"), &mut push),
            on_incomplete,
            delay,
            release_on_deployment,
            max_body,
        });
    }
    out
}
