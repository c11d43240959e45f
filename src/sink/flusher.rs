//! The flush worker: closes batches per the batching policy, sends them to
//! `POST /flush/`, and handles every answer: accepted (hand over to the
//! poller), too large (split), refused URL (bisect, dead-letter only the bad
//! ones), throttled (wait for Retry-After), auth refused (pause, keep the
//! queue), transient (backoff with jitter). Nothing is ever dropped here.

use super::SinkContext;
use crate::cloakfusion::ApiError;
use crate::queue::batcher::Policy;
use crate::queue::{Batch, Millis, StoreError, now_ms};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const AUTH: &str = "api_auth";
pub const API_CONFIG: &str = "api_endpoint";

pub async fn run(cx: SinkContext, cancel: CancellationToken) -> Result<(), StoreError> {
    super::retry_store_errors("flusher", &cx, &cancel, || {
        run_once(cx.clone(), cancel.clone())
    })
    .await
}

/// The worker loop; returns on cancellation or on the first store error.
async fn run_once(cx: SinkContext, cancel: CancellationToken) -> Result<(), StoreError> {
    let mut paused_until: Option<Millis> = None;
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        cx.watchdog.pet("flusher");
        if !cx.store.lead("flusher").await? {
            // Another node flushes for the fleet; stand by.
            sleep_until(&cx, &cancel, Some(now_ms() + 1000)).await;
            continue;
        }
        let now = now_ms();
        if let Some(t) = paused_until.filter(|t| *t > now) {
            sleep_until(&cx, &cancel, Some(t)).await;
            continue;
        }
        paused_until = None;

        let mut next = cx.store.next_sending_due().await?;
        // Retries and whatever was in flight when the process stopped.
        for b in cx.store.due_sending(now).await? {
            if cancel.is_cancelled() {
                return Ok(());
            }
            if let Some(p) = send(&cx, b).await? {
                paused_until = Some(p);
                break;
            }
        }
        if paused_until.is_some() {
            continue;
        }

        let policy = Policy {
            max_urls: cx.settings.cloakfusion.max_urls_per_flush,
            linger: cx.settings.batch.linger,
            max_delay: cx.settings.batch.max_delay,
        };
        let groups = cx.store.pending_groups(now_ms()).await?;
        let (due, wake) = policy.decide(&groups, now_ms());
        next = min_opt(next, wake);
        'vhosts: for d in due {
            let batches = d.full_batches + u64::from(d.remainder);
            for _ in 0..batches {
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let Some(b) = cx
                    .store
                    .claim_batch(&d.vhost, policy.max_urls, now_ms())
                    .await?
                else {
                    break;
                };
                if let Some(p) = send(&cx, b).await? {
                    paused_until = Some(p);
                    break 'vhosts;
                }
            }
        }
        if paused_until.is_some() {
            continue;
        }
        // Holds (not_before) become due on their own; look at least every few
        // seconds so that no timed release waits for an unrelated wake-up.
        let cap = now_ms() + 5_000;
        let next = min_opt(next, Some(cap));
        sleep_until(&cx, &cancel, next).await;
    }
}

fn min_opt(a: Option<Millis>, b: Option<Millis>) -> Option<Millis> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

async fn sleep_until(cx: &SinkContext, cancel: &CancellationToken, at: Option<Millis>) {
    // Never longer than the watchdog allows: the loop must keep turning.
    let wait = at
        .map(|t| Duration::from_millis((t - now_ms()).max(0) as u64))
        .unwrap_or(Duration::from_secs(5))
        .min(cx.watchdog.max_idle());
    if wait.is_zero() {
        return;
    }
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = cx.flush_wake.notified() => {}
        _ = tokio::time::sleep(wait) => {}
    }
}

