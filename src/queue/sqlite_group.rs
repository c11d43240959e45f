//! Group commit for SQLite enqueues: change sets that arrive while the
//! connection is busy share the next transaction, and so its one fsync.
//!
//! With `synchronous=FULL` every commit waits for the disk. One transaction
//! per webhook delivery made the disk the limit (about 1,500 deliveries/s
//! here, the daemon mostly idle: docs/benchmarks-webhooks.md). Now the first
//! caller to find the queue empty takes the connection for everyone queued
//! by then; each change set runs under its own savepoint (a failing one
//! fails alone), and every caller is answered only after the commit, so
//! "acknowledged means on disk" holds exactly as before.

use super::sqlite::map_err;
use super::*;
use rusqlite::{Connection, TransactionBehavior, params};
use std::sync::Mutex;
use tokio::sync::oneshot;

type Answer = StoreResult<Option<EnqueueReport>>;

struct Job {
    delivery: Option<DeliveryKey>,
    items: Vec<NewPurge>,
    reply: oneshot::Sender<Answer>,
}

/// Change sets waiting for the next transaction.
#[derive(Default)]
pub(super) struct Group {
    queued: Mutex<Vec<Job>>,
}

impl Group {
    /// Queues a change set; the caller that found the queue empty commits
    /// the whole group on `conn`. Returns once the group is committed.
    pub(super) async fn enqueue(
        self: &Arc<Self>,
        conn: &Arc<Mutex<Connection>>,
        delivery: Option<DeliveryKey>,
        items: Vec<NewPurge>,
    ) -> Answer {
        let (reply, answer) = oneshot::channel();
        let leader = {
            let mut q = self.queued.lock().unwrap_or_else(|p| p.into_inner());
            q.push(Job {
                delivery,
                items,
                reply,
            });
            q.len() == 1
        };
        if leader {
            let (group, conn) = (self.clone(), conn.clone());
            let run = tokio::task::spawn_blocking(move || group.commit_queued(&conn));
            if let Err(e) = run.await {
                // The group's callers were answered by the dropped senders.
                tracing::error!(error = %e, "group commit task failed");
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Task(
                "group commit ended without an answer".into(),
            ))
        })
    }

    /// Takes the connection, then everything queued by now, and commits it
    /// in one transaction.
    fn commit_queued(&self, conn: &Mutex<Connection>) {
        let Ok(mut c) = conn.lock() else {
            let jobs = std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()));
            for j in jobs {
                let _ = j
                    .reply
                    .send(Err(StoreError::Task("store mutex poisoned".into())));
            }
            return;
        };
        let jobs = std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()));
        let mut answers = Vec::with_capacity(jobs.len());
        let committed = (|| -> rusqlite::Result<()> {
            let mut tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for j in &jobs {
                let sp = tx.savepoint()?;
                match enqueue_in(&sp, &j.delivery, &j.items, now_ms()) {
                    Ok(report) => {
                        sp.commit()?;
                        answers.push(Ok(report));
                    }
                    // Dropping the savepoint rolls this change set back.
                    Err(e) => answers.push(Err(map_err(e))),
                }
            }
            tx.commit()
        })();
        match committed {
            Ok(()) => {
                for (j, a) in jobs.into_iter().zip(answers) {
                    let _ = j.reply.send(a);
                }
            }
            Err(e) => {
                let e = map_err(e);
                for j in jobs {
                    let _ = j.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One change set: the delivery id first (a redelivery enqueues nothing),
/// then each purge, coalesced with a pending twin (which it can only bring
/// forward).
fn enqueue_in(
    conn: &Connection,
    delivery: &Option<DeliveryKey>,
    items: &[NewPurge],
    now: Millis,
) -> rusqlite::Result<Option<EnqueueReport>> {
    let mut report = EnqueueReport::default();
    if let Some(d) = delivery {
        let fresh = conn.execute(
            "INSERT INTO deliveries (hook, id, received_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (hook, id) DO NOTHING",
            params![d.hook, d.id, now],
        )?;
        if fresh == 0 {
            return Ok(None);
        }
    }
    let mut ins = conn.prepare_cached(
        "INSERT INTO purges (site, vhost, url, path, state, origin_kind, origin_ref,
                             enqueued_at, not_before, updated_at, hold)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?7, ?9)
         ON CONFLICT (vhost, url) WHERE state = 'pending' DO NOTHING",
    )?;
    let mut earlier = conn.prepare_cached(
        "UPDATE purges SET not_before = ?3
         WHERE vhost = ?1 AND url = ?2 AND state = 'pending' AND not_before > ?3",
    )?;
    for p in items {
        let n = ins.execute(params![
            p.site,
            p.vhost,
            p.url,
            p.path,
            p.origin.kind,
            p.origin.reference,
            now,
            p.not_before,
            p.hold
        ])?;
        let site = report.per_site.entry(p.site.clone()).or_default();
        if n == 1 {
            report.added += 1;
            site.0 += 1;
        } else {
            report.coalesced += 1;
            site.1 += 1;
            earlier.execute(params![p.vhost, p.url, p.not_before])?;
        }
    }
    Ok(Some(report))
}
