//! The SQLite side of poll outcomes and status listings, kept apart from the
//! enqueue/claim path in `sqlite.rs`.

use super::*;
use rusqlite::{Connection, params};

/// A confirmed purge found stale at the edge for good becomes a dead letter.
pub(super) fn dead_letter_confirmed(
    c: &Connection,
    id: i64,
    reason: &str,
    now: Millis,
) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE purges SET state = 'failed', error = ?2, updated_at = ?3
         WHERE id = ?1 AND state = 'confirmed'",
        params![id, reason, now],
    )?;
    Ok(n > 0)
}

/// Moves one purge on after a poll. A re-flushed purge goes back to
/// `pending`, replacing a pending twin (same vhost and URL) if a newer change
/// queued one meanwhile, so that the pending-once rule holds.
pub(super) fn apply_outcome(
    tx: &Connection,
    id: i64,
    outcome: PollOutcome,
    now: Millis,
) -> rusqlite::Result<()> {
    match outcome {
        PollOutcome::Confirmed => {
            tx.execute(
                "UPDATE purges SET state = 'confirmed', confirmed_at = ?2, updated_at = ?2,
                 error = NULL WHERE id = ?1",
                params![id, now],
            )?;
        }
        PollOutcome::Reflush | PollOutcome::ReflushUnconfirmed => {
            tx.execute(
                "DELETE FROM purges WHERE state = 'pending' AND EXISTS (
                   SELECT 1 FROM purges o WHERE o.id = ?1
                   AND o.vhost = purges.vhost AND o.url = purges.url)",
                [id],
            )?;
            let (reflush, unconfirmed, why) = if outcome == PollOutcome::Reflush {
                (1, 0, "the API reported the purge failed; flushing again")
            } else {
                (
                    0,
                    1,
                    "not confirmed within status.timeout; flushing once more",
                )
            };
            tx.execute(
                "UPDATE purges SET state = 'pending', batch_id = NULL, not_before = 0,
                 reflushes = reflushes + ?2, unconfirmed = CASE WHEN ?3 = 1 THEN 1 ELSE unconfirmed END,
                 updated_at = ?4, error = ?5 WHERE id = ?1",
                params![id, reflush, unconfirmed, now, why],
            )?;
        }
        PollOutcome::DeadLetter => {
            tx.execute(
                "UPDATE purges SET state = 'failed', updated_at = ?2,
                 error = 'the API reported the purge failed after every re-flush' WHERE id = ?1",
                params![id, now],
            )?;
        }
        PollOutcome::GiveUpUnconfirmed => {
            tx.execute(
                "UPDATE purges SET state = 'unconfirmed', updated_at = ?2,
                 error = 'not confirmed within status.timeout, even after a re-flush' WHERE id = ?1",
                params![id, now],
            )?;
        }
    }
    Ok(())
}

pub(super) fn recent_purges(
    c: &Connection,
    limit: usize,
    state: Option<PurgeState>,
) -> rusqlite::Result<Vec<PurgeRecord>> {
    let mut st = c.prepare_cached(
        "SELECT id, site, vhost, url, state, origin_kind, origin_ref, attempts, reflushes,
                enqueued_at, updated_at, confirmed_at, batch_id, error
         FROM purges WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![state.map(|s| s.as_str()), limit as i64], |r| {
        Ok(PurgeRecord {
            id: r.get(0)?,
            site: r.get(1)?,
            vhost: r.get(2)?,
            url: r.get(3)?,
            state: PurgeState::parse(&r.get::<_, String>(4)?).unwrap_or(PurgeState::Failed),
            origin: Origin {
                kind: r.get(5)?,
                reference: r.get(6)?,
            },
            attempts: r.get::<_, i64>(7)? as u32,
            reflushes: r.get::<_, i64>(8)? as u32,
            enqueued_at: r.get(9)?,
            updated_at: r.get(10)?,
            confirmed_at: r.get(11)?,
            batch_id: r.get(12)?,
            error: r.get(13)?,
        })
    })?;
    rows.collect()
}

pub(super) fn recent_batches(c: &Connection, limit: usize) -> rusqlite::Result<Vec<BatchRecord>> {
    let mut st = c.prepare_cached(
        "SELECT id, vhost, state, size, attempts, created_at, flushed_at, finished_at, api_id, error
         FROM batches ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit as i64], |r| {
        Ok(BatchRecord {
            id: r.get(0)?,
            vhost: r.get(1)?,
            state: BatchState::parse(&r.get::<_, String>(2)?).unwrap_or(BatchState::Done),
            size: r.get::<_, i64>(3)? as u64,
            attempts: r.get::<_, i64>(4)? as u32,
            created_at: r.get(5)?,
            flushed_at: r.get(6)?,
            finished_at: r.get(7)?,
            api_id: r.get(8)?,
            error: r.get(9)?,
        })
    })?;
    rows.collect()
}
