//! What a store shared by several nodes must do, on PostgreSQL only: two
//! (or more) `PgStore`s on one schema stand for the nodes of a fleet.

use super::backend::{VHOST, pg_node, purge};
use super::pgdb::TestDb;
use edgeflush::queue::postgres::{PgOptions, PgStore};
use edgeflush::queue::*;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test]
async fn claims_never_overlap() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let a = pg_node(&db, "a", 10_000).await;
    let b = pg_node(&db, "b", 10_000).await;
    a.enqueue((0..600).map(|i| purge(&format!("/{i}"))).collect())
        .await
        .unwrap();
    async fn drain(s: &PgStore) -> Vec<i64> {
        let mut ids = Vec::new();
        while let Some(batch) = s.claim_batch(VHOST, 7, now_ms()).await.unwrap() {
            ids.extend(batch.items.iter().map(|i| i.id));
        }
        ids
    }
    let (ia, ib) = tokio::join!(drain(&a), drain(&b));
    assert!(!ia.is_empty() && !ib.is_empty(), "both nodes got work");
    let all: HashSet<i64> = ia.iter().chain(&ib).copied().collect();
    assert_eq!(all.len(), ia.len() + ib.len(), "a purge in two batches");
    assert_eq!(all.len(), 600);
    assert_eq!(a.counts().await.unwrap()[&PurgeState::Sent], 600);
}

#[tokio::test]
async fn coalescing_is_global_and_concurrent_deploys_do_not_deadlock() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let nodes = [
        pg_node(&db, "a", 10_000).await,
        pg_node(&db, "b", 10_000).await,
        pg_node(&db, "c", 10_000).await,
    ];
    // The same deploy seen by three watchers, each in its own order.
    let deploy = |rot: usize| {
        let mut v: Vec<NewPurge> = (0..400).map(|i| purge(&format!("/f{i}"))).collect();
        v.rotate_left(rot);
        v
    };
    let (ra, rb, rc) = tokio::join!(
        nodes[0].enqueue(deploy(0)),
        nodes[1].enqueue(deploy(133)),
        nodes[2].enqueue(deploy(266)),
    );
    let reports = [ra.unwrap(), rb.unwrap(), rc.unwrap()];
    let added: u64 = reports.iter().map(|r| r.added).sum();
    let coalesced: u64 = reports.iter().map(|r| r.coalesced).sum();
    assert_eq!(added, 400, "{reports:?}");
    assert_eq!(coalesced, 800);
    assert_eq!(nodes[2].counts().await.unwrap()[&PurgeState::Pending], 400);
    // A URL pending anywhere is pending once, until it is sent.
    let r = nodes[1].enqueue(vec![purge("/f1")]).await.unwrap();
    assert_eq!((r.added, r.coalesced), (0, 1));
}

#[tokio::test]
async fn delivery_dedup_is_shared() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let a = pg_node(&db, "a", 10_000).await;
    let b = pg_node(&db, "b", 10_000).await;
    let key = DeliveryKey {
        hook: "gh".into(),
        id: "42".into(),
    };
    let (ra, rb) = tokio::join!(
        a.enqueue_delivery(Some(key.clone()), vec![purge("/a")]),
        b.enqueue_delivery(Some(key.clone()), vec![purge("/b")]),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.is_some() != rb.is_some(), "exactly one node enqueues");
    assert_eq!(a.counts().await.unwrap()[&PurgeState::Pending], 1);
}

