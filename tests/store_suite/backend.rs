//! The two backends behind one face, so that every behaviour test runs the
//! same code against SQLite (a temporary file) and PostgreSQL (a temporary
//! schema).

use super::pgdb::TestDb;
use edgeflush::queue::postgres::{PgOptions, PgStore};
use edgeflush::queue::sqlite::SqliteStore;
use edgeflush::queue::*;
use std::sync::Arc;

pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(TestDb),
}

impl Backend {
    pub fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }

    pub async fn postgres() -> Option<Backend> {
        TestDb::create().await.map(Backend::Postgres)
    }

    /// A store on this backend's data: each call is a fresh open, as after
    /// a restart (or, on PostgreSQL, as another node).
    pub async fn open(&self) -> DynStore {
        match self {
            Backend::Sqlite(dir) => Arc::new(SqliteStore::open(&dir.path().join("q.db")).unwrap()),
            Backend::Postgres(db) => Arc::new(PgStore::connect(&db.url()).await.unwrap()),
        }
    }
}

/// A PgStore with a short lease and a recognisable owner.
pub async fn pg_node(db: &TestDb, name: &str, lease_ms: u64) -> PgStore {
    let opts = PgOptions {
        node: name.into(),
        owner: format!("{name}:{:04x}", rand::random::<u16>()),
        lease: std::time::Duration::from_millis(lease_ms),
        pool_size: 4,
    };
    PgStore::open(&db.url(), opts).await.unwrap()
}

pub fn purge(url: &str) -> NewPurge {
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

pub const VHOST: &str = "www.example.com";
