//! The file index in SQLite: one row per file per site, written in the
//! same WAL database (and with the same durability) as the queue, but in
//! its own transactions: the watcher commits a file's purge first, then its
//! index entry.

use super::file_index::{ContentHash, FileStamp, IndexStore, IndexUpdate, IndexedFile};
use super::sqlite::SqliteStore;
use super::{Millis, StoreResult, now_ms};
use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

fn hash_of(bytes: Vec<u8>) -> ContentHash {
    // A row that is not 32 bytes can only come from a damaged database: an
    // all-zero hash never matches a real file, so the file is re-purged.
    bytes.try_into().unwrap_or([0; 32])
}

#[async_trait]
impl IndexStore for SqliteStore {
    async fn index_created(&self, site: &str) -> StoreResult<Option<Millis>> {
        let site = site.to_string();
        self.call(move |c| {
            c.query_row(
                "SELECT created_at FROM file_index_sites WHERE site = ?1",
                [site],
                |r| r.get(0),
            )
            .optional()
        })
        .await
    }

    async fn load_index(&self, site: &str) -> StoreResult<Vec<IndexedFile>> {
        let site = site.to_string();
        self.call(move |c| {
            let mut st = c.prepare_cached(
                "SELECT path, size, mtime_ns, ctime_ns, inode, hash FROM file_index
                 WHERE site = ?1 ORDER BY path",
            )?;
            let rows = st.query_map([site], |r| {
                Ok(IndexedFile {
                    path: r.get(0)?,
                    stamp: FileStamp {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        ctime_ns: r.get(3)?,
                        inode: r.get::<_, i64>(4)? as u64,
                    },
                    hash: hash_of(r.get(5)?),
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn update_index(&self, site: &str, updates: Vec<IndexUpdate>) -> StoreResult<()> {
        let site = site.to_string();
        self.tx(move |tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO file_index (site, path, size, mtime_ns, ctime_ns, inode, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (site, path) DO UPDATE SET size = excluded.size,
                     mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,
                     inode = excluded.inode, hash = excluded.hash",
            )?;
            let mut del =
                tx.prepare_cached("DELETE FROM file_index WHERE site = ?1 AND path = ?2")?;
            for u in &updates {
                match u {
                    IndexUpdate::Put(f) => {
                        put.execute(params![
                            site,
                            f.path,
                            f.stamp.size as i64,
                            f.stamp.mtime_ns,
                            f.stamp.ctime_ns,
                            f.stamp.inode as i64,
                            &f.hash[..]
                        ])?;
                    }
                    IndexUpdate::Remove(path) => {
                        del.execute(params![site, path])?;
                    }
                }
            }
            let now = now_ms();
            tx.execute(
                "INSERT INTO file_index_sites (site, created_at, updated_at) VALUES (?1, ?2, ?2)
                 ON CONFLICT (site) DO UPDATE SET updated_at = excluded.updated_at",
                params![site, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn site_files(&self, site: &str) -> StoreResult<Vec<String>> {
        let site = site.to_string();
        self.call(move |c| {
            let mut st =
                c.prepare_cached("SELECT path FROM file_index WHERE site = ?1 ORDER BY path")?;
            let rows = st.query_map([site], |r| r.get(0))?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, h: u8) -> IndexedFile {
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

    #[tokio::test]
    async fn index_round_trips_per_site_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("q.db");
        {
            let s = SqliteStore::open(&db).unwrap();
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
                ],
            )
            .await
            .unwrap();
        }
        let s = SqliteStore::open(&db).unwrap();
        assert!(s.index_created("www").await.unwrap().is_some());
        assert!(s.index_created("empty").await.unwrap().is_some());
        assert!(s.load_index("empty").await.unwrap().is_empty());
        assert_eq!(
            s.load_index("www").await.unwrap(),
            vec![file("a.html", 3, 2), file("b/x.css", 11, 4)]
        );
        assert_eq!(
            s.site_files("www").await.unwrap(),
            vec!["a.html".to_string(), "b/x.css".to_string()]
        );
        assert_eq!(s.site_files("other").await.unwrap(), vec!["a.html"]);
        assert!(s.site_files("nobody").await.unwrap().is_empty());
    }

    #[test]
    fn damaged_hashes_never_match() {
        assert_eq!(hash_of(vec![1, 2, 3]), [0; 32]);
        assert_eq!(hash_of(vec![7; 32]), [7; 32]);
    }
}