#[tokio::test]
async fn leases_expire_and_are_taken_over() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let a = pg_node(&db, "a", 800).await;
    let b = pg_node(&db, "b", 800).await;
    a.enqueue(vec![purge("/a"), purge("/b")]).await.unwrap();
    let batch = a.claim_batch(VHOST, 10, now_ms()).await.unwrap().unwrap();
    // b sees a's live lease: nothing for it, and it knows when to look again.
    assert!(b.due_sending(now_ms()).await.unwrap().is_empty());
    let next = b.next_sending_due().await.unwrap().unwrap();
    assert!(next > now_ms() + 300, "b waits for the lease");
    assert_eq!(
        a.due_sending(now_ms()).await.unwrap().len(),
        1,
        "a keeps it"
    );
    // a stops working on it (no heartbeat: a holds no role).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let taken = b.due_sending(now_ms()).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, batch.id);
    assert_eq!(taken[0].items.len(), 2);
    assert!(
        a.due_sending(now_ms()).await.unwrap().is_empty(),
        "b holds it now"
    );
    let owner: Option<String> = db
        .client()
        .await
        .query_one("SELECT owner FROM batches WHERE id = $1", &[&batch.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(owner.as_deref(), Some(b.options().owner.as_str()));
}

#[tokio::test]
async fn a_flushed_batch_goes_to_whichever_node_polls() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let a = pg_node(&db, "a", 10_000).await;
    let b = pg_node(&db, "b", 10_000).await;
    a.enqueue(vec![purge("/a")]).await.unwrap();
    let now = now_ms();
    let batch = a.claim_batch(VHOST, 10, now).await.unwrap().unwrap();
    a.mark_flushed(batch.id, Some("1".into()), now, now)
        .await
        .unwrap();
    let polls = b.due_polls(now).await.unwrap();
    assert_eq!(polls.len(), 1);
    assert!(a.due_polls(now).await.unwrap().is_empty(), "b polls it now");
    assert!(a.next_poll_due().await.unwrap().unwrap() > now_ms() + 5_000);
}

#[tokio::test]
async fn nodes_starting_together_migrate_once() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let url = db.url();
    let opens = (0..4).map(|_| PgStore::open(&url, PgOptions::default()));
    for s in futures_util::future::join_all(opens).await {
        s.unwrap().probe().await.unwrap();
    }
    let versions: Vec<i64> = db
        .client()
        .await
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i64> = (1..=MIGRATIONS_LEN).collect();
    assert_eq!(versions, expected);
}

const MIGRATIONS_LEN: i64 = edgeflush::queue::postgres::MIGRATIONS.len() as i64;

#[tokio::test]
async fn a_schema_from_a_newer_edgeflush_is_refused() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    PgStore::connect(&db.url()).await.unwrap();
    db.client()
        .await
        .execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(MIGRATIONS_LEN + 1)],
        )
        .await
        .unwrap();
    let err = PgStore::connect(&db.url()).await.err().unwrap();
    assert!(matches!(err, StoreError::Schema(_)), "{err}");
    assert!(err.to_string().contains("upgrade edgeflush"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_missing_schema_is_a_schema_error() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let url = db.url().replace(&db.schema, "ef_test_no_such_schema");
    let err = PgStore::connect(&url).await.err().unwrap();
    assert!(matches!(err, StoreError::Schema(_)), "{err}");
    assert!(err.to_string().contains("search_path"), "{err}");
}

/// Runs without PostgreSQL: nothing listens on the port.
#[tokio::test]
async fn an_unreachable_server_is_unavailable_and_the_password_stays_secret() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("postgres://edge:hunter2-secret@127.0.0.1:{port}/edge?connect_timeout=2");
    let err = PgStore::connect(&url).await.err().unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    let bad = PgStore::connect("postgres://edge:hunter2-secret@[::1/x")
        .await
        .err()
        .unwrap();
    assert!(!bad.to_string().contains("hunter2"), "{bad}");
}

#[tokio::test]
async fn the_file_index_stays_per_node() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    use super::behaviour_more::file;
    use edgeflush::queue::file_index::IndexUpdate;
    let a = pg_node(&db, "web1", 10_000).await;
    let b = pg_node(&db, "web2", 10_000).await;
    let a_again = pg_node(&db, "web1", 10_000).await;
    a.update_index("www", vec![IndexUpdate::Put(file("a.css", 1, 1))])
        .await
        .unwrap();
    b.update_index("www", vec![IndexUpdate::Put(file("b.css", 2, 2))])
        .await
        .unwrap();
    assert_eq!(a.site_files("www").await.unwrap(), ["a.css"]);
    assert_eq!(b.site_files("www").await.unwrap(), ["b.css"]);
    assert_eq!(
        a_again.load_index("www").await.unwrap(),
        [file("a.css", 1, 1)]
    );
    b.update_index("www", vec![IndexUpdate::Remove("a.css".into())])
        .await
        .unwrap();
    assert_eq!(a.site_files("www").await.unwrap(), ["a.css"], "b's removal");
}
