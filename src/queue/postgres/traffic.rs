//! Traffic snapshots on PostgreSQL: stored once for the fleet, because only
//! the node holding the API roles takes them (`lead("traffic")`). The answer
//! is kept as the JSON text it came as, like on SQLite.

use super::PgStore;
use crate::queue::traffic_store::{TrafficQuery, TrafficSnapshot, TrafficStore};
use crate::queue::{Millis, StoreError, StoreResult};
use async_trait::async_trait;
use tokio_postgres::Row;

fn snapshot(r: &Row) -> StoreResult<TrafficSnapshot> {
    let get = |e: tokio_postgres::Error| StoreError::Query(e.to_string());
    let text: String = r.try_get(3).map_err(get)?;
    Ok(TrafficSnapshot {
        id: r.try_get(0).map_err(get)?,
        vhost: r.try_get(1).map_err(get)?,
        taken_at: r.try_get(2).map_err(get)?,
        data: serde_json::from_str(&text)
            .map_err(|e| StoreError::Query(format!("stored traffic snapshot: {e}")))?,
    })
}

#[async_trait]
impl TrafficStore for PgStore {
    async fn add_traffic(
        &self,
        vhost: &str,
        taken_at: Millis,
        data: &serde_json::Value,
    ) -> StoreResult<i64> {
        let c = self.client().await?;
        let text = data.to_string();
        retry!(async {
            c.query_one(
                "INSERT INTO traffic_snapshots (vhost, taken_at, data) VALUES ($1, $2, $3)
                 RETURNING id",
                &[&vhost, &taken_at, &text],
            )
            .await?
            .try_get(0)
        })
    }

    async fn list_traffic(&self, q: TrafficQuery) -> StoreResult<Vec<TrafficSnapshot>> {
        let c = self.client().await?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        // Newest first to apply the limit, then turned into a series.
        let rows = retry!(c.query(
            "SELECT id, vhost, taken_at, data FROM traffic_snapshots
             WHERE taken_at >= $1 AND ($2::text IS NULL OR vhost = $2)
             ORDER BY taken_at DESC, id DESC LIMIT $3",
            &[&q.since, &q.vhost, &limit],
        ))?;
        let mut out = rows.iter().map(snapshot).collect::<StoreResult<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }

    async fn prune_traffic(&self, before: Millis) -> StoreResult<u64> {
        let c = self.client().await?;
        retry!(c.execute(
            "DELETE FROM traffic_snapshots WHERE taken_at < $1",
            &[&before],
        ))
    }
}
