//! The SQLite side of traffic snapshots, kept apart from the purge queue in
//! `sqlite.rs`: one row per snapshot, the answer stored as JSON text.

use super::sqlite::SqliteStore;
use super::traffic_store::{TrafficQuery, TrafficSnapshot, TrafficStore};
use super::{Millis, StoreResult};
use async_trait::async_trait;
use rusqlite::params;

fn decode(text: &str) -> rusqlite::Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[async_trait]
impl TrafficStore for SqliteStore {
    async fn add_traffic(
        &self,
        vhost: &str,
        taken_at: Millis,
        data: &serde_json::Value,
    ) -> StoreResult<i64> {
        let (vhost, text) = (vhost.to_string(), data.to_string());
        self.tx(move |tx| {
            tx.execute(
                "INSERT INTO traffic_snapshots (vhost, taken_at, data) VALUES (?1, ?2, ?3)",
                params![vhost, taken_at, text],
            )?;
            Ok(tx.last_insert_rowid())
        })
        .await
    }

    async fn list_traffic(&self, q: TrafficQuery) -> StoreResult<Vec<TrafficSnapshot>> {
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        self.call(move |c| {
            // Newest first to apply the limit, then turned into a series.
            let mut stmt = c.prepare_cached(
                "SELECT id, vhost, taken_at, data FROM traffic_snapshots
                 WHERE taken_at >= ?1 AND (?2 IS NULL OR vhost = ?2)
                 ORDER BY taken_at DESC, id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![q.since, q.vhost, limit], |r| {
                let text: String = r.get(3)?;
                Ok(TrafficSnapshot {
                    id: r.get(0)?,
                    vhost: r.get(1)?,
                    taken_at: r.get(2)?,
                    data: decode(&text)?,
                })
            })?;
            let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            out.reverse();
            Ok(out)
        })
        .await
    }

    async fn prune_traffic(&self, before: Millis) -> StoreResult<u64> {
        self.tx(move |tx| {
            let n = tx.execute(
                "DELETE FROM traffic_snapshots WHERE taken_at < ?1",
                [before],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(vhost: Option<&str>, since: Millis, limit: usize) -> TrafficQuery {
        TrafficQuery {
            vhost: vhost.map(str::to_string),
            since,
            limit,
        }
    }

    #[tokio::test]
    async fn stores_lists_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let s = SqliteStore::open(&path).unwrap();
        for (i, t) in [1_000, 2_000, 3_000].iter().enumerate() {
            s.add_traffic("a.test", *t, &json!({"requests": i, "status": {"2xx": i}}))
                .await
                .unwrap();
        }
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
        // Durable across a reopen (and the migration runs once).
        let s = SqliteStore::open(&path).unwrap();
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
}
