//! What one flushstatus poll changes, on PostgreSQL: the same outcomes as
//! SQLite's (`sqlite_poll.rs`), in one transaction per batch.

use crate::queue::{Millis, PollOutcome};
use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::Error;

pub(super) async fn apply(
    c: &mut Object,
    batch: i64,
    outcomes: &[(i64, PollOutcome)],
    now: Millis,
    next_poll: Millis,
) -> Result<(), Error> {
    let tx = c.transaction().await?;
    for (id, outcome) in outcomes {
        apply_outcome(&tx, *id, *outcome, now).await?;
    }
    let left: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM purges WHERE batch_id = $1 AND state = 'flushed'",
            &[&batch],
        )
        .await?
        .try_get(0)?;
    if left == 0 {
        tx.execute(
            "UPDATE batches SET state = 'done', finished_at = $2, polls = polls + 1,
             owner = NULL WHERE id = $1",
            &[&batch, &now],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE batches SET polls = polls + 1, next_poll_at = $2 WHERE id = $1",
            &[&batch, &next_poll],
        )
        .await?;
    }
    tx.commit().await
}

/// A re-flushed purge goes back to `pending`, replacing a pending twin that a
/// newer change queued meanwhile (on any node), so pending-once holds. A
/// twin inserted concurrently makes the update fail with a unique violation;
/// `retry!` runs the transaction again and the delete then sees it.
async fn apply_outcome<C: GenericClient>(
    tx: &C,
    id: i64,
    outcome: PollOutcome,
    now: Millis,
) -> Result<(), Error> {
    match outcome {
        PollOutcome::Confirmed => {
            let st = tx
                .prepare_cached(
                    "UPDATE purges SET state = 'confirmed', confirmed_at = $2, updated_at = $2,
                     error = NULL WHERE id = $1",
                )
                .await?;
            tx.execute(&st, &[&id, &now]).await?;
        }
        PollOutcome::Reflush | PollOutcome::ReflushUnconfirmed => {
            tx.execute(
                "DELETE FROM purges p USING purges o
                 WHERE o.id = $1 AND p.vhost = o.vhost AND p.url = o.url
                   AND p.state = 'pending' AND p.id <> o.id",
                &[&id],
            )
            .await?;
            let (reflush, unconfirmed, why) = if outcome == PollOutcome::Reflush {
                (
                    1i64,
                    false,
                    "the API reported the purge failed; flushing again",
                )
            } else {
                (
                    0,
                    true,
                    "not confirmed within status.timeout; flushing once more",
                )
            };
            tx.execute(
                "UPDATE purges SET state = 'pending', batch_id = NULL, not_before = 0,
                 reflushes = reflushes + $2, unconfirmed = unconfirmed OR $3,
                 updated_at = $4, error = $5 WHERE id = $1",
                &[&id, &reflush, &unconfirmed, &now, &why],
            )
            .await?;
        }
        PollOutcome::DeadLetter => {
            tx.execute(
                "UPDATE purges SET state = 'failed', updated_at = $2,
                 error = 'the API reported the purge failed after every re-flush' WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        }
        PollOutcome::GiveUpUnconfirmed => {
            tx.execute(
                "UPDATE purges SET state = 'unconfirmed', updated_at = $2,
                 error = 'not confirmed within status.timeout, even after a re-flush'
                 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
        }
    }
    Ok(())
}
