//! Client-side rate limiting: budgets for requests and flushed URLs per
//! minute (a token bucket that spreads them, and the last minute's log that
//! caps them), plus the global pause a 429 imposes. One limiter is shared by all
//! clones of a `Client`, so every caller in the daemon respects the same
//! budget and nobody hammers a server that told us to wait.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a request counts against its minute here: a second longer than
/// the server's minute (60 s), since the server stamps its arrival, later than its
/// departure, and one sent exactly a minute after the oldest would still
/// land inside the server's minute (seen: one 429 in a throttled 10,000-file
/// deploy at a strict 120 per sliding minute). It costs 1/61 of the rate.
const WINDOW: Duration = Duration::from_secs(61);

/// Shortest sleep between two looks at the buckets, so rounding can never
/// turn the wait loop into a busy loop.
const MIN_SLEEP: Duration = Duration::from_millis(1);

/// A continuously refilled token bucket. Tokens may go negative: a request
/// for more than the capacity waits for a full bucket and then takes all it
/// needs, so the long-run rate holds even for oversized batches.
#[derive(Debug, Clone)]
struct Bucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// `None` for 0 (unlimited). The burst is a sixth of the per-minute
    /// budget (ten seconds' worth), at least one.
    fn new(per_minute: u32, now: Instant) -> Option<Bucket> {
        if per_minute == 0 {
            return None;
        }
        let capacity = f64::from((per_minute / 6).max(1));
        Some(Bucket {
            capacity,
            per_sec: f64::from(per_minute) / 60.0,
            tokens: capacity,
            last: now,
        })
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// How long until `n` tokens may be taken (zero when now).
    fn wait_for(&self, n: f64) -> Duration {
        let need = n.min(self.capacity);
        let missing = need - self.tokens;
        if missing <= 1e-9 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(missing / self.per_sec)
        }
    }
}

/// What was spent in the last minute. The bucket alone lets its burst
/// through on top of a minute's refill (120/min: 140 in the first minute),
/// which a server that counts a sliding minute answers with 429; with this
/// log no 60 s window ever holds more than the budget.
#[derive(Debug, Clone)]
struct Window {
    limit: u64,
    spent: VecDeque<(Instant, u64)>,
    sum: u64,
}

impl Window {
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, n)) = self.spent.front() {
            if now.saturating_duration_since(at) < WINDOW {
                break;
            }
            self.sum -= n;
            self.spent.pop_front();
        }
    }

    /// How long until `n` more fit in the window. More than the whole
    /// budget at once fits an empty window, as the bucket lets it.
    fn wait_for(&mut self, n: u64, now: Instant) -> Duration {
        self.expire(now);
        let mut left = self.sum;
        if left == 0 || left + n <= self.limit {
            return Duration::ZERO;
        }
        for &(at, m) in &self.spent {
            left -= m;
            if left == 0 || left + n <= self.limit {
                return (at + WINDOW).saturating_duration_since(now);
            }
        }
        Duration::ZERO
    }

    fn take(&mut self, n: u64, now: Instant) {
        if n > 0 {
            self.spent.push_back((now, n));
            self.sum += n;
        }
    }
}

/// One per-minute budget: the bucket spreads, the window caps.
#[derive(Debug, Clone)]
struct Budget {
    bucket: Bucket,
    window: Window,
}

impl Budget {
    /// `None` for 0 (unlimited).
    fn new(per_minute: u32, now: Instant) -> Option<Budget> {
        Some(Budget {
            bucket: Bucket::new(per_minute, now)?,
            window: Window {
                limit: u64::from(per_minute),
                spent: VecDeque::new(),
                sum: 0,
            },
        })
    }

    fn wait_for(&mut self, n: u32, now: Instant) -> Duration {
        self.bucket.refill(now);
        self.bucket
            .wait_for(f64::from(n))
            .max(self.window.wait_for(u64::from(n), now))
    }

