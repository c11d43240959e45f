//! Store behaviour every backend must show, written once: coalescing,
//! claiming, splitting, poll outcomes, reopening after a "crash", delivery
//! dedup, holds, retries, pruning and listings. Each function gets a fresh
//! backend; `store_suite.rs` runs it on SQLite and on PostgreSQL.

use super::backend::{Backend, VHOST, purge};
use edgeflush::queue::*;

pub async fn enqueue_coalesces_pending_only(b: &Backend) {
    let s = b.open().await;
    let r = s
        .enqueue(vec![purge("/a"), purge("/b"), purge("/a")])
        .await
        .unwrap();
    assert_eq!((r.added, r.coalesced), (2, 1));
    assert_eq!(r.per_site["www"], (2, 1));
    let batch = s.claim_batch(VHOST, 10, now_ms()).await.unwrap().unwrap();
    assert_eq!(batch.items.len(), 2);
    // Once sent, a new change to /a must be flushed again: not coalesced.
    let r = s.enqueue(vec![purge("/a")]).await.unwrap();
    assert_eq!(r.added, 1);
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Sent], 2);
    assert_eq!(c[&PurgeState::Pending], 1);
}

pub async fn empty_enqueue_adds_nothing(b: &Backend) {
    let s = b.open().await;
    let r = s.enqueue(Vec::new()).await.unwrap();
    assert_eq!((r.added, r.coalesced), (0, 0));
    assert!(s.pending_groups(now_ms()).await.unwrap().is_empty());
}

pub async fn coalesced_change_brings_a_delayed_purge_forward(b: &Backend) {
    let s = b.open().await;
    let mut later = purge("/a");
    later.not_before = now_ms() + 3_600_000;
    s.enqueue(vec![later]).await.unwrap();
    assert!(s.pending_groups(now_ms()).await.unwrap().is_empty());
    // A second change with a later limit changes nothing; one due now wins.
    let mut even_later = purge("/a");
    even_later.not_before = now_ms() + 7_200_000;
    assert_eq!(s.enqueue(vec![even_later]).await.unwrap().coalesced, 1);
    assert!(s.pending_groups(now_ms()).await.unwrap().is_empty());
    assert_eq!(s.enqueue(vec![purge("/a")]).await.unwrap().coalesced, 1);
    let g = s.pending_groups(now_ms()).await.unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].count, 1);
    // Within one change set too: the earliest limit of its duplicates wins,
    // whichever comes first.
    let mut held = purge("/b");
    held.not_before = now_ms() + 3_600_000;
    let r = s.enqueue(vec![held, purge("/b")]).await.unwrap();
    assert_eq!((r.added, r.coalesced), (1, 1));
    let g = s.pending_groups(now_ms()).await.unwrap();
    assert_eq!(g[0].count, 2);
}

pub async fn claim_respects_max_and_not_before(b: &Backend) {
    let s = b.open().await;
    let mut items: Vec<_> = (0..5).map(|i| purge(&format!("/{i}"))).collect();
    items[4].not_before = now_ms() + 60_000;
    s.enqueue(items).await.unwrap();
    let now = now_ms();
    let g = s.pending_groups(now).await.unwrap();
    assert_eq!(g[0].count, 4);
    let b1 = s.claim_batch(VHOST, 3, now).await.unwrap().unwrap();
    assert_eq!(b1.items.len(), 3);
    assert_eq!(b1.state, BatchState::Sending);
    let b2 = s.claim_batch(VHOST, 3, now).await.unwrap().unwrap();
    assert_eq!(b2.items.len(), 1);
    assert!(s.claim_batch(VHOST, 3, now).await.unwrap().is_none());
    // Oldest first, and no purge in two batches.
    let mut ids: Vec<i64> = b1.items.iter().chain(&b2.items).map(|i| i.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    ids.dedup();
    assert_eq!(ids.len(), 4);
    assert!(
        s.claim_batch("other.example.com", 3, now)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn split_and_dead_letter(b: &Backend) {
    let s = b.open().await;
    s.enqueue((0..5).map(|i| purge(&format!("/{i}"))).collect())
        .await
        .unwrap();
    let batch = s.claim_batch(VHOST, 10, now_ms()).await.unwrap().unwrap();
    let halves = s.split_batch(batch.id, now_ms()).await.unwrap();
    assert_eq!(halves.len(), 2);
    assert_eq!(halves[0].items.len() + halves[1].items.len(), 5);
    assert_eq!(halves[0].items.len(), 2);
    s.dead_letter_batch(halves[0].id, "refused", now_ms())
        .await
        .unwrap();
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Failed], halves[0].items.len() as u64);
    let due = s.due_sending(now_ms()).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, halves[1].id);
    // A single purge cannot be split further: it comes back unchanged.
    let one = s.split_batch(halves[1].id, now_ms()).await.unwrap();
    assert_eq!(one.len(), 2, "3 purges split once more");
    let single = s.split_batch(one[0].id, now_ms()).await.unwrap();
    assert_eq!(single.len(), 1);
    assert_eq!(single[0].id, one[0].id);
    let failed = s.recent_purges(10, Some(PurgeState::Failed)).await.unwrap();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|p| p.error.as_deref() == Some("refused")));
}