/// Sends one batch and records the outcome. Returns `Some(until)` when all
/// flushing must pause (auth refused, endpoint misconfigured, throttled).
async fn send(cx: &SinkContext, batch: Batch) -> Result<Option<Millis>, StoreError> {
    let m = &cx.metrics;
    let vhost = batch.vhost.clone();
    let urls = batch.urls();
    let started = Instant::now();
    let result = cx.client.flush(&urls).await;
    m.flush_duration
        .with_label_values(&[&vhost])
        .observe(started.elapsed().as_secs_f64());
    let now = now_ms();
    let err = match result {
        Ok(receipt) => {
            let first_poll = now + cx.settings.status.initial_interval.as_millis() as i64;
            cx.store
                .mark_flushed(batch.id, receipt.id.clone(), now, first_poll)
                .await?;
            m.flush_requests
                .with_label_values(&[&vhost, "accepted"])
                .inc();
            m.urls_flushed
                .with_label_values(&[&vhost])
                .inc_by(urls.len() as u64);
            cx.health.ok(AUTH);
            cx.health.ok(API_CONFIG);
            m.auth_failing.with_label_values(&["flush"]).set(0.0);
            tracing::info!(batch = batch.id, vhost = %vhost, size = urls.len(),
                api_id = receipt.id.as_deref().unwrap_or("-"), attempt = batch.attempts + 1,
                "batch flushed");
            cx.poll_wake.notify_one();
            return Ok(None);
        }
        Err(e) => e,
    };
    m.flush_requests
        .with_label_values(&[&vhost, err.kind()])
        .inc();
    m.api_errors.with_label_values(&["flush", err.kind()]).inc();
    match &err {
        ApiError::TooLarge { .. } | ApiError::Rejected { status: 400, .. } if urls.len() > 1 => {
            let parts = cx.store.split_batch(batch.id, now).await?;
            tracing::warn!(batch = batch.id, vhost = %vhost, size = urls.len(), error = %err,
                "batch refused; split into {} batches", parts.len());
            m.retries.with_label_values(&[&vhost, "split"]).inc();
            cx.flush_wake.notify_one();
            Ok(None)
        }
        ApiError::TooLarge { .. } | ApiError::Rejected { status: 400, .. } => {
            let reason = format!("refused by the API: {err}");
            cx.store.dead_letter_batch(batch.id, &reason, now).await?;
            m.dead_letters.with_label_values(&[&vhost, "refused"]).inc();
            tracing::error!(batch = batch.id, vhost = %vhost, url = %urls.join(" "),
                error = %err, "purge dead-lettered: the API refuses this URL");
            Ok(None)
        }
        ApiError::Auth { .. } => {
            let retry = cx.settings.cloakfusion.auth_retry;
            let at = now + retry.as_millis() as i64;
            cx.health
                .fail(AUTH, format!("the API refuses the token: {err}"));
            m.auth_failing.with_label_values(&["flush"]).set(1.0);
            cx.store.retry_later(batch.id, at, &err.to_string()).await?;
            m.retries.with_label_values(&[&vhost, "auth"]).inc();
            tracing::error!(vhost = %vhost, error = %err, retry_in = ?retry,
                "flushing paused: the API refuses the token; the queue is kept");
            Ok(Some(at))
        }
        ApiError::Throttled { .. } => {
            m.throttled.with_label_values(&["flush"]).inc();
            let wait = err.retry_after().unwrap_or(Duration::from_secs(1));
            let at = now + wait.as_millis() as i64;
            cx.store.retry_later(batch.id, at, &err.to_string()).await?;
            m.retries.with_label_values(&[&vhost, "throttled"]).inc();
            tracing::warn!(batch = batch.id, vhost = %vhost, retry_after = ?wait, "throttled by the API");
            Ok(Some(at))
        }
        e if e.is_retryable() => {
            let wait = cx.backoff().delay(batch.attempts);
            let at = now + wait.as_millis() as i64;
            cx.store.retry_later(batch.id, at, &err.to_string()).await?;
            m.retries.with_label_values(&[&vhost, err.kind()]).inc();
            tracing::warn!(batch = batch.id, vhost = %vhost, error = %err, retry_in = ?wait,
                "flush failed; will retry");
            Ok(None)
        }
        _ => {
            // 404/405/HTML on success...: the endpoint or base URL is wrong.
            // Every batch would fail the same way, so pause and keep them.
            let retry = cx.settings.cloakfusion.auth_retry;
            let at = now + retry.as_millis() as i64;
            cx.health
                .fail(API_CONFIG, format!("flush endpoint unusable: {err}"));
            cx.store.retry_later(batch.id, at, &err.to_string()).await?;
            m.retries.with_label_values(&[&vhost, err.kind()]).inc();
            tracing::error!(vhost = %vhost, error = %err,
                "flushing paused: the API answered in a way that fails every batch; check cloakfusion.base_url");
            Ok(Some(at))
        }
    }
}
