//! Roles across nodes on PostgreSQL: one holder at a time, every role that
//! spends the API budget on the same node, a heartbeat that keeps the
//! holder's batches, and failover when the holder goes away.

use super::backend::{VHOST, pg_node, purge};
use super::pgdb::TestDb;
use edgeflush::queue::postgres::PgStore;
use edgeflush::queue::*;
use std::time::{Duration, Instant};

/// Asks like a standby worker does (about once a second would do; faster
/// here) until `role` is held, and returns how long it took.
async fn wait_lead(s: &PgStore, role: &'static str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if s.lead(role).await.unwrap() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{role} not taken over within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn lead_is_exclusive_and_fails_over_when_the_holder_goes() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let a = pg_node(&db, "a", 10_000).await;
    let b = pg_node(&db, "b", 10_000).await;
    let c = pg_node(&db, "c", 10_000).await;
    assert!(a.lead("flusher").await.unwrap());
    for _ in 0..3 {
        assert!(!b.lead("flusher").await.unwrap());
        assert!(!c.lead("flusher").await.unwrap());
        assert!(a.lead("flusher").await.unwrap(), "the holder keeps it");
    }
    // Every role that spends the API budget goes with the flusher.
    assert!(!b.lead("poller").await.unwrap());
    assert!(!c.lead("traffic").await.unwrap());
    assert!(a.lead("poller").await.unwrap());
    assert!(a.lead("traffic").await.unwrap());
    drop(a);
    // One of the standbys takes over, and only one.
    let start = Instant::now();
    let winner = loop {
        let (lb, lc) = (
            b.lead("flusher").await.unwrap(),
            c.lead("flusher").await.unwrap(),
        );
        assert!(!(lb && lc), "two holders");
        if lb {
            break &b;
        }
        if lc {
            break &c;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "no failover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(winner.lead("poller").await.unwrap());
    let loser = if std::ptr::eq(winner, &b) { &c } else { &b };
    assert!(!loser.lead("flusher").await.unwrap());
    assert!(!loser.lead("poller").await.unwrap());
}

#[tokio::test]
async fn another_schema_is_another_fleet() {
    let (Some(one), Some(two)) = (TestDb::create().await, TestDb::create().await) else {
        return;
    };
    let a = pg_node(&one, "a", 10_000).await;
    let b = pg_node(&two, "b", 10_000).await;
    assert!(a.lead("flusher").await.unwrap());
    assert!(
        b.lead("flusher").await.unwrap(),
        "locks are keyed by schema"
    );
}

#[tokio::test]
async fn the_holder_keeps_its_batches_and_loses_them_when_it_dies() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let lease = 900;
    let a = pg_node(&db, "a", lease).await;
    let b = pg_node(&db, "b", lease).await;
    assert!(a.lead("flusher").await.unwrap());
    a.enqueue(vec![purge("/a")]).await.unwrap();
    let batch = a.claim_batch(VHOST, 10, now_ms()).await.unwrap().unwrap();
    // Three leases later the heartbeat has kept it a's.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(lease)).await;
        assert!(a.lead("flusher").await.unwrap());
        assert!(
            b.due_sending(now_ms()).await.unwrap().is_empty(),
            "a's heartbeat"
        );
    }
    drop(a);
    let took = wait_lead(&b, "flusher", Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(5));
    // The batch comes to b once a's last lease ran out.
    let start = Instant::now();
    let taken = loop {
        let due = b.due_sending(now_ms()).await.unwrap();
        if !due.is_empty() {
            break due;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "never taken over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(taken[0].id, batch.id);
}
