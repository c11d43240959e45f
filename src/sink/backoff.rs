//! Exponential backoff with full jitter, capped: what a flush batch waits
//! after a 5xx, a timeout or a dropped connection. Jitter spreads the retries
//! of many batches so that a recovering API is not hit all at once.

use rand::RngExt;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The ceiling for attempt `n` (0-based): base * 2^n, at most `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u64 << attempt.min(30);
        let ms = (self.base.as_millis() as u64).saturating_mul(factor);
        Duration::from_millis(ms).min(self.max)
    }

    /// A delay drawn between half the ceiling and the ceiling: jittered, yet
    /// never so short that a broken API is retried in a hot loop.
    pub fn delay(&self, attempt: u32) -> Duration {
        let c = self.ceiling(attempt).as_millis() as u64;
        let low = c / 2;
        let ms = if c > low {
            rand::rng().random_range(low..=c)
        } else {
            c
        };
        Duration::from_millis(ms)
    }
}

/// Poll intervals: initial, 2x, 4x ... capped.
pub fn poll_interval(initial: Duration, max: Duration, polls: u32) -> Duration {
    let factor = 1u32 << polls.min(20);
    initial.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        };
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(3), Duration::from_secs(8));
        assert_eq!(b.ceiling(40), Duration::from_secs(300));
        for n in 0..12 {
            let d = b.delay(n);
            assert!(d <= b.ceiling(n) && d >= b.ceiling(n) / 2, "{n}: {d:?}");
        }
    }

    #[test]
    fn polls() {
        let i = Duration::from_secs(1);
        let m = Duration::from_secs(30);
        let seq: Vec<u64> = (0..7).map(|p| poll_interval(i, m, p).as_secs()).collect();
        assert_eq!(seq, vec![1, 2, 4, 8, 16, 30, 30]);
    }
}
