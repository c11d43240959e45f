//! The write path on PostgreSQL: enqueue (set-based, one round trip for the
//! whole change set), claims under `FOR UPDATE SKIP LOCKED`, and the
//! flusher's bookkeeping. Each function is one transaction, safe to run
//! again when `retry!` sees a transient abort.

use super::read::batch_by_id;
use crate::queue::{Batch, DeliveryKey, EnqueueReport, Millis, NewPurge};
use deadpool_postgres::{GenericClient, Object};
use std::collections::HashMap;
use tokio_postgres::Error;

type PgResult<T> = Result<T, Error>;

/// Rows go in sorted by (vhost, url): every transaction then waits on the
/// pending-once index in the same order, so two nodes enqueueing the same
/// deploy cannot deadlock.
///
/// A URL already pending is coalesced by the conflict arbiter itself, which
/// always goes through the pending-once index: a separate UPDATE joined on
/// (vhost, url) was planned from statistics, and on a young table (stale
/// statistics: "one pending row") it scanned every pending row per URL,
/// ~700 ms per 500 coalesced URLs. The twin is only brought forward (a
/// coalesced purge never delays one already pending); `xmax = 0` tells the
/// rows this statement inserted from the twins it updated. Duplicates within
/// one change set are folded first (the earliest `not_before`, then the
/// first given), since one statement may not touch a row twice.
const INSERT: &str = "INSERT INTO purges (site, vhost, url, path, state, origin_kind, origin_ref,
                        enqueued_at, not_before, updated_at, hold)
     SELECT DISTINCT ON (t.vhost, t.url)
            t.site, t.vhost, t.url, t.path, 'pending', t.kind, t.oref, $9, t.nb, $9, t.hold
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                 $7::bigint[], $8::text[])
          WITH ORDINALITY AS t(site, vhost, url, path, kind, oref, nb, hold, ord)
     ORDER BY t.vhost, t.url, t.nb, t.ord
     ON CONFLICT (vhost, url) WHERE state = 'pending'
     DO UPDATE SET not_before = EXCLUDED.not_before
         WHERE purges.not_before > EXCLUDED.not_before
     RETURNING vhost, url, xmax = 0";

