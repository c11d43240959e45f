//! Reading batches and their purges out of SQLite rows, shared by the
//! claim, retry and poll paths of `sqlite.rs`.

use super::*;
use rusqlite::{Connection, params};

pub(super) fn load_items(
    tx: &Connection,
    batch: i64,
    state: &str,
) -> rusqlite::Result<Vec<PurgeItem>> {
    let mut st = tx.prepare_cached(
        "SELECT id, url, path, enqueued_at, reflushes, unconfirmed FROM purges
         WHERE batch_id = ?1 AND state = ?2 ORDER BY id",
    )?;
    let rows = st.query_map(params![batch, state], |r| {
        Ok(PurgeItem {
            id: r.get(0)?,
            url: r.get(1)?,
            path: r.get(2)?,
            enqueued_at: r.get(3)?,
            reflushes: r.get::<_, i64>(4)? as u32,
            unconfirmed: r.get::<_, i64>(5)? != 0,
        })
    })?;
    rows.collect()
}

pub(super) fn load_batches(
    tx: &Connection,
    sql: &str,
    now: Millis,
    item_state: &str,
) -> rusqlite::Result<Vec<Batch>> {
    let mut st = tx.prepare_cached(sql)?;
    let heads = st
        .query_map([now], |r| {
            Ok(Batch {
                id: r.get(0)?,
                vhost: r.get(1)?,
                state: BatchState::parse(&r.get::<_, String>(2)?).unwrap_or(BatchState::Done),
                attempts: r.get::<_, i64>(3)? as u32,
                created_at: r.get(4)?,
                flushed_at: r.get(5)?,
                polls: r.get::<_, i64>(6)? as u32,
                items: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(heads.len());
    for mut b in heads {
        b.items = load_items(tx, b.id, item_state)?;
        out.push(b);
    }
    Ok(out)
}

pub(super) const BATCH_COLS: &str = "id, vhost, state, attempts, created_at, flushed_at, polls";

pub(super) fn new_batch(
    tx: &Connection,
    vhost: &str,
    attempts: u32,
    now: Millis,
    ids: &[i64],
    count_attempt: bool,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO batches (vhost, state, size, attempts, created_at, next_attempt_at)
         VALUES (?1, 'sending', ?2, ?3, ?4, ?4)",
        params![vhost, ids.len() as i64, attempts as i64, now],
    )?;
    let id = tx.last_insert_rowid();
    let mut up = tx.prepare_cached(
        "UPDATE purges SET state = 'sent', batch_id = ?1, updated_at = ?2,
         attempts = attempts + ?4 WHERE id = ?3",
    )?;
    for pid in ids {
        up.execute(params![id, now, pid, i64::from(count_attempt)])?;
    }
    Ok(id)
}

pub(super) fn batch_by_id(tx: &Connection, id: i64) -> rusqlite::Result<Option<Batch>> {
    let sql = format!("SELECT {BATCH_COLS} FROM batches WHERE id = ?1");
    Ok(load_batches(tx, &sql, id, "sent")?.into_iter().next())
}
