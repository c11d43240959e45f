//! Admission at the HTTP edges (webhook deliveries and admin purges).
//!
//! Without it a flood is taken in whole: every request holds its body in
//! memory while it waits for the store, and answers arrive later and later.
//! At most `server.max_concurrent_requests` requests read, verify and store
//! at once; one that waits longer than `server.busy_wait` for its turn is
//! answered 503 with `Retry-After`, at once, and its sender retries (git
//! hosts and CI scripts do). Memory held by bodies is therefore bounded by
//! `max_concurrent_requests` x the largest hook's `max_body`.
//!
//! The file watcher does not come through here: a file event cannot be
//! asked to come back later, so the watcher waits for the store instead.

use crate::config::ServerSettings;
use crate::metrics::Metrics;
use actix_web::HttpResponse;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Refused: no turn came within the wait.
#[derive(Debug, thiserror::Error)]
#[error("busy: {in_flight} requests in progress, no turn within {waited:?}; retry later")]
pub struct Busy {
    pub in_flight: usize,
    pub waited: Duration,
}

impl Busy {
    /// What to put in `Retry-After`: whole seconds, at least one.
    pub fn retry_after_secs(&self) -> u64 {
        self.waited.as_secs().max(1)
    }

    /// The answer: 503, `Retry-After` and the reason.
    pub fn response(&self) -> HttpResponse {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", self.retry_after_secs().to_string()))
            .json(serde_json::json!({"error": self.to_string()}))
    }
}

pub struct Admission {
    turns: Semaphore,
    /// Permits the semaphore is meant to hold; follows the live setting.
    size: Mutex<usize>,
}

impl Admission {
    pub fn new(limit: usize) -> Admission {
        Admission {
            turns: Semaphore::new(limit),
            size: Mutex::new(limit),
        }
    }

    /// Waits at most `wait` for a turn under `limit` (read from the live
    /// settings by the caller, so a reload changes it without a restart).
    pub async fn enter(&self, limit: usize, wait: Duration) -> Result<SemaphorePermit<'_>, Busy> {
        self.resize(limit.max(1));
        let started = Instant::now();
        match tokio::time::timeout(wait, self.turns.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Closed never happens (nothing closes it); treated as busy.
            Ok(Err(_)) | Err(_) => Err(Busy {
                in_flight: self.in_flight(),
                waited: started.elapsed(),
            }),
        }
    }

    /// [`Admission::enter`] with the live `[server]` limits; a refusal is
    /// counted for `listener` (webhook, admin).
    pub async fn enter_for(
        &self,
        server: &ServerSettings,
        metrics: &Metrics,
        listener: &str,
    ) -> Result<SemaphorePermit<'_>, Busy> {
        self.enter(server.max_concurrent_requests, server.busy_wait)
            .await
            .inspect_err(|_| metrics.requests_busy.with_label_values(&[listener]).inc())
    }

    /// Requests holding a turn now.
    pub fn in_flight(&self) -> usize {
        let size = *self.size.lock().unwrap_or_else(|p| p.into_inner());
        size.saturating_sub(self.turns.available_permits())
    }

    /// Grows at once; shrinks by the permits free now, the rest as the
    /// requests holding them finish (each later call forgets some more).
    fn resize(&self, want: usize) {
        let mut size = self.size.lock().unwrap_or_else(|p| p.into_inner());
        if want > *size {
            self.turns.add_permits(want - *size);
            *size = want;
        } else if want < *size {
            let forgotten = self.turns.forget_permits(*size - want);
            *size -= forgotten;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const WAIT: Duration = Duration::from_millis(30);

    #[tokio::test]
    async fn refuses_past_the_limit_and_admits_when_a_turn_frees() {
        let a = Admission::new(2);
        let p1 = a.enter(2, WAIT).await.unwrap();
        let _p2 = a.enter(2, WAIT).await.unwrap();
        let busy = a.enter(2, WAIT).await.unwrap_err();
        assert_eq!(busy.in_flight, 2);
        assert!(busy.waited >= WAIT);
        assert_eq!(busy.retry_after_secs(), 1);
        drop(p1);
        assert!(a.enter(2, WAIT).await.is_ok());
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_turn_freed_within_its_wait() {
        let a = std::sync::Arc::new(Admission::new(1));
        let held = a.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let holder = tokio::spawn(async move {
            let _p = held.enter(1, WAIT).await.unwrap();
            tx.send(()).unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        });
        rx.await.unwrap();
        assert!(a.enter(1, Duration::from_secs(5)).await.is_ok());
        holder.await.unwrap();
    }

    #[tokio::test]
    async fn follows_a_changed_limit() {
        let a = Admission::new(1);
        let p1 = a.enter(3, WAIT).await.unwrap();
        let p2 = a.enter(3, WAIT).await.unwrap();
        let _p3 = a.enter(3, WAIT).await.unwrap();
        assert!(a.enter(3, WAIT).await.is_err());
        // Shrunk to 1 while 3 are held: nothing is admitted until the
        // holders are down to none.
        drop(p1);
        assert!(a.enter(1, WAIT).await.is_err());
        drop(p2);
        assert!(a.enter(1, WAIT).await.is_err());
        assert_eq!(a.in_flight(), 1);
    }
}