pub(super) async fn enqueue(
    c: &mut Object,
    delivery: &Option<DeliveryKey>,
    items: &[NewPurge],
    now: Millis,
) -> PgResult<Option<EnqueueReport>> {
    let tx = c.transaction().await?;
    if let Some(d) = delivery {
        let fresh = tx
            .execute(
                "INSERT INTO deliveries (hook, id, received_at) VALUES ($1, $2, $3)
                 ON CONFLICT (hook, id) DO NOTHING",
                &[&d.hook, &d.id, &now],
            )
            .await?;
        if fresh == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    let mut report = EnqueueReport::default();
    if items.is_empty() {
        tx.commit().await?;
        return Ok(Some(report));
    }
    let col = |f: fn(&NewPurge) -> String| items.iter().map(f).collect::<Vec<String>>();
    let (sites, vhosts, urls) = (
        col(|p| p.site.clone()),
        col(|p| p.vhost.clone()),
        col(|p| p.url.clone()),
    );
    let (paths, kinds, refs) = (
        col(|p| p.path.clone()),
        col(|p| p.origin.kind.clone()),
        col(|p| p.origin.reference.clone()),
    );
    let nbs: Vec<i64> = items.iter().map(|p| p.not_before).collect();
    let holds: Vec<Option<String>> = items.iter().map(|p| p.hold.clone()).collect();
    let st = tx.prepare_cached(INSERT).await?;
    let rows = tx
        .query(
            &st,
            &[
                &sites, &vhosts, &urls, &paths, &kinds, &refs, &nbs, &holds, &now,
            ],
        )
        .await?;
    let mut inserted: HashMap<(String, String), u32> = HashMap::new();
    for r in rows {
        if r.try_get::<_, bool>(2)? {
            *inserted.entry((r.try_get(0)?, r.try_get(1)?)).or_default() += 1;
        }
    }
    for p in items {
        let site = report.per_site.entry(p.site.clone()).or_default();
        match inserted.get_mut(&(p.vhost.clone(), p.url.clone())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                report.added += 1;
                site.0 += 1;
            }
            _ => {
                report.coalesced += 1;
                site.1 += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(Some(report))
}

pub(super) async fn release_hold(c: &Object, hold: &str) -> PgResult<u64> {
    c.execute(
        "UPDATE purges SET not_before = 0, hold = NULL WHERE hold = $1 AND state = 'pending'",
        &[&hold],
    )
    .await
}

/// Who takes a new batch, and for how long.
#[derive(Clone, Copy)]
pub(super) struct Lease<'a> {
    pub owner: &'a str,
    pub ms: i64,
}

pub(super) async fn claim(
    c: &mut Object,
    vhost: &str,
    max: usize,
    now: Millis,
    lease: Lease<'_>,
) -> PgResult<Option<Batch>> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare_cached(
            "SELECT id FROM purges WHERE state = 'pending' AND vhost = $1 AND not_before <= $2
             ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
        )
        .await?;
    let ids: Vec<i64> = tx
        .query(&st, &[&vhost, &now, &(max as i64)])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<PgResult<_>>()?;
    if ids.is_empty() {
        tx.rollback().await?;
        return Ok(None);
    }
    let id = new_batch(&tx, vhost, 0, now, &ids, lease, 1).await?;
    let b = batch_by_id(&tx, id, "sent").await?;
    tx.commit().await?;
    Ok(b)
}

/// A batch in `sending`, owned by `lease.owner`, holding purges `ids`
/// (`bump` is added to their attempts: 1 for a claim, 0 for a split).
async fn new_batch<C: GenericClient>(
    tx: &C,
    vhost: &str,
    attempts: i64,
    now: Millis,
    ids: &[i64],
    lease: Lease<'_>,
    bump: i64,
) -> PgResult<i64> {
    let st = tx
        .prepare_cached(concat!(
            "INSERT INTO batches (vhost, state, size, attempts, created_at, next_attempt_at,
                                  owner, lease_until)
             VALUES ($1, 'sending', $2, $3, $4, $4, $5, ",
            db_now!(),
            " + $6) RETURNING id"
        ))
        .await?;
    let id: i64 = tx
        .query_one(
            &st,
            &[
                &vhost,
                &(ids.len() as i64),
                &attempts,
                &now,
                &lease.owner,
                &lease.ms,
            ],
        )
        .await?
        .get(0);
    let st = tx
        .prepare_cached(
            "UPDATE purges SET state = 'sent', batch_id = $1, updated_at = $2,
             attempts = attempts + $4 WHERE id = ANY($3)",
        )
        .await?;
    tx.execute(&st, &[&id, &now, &ids, &bump]).await?;
    Ok(id)
}

/// The batch goes to whichever node polls: no owner until `due_polls`.
pub(super) async fn mark_flushed(
    c: &mut Object,
    batch: i64,
    api_id: &Option<String>,
    now: Millis,
    first_poll: Millis,
) -> PgResult<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE batches SET state = 'flushed', api_id = $2, flushed_at = $3, next_poll_at = $4,
         error = NULL, owner = NULL, lease_until = 0 WHERE id = $1",
        &[&batch, api_id, &now, &first_poll],
    )
    .await?;
    tx.execute(
        "UPDATE purges SET state = 'flushed', flushed_at = $2, updated_at = $2, error = NULL
         WHERE batch_id = $1 AND state = 'sent'",
        &[&batch, &now],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn retry_later(
    c: &mut Object,
    batch: i64,
    at: Millis,
    error: &str,
) -> PgResult<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE batches SET attempts = attempts + 1, next_attempt_at = $2, error = $3
         WHERE id = $1",
        &[&batch, &at, &error],
    )
    .await?;
    tx.execute(
        "UPDATE purges SET attempts = attempts + 1, error = $2
         WHERE batch_id = $1 AND state = 'sent'",
        &[&batch, &error],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn split(
    c: &mut Object,
    batch: i64,
    now: Millis,
    lease: Lease<'_>,
) -> PgResult<Vec<Batch>> {
    let tx = c.transaction().await?;
    tx.execute("SELECT 1 FROM batches WHERE id = $1 FOR UPDATE", &[&batch])
        .await?;
    let Some(b) = batch_by_id(&tx, batch, "sent").await? else {
        tx.rollback().await?;
        return Ok(Vec::new());
    };
    if b.items.len() < 2 {
        tx.rollback().await?;
        return Ok(vec![b]);
    }
    let ids: Vec<i64> = b.items.iter().map(|i| i.id).collect();
    let (left, right) = ids.split_at(ids.len() / 2);
    let attempts = i64::from(b.attempts);
    let l = new_batch(&tx, &b.vhost, attempts, now, left, lease, 0).await?;
    let r = new_batch(&tx, &b.vhost, attempts, now, right, lease, 0).await?;
    tx.execute("DELETE FROM batches WHERE id = $1", &[&batch])
        .await?;
    let mut out = Vec::new();
    for id in [l, r] {
        if let Some(nb) = batch_by_id(&tx, id, "sent").await? {
            out.push(nb);
        }
    }
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn dead_letter(
    c: &mut Object,
    batch: i64,
    reason: &str,
    now: Millis,
) -> PgResult<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "UPDATE purges SET state = 'failed', error = $2, updated_at = $3
         WHERE batch_id = $1 AND state = 'sent'",
        &[&batch, &reason, &now],
    )
    .await?;
    tx.execute(
        "UPDATE batches SET state = 'done', finished_at = $3, error = $2, owner = NULL
         WHERE id = $1",
        &[&batch, &reason, &now],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn dead_letter_confirmed(
    c: &Object,
    id: i64,
    reason: &str,
    now: Millis,
) -> PgResult<bool> {
    let n = c
        .execute(
            "UPDATE purges SET state = 'failed', error = $2, updated_at = $3
             WHERE id = $1 AND state = 'confirmed'",
            &[&id, &reason, &now],
        )
        .await?;
    Ok(n > 0)
}

pub(super) async fn prune(
    c: &mut Object,
    before: Millis,
    deliveries_before: Millis,
) -> PgResult<u64> {
    let tx = c.transaction().await?;
    tx.execute(
        "DELETE FROM deliveries WHERE received_at < $1",
        &[&deliveries_before],
    )
    .await?;
    let n = tx
        .execute(
            "DELETE FROM purges WHERE state IN ('confirmed', 'failed', 'unconfirmed')
             AND updated_at < $1",
            &[&before],
        )
        .await?;
    tx.execute(
        "DELETE FROM batches WHERE state = 'done' AND finished_at < $1",
        &[&before],
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

pub(super) async fn probe(c: &Object, now: Millis) -> PgResult<()> {
    c.execute(
        "INSERT INTO meta (key, value) VALUES ('probe', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&now.to_string()],
    )
    .await?;
    Ok(())
}
