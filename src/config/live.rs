//! The settings the long-lived parts read per request (listeners): swapped
//! whole on reload, so a request sees either the old or the new
//! configuration, never a mix.

use super::Settings;
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct LiveSettings(Arc<RwLock<Arc<Settings>>>);

impl LiveSettings {
    pub fn new(s: Arc<Settings>) -> Self {
        LiveSettings(Arc::new(RwLock::new(s)))
    }

    pub fn get(&self) -> Arc<Settings> {
        match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, s: Arc<Settings>) {
        match self.0.write() {
            Ok(mut g) => *g = s,
            Err(poisoned) => *poisoned.into_inner() = s,
        }
    }
}
