//! Reading batches out of PostgreSQL, and the take-over rule of a shared
//! queue: a worker gets the batches that are due and that nobody else holds
//! (no owner, its own, or an expired lease), and holds them from then on.

use super::write::Lease;
use crate::queue::{
    Batch, BatchRecord, BatchState, Millis, Origin, PendingGroup, PurgeItem, PurgeRecord,
    PurgeState, SiteActivity,
};
use deadpool_postgres::GenericClient;
use std::collections::{BTreeMap, HashMap};
use tokio_postgres::{Error, Row};

type PgResult<T> = Result<T, Error>;

const BATCH_COLS: &str = "b.id, b.vhost, b.state, b.attempts, b.created_at, b.flushed_at, b.polls";

fn batch_head(r: &Row) -> PgResult<Batch> {
    Ok(Batch {
        id: r.try_get(0)?,
        vhost: r.try_get(1)?,
        state: BatchState::parse(r.try_get(2)?).unwrap_or(BatchState::Done),
        attempts: r.try_get::<_, i64>(3)? as u32,
        created_at: r.try_get(4)?,
        flushed_at: r.try_get(5)?,
        polls: r.try_get::<_, i64>(6)? as u32,
        items: Vec::new(),
    })
}

/// Fills in each batch's purges in `item_state`, in one query.
async fn with_items<C: GenericClient>(
    c: &C,
    mut heads: Vec<Batch>,
    item_state: &str,
) -> PgResult<Vec<Batch>> {
    if heads.is_empty() {
        return Ok(heads);
    }
    let ids: Vec<i64> = heads.iter().map(|b| b.id).collect();
    let st = c
        .prepare_cached(
            "SELECT batch_id, id, url, path, enqueued_at, reflushes, unconfirmed FROM purges
             WHERE batch_id = ANY($1) AND state = $2 ORDER BY batch_id, id",
        )
        .await?;
    let mut items: HashMap<i64, Vec<PurgeItem>> = HashMap::new();
    for r in c.query(&st, &[&ids, &item_state]).await? {
        items.entry(r.try_get(0)?).or_default().push(PurgeItem {
            id: r.try_get(1)?,
            url: r.try_get(2)?,
            path: r.try_get(3)?,
            enqueued_at: r.try_get(4)?,
            reflushes: r.try_get::<_, i64>(5)? as u32,
            unconfirmed: r.try_get(6)?,
        });
    }
    for b in &mut heads {
        b.items = items.remove(&b.id).unwrap_or_default();
    }
    Ok(heads)
}

pub(super) async fn batch_by_id<C: GenericClient>(
    c: &C,
    id: i64,
    item_state: &str,
) -> PgResult<Option<Batch>> {
    let sql = format!("SELECT {BATCH_COLS} FROM batches b WHERE b.id = $1");
    let heads: Vec<Batch> = c
        .query(&sql, &[&id])
        .await?
        .iter()
        .map(batch_head)
        .collect::<PgResult<_>>()?;
    Ok(with_items(c, heads, item_state).await?.into_iter().next())
}

/// Which batches a worker looks for: `sending` ones for the flusher,
/// `flushed` ones for the poller.
#[derive(Clone, Copy)]
pub(super) enum Due {
    Sending,
    Polls,
}

impl Due {
    fn state(self) -> &'static str {
        match self {
            Due::Sending => "sending",
            Due::Polls => "flushed",
        }
    }
    fn column(self) -> &'static str {
        match self {
            Due::Sending => "next_attempt_at",
            Due::Polls => "next_poll_at",
        }
    }
    fn item_state(self) -> &'static str {
        match self {
            Due::Sending => "sent",
            Due::Polls => "flushed",
        }
    }
}

/// Takes (or keeps) the due batches nobody else holds, renewing the lease.
pub(super) async fn take_due<C: GenericClient>(
    c: &C,
    due: Due,
    now: Millis,
    lease: Lease<'_>,
) -> PgResult<Vec<Batch>> {
    let col = due.column();
    let sql = format!(
        "WITH c AS (
           SELECT id, owner AS prev FROM batches
           WHERE state = $1 AND {col} <= $2
             AND (owner IS NULL OR owner = $3 OR lease_until <= {now})
           ORDER BY {col}, id
           FOR UPDATE SKIP LOCKED)
         UPDATE batches b SET owner = $3, lease_until = {now} + $4 FROM c WHERE b.id = c.id
         RETURNING {BATCH_COLS}, c.prev, b.{col}",
        now = db_now!()
    );
    let st = c.prepare_cached(&sql).await?;
    let rows = c
        .query(&st, &[&due.state(), &now, &lease.owner, &lease.ms])
        .await?;
    let mut keyed: Vec<(Millis, Batch)> = Vec::with_capacity(rows.len());
    for r in &rows {
        let b = batch_head(r)?;
        if let Some(prev) = r.get::<_, Option<String>>(7).filter(|p| p != lease.owner) {
            tracing::info!(batch = b.id, vhost = %b.vhost, from = %prev, state = due.state(),
                "took over a batch whose lease expired (its node stopped working on it)");
        }
        keyed.push((r.get::<_, Option<i64>>(8).unwrap_or(0), b));
    }
    keyed.sort_by_key(|(at, b)| (*at, b.id));
    let heads = keyed.into_iter().map(|(_, b)| b).collect();
    with_items(c, heads, due.item_state()).await
}

