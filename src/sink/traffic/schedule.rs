//! When each vhost's next snapshot is due: one per vhost per interval, the
//! vhosts spread evenly over the interval so that the snapshots never come
//! as a burst against the rate budget the flusher shares. A slot missed
//! (a slow or throttled call) is skipped, never caught up.

use std::time::Duration;
use tokio::time::Instant;

pub(super) struct Schedule {
    interval: Duration,
    slots: Vec<(Instant, String)>,
}

impl Schedule {
    /// The first vhost is due at `start`, the others at even steps after it.
    pub(super) fn new(vhosts: Vec<String>, interval: Duration, start: Instant) -> Schedule {
        let n = vhosts.len().max(1) as f64;
        let slots = vhosts
            .into_iter()
            .enumerate()
            .map(|(i, v)| (start + interval.mul_f64(i as f64 / n), v))
            .collect();
        Schedule { interval, slots }
    }

    /// The vhost due first and when; `None` without any vhost.
    pub(super) fn next(&self) -> Option<(usize, Instant, &str)> {
        self.slots
            .iter()
            .enumerate()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(i, (at, v))| (i, *at, v.as_str()))
    }

    /// Slot `i` was served; its next turn is the first of its own slots
    /// still ahead of `now`.
    pub(super) fn done(&mut self, i: usize, now: Instant) {
        let interval = self.interval;
        if let Some((at, _)) = self.slots.get_mut(i) {
            *at += interval;
            if *at <= now {
                let behind = now.duration_since(*at).as_nanos() / interval.as_nanos().max(1);
                let skip = u32::try_from(behind + 1).unwrap_or(u32::MAX);
                *at += interval.saturating_mul(skip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vhosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("v{i}.test")).collect()
    }

    #[test]
    fn spread_over_the_interval_and_round_robin() {
        let t0 = Instant::now();
        let iv = Duration::from_secs(60);
        let mut s = Schedule::new(vhosts(3), iv, t0);
        let mut seen = Vec::new();
        for _ in 0..6 {
            let (i, at, v) = s.next().unwrap();
            seen.push((v.to_string(), at.duration_since(t0).as_secs()));
            s.done(i, at);
        }
        let want = [
            ("v0.test", 0),
            ("v1.test", 20),
            ("v2.test", 40),
            ("v0.test", 60),
            ("v1.test", 80),
            ("v2.test", 100),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|(v, t)| (v.to_string(), *t)).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn missed_slots_are_skipped_not_caught_up() {
        let t0 = Instant::now();
        let iv = Duration::from_secs(10);
        let mut s = Schedule::new(vhosts(1), iv, t0);
        // The call took 35 s: the slots at 10, 20 and 30 are gone.
        s.done(0, t0 + Duration::from_secs(35));
        let (_, at, _) = s.next().unwrap();
        assert_eq!(at.duration_since(t0), Duration::from_secs(40));
        // Exactly on a slot boundary: that slot is taken as missed too.
        s.done(0, t0 + Duration::from_secs(50));
        let (_, at, _) = s.next().unwrap();
        assert_eq!(at.duration_since(t0), Duration::from_secs(60));
        assert!(Schedule::new(Vec::new(), iv, t0).next().is_none());
    }
}
