//! The watcher's file index on PostgreSQL. It stays per node (`node`
//! column): each origin server has its own disk, and only its own index says
//! what changed there. Identical releases on many nodes still cost the API
//! once, because the URLs they enqueue coalesce in the shared queue.

use super::PgStore;
use crate::queue::file_index::{ContentHash, FileStamp, IndexStore, IndexUpdate, IndexedFile};
use crate::queue::{Millis, StoreResult, now_ms};
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Object};
use std::collections::BTreeMap;
use tokio_postgres::Error;

fn hash_of(bytes: Vec<u8>) -> ContentHash {
    // Not 32 bytes only in a damaged row: an all-zero hash matches no real
    // file, so the file is purged again rather than forgotten.
    bytes.try_into().unwrap_or([0; 32])
}

const PUT: &str = "INSERT INTO file_index (node, site, path, size, mtime_ns, ctime_ns, inode, hash)
     SELECT $1, $2, t.path, t.size, t.mtime, t.ctime, t.inode, t.hash
     FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bytea[])
          AS t(path, size, mtime, ctime, inode, hash)
     ON CONFLICT (node, site, path) DO UPDATE SET size = excluded.size,
         mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,
         inode = excluded.inode, hash = excluded.hash";

async fn update(
    c: &mut Object,
    node: &str,
    site: &str,
    updates: &[IndexUpdate],
    now: Millis,
) -> Result<(), Error> {
    // Applied in order: the last update of a path wins.
    let mut last: BTreeMap<&str, Option<&IndexedFile>> = BTreeMap::new();
    for u in updates {
        match u {
            IndexUpdate::Put(f) => last.insert(&f.path, Some(f)),
            IndexUpdate::Remove(p) => last.insert(p, None),
        };
    }
    let puts: Vec<&IndexedFile> = last.values().filter_map(|f| *f).collect();
    let removes: Vec<&str> = last
        .iter()
        .filter(|(_, f)| f.is_none())
        .map(|(p, _)| *p)
        .collect();
    let tx = c.transaction().await?;
    if !puts.is_empty() {
        let paths: Vec<&str> = puts.iter().map(|f| f.path.as_str()).collect();
        let sizes: Vec<i64> = puts.iter().map(|f| f.stamp.size as i64).collect();
        let mtimes: Vec<i64> = puts.iter().map(|f| f.stamp.mtime_ns).collect();
        let ctimes: Vec<i64> = puts.iter().map(|f| f.stamp.ctime_ns).collect();
        let inodes: Vec<i64> = puts.iter().map(|f| f.stamp.inode as i64).collect();
        let hashes: Vec<&[u8]> = puts.iter().map(|f| &f.hash[..]).collect();
        let st = tx.prepare_cached(PUT).await?;
        tx.execute(
            &st,
            &[
                &node, &site, &paths, &sizes, &mtimes, &ctimes, &inodes, &hashes,
            ],
        )
        .await?;
    }
    if !removes.is_empty() {
        tx.execute(
            "DELETE FROM file_index WHERE node = $1 AND site = $2 AND path = ANY($3)",
            &[&node, &site, &removes],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO file_index_sites (node, site, created_at, updated_at)
         VALUES ($1, $2, $3, $3)
         ON CONFLICT (node, site) DO UPDATE SET updated_at = excluded.updated_at",
        &[&node, &site, &now],
    )
    .await?;
    tx.commit().await
}

async fn load<C: GenericClient>(c: &C, node: &str, site: &str) -> Result<Vec<IndexedFile>, Error> {
    let st = c
        .prepare_cached(
            "SELECT path, size, mtime_ns, ctime_ns, inode, hash FROM file_index
             WHERE node = $1 AND site = $2 ORDER BY path",
        )
        .await?;
    c.query(&st, &[&node, &site])
        .await?
        .iter()
        .map(|r| {
            Ok(IndexedFile {
                path: r.try_get(0)?,
                stamp: FileStamp {
                    size: r.try_get::<_, i64>(1)? as u64,
                    mtime_ns: r.try_get(2)?,
                    ctime_ns: r.try_get(3)?,
                    inode: r.try_get::<_, i64>(4)? as u64,
                },
                hash: hash_of(r.try_get(5)?),
            })
        })
        .collect()
}

#[async_trait]
impl IndexStore for PgStore {
    async fn index_created(&self, site: &str) -> StoreResult<Option<Millis>> {
        let c = self.client().await?;
        let node = &self.opts.node;
        retry!(async {
            c.query_opt(
                "SELECT created_at FROM file_index_sites WHERE node = $1 AND site = $2",
                &[node, &site],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()
        })
    }

    async fn load_index(&self, site: &str) -> StoreResult<Vec<IndexedFile>> {
        let c = self.client().await?;
        retry!(load(&c, &self.opts.node, site))
    }

    async fn update_index(&self, site: &str, updates: Vec<IndexUpdate>) -> StoreResult<()> {
        let mut c = self.client().await?;
        retry!(update(&mut c, &self.opts.node, site, &updates, now_ms()))
    }

    async fn site_files(&self, site: &str) -> StoreResult<Vec<String>> {
        let c = self.client().await?;
        let node = &self.opts.node;
        retry!(async {
            c.query(
                "SELECT path FROM file_index WHERE node = $1 AND site = $2 ORDER BY path",
                &[node, &site],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<Vec<String>, Error>>()
        })
    }
}