/// When this node may next find due work: a batch under another node's
/// live lease counts from when that lease runs out (converted to this
/// node's clock), so a standby never spins on work it cannot take.
pub(super) async fn next_due<C: GenericClient>(
    c: &C,
    due: Due,
    owner: &str,
    node_now: Millis,
) -> PgResult<Option<Millis>> {
    let col = due.column();
    let sql = format!(
        "SELECT MIN(CASE WHEN owner IS NULL OR owner = $2 OR lease_until <= t.db THEN {col}
                    ELSE GREATEST({col}, lease_until - t.db + $3) END)
         FROM batches, (SELECT {now} AS db) t WHERE state = $1",
        now = db_now!()
    );
    let st = c.prepare_cached(&sql).await?;
    c.query_one(&st, &[&due.state(), &owner, &node_now])
        .await?
        .try_get(0)
}

pub(super) async fn pending_groups<C: GenericClient>(
    c: &C,
    now: Millis,
) -> PgResult<Vec<PendingGroup>> {
    let st = c
        .prepare_cached(
            "SELECT vhost, COUNT(*), MIN(enqueued_at), MAX(enqueued_at) FROM purges
             WHERE state = 'pending' AND not_before <= $1 GROUP BY vhost ORDER BY vhost",
        )
        .await?;
    c.query(&st, &[&now])
        .await?
        .iter()
        .map(|r| {
            Ok(PendingGroup {
                vhost: r.try_get(0)?,
                count: r.try_get::<_, i64>(1)? as u64,
                first_enqueued: r.try_get(2)?,
                last_enqueued: r.try_get(3)?,
            })
        })
        .collect()
}

pub(super) async fn counts<C: GenericClient>(c: &C) -> PgResult<BTreeMap<PurgeState, u64>> {
    let mut out: BTreeMap<PurgeState, u64> = PurgeState::ALL.iter().map(|s| (*s, 0)).collect();
    for r in c
        .query("SELECT state, COUNT(*) FROM purges GROUP BY state", &[])
        .await?
    {
        if let Some(s) = PurgeState::parse(r.try_get(0)?) {
            out.insert(s, r.try_get::<_, i64>(1)? as u64);
        }
    }
    Ok(out)
}

pub(super) async fn recent_purges<C: GenericClient>(
    c: &C,
    limit: usize,
    state: Option<PurgeState>,
) -> PgResult<Vec<PurgeRecord>> {
    let rows = c
        .query(
            "SELECT id, site, vhost, url, state, origin_kind, origin_ref, attempts, reflushes,
                    enqueued_at, updated_at, confirmed_at, batch_id, error
             FROM purges WHERE ($1::text IS NULL OR state = $1) ORDER BY id DESC LIMIT $2",
            &[&state.map(|s| s.as_str()), &(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PurgeRecord {
                id: r.try_get(0)?,
                site: r.try_get(1)?,
                vhost: r.try_get(2)?,
                url: r.try_get(3)?,
                state: PurgeState::parse(r.try_get(4)?).unwrap_or(PurgeState::Failed),
                origin: Origin {
                    kind: r.try_get(5)?,
                    reference: r.try_get(6)?,
                },
                attempts: r.try_get::<_, i64>(7)? as u32,
                reflushes: r.try_get::<_, i64>(8)? as u32,
                enqueued_at: r.try_get(9)?,
                updated_at: r.try_get(10)?,
                confirmed_at: r.try_get(11)?,
                batch_id: r.try_get(12)?,
                error: r.try_get(13)?,
            })
        })
        .collect()
}

pub(super) async fn recent_batches<C: GenericClient>(
    c: &C,
    limit: usize,
) -> PgResult<Vec<BatchRecord>> {
    let rows = c
        .query(
            "SELECT id, vhost, state, size, attempts, created_at, flushed_at, finished_at,
                    api_id, error
             FROM batches ORDER BY id DESC LIMIT $1",
            &[&(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BatchRecord {
                id: r.try_get(0)?,
                vhost: r.try_get(1)?,
                state: BatchState::parse(r.try_get(2)?).unwrap_or(BatchState::Done),
                size: r.try_get::<_, i64>(3)? as u64,
                attempts: r.try_get::<_, i64>(4)? as u32,
                created_at: r.try_get(5)?,
                flushed_at: r.try_get(6)?,
                finished_at: r.try_get(7)?,
                api_id: r.try_get(8)?,
                error: r.try_get(9)?,
            })
        })
        .collect()
}

pub(super) async fn site_activity<C: GenericClient>(c: &C) -> PgResult<Vec<SiteActivity>> {
    c.query(
        "SELECT site, MAX(enqueued_at), MAX(confirmed_at) FROM purges
         GROUP BY site ORDER BY site",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(SiteActivity {
            site: r.try_get(0)?,
            last_change: r.try_get(1)?,
            last_confirmed: r.try_get(2)?,
        })
    })
    .collect()
}
