//! One site's way to its edge: its clients, a concurrency limit, a request
//! pace, and a breaker that answers "unknown" without asking for a while
//! after the edge could not be reached, so a down edge costs one failed
//! request per pause, not one per URL.

use super::judge::{self, Verdict};
use super::probe::{ProbeError, Prober};
use super::{Check, disk};
use crate::config::{Site, VerifySettings};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How long an unreachable edge is left alone.
const BREAKER_PAUSE: Duration = Duration::from_secs(10);

pub struct Lane {
    prober: Prober,
    permits: Semaphore,
    gap: Duration,
    next_slot: Mutex<Instant>,
    down_until: Mutex<Option<Instant>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Lane {
    pub fn new(site: &Site, v: &VerifySettings) -> Result<Lane, ProbeError> {
        Ok(Lane {
            prober: Prober::new(site, v)?,
            permits: Semaphore::new(v.concurrency),
            gap: Duration::from_secs(1) / v.max_requests_per_second,
            next_slot: Mutex::new(Instant::now()),
            down_until: Mutex::new(None),
        })
    }

    /// Waits for this site's next request slot.
    async fn pace(&self) {
        let at = {
            let mut next = locked(&self.next_slot);
            let at = (*next).max(Instant::now());
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    fn down(&self) -> bool {
        locked(&self.down_until).is_some_and(|t| Instant::now() < t)
    }

    /// One URL checked: edge, origin and disk, then the verdict.
    pub async fn check(&self, site: &Site, c: &Check) -> Verdict {
        let Ok(_permit) = self.permits.acquire().await else {
            return Verdict::unknown("verifier stopping");
        };
        let skipped = || Verdict::unknown("the edge was unreachable moments ago; not asked");
        if self.down() {
            return skipped();
        }
        self.pace().await;
        // Again after the pace: a failure may have come in meanwhile.
        if self.down() {
            return skipped();
        }
        let edge = match self.prober.edge(&c.url).await {
            Ok(o) => o,
            Err(e) => {
                if e.is_unreachable() {
                    *locked(&self.down_until) = Some(Instant::now() + BREAKER_PAUSE);
                }
                return Verdict::unknown(format!("edge {e}"));
            }
        };
        let origin = match self.prober.origin(&c.path).await {
            Some(Ok(o)) => Some(o),
            Some(Err(e)) => {
                tracing::debug!(url = c.url, error = %e, "verify: origin not asked");
                None
            }
            None => None,
        };
        let disk = disk::lookup(site, &c.url).await;
        let mut v = judge::judge(&edge, origin.as_ref(), &disk);
        if let Some(age) = edge.age {
            v.detail.push_str(&format!(" (edge Age {age}s)"));
        }
        v
    }
}