pub async fn retry_later_waits_and_counts_attempts(b: &Backend) {
    let s = b.open().await;
    s.enqueue(vec![purge("/a")]).await.unwrap();
    let now = now_ms();
    let batch = s.claim_batch(VHOST, 10, now).await.unwrap().unwrap();
    assert_eq!(s.next_sending_due().await.unwrap(), Some(now));
    s.retry_later(batch.id, now + 60_000, "503 from the API")
        .await
        .unwrap();
    assert!(s.due_sending(now_ms()).await.unwrap().is_empty());
    assert_eq!(s.next_sending_due().await.unwrap(), Some(now + 60_000));
    let again = s.due_sending(now + 60_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    let rec = &s.recent_purges(1, None).await.unwrap()[0];
    assert_eq!(rec.attempts, 2, "claim + retry");
    assert_eq!(rec.error.as_deref(), Some("503 from the API"));
    let batches = s.recent_batches(1).await.unwrap();
    assert_eq!(batches[0].error.as_deref(), Some("503 from the API"));
}

pub async fn poll_outcomes_and_reflush_twin(b: &Backend) {
    let s = b.open().await;
    s.enqueue(vec![purge("/a"), purge("/b"), purge("/c")])
        .await
        .unwrap();
    let now = now_ms();
    let batch = s.claim_batch(VHOST, 10, now).await.unwrap().unwrap();
    s.mark_flushed(batch.id, Some("7".into()), now, now)
        .await
        .unwrap();
    assert!(s.due_sending(now).await.unwrap().is_empty());
    assert_eq!(s.next_poll_due().await.unwrap(), Some(now));
    // A newer change to /b is pending while /b's flush fails.
    s.enqueue(vec![purge("/b")]).await.unwrap();
    let polls = s.due_polls(now).await.unwrap();
    assert_eq!(polls[0].items.len(), 3);
    assert_eq!(polls[0].flushed_at, Some(now));
    let ids: Vec<i64> = polls[0].items.iter().map(|i| i.id).collect();
    s.apply_poll(
        batch.id,
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
    assert_eq!(s.next_poll_due().await.unwrap(), Some(now + 1000));
    let later = s.due_polls(now + 1000).await.unwrap();
    assert_eq!(later[0].polls, 1);
    assert_eq!(later[0].items.len(), 1);
    s.apply_poll(
        batch.id,
        vec![(ids[2], PollOutcome::Confirmed)],
        now + 1000,
        now + 2000,
    )
    .await
    .unwrap();
    let batches = s.recent_batches(10).await.unwrap();
    assert_eq!(batches[0].state, BatchState::Done);
    assert_eq!(batches[0].api_id.as_deref(), Some("7"));
    assert_eq!(s.next_poll_due().await.unwrap(), None);
    let pending = s.claim_batch(VHOST, 10, now).await.unwrap().unwrap();
    assert_eq!(pending.items[0].reflushes, 1);
    assert!(!pending.items[0].unconfirmed);
}

pub async fn unconfirmed_then_given_up(b: &Backend) {
    let s = b.open().await;
    s.enqueue(vec![purge("/a"), purge("/b")]).await.unwrap();
    let now = now_ms();
    let batch = s.claim_batch(VHOST, 10, now).await.unwrap().unwrap();
    s.mark_flushed(batch.id, None, now, now).await.unwrap();
    let (a, bb) = (batch.items[0].id, batch.items[1].id);
    s.apply_poll(
        batch.id,
        vec![
            (a, PollOutcome::ReflushUnconfirmed),
            (bb, PollOutcome::DeadLetter),
        ],
        now,
        now + 1000,
    )
    .await
    .unwrap();
    let again = s.claim_batch(VHOST, 10, now).await.unwrap().unwrap();
    assert_eq!(again.items.len(), 1);
    assert!(again.items[0].unconfirmed, "flagged for the second try");
    assert_eq!(again.items[0].reflushes, 0);
    s.mark_flushed(again.id, None, now, now).await.unwrap();
    s.apply_poll(
        again.id,
        vec![(a, PollOutcome::GiveUpUnconfirmed)],
        now,
        now + 1000,
    )
    .await
    .unwrap();
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Unconfirmed], 1);
    assert_eq!(c[&PurgeState::Failed], 1);
    assert_eq!(c[&PurgeState::Pending] + c[&PurgeState::Flushed], 0);
    assert!(
        s.recent_batches(10)
            .await
            .unwrap()
            .iter()
            .all(|b| b.state == BatchState::Done)
    );
}

