//! Store behaviour on a real SQLite file: coalescing, claiming, splitting,
//! poll outcomes and reopening after a "crash" (dropping the connection).

use super::sqlite::SqliteStore;
use super::*;

fn purge(url: &str) -> NewPurge {
    NewPurge {
        site: "www".into(),
        vhost: "www.example.com".into(),
        url: format!("https://www.example.com{url}"),
        path: url.into(),
        origin: Origin::new("manual", "test"),
        not_before: 0,
        hold: None,
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("q.db")).unwrap()
}

#[tokio::test]
async fn enqueue_coalesces_pending_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let r = s
        .enqueue(vec![purge("/a"), purge("/b"), purge("/a")])
        .await
        .unwrap();
    assert_eq!((r.added, r.coalesced), (2, 1));
    assert_eq!(r.per_site["www"], (2, 1));
    let b = s
        .claim_batch("www.example.com", 10, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.items.len(), 2);
    // Once sent, a new change to /a must be flushed again: not coalesced.
    let r = s.enqueue(vec![purge("/a")]).await.unwrap();
    assert_eq!(r.added, 1);
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Sent], 2);
    assert_eq!(c[&PurgeState::Pending], 1);
}

#[tokio::test]
async fn claim_respects_max_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let mut items: Vec<_> = (0..5).map(|i| purge(&format!("/{i}"))).collect();
    items[4].not_before = now_ms() + 60_000;
    s.enqueue(items).await.unwrap();
    let now = now_ms();
    let g = s.pending_groups(now).await.unwrap();
    assert_eq!(g[0].count, 4);
    let b1 = s
        .claim_batch("www.example.com", 3, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b1.items.len(), 3);
    let b2 = s
        .claim_batch("www.example.com", 3, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b2.items.len(), 1);
    assert!(
        s.claim_batch("www.example.com", 3, now)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn split_and_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.enqueue((0..5).map(|i| purge(&format!("/{i}"))).collect())
        .await
        .unwrap();
    let b = s
        .claim_batch("www.example.com", 10, now_ms())
        .await
        .unwrap()
        .unwrap();
    let halves = s.split_batch(b.id, now_ms()).await.unwrap();
    assert_eq!(halves.len(), 2);
    assert_eq!(halves[0].items.len() + halves[1].items.len(), 5);
    s.dead_letter_batch(halves[0].id, "refused", now_ms())
        .await
        .unwrap();
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Failed], halves[0].items.len() as u64);
    let due = s.due_sending(now_ms()).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, halves[1].id);
}

#[tokio::test]
async fn poll_outcomes_and_reflush_twin() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.enqueue(vec![purge("/a"), purge("/b"), purge("/c")])
        .await
        .unwrap();
    let now = now_ms();
    let b = s
        .claim_batch("www.example.com", 10, now)
        .await
        .unwrap()
        .unwrap();
    s.mark_flushed(b.id, Some("7".into()), now, now)
        .await
        .unwrap();
    // A newer change to /b is pending while /b's flush fails.
    s.enqueue(vec![purge("/b")]).await.unwrap();
    let polls = s.due_polls(now).await.unwrap();
    assert_eq!(polls[0].items.len(), 3);
    let ids: Vec<i64> = polls[0].items.iter().map(|i| i.id).collect();
    s.apply_poll(
        b.id,
        vec![
            (ids[0], PollOutcome::Confirmed),
            (ids[1], PollOutcome::Reflush),
        ],
        now,
        now + 1000,
    )
    .await
    .unwrap();
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Confirmed], 1);
    assert_eq!(c[&PurgeState::Pending], 1, "twin replaced, not doubled");
    assert_eq!(c[&PurgeState::Flushed], 1);
    assert!(s.due_polls(now).await.unwrap().is_empty());
    s.apply_poll(
        b.id,
        vec![(ids[2], PollOutcome::Confirmed)],
        now + 1000,
        now + 2000,
    )
    .await
    .unwrap();
    let batches = s.recent_batches(10).await.unwrap();
    assert_eq!(batches[0].state, BatchState::Done);
    let pending = s
        .claim_batch("www.example.com", 10, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.items[0].reflushes, 1);
}

#[tokio::test]
async fn survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(&dir);
        s.enqueue(vec![purge("/a"), purge("/b")]).await.unwrap();
        let b = s
            .claim_batch("www.example.com", 1, now_ms())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.items.len(), 1);
    }
    let s = open(&dir);
    // The claimed batch is due again (at-least-once), the other stays pending.
    assert_eq!(s.due_sending(now_ms()).await.unwrap().len(), 1);
    assert_eq!(s.pending_groups(now_ms()).await.unwrap()[0].count, 1);
    s.probe().await.unwrap();
    assert_eq!(s.prune(now_ms() + 1, now_ms() + 1).await.unwrap(), 0);
}

#[tokio::test]
async fn deliveries_dedupe_and_holds_release() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let key = DeliveryKey {
        hook: "gh".into(),
        id: "d-1".into(),
    };
    let mut held = purge("/held");
    held.hold = Some("sha1".into());
    held.not_before = now_ms() + 3_600_000;
    let first = s
        .enqueue_delivery(Some(key.clone()), vec![held])
        .await
        .unwrap();
    assert_eq!(first.unwrap().added, 1);
    let again = s
        .enqueue_delivery(Some(key), vec![purge("/other")])
        .await
        .unwrap();
    assert!(again.is_none(), "redelivery enqueues nothing");
    assert!(s.pending_groups(now_ms()).await.unwrap().is_empty(), "held");
    assert_eq!(s.release_hold("sha1").await.unwrap(), 1);
    assert_eq!(s.pending_groups(now_ms()).await.unwrap()[0].count, 1);
    assert_eq!(s.release_hold("sha1").await.unwrap(), 0);
}

/// 64 change sets at once (32 delivery ids, each sent twice): the group
/// commit keeps every caller's own answer, dedups deliveries within one
/// transaction as across them, and everything answered is on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_change_sets_share_commits_and_keep_their_answers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(&dir));
    let calls = (0..64).map(|i| {
        let s = s.clone();
        tokio::spawn(async move {
            let key = DeliveryKey {
                hook: "gh".into(),
                id: format!("d{}", i % 32),
            };
            let items = vec![purge(&format!("/p{}", i % 32)), purge("/shared")];
            s.enqueue_delivery(Some(key), items).await.unwrap()
        })
    });
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap());
    }
    let fresh: Vec<&EnqueueReport> = answers.iter().flatten().collect();
    assert_eq!(fresh.len(), 32, "each delivery id enqueues once");
    assert_eq!(fresh.iter().map(|r| r.added).sum::<u64>(), 33);
    assert_eq!(fresh.iter().map(|r| r.coalesced).sum::<u64>(), 31);
    drop(s);
    let reopened = open(&dir);
    assert_eq!(reopened.counts().await.unwrap()[&PurgeState::Pending], 33);
}
