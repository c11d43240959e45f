//! The two stores that live beside the queue, on every backend: the
//! watcher's file index and the traffic snapshots.

use super::backend::Backend;
use edgeflush::queue::file_index::{FileStamp, IndexUpdate, IndexedFile};
use edgeflush::queue::*;
use serde_json::json;

pub fn file(path: &str, size: u64, h: u8) -> IndexedFile {
    IndexedFile {
        path: path.into(),
        stamp: FileStamp {
            size,
            mtime_ns: 1_700_000_000_123_456_789,
            ctime_ns: -5,
            inode: u64::MAX - 1,
        },
        hash: [h; 32],
    }
}

pub async fn index_round_trips_per_site_and_survives_reopen(b: &Backend) {
    {
        let s = b.open().await;
        assert_eq!(s.index_created("www").await.unwrap(), None);
        s.update_index("empty", vec![]).await.unwrap();
        s.update_index(
            "www",
            vec![
                IndexUpdate::Put(file("b/x.css", 10, 1)),
                IndexUpdate::Put(file("a.html", 3, 2)),
                IndexUpdate::Put(file("gone.js", 1, 3)),
            ],
        )
        .await
        .unwrap();
        s.update_index("other", vec![IndexUpdate::Put(file("a.html", 9, 9))])
            .await
            .unwrap();
        s.update_index(
            "www",
            vec![
                IndexUpdate::Remove("gone.js".into()),
                IndexUpdate::Put(file("b/x.css", 11, 4)),
                IndexUpdate::Remove("never-there".into()),
                // Applied in order: put, then removed, then put again.
                IndexUpdate::Put(file("c.js", 1, 5)),
                IndexUpdate::Remove("c.js".into()),
                IndexUpdate::Put(file("c.js", 2, 6)),
            ],
        )
        .await
        .unwrap();
    }
    let s = b.open().await;
    let created = s.index_created("www").await.unwrap().unwrap();
    assert!(created <= now_ms());
    assert!(s.index_created("empty").await.unwrap().is_some());
    assert!(s.load_index("empty").await.unwrap().is_empty());
    assert_eq!(
        s.load_index("www").await.unwrap(),
        vec![
            file("a.html", 3, 2),
            file("b/x.css", 11, 4),
            file("c.js", 2, 6)
        ]
    );
    assert_eq!(
        s.site_files("www").await.unwrap(),
        ["a.html", "b/x.css", "c.js"]
    );
    assert_eq!(s.site_files("other").await.unwrap(), ["a.html"]);
    assert!(s.site_files("nobody").await.unwrap().is_empty());
    // A later update keeps the first-indexed time.
    s.update_index("www", vec![]).await.unwrap();
    assert_eq!(s.index_created("www").await.unwrap(), Some(created));
}

fn query(vhost: Option<&str>, since: Millis, limit: usize) -> TrafficQuery {
    TrafficQuery {
        vhost: vhost.map(str::to_string),
        since,
        limit,
    }
}

pub async fn traffic_stores_lists_and_prunes(b: &Backend) {
    let s = b.open().await;
    let mut ids = Vec::new();
    for (i, t) in [1_000, 2_000, 3_000].iter().enumerate() {
        let data = json!({"requests": i, "status": {"2xx": i}});
        ids.push(s.add_traffic("a.test", *t, &data).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    s.add_traffic("b.test", 2_500, &json!([{"requests": 7}]))
        .await
        .unwrap();
    let all = s.list_traffic(query(None, 0, 100)).await.unwrap();
    let times: Vec<Millis> = all.iter().map(|x| x.taken_at).collect();
    assert_eq!(times, [1_000, 2_000, 2_500, 3_000]);
    assert_eq!(all[2].data, json!([{"requests": 7}]));
    let a = s
        .list_traffic(query(Some("a.test"), 2_000, 100))
        .await
        .unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[1].data["status"]["2xx"], 2);
    // The limit keeps the newest, still oldest first.
    let newest = s.list_traffic(query(Some("a.test"), 0, 2)).await.unwrap();
    let times: Vec<Millis> = newest.iter().map(|x| x.taken_at).collect();
    assert_eq!(times, [2_000, 3_000]);
    assert_eq!(s.prune_traffic(2_500).await.unwrap(), 2);
    drop(s);
    let s = b.open().await;
    let left = s.list_traffic(query(None, 0, 100)).await.unwrap();
    let left: Vec<(&str, Millis)> = left
        .iter()
        .map(|x| (x.vhost.as_str(), x.taken_at))
        .collect();
    assert_eq!(left, [("b.test", 2_500), ("a.test", 3_000)]);
    assert!(
        s.list_traffic(query(Some("c.test"), 0, 100))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn site_activity_per_site(b: &Backend) {
    let s = b.open().await;
    assert!(s.site_activity().await.unwrap().is_empty());
    let mut other = super::backend::purge("/o");
    other.site = "blog".into();
    s.enqueue(vec![super::backend::purge("/a"), other])
        .await
        .unwrap();
    let now = now_ms();
    let batch = s
        .claim_batch(super::backend::VHOST, 10, now)
        .await
        .unwrap()
        .unwrap();
    s.mark_flushed(batch.id, None, now, now).await.unwrap();
    let www = batch.items.iter().find(|i| i.path == "/a").unwrap().id;
    s.apply_poll(batch.id, vec![(www, PollOutcome::Confirmed)], now + 5, now)
        .await
        .unwrap();
    let act = s.site_activity().await.unwrap();
    let sites: Vec<&str> = act.iter().map(|a| a.site.as_str()).collect();
    assert_eq!(sites, ["blog", "www"]);
    assert_eq!(act[0].last_confirmed, None);
    assert_eq!(act[1].last_confirmed, Some(now + 5));
    assert!(act[1].last_change.is_some());
}