pub async fn survives_reopen(b: &Backend) {
    {
        let s = b.open().await;
        s.enqueue(vec![purge("/a"), purge("/b")]).await.unwrap();
        let batch = s.claim_batch(VHOST, 1, now_ms()).await.unwrap().unwrap();
        assert_eq!(batch.items.len(), 1);
    }
    let s = b.open().await;
    // On SQLite the claimed batch is due again at once (one process); on
    // PostgreSQL only once its lease (10 s by default) ran out: it may
    // belong to a node that is still alive.
    match b {
        Backend::Sqlite(_) => assert_eq!(s.due_sending(now_ms()).await.unwrap().len(), 1),
        Backend::Postgres(_) => {
            assert!(s.due_sending(now_ms()).await.unwrap().is_empty());
            let next = s.next_sending_due().await.unwrap().unwrap();
            assert!(next > now_ms() + 5_000, "due when the lease runs out");
        }
    }
    assert_eq!(s.pending_groups(now_ms()).await.unwrap()[0].count, 1);
    s.probe().await.unwrap();
    assert_eq!(s.prune(now_ms() + 1, now_ms() + 1).await.unwrap(), 0);
}

pub async fn deliveries_dedupe_and_holds_release(b: &Backend) {
    let s = b.open().await;
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
        .enqueue_delivery(Some(key.clone()), vec![purge("/other")])
        .await
        .unwrap();
    assert!(again.is_none(), "redelivery enqueues nothing");
    let other_hook = DeliveryKey {
        hook: "gl".into(),
        id: "d-1".into(),
    };
    assert!(
        s.enqueue_delivery(Some(other_hook), Vec::new())
            .await
            .unwrap()
            .is_some(),
        "ids are per hook"
    );
    assert!(s.pending_groups(now_ms()).await.unwrap().is_empty(), "held");
    assert_eq!(s.release_hold("sha1").await.unwrap(), 1);
    assert_eq!(s.pending_groups(now_ms()).await.unwrap()[0].count, 1);
    assert_eq!(s.release_hold("sha1").await.unwrap(), 0);
    // Pruned delivery ids may be seen again.
    s.prune(0, now_ms() + 1).await.unwrap();
    assert!(
        s.enqueue_delivery(Some(key), Vec::new())
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn prune_removes_only_finished_work(b: &Backend) {
    let s = b.open().await;
    s.enqueue(vec![purge("/a"), purge("/b"), purge("/c")])
        .await
        .unwrap();
    let now = now_ms();
    let batch = s.claim_batch(VHOST, 2, now).await.unwrap().unwrap();
    s.mark_flushed(batch.id, None, now, now).await.unwrap();
    let ids: Vec<(i64, PollOutcome)> = batch
        .items
        .iter()
        .map(|i| (i.id, PollOutcome::Confirmed))
        .collect();
    s.apply_poll(batch.id, ids, now, now).await.unwrap();
    assert_eq!(s.prune(now - 1, 0).await.unwrap(), 0, "not old enough");
    assert_eq!(s.prune(now_ms() + 1, 0).await.unwrap(), 2);
    let c = s.counts().await.unwrap();
    assert_eq!(c[&PurgeState::Confirmed], 0);
    assert_eq!(c[&PurgeState::Pending], 1, "pending work is never pruned");
    assert!(s.recent_batches(10).await.unwrap().is_empty());
}

pub async fn listings_newest_first(b: &Backend) {
    let s = b.open().await;
    s.enqueue((0..5).map(|i| purge(&format!("/{i}"))).collect())
        .await
        .unwrap();
    s.claim_batch(VHOST, 2, now_ms()).await.unwrap().unwrap();
    let all = s.recent_purges(3, None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].id > all[1].id);
    assert_eq!(all[0].url, "https://www.example.com/4");
    assert_eq!(all[0].origin, Origin::new("manual", "test"));
    let sent = s.recent_purges(10, Some(PurgeState::Sent)).await.unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|p| p.batch_id.is_some()));
    let batches = s.recent_batches(10).await.unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        (batches[0].size, batches[0].state),
        (2, BatchState::Sending)
    );
}

pub async fn a_lone_store_leads_every_role(b: &Backend) {
    let s = b.open().await;
    for role in ["flusher", "poller", "traffic"] {
        assert!(s.lead(role).await.unwrap(), "{role}");
    }
    assert!(s.lead("flusher").await.unwrap(), "asking again keeps it");
}
