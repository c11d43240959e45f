//! Shared builders for the mapping tests: a minimal raw site and helpers that
//! unwrap outcomes, so each test states only what it checks.

use super::{MapOutcome, MappedUrl, SiteMap};
use crate::config::raw::{RawRule, RawSite};

pub(crate) fn site() -> RawSite {
    RawSite {
        name: "www".into(),
        vhost: "www.example.com".into(),
        ..RawSite::default()
    }
}

pub(crate) fn rule(glob: &str, urls: &[&str], keep_default: Option<bool>) -> RawRule {
    RawRule {
        glob: glob.into(),
        urls: urls.iter().map(|s| s.to_string()).collect(),
        keep_default,
    }
}

pub(crate) fn compile(raw: &RawSite) -> SiteMap {
    SiteMap::compile(raw, 0).unwrap()
}

pub(crate) fn urls(outcome: MapOutcome) -> Vec<String> {
    match outcome {
        MapOutcome::Urls(list) => list.into_iter().map(|u| u.url).collect(),
        MapOutcome::Excluded { glob } => panic!("unexpectedly excluded by {glob}"),
    }
}

pub(crate) fn mapped(m: &SiteMap, rel: &str) -> Vec<MappedUrl> {
    match m.map_relative(rel).unwrap() {
        MapOutcome::Urls(list) => list,
        MapOutcome::Excluded { glob } => panic!("unexpectedly excluded by {glob}"),
    }
}

pub(crate) fn pairs(list: &[MappedUrl]) -> Vec<(&str, &str)> {
    list.iter()
        .map(|u| (u.path.as_str(), u.rule.as_str()))
        .collect()
}
