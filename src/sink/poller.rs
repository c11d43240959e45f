//! The status worker: asks `POST /flushstatus/` about flushed batches until
//! every URL is confirmed, re-flushes what the API reports failed, and gives
//! up (dead letter / unconfirmed) only after the configured limits.

use super::SinkContext;
use super::backoff::poll_interval;
use crate::cloakfusion::{ApiError, FlushState, StatusEntry, path_regex};
use crate::queue::{Batch, Millis, PollOutcome, PurgeItem, StoreError, now_ms};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run(cx: SinkContext, cancel: CancellationToken) -> Result<(), StoreError> {
    super::retry_store_errors("poller", &cx, &cancel, || {
        run_once(cx.clone(), cancel.clone())
    })
    .await
}

/// The worker loop; returns on cancellation or on the first store error.
async fn run_once(cx: SinkContext, cancel: CancellationToken) -> Result<(), StoreError> {
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        cx.watchdog.pet("poller");
        if !cx.store.lead("poller").await? {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_secs(1).min(cx.watchdog.max_idle())) => {}
            }
            continue;
        }
        let due = cx.store.due_polls(now_ms()).await?;
        let mut by_vhost: BTreeMap<String, Vec<Batch>> = BTreeMap::new();
        for b in due {
            by_vhost.entry(b.vhost.clone()).or_default().push(b);
        }
        for (vhost, batches) in by_vhost {
            if cancel.is_cancelled() {
                return Ok(());
            }
            poll_vhost(&cx, &vhost, batches).await?;
        }
        let next = cx.store.next_poll_due().await?;
        let wait = next
            .map(|t| Duration::from_millis((t - now_ms()).max(0) as u64))
            .unwrap_or(Duration::from_secs(30))
            .min(cx.watchdog.max_idle());
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = cx.poll_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One round for one vhost: all its due batches in as few calls as the
/// regex length allows.
async fn poll_vhost(cx: &SinkContext, vhost: &str, batches: Vec<Batch>) -> Result<(), StoreError> {
    let m = &cx.metrics;
    let mut paths: Vec<String> = batches
        .iter()
        .flat_map(|b| b.items.iter().map(|i| i.path.clone()))
        .collect();
    paths.sort();
    paths.dedup();
    let mut entries: Vec<StatusEntry> = Vec::new();
    let mut failure: Option<ApiError> = None;
    for re in path_regex(&paths, cx.settings.status.max_regex_len) {
        match cx.client.flush_status(&re, &[vhost.to_string()]).await {
            Ok(mut e) => entries.append(&mut e),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let now = now_ms();
    if let Some(err) = failure {
        m.status_polls.with_label_values(&[vhost, err.kind()]).inc();
        m.api_errors
            .with_label_values(&["flushstatus", err.kind()])
            .inc();
        if matches!(err, ApiError::Throttled { .. }) {
            m.throttled.with_label_values(&["flushstatus"]).inc();
        }
        tracing::warn!(vhost, error = %err, "flushstatus failed; polling again later");
        for b in &batches {
            let wait = err
                .retry_after()
                .unwrap_or_else(|| interval(cx, b.polls))
                .max(interval(cx, b.polls));
            // Timeouts still apply while the status endpoint is down.
            let outcomes = timeouts_only(cx, b, now);
            apply(cx, vhost, b, outcomes, now, now + wait.as_millis() as i64).await?;
        }
        return Ok(());
    }
    m.status_polls.with_label_values(&[vhost, "ok"]).inc();
    let latest = latest_by_key(&entries);
    let mut reflushed = false;
    for b in &batches {
        let mut outcomes = Vec::new();
        for item in &b.items {
            let state = latest
                .get(item.url.as_str())
                .or_else(|| latest.get(item.path.as_str()))
                .map(|e| e.state);
            let outcome = match state {
                Some(FlushState::Done) => Some(PollOutcome::Confirmed),
                Some(FlushState::Failed) => {
                    Some(if item.reflushes < cx.settings.status.max_reflush {
                        PollOutcome::Reflush
                    } else {
                        PollOutcome::DeadLetter
                    })
                }
                _ => timeout_outcome(cx, b, item, now),
            };
            if let Some(o) = outcome {
                reflushed |= matches!(o, PollOutcome::Reflush | PollOutcome::ReflushUnconfirmed);
                outcomes.push((item.id, o, item.enqueued_at));
            }
        }
        let next = now + interval(cx, b.polls + 1).as_millis() as i64;
        apply(cx, vhost, b, outcomes, now, next).await?;
    }
    if reflushed {
        cx.flush_wake.notify_one();
    }
    Ok(())
}

fn interval(cx: &SinkContext, polls: u32) -> Duration {
    let s = &cx.settings.status;
    poll_interval(s.initial_interval, s.max_interval, polls)
}

fn timeout_outcome(
    cx: &SinkContext,
    b: &Batch,
    item: &PurgeItem,
    now: Millis,
) -> Option<PollOutcome> {
    let flushed = b.flushed_at.unwrap_or(b.created_at);
    if now - flushed < cx.settings.status.timeout.as_millis() as i64 {
        return None;
    }
    Some(if item.unconfirmed {
        PollOutcome::GiveUpUnconfirmed
    } else {
        PollOutcome::ReflushUnconfirmed
    })
}

fn timeouts_only(cx: &SinkContext, b: &Batch, now: Millis) -> Vec<(i64, PollOutcome, Millis)> {
    b.items
        .iter()
        .filter_map(|i| timeout_outcome(cx, b, i, now).map(|o| (i.id, o, i.enqueued_at)))
        .collect()
}

/// The newest entry per URL and per path: the API may list an object's
/// history, and a re-flushed object's old "done" must not confirm the new one.
fn latest_by_key(entries: &[StatusEntry]) -> HashMap<&str, &StatusEntry> {
    let mut out: HashMap<&str, &StatusEntry> = HashMap::new();
    for e in entries {
        let mut keys = vec![e.path.as_str()];
        if let Some(u) = e.url.as_deref() {
            keys.push(u);
        }
        for k in keys {
            let newer = match out.get(k) {
                None => true,
                Some(old) => match (old.requested_at, e.requested_at) {
                    (Some(a), Some(b)) => b >= a,
                    _ => true,
                },
            };
            if newer {
                out.insert(k, e);
            }
        }
    }
    out
}

async fn apply(
    cx: &SinkContext,
    vhost: &str,
    b: &Batch,
    outcomes: Vec<(i64, PollOutcome, Millis)>,
    now: Millis,
    next: Millis,
) -> Result<(), StoreError> {
    let m = &cx.metrics;
    let mut confirmed = 0usize;
    for (_, o, enqueued) in &outcomes {
        match o {
            PollOutcome::Confirmed => {
                confirmed += 1;
                m.purge_completion
                    .with_label_values(&[vhost])
                    .observe(((now - enqueued).max(0) as f64) / 1000.0);
            }
            PollOutcome::DeadLetter => {
                m.dead_letters
                    .with_label_values(&[vhost, "failed_after_reflush"])
                    .inc();
            }
            PollOutcome::ReflushUnconfirmed => {
                m.unconfirmed.with_label_values(&[vhost]).inc();
                tracing::warn!(
                    batch = b.id,
                    vhost,
                    "purge not confirmed within status.timeout; flushing once more"
                );
            }
            PollOutcome::GiveUpUnconfirmed => {
                m.unconfirmed.with_label_values(&[vhost]).inc();
                m.dead_letters
                    .with_label_values(&[vhost, "unconfirmed"])
                    .inc();
            }
            PollOutcome::Reflush => {}
        }
    }
    if confirmed > 0 {
        m.last_confirmed.set(now as f64 / 1000.0);
    }
    let total = outcomes.len();
    let confirmed_items: Vec<&PurgeItem> = match &cx.verify {
        Some(_) => outcomes
            .iter()
            .filter(|(_, o, _)| *o == PollOutcome::Confirmed)
            .filter_map(|(id, _, _)| b.items.iter().find(|i| i.id == *id))
            .collect(),
        None => Vec::new(),
    };
    let pairs = outcomes.into_iter().map(|(id, o, _)| (id, o)).collect();
    cx.store.apply_poll(b.id, pairs, now, next).await?;
    if let (Some(v), false) = (&cx.verify, confirmed_items.is_empty()) {
        v.offer(vhost, &confirmed_items);
    }
    if total == b.items.len() {
        tracing::info!(
            batch = b.id,
            vhost,
            size = b.items.len(),
            confirmed,
            latency_ms = now - b.created_at,
            "batch finished"
        );
    }
    Ok(())
}
