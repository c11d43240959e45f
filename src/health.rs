//! Shared readiness state: what `/readyz` reports and what pauses flushing.
//! Workers set it; the admin listener reads it.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Health {
    problems: Mutex<BTreeMap<String, String>>,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub problems: BTreeMap<String, String>,
}

impl Health {
    /// Marks `component` ("api_auth", "store", "watcher:www", ...) as failing.
    pub fn fail(&self, component: &str, reason: impl Into<String>) {
        if let Ok(mut p) = self.problems.lock() {
            p.insert(component.to_string(), reason.into());
        }
    }

    pub fn ok(&self, component: &str) {
        if let Ok(mut p) = self.problems.lock() {
            p.remove(component);
        }
    }

    pub fn is_failing(&self, component: &str) -> bool {
        self.problems
            .lock()
            .map(|p| p.contains_key(component))
            .unwrap_or(false)
    }

    pub fn readiness(&self) -> Readiness {
        let problems = self.problems.lock().map(|p| p.clone()).unwrap_or_default();
        Readiness {
            ready: problems.is_empty(),
            problems,
        }
    }
}
