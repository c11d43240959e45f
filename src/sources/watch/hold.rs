//! Deploy windows: one purge per deploy. While a site is held (its marker
//! file exists, or the admin API holds it) its purges are queued durably
//! under one hold key, with `not_before` at the end of `max_hold`; when the
//! hold ends they are released together. A hold that outlives `max_hold`
//! (a marker left behind by a failed deploy) ends by itself and stays
//! ended until the marker goes away and comes back.

use crate::queue::Millis;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldChange {
    None,
    Started,
    /// The marker went away / the API released it.
    Ended,
    /// `max_hold` passed.
    Expired,
}

#[derive(Debug)]
pub struct Hold {
    key: String,
    max_hold: Duration,
    since: Option<Millis>,
    expired: bool,
}

impl Hold {
    pub fn new(site: &str, max_hold: Duration) -> Hold {
        Hold {
            key: key_for(site),
            max_hold,
            since: None,
            expired: false,
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Folds in whether something wants the site held now.
    pub fn update(&mut self, wanted: bool, now: Millis) -> HoldChange {
        if !wanted {
            self.expired = false;
            return match self.since.take() {
                Some(_) => HoldChange::Ended,
                None => HoldChange::None,
            };
        }
        if self.expired {
            return HoldChange::None;
        }
        match self.since {
            None => {
                self.since = Some(now);
                HoldChange::Started
            }
            Some(_) if self.until().is_some_and(|u| now >= u) => {
                self.since = None;
                self.expired = true;
                HoldChange::Expired
            }
            Some(_) => HoldChange::None,
        }
    }

    pub fn since(&self) -> Option<Millis> {
        self.since
    }

    /// When `max_hold` ends the current hold.
    pub fn until(&self) -> Option<Millis> {
        self.since
            .map(|s| s.saturating_add(self.max_hold.as_millis() as i64))
    }

    /// (hold key, not_before) for purges queued now; None when not held.
    pub fn queue_params(&self) -> Option<(String, Millis)> {
        Some((self.key.clone(), self.until()?))
    }
}

/// The hold key of a site's watcher: stable across restarts, so purges
/// held before one are released after it.
pub fn key_for(site: &str) -> String {
    format!("watch:{site}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_end_and_expiry() {
        let mut h = Hold::new("www", Duration::from_secs(60));
        assert_eq!(h.key(), "watch:www");
        assert_eq!(h.update(false, 0), HoldChange::None);
        assert_eq!(h.queue_params(), None);
        assert_eq!(h.update(true, 1000), HoldChange::Started);
        assert_eq!(h.update(true, 2000), HoldChange::None);
        assert_eq!(h.queue_params(), Some(("watch:www".into(), 61_000)));
        assert_eq!(h.update(false, 3000), HoldChange::Ended);
        assert_eq!(h.update(false, 3000), HoldChange::None);
        // A marker forgotten for longer than max_hold.
        assert_eq!(h.update(true, 10_000), HoldChange::Started);
        assert_eq!(h.update(true, 69_999), HoldChange::None);
        assert_eq!(h.update(true, 70_000), HoldChange::Expired);
        assert_eq!(h.since(), None);
        assert_eq!(h.update(true, 80_000), HoldChange::None, "stays released");
        assert_eq!(h.update(false, 90_000), HoldChange::None);
        assert_eq!(h.update(true, 91_000), HoldChange::Started);
    }
}
