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

/// What to do with one vhost's pending work now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub vhost: String,
    /// How many full batches to claim right now, plus one partial if the
    /// vhost is due.
    pub close: bool,
}

impl Policy {
    /// Returns the vhosts to flush now and the earliest time another look is
    /// needed (None: nothing pending).
    pub fn decide(&self, groups: &[PendingGroup], now: Millis) -> (Vec<String>, Option<Millis>) {
        let linger = self.linger.as_millis() as i64;
        let max_delay = self.max_delay.as_millis() as i64;
        let mut due = Vec::new();
        let mut next: Option<Millis> = None;
        for g in groups {
            let quiet_at = g.last_enqueued + linger;
            let old_at = g.first_enqueued + max_delay;
            let at = quiet_at.min(old_at);
            if g.count as usize >= self.max_urls || at <= now {
                due.push(g.vhost.clone());
            } else {
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

    #[test]
    fn full_batch_closes_at_once() {
        let (due, next) = P.decide(&[g("a", 100, 1000, 1000)], 1000);
        assert_eq!(due, vec!["a".to_string()]);
        assert_eq!(next, None);
    }

    #[test]
    fn linger_then_close() {
        let groups = [g("a", 3, 1000, 1500)];
        let (due, next) = P.decide(&groups, 2000);
        assert!(due.is_empty());
        assert_eq!(next, Some(3500));
        let (due, _) = P.decide(&groups, 3500);
        assert_eq!(due, vec!["a".to_string()]);
    }

    #[test]
    fn max_delay_caps_a_busy_vhost() {
        // Enqueues keep coming (last is always recent) but the first is old.
        let groups = [g("a", 5, 0, 15_900)];
        let (due, _) = P.decide(&groups, 15_900);
        assert_eq!(due, vec!["a".to_string()]);
        let (due, next) = P.decide(&[g("a", 5, 1000, 14_000)], 14_000);
        assert!(due.is_empty());
        assert_eq!(next, Some(16_000));
    }
}