    fn take(&mut self, n: u32, now: Instant) {
        self.bucket.tokens -= f64::from(n);
        self.window.take(u64::from(n), now);
    }
}

#[derive(Debug)]
struct State {
    requests: Option<Budget>,
    urls: Option<Budget>,
    paused_until: Option<Instant>,
}

/// Requests-per-minute and URLs-per-minute budgets and the 429 pause.
#[derive(Debug)]
pub(crate) struct Limiter {
    state: Mutex<State>,
}

impl Limiter {
    /// 0 means unlimited for either budget.
    pub(crate) fn new(requests_per_minute: u32, urls_per_minute: u32) -> Limiter {
        let now = Instant::now();
        Limiter {
            state: Mutex::new(State {
                requests: Budget::new(requests_per_minute, now),
                urls: Budget::new(urls_per_minute, now),
                paused_until: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent numbers.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `requests` and `urls` tokens if the pause is over and both
    /// buckets can pay; otherwise says how long to wait. All or nothing.
    pub(crate) fn try_acquire(
        &self,
        requests: u32,
        urls: u32,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut guard = self.lock();
        let st = &mut *guard;
        if let Some(until) = st.paused_until {
            if until > now {
                return Err(until - now);
            }
            st.paused_until = None;
        }
        let mut wait = Duration::ZERO;
        for (budget, n) in [(&mut st.requests, requests), (&mut st.urls, urls)] {
            if let Some(b) = budget.as_mut()
                && n > 0
            {
                wait = wait.max(b.wait_for(n, now));
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        for (budget, n) in [(&mut st.requests, requests), (&mut st.urls, urls)] {
            if let Some(b) = budget.as_mut() {
                b.take(n, now);
            }
        }
        Ok(())
    }

    /// Waits until the pause is over and the budgets allow the call.
    pub(crate) async fn acquire(&self, requests: u32, urls: u32) {
        loop {
            match self.try_acquire(requests, urls, Instant::now()) {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait.max(MIN_SLEEP)).await,
            }
        }
    }

    /// Holds every request until `until` (a later pause wins).
    pub(crate) fn pause_until(&self, until: Instant) {
        let mut st = self.lock();
        st.paused_until = Some(st.paused_until.map_or(until, |p| p.max(until)));
    }

    /// When the next single request would be let through; `None` when now.
    pub(crate) fn throttled_until(&self, now: Instant) -> Option<Instant> {
        let mut st = self.lock();
        let pause = st.paused_until.filter(|p| *p > now);
        let bucket = st.requests.as_mut().and_then(|b| {
            let w = b.wait_for(1, now);
            (w > Duration::ZERO).then(|| now + w)
        });
        match (pause, bucket) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn unlimited_never_waits() {
        let l = Limiter::new(0, 0);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(l.try_acquire(1, 1000, now), Ok(()));
        }
        assert_eq!(l.throttled_until(now), None);
    }

    #[test]
    fn burst_then_steady_rate() {
        // 60/min: capacity 10, one token per second.
        let l = Limiter::new(60, 0);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(l.try_acquire(1, 0, t0), Ok(()));
        }
        let wait = l.try_acquire(1, 0, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1));
        assert_eq!(l.throttled_until(t0), Some(t0 + Duration::from_secs(1)));
        assert!(
            l.try_acquire(1, 0, t0 + Duration::from_millis(500))
                .is_err()
        );
        assert_eq!(l.try_acquire(1, 0, t0 + Duration::from_secs(1)), Ok(()));
        // Refill never exceeds the capacity.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..10 {
            assert_eq!(l.try_acquire(1, 0, later), Ok(()));
        }
        assert!(l.try_acquire(1, 0, later).is_err());
    }

    /// Whatever the pace of asking, no 60 s window holds more than the
    /// budget (the bucket alone let 140 of 120 through in the first minute).
    #[test]
    fn no_minute_ever_holds_more_than_the_budget() {
        for per_minute in [1, 7, 60, 120, 600] {
            let l = Limiter::new(per_minute, 0);
            let t0 = Instant::now();
            let mut sent = Vec::new();
            for step in 0..(5 * 60 * 100) {
                let now = t0 + Duration::from_millis(10 * step);
                while l.try_acquire(1, 0, now).is_ok() {
                    sent.push(now);
                }
            }
            let busiest = (0..sent.len())
                .map(|i| sent[i..].partition_point(|t| *t < sent[i] + MINUTE))
                .max()
                .unwrap_or(0);
            assert!(
                busiest <= per_minute as usize,
                "{busiest} > {per_minute}/min"
            );
            // And the rate is kept: the budget every 61 s over 5 minutes.
            let expected = 300 * per_minute as usize / 61;
            assert!(sent.len() + 1 >= expected, "{} < {expected}", sent.len());
        }
    }

    #[test]
    fn url_budget_is_capped_per_minute_too() {
        // 600 URLs/min in batches of 50: the bucket's burst (100) on top of
        // a minute's refill let 650 through; the window stops at 600.
        let l = Limiter::new(0, 600);
        let t0 = Instant::now();
        let mut urls = 0;
        for step in 0..600 {
            let now = t0 + Duration::from_millis(100 * step);
            while l.try_acquire(1, 50, now).is_ok() {
                urls += 50;
            }
        }
        assert_eq!(urls, 600);
        assert!(l.try_acquire(1, 50, t0 + WINDOW).is_ok());
    }

    #[test]
    fn small_budget_has_capacity_one() {
        let l = Limiter::new(1, 0);
        let t0 = Instant::now();
        assert_eq!(l.try_acquire(1, 0, t0), Ok(()));
        // The bucket refills in 60 s; the window keeps it a second longer.
        assert_eq!(l.try_acquire(1, 0, t0).unwrap_err(), WINDOW);
    }

    #[test]
    fn oversized_url_batch_waits_for_full_bucket_then_goes_into_debt() {
        // 600 URLs/min: capacity 100, 10 per second.
        let l = Limiter::new(0, 600);
        let t0 = Instant::now();
        assert_eq!(l.try_acquire(1, 250, t0), Ok(()));
        // Now 150 in debt: a single URL waits 15.1 s.
        let wait = l.try_acquire(1, 1, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 15.1).abs() < 1e-6, "{wait:?}");
    }

    #[test]
    fn all_or_nothing_across_buckets() {
        let l = Limiter::new(60, 60);
        let t0 = Instant::now();
        assert_eq!(l.try_acquire(0, 10, t0), Ok(()));
        // Requests are free but URLs are not: nothing is taken.
        assert!(l.try_acquire(1, 1, t0).is_err());
        for _ in 0..10 {
            assert_eq!(l.try_acquire(1, 0, t0), Ok(()));
        }
    }

    #[test]
    fn pause_blocks_everything_and_later_pause_wins() {
        let l = Limiter::new(0, 0);
        let t0 = Instant::now();
        l.pause_until(t0 + Duration::from_secs(5));
        l.pause_until(t0 + Duration::from_secs(2));
        assert_eq!(l.throttled_until(t0), Some(t0 + Duration::from_secs(5)));
        assert_eq!(
            l.try_acquire(1, 0, t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(4))
        );
        assert_eq!(l.try_acquire(1, 0, t0 + Duration::from_secs(5)), Ok(()));
        assert_eq!(l.throttled_until(t0 + Duration::from_secs(5)), None);
    }

    #[tokio::test]
    async fn acquire_waits_out_a_pause() {
        let l = Limiter::new(0, 0);
        let t0 = Instant::now();
        l.acquire(1, 0).await;
        l.pause_until(t0 + Duration::from_millis(40));
        l.acquire(1, 0).await;
        // Sleeps never end early, so this lower bound cannot flake.
        assert!(Instant::now() >= t0 + Duration::from_millis(40));
        assert_eq!(l.throttled_until(Instant::now()), None);
    }
}
