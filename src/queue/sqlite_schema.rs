//! The SQLite schema and its migrations. Versions only go forward; each
//! migration runs in its own transaction. The SQL stays close to what
//! PostgreSQL accepts (partial unique index, ON CONFLICT ... DO NOTHING).

use rusqlite::Connection;

pub const MIGRATIONS: &[&str] = &[
    // 1: purges and batches.
    "CREATE TABLE purges (
        id INTEGER PRIMARY KEY,
        site TEXT NOT NULL,
        vhost TEXT NOT NULL,
        url TEXT NOT NULL,
        path TEXT NOT NULL,
        state TEXT NOT NULL,
        origin_kind TEXT NOT NULL,
        origin_ref TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        not_before INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        batch_id INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        reflushes INTEGER NOT NULL DEFAULT 0,
        unconfirmed INTEGER NOT NULL DEFAULT 0,
        flushed_at INTEGER,
        confirmed_at INTEGER,
        error TEXT
    );
    CREATE UNIQUE INDEX purges_pending_once ON purges (vhost, url) WHERE state = 'pending';
    CREATE INDEX purges_state_vhost ON purges (state, vhost, not_before);
    CREATE INDEX purges_batch ON purges (batch_id);
    CREATE INDEX purges_updated ON purges (updated_at);
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        vhost TEXT NOT NULL,
        state TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        api_id TEXT,
        flushed_at INTEGER,
        polls INTEGER NOT NULL DEFAULT 0,
        next_poll_at INTEGER,
        finished_at INTEGER,
        error TEXT
    );
    CREATE INDEX batches_state ON batches (state, next_attempt_at);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2: webhook delivery ids (deduplication) and releasable holds.
    "CREATE TABLE deliveries (
        hook TEXT NOT NULL,
        id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (hook, id)
    );
    CREATE INDEX deliveries_received ON deliveries (received_at);
    ALTER TABLE purges ADD COLUMN hold TEXT;
    CREATE INDEX purges_hold ON purges (hold) WHERE hold IS NOT NULL;",
    // 3: traffic snapshots: the API's raw JSON per vhost and time.
    "CREATE TABLE traffic_snapshots (
        id INTEGER PRIMARY KEY,
        vhost TEXT NOT NULL,
        taken_at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX traffic_vhost_time ON traffic_snapshots (vhost, taken_at);
    CREATE INDEX traffic_time ON traffic_snapshots (taken_at);",
    // 4: the watcher's file index (see file_index.rs) and which sites have one.
    "CREATE TABLE file_index (
        site TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (site, path)
    );
    CREATE TABLE file_index_sites (
        site TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );",
];

/// Brings the database to the newest schema. A database from a newer
/// edgeflush is refused rather than half-understood.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);")
        .map_err(|e| e.to_string())?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let newest = MIGRATIONS.len() as i64;
    if current > newest {
        return Err(format!(
            "the database has schema version {current}, this edgeflush knows up to {newest}; \
             upgrade edgeflush or use another store.path"
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {}: {e}", i + 1))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [(i + 1) as i64],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}
