//! The embedded store: SQLite in WAL mode with `synchronous=FULL`, so that a
//! committed enqueue survives a crash or a power cut. One connection behind a
//! mutex, driven from tokio's blocking pool; writes are short transactions,
//! and concurrent enqueues share one (`sqlite_group.rs`).

use super::sqlite_group::Group;
use super::sqlite_rows::{BATCH_COLS, batch_by_id, load_batches, new_batch};
use super::sqlite_schema::migrate;
use super::*;
use rusqlite::{Connection, Transaction, params};
use std::path::Path;
use std::sync::Mutex;

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Enqueues waiting to share the next commit (sqlite_group.rs).
    group: Arc<Group>,
}

pub(super) fn map_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::*;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                DiskFull
                    | ReadOnly
                    | DatabaseBusy
                    | DatabaseLocked
                    | CannotOpen
                    | SystemIoFailure
                    | PermissionDenied
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Query(e.to_string()),
    }
}

impl SqliteStore {
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(map_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(map_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(map_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(map_err)?;
        migrate(&mut conn).map_err(StoreError::Schema)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            group: Arc::default(),
        })
    }

    pub(super) async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("store mutex poisoned".into()))?;
            f(&mut guard).map_err(map_err)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    pub(super) async fn tx<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        self.call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn enqueue_delivery(
        &self,
        delivery: Option<DeliveryKey>,
        items: Vec<NewPurge>,
    ) -> StoreResult<Option<EnqueueReport>> {
        self.group.enqueue(&self.conn, delivery, items).await
    }

    async fn release_hold(&self, hold: &str) -> StoreResult<u64> {
        let hold = hold.to_string();
        self.tx(move |tx| {
            let n = tx.execute(
                "UPDATE purges SET not_before = 0, hold = NULL WHERE hold = ?1 AND state = 'pending'",
                [hold],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn pending_groups(&self, now: Millis) -> StoreResult<Vec<PendingGroup>> {
        self.call(move |c| {
            let mut st = c.prepare_cached(
                "SELECT vhost, COUNT(*), MIN(enqueued_at), MAX(enqueued_at) FROM purges
                 WHERE state = 'pending' AND not_before <= ?1 GROUP BY vhost ORDER BY vhost",
            )?;
            let rows = st.query_map([now], |r| {
                Ok(PendingGroup {
                    vhost: r.get(0)?,
                    count: r.get::<_, i64>(1)? as u64,
                    first_enqueued: r.get(2)?,
                    last_enqueued: r.get(3)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn claim_batch(
        &self,
        vhost: &str,
        max: usize,
        now: Millis,
    ) -> StoreResult<Option<Batch>> {
        let vhost = vhost.to_string();
        self.tx(move |tx| {
            let ids: Vec<i64> = {
                let mut st = tx.prepare_cached(
                    // Ordered along the (state, vhost, not_before) index: no
                    // sort of the whole backlog for each batch.
                    "SELECT id FROM purges WHERE state = 'pending' AND vhost = ?1
                     AND not_before <= ?2 ORDER BY not_before, id LIMIT ?3",
                )?;
                st.query_map(params![vhost, now, max as i64], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            if ids.is_empty() {
                return Ok(None);
            }
            let id = new_batch(tx, &vhost, 0, now, &ids, true)?;
            batch_by_id(tx, id)
        })
        .await
    }

    async fn due_sending(&self, now: Millis) -> StoreResult<Vec<Batch>> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {BATCH_COLS} FROM batches WHERE state = 'sending'
                 AND next_attempt_at <= ?1 ORDER BY id"
            );
            load_batches(c, &sql, now, "sent")
        })
        .await
    }

    async fn next_sending_due(&self) -> StoreResult<Option<Millis>> {
        self.call(|c| {
            c.query_row(
                "SELECT MIN(next_attempt_at) FROM batches WHERE state = 'sending'",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn mark_flushed(
        &self,
        batch: i64,
        api_id: Option<String>,
        now: Millis,
        first_poll: Millis,
    ) -> StoreResult<()> {
        self.tx(move |tx| {
            tx.execute(
                "UPDATE batches SET state = 'flushed', api_id = ?2, flushed_at = ?3,
                 next_poll_at = ?4, error = NULL WHERE id = ?1",
                params![batch, api_id, now, first_poll],
            )?;
            tx.execute(
                "UPDATE purges SET state = 'flushed', flushed_at = ?2, updated_at = ?2,
                 error = NULL WHERE batch_id = ?1 AND state = 'sent'",
                params![batch, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn retry_later(&self, batch: i64, at: Millis, error: &str) -> StoreResult<()> {
        let error = error.to_string();
        self.tx(move |tx| {
            tx.execute(
                "UPDATE batches SET attempts = attempts + 1, next_attempt_at = ?2, error = ?3
                 WHERE id = ?1",
                params![batch, at, error],
            )?;
            tx.execute(
                "UPDATE purges SET attempts = attempts + 1, error = ?2
                 WHERE batch_id = ?1 AND state = 'sent'",
                params![batch, error],
            )?;
            Ok(())
        })
        .await
    }

    async fn split_batch(&self, batch: i64, now: Millis) -> StoreResult<Vec<Batch>> {
        self.tx(move |tx| {
            let Some(b) = batch_by_id(tx, batch)? else {
                return Ok(Vec::new());
            };
            if b.items.len() < 2 {
                return Ok(vec![b]);
            }
            let ids: Vec<i64> = b.items.iter().map(|i| i.id).collect();
            let (left, right) = ids.split_at(ids.len() / 2);
            let l = new_batch(tx, &b.vhost, b.attempts, now, left, false)?;
            let r = new_batch(tx, &b.vhost, b.attempts, now, right, false)?;
            tx.execute("DELETE FROM batches WHERE id = ?1", [batch])?;
            let mut out = Vec::new();
            for id in [l, r] {
                if let Some(nb) = batch_by_id(tx, id)? {
                    out.push(nb);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn dead_letter_batch(&self, batch: i64, reason: &str, now: Millis) -> StoreResult<()> {
        let reason = reason.to_string();
        self.tx(move |tx| {
            tx.execute(
                "UPDATE purges SET state = 'failed', error = ?2, updated_at = ?3
                 WHERE batch_id = ?1 AND state = 'sent'",
                params![batch, reason, now],
            )?;
            tx.execute(
                "UPDATE batches SET state = 'done', finished_at = ?3, error = ?2 WHERE id = ?1",
                params![batch, reason, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn dead_letter_confirmed(&self, id: i64, reason: &str, now: Millis) -> StoreResult<bool> {
        let reason = reason.to_string();
        self.call(move |c| sqlite_poll::dead_letter_confirmed(c, id, &reason, now))
            .await
    }

    async fn due_polls(&self, now: Millis) -> StoreResult<Vec<Batch>> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {BATCH_COLS} FROM batches WHERE state = 'flushed'
                 AND next_poll_at <= ?1 ORDER BY next_poll_at, id"
            );
            load_batches(c, &sql, now, "flushed")
        })
        .await
    }

    async fn next_poll_due(&self) -> StoreResult<Option<Millis>> {
        self.call(|c| {
            c.query_row(
                "SELECT MIN(next_poll_at) FROM batches WHERE state = 'flushed'",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    async fn apply_poll(
        &self,
        batch: i64,
        outcomes: Vec<(i64, PollOutcome)>,
        now: Millis,
        next_poll: Millis,
    ) -> StoreResult<()> {
        self.tx(move |tx| {
            for (id, outcome) in &outcomes {
                super::sqlite_poll::apply_outcome(tx, *id, *outcome, now)?;
            }
            let left: i64 = tx.query_row(
                "SELECT COUNT(*) FROM purges WHERE batch_id = ?1 AND state = 'flushed'",
                [batch],
                |r| r.get(0),
            )?;
            if left == 0 {
                tx.execute(
                    "UPDATE batches SET state = 'done', finished_at = ?2, polls = polls + 1
                     WHERE id = ?1",
                    params![batch, now],
                )?;
            } else {
                tx.execute(
                    "UPDATE batches SET polls = polls + 1, next_poll_at = ?2 WHERE id = ?1",
                    params![batch, next_poll],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn counts(&self) -> StoreResult<BTreeMap<PurgeState, u64>> {
        self.call(|c| {
            let mut st = c.prepare_cached("SELECT state, COUNT(*) FROM purges GROUP BY state")?;
            let mut out: BTreeMap<PurgeState, u64> =
                PurgeState::ALL.iter().map(|s| (*s, 0)).collect();
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (s, n) = row?;
                if let Some(s) = PurgeState::parse(&s) {
                    out.insert(s, n as u64);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn recent_purges(
        &self,
        limit: usize,
        state: Option<PurgeState>,
    ) -> StoreResult<Vec<PurgeRecord>> {
        self.call(move |c| super::sqlite_poll::recent_purges(c, limit, state))
            .await
    }

    async fn recent_batches(&self, limit: usize) -> StoreResult<Vec<BatchRecord>> {
        self.call(move |c| super::sqlite_poll::recent_batches(c, limit))
            .await
    }

    async fn site_activity(&self) -> StoreResult<Vec<SiteActivity>> {
        self.call(|c| {
            let mut st = c.prepare_cached(
                "SELECT site, MAX(enqueued_at), MAX(confirmed_at) FROM purges GROUP BY site ORDER BY site",
            )?;
            let rows = st.query_map([], |r| {
                Ok(SiteActivity {
                    site: r.get(0)?,
                    last_change: r.get(1)?,
                    last_confirmed: r.get(2)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn prune(&self, before: Millis, deliveries_before: Millis) -> StoreResult<u64> {
        self.tx(move |tx| {
            tx.execute(
                "DELETE FROM deliveries WHERE received_at < ?1",
                [deliveries_before],
            )?;
            let n = tx.execute(
                "DELETE FROM purges WHERE state IN ('confirmed', 'failed', 'unconfirmed')
                 AND updated_at < ?1",
                [before],
            )?;
            tx.execute(
                "DELETE FROM batches WHERE state = 'done' AND finished_at < ?1",
                [before],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn probe(&self) -> StoreResult<()> {
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('probe', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [now_ms().to_string()],
            )?;
            Ok(())
        })
        .await
    }
}
