//! The batching policy, kept pure so it can be tested without a clock: given
//! each vhost's pending work, which batches close now and when to look again.

use super::{Millis, PendingGroup};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_urls: usize,
    /// Quiet time after the last enqueue.
    pub linger: Duration,
    /// Age of the oldest pending purge.
    pub max_delay: Duration,
}

/// What to send for one vhost now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub vhost: String,
    /// Full batches (`max_urls` each) to send right away.
    pub full_batches: u64,
    /// Whether the remainder (a partial batch) goes too: only once the vhost
    /// has been quiet for `linger` or waited `max_delay`. A vhost that is due
    /// only because it filled a batch keeps its remainder lingering, so a
    /// stream of changes is not cut into needless small flushes.
    pub remainder: bool,
}

impl Policy {
    /// Returns what to send now and the earliest time another look is needed
    /// (None: nothing left waiting).
    pub fn decide(&self, groups: &[PendingGroup], now: Millis) -> (Vec<Due>, Option<Millis>) {
        let linger = self.linger.as_millis() as i64;
        let max_delay = self.max_delay.as_millis() as i64;
        let max = self.max_urls.max(1) as u64;
        let mut due = Vec::new();
        let mut next: Option<Millis> = None;
        for g in groups {
            let at = (g.last_enqueued + linger).min(g.first_enqueued + max_delay);
            let by_time = at <= now;
            let full_batches = g.count / max;
            let has_remainder = g.count % max != 0;
            if full_batches > 0 || by_time {
                due.push(Due {
                    vhost: g.vhost.clone(),
                    full_batches,
                    remainder: by_time && has_remainder,
                });
            }
            if !by_time && has_remainder {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        (due, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(vhost: &str, count: u64, first: Millis, last: Millis) -> PendingGroup {
        PendingGroup {
            vhost: vhost.into(),
            count,
            first_enqueued: first,
            last_enqueued: last,
        }
    }

    const P: Policy = Policy {
        max_urls: 100,
        linger: Duration::from_secs(2),
        max_delay: Duration::from_secs(15),
    };

    fn d(vhost: &str, full_batches: u64, remainder: bool) -> Due {
        Due {
            vhost: vhost.into(),
            full_batches,
            remainder,
        }
    }

    #[test]
    fn full_batch_closes_at_once() {
        let (due, next) = P.decide(&[g("a", 100, 1000, 1000)], 1000);
        assert_eq!(due, vec![d("a", 1, false)]);
        assert_eq!(next, None);
    }

    #[test]
    fn full_batches_go_the_remainder_lingers() {
        let (due, next) = P.decide(&[g("a", 250, 1000, 1000)], 1000);
        assert_eq!(due, vec![d("a", 2, false)]);
        assert_eq!(next, Some(3000));
        let (due, _) = P.decide(&[g("a", 50, 1000, 1000)], 3000);
        assert_eq!(due, vec![d("a", 0, true)]);
    }

    #[test]
    fn linger_then_close() {
        let groups = [g("a", 3, 1000, 1500)];
        let (due, next) = P.decide(&groups, 2000);
        assert!(due.is_empty());
        assert_eq!(next, Some(3500));
        let (due, _) = P.decide(&groups, 3500);
        assert_eq!(due, vec![d("a", 0, true)]);
    }

    #[test]
    fn max_delay_caps_a_busy_vhost() {
        // Enqueues keep coming (last is always recent) but the first is old.
        let groups = [g("a", 5, 0, 15_900)];
        let (due, _) = P.decide(&groups, 15_900);
        assert_eq!(due, vec![d("a", 0, true)]);
        let (due, next) = P.decide(&[g("a", 5, 1000, 14_000)], 14_000);
        assert!(due.is_empty());
        assert_eq!(next, Some(16_000));
    }
}
