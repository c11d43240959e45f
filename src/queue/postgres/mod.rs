//! The shared store for fleets: PostgreSQL, so that many origin servers feed
//! one queue and each URL is purged once. Same semantics as the SQLite store
//! (partial unique index for pending-once, delivery ids in the enqueue
//! transaction), plus what only a shared store needs: batches claimed with
//! `FOR UPDATE SKIP LOCKED` under a lease (owner + `lease_until` on the
//! database's clock, renewed by a heartbeat), and roles elected with
//! session-level advisory locks on a dedicated connection (`lead.rs`).

/// The database's clock in ms. Leases are written and compared on this one
/// clock, so the nodes' own clocks may disagree without harm.
macro_rules! db_now {
    () => {
        "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    };
}

/// Runs a store operation, again when PostgreSQL aborted it for a reason
/// that a second try fixes (deadlock, serialization failure, a racing
/// insert of a pending twin), and maps the last error.
macro_rules! retry {
    ($op:expr) => {{
        let mut tries = 0u32;
        loop {
            match $op.await {
                Ok(v) => break Ok(v),
                Err(e) if tries < 4 && $crate::queue::postgres::is_transient(&e) => {
                    tries += 1;
                    tracing::debug!(error = %e, tries, "PostgreSQL transaction retried");
                    tokio::time::sleep(std::time::Duration::from_millis(5 << tries)).await;
                }
                Err(e) => break Err($crate::queue::postgres::classify(e)),
            }
        }
    }};
}

mod index;
mod lead;
mod poll;
mod read;
mod schema;
mod store;
mod traffic;
mod write;

pub use schema::MIGRATIONS;

use crate::queue::{StoreError, StoreResult};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// How this process appears in the shared store.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The node's name, for data that stays per node (the file index):
    /// `$EDGEFLUSH_NODE` when set (several daemons on one host, each with
    /// its own roots), else the host name, since each host has its own disk.
    pub node: String,
    /// This process in `batches.owner`: node, pid and a random suffix, so that
    /// a restarted process never mistakes its predecessor's batches for its
    /// own live ones.
    pub owner: String,
    /// How long a claimed batch stays this process's without a heartbeat. A
    /// node that dies loses its batches after at most this long.
    pub lease: Duration,
    pub pool_size: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        let node = std::env::var("EDGEFLUSH_NODE")
            .ok()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(hostname);
        PgOptions {
            owner: format!(
                "{node}:{}:{:04x}",
                std::process::id(),
                rand::random::<u16>()
            ),
            node,
            lease: Duration::from_secs(10),
            pool_size: 8,
        }
    }
}

fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| {
            let s = std::fs::read_to_string(p).ok()?;
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        })
        .unwrap_or_else(|| "edgeflush".into())
}

pub struct PgStore {
    pool: Pool,
    opts: PgOptions,
    leader: lead::Leader,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl PgStore {
    /// Connects, migrates (under an advisory lock, so nodes starting
    /// together do not race) and starts the lease heartbeat. The schema is
    /// the first one on the URL's `search_path` (`options=-c search_path=x`).
    pub async fn open(url: &str, opts: PgOptions) -> StoreResult<PgStore> {
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Schema(format!("store.url: {}", describe(&e))))?;
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(5));
        }
        if cfg.get_application_name().is_none() {
            cfg.application_name("edgeflush");
        }
        cfg.keepalives_idle(Duration::from_secs(10));
        let mgr = Manager::from_config(
            cfg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(opts.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Task(e.to_string()))?;
        let mut c = get(&pool).await?;
        let row = c
            .query_one("SELECT current_database(), current_schema()", &[])
            .await
            .map_err(classify)?;
        let database: String = row.try_get(0).map_err(classify)?;
        let Some(schema) = row.get::<_, Option<String>>(1) else {
            return Err(StoreError::Schema(
                "the search_path of store.url names no existing schema; create it first".into(),
            ));
        };
        let namespace = format!("{database}/{schema}");
        schema::migrate(&mut c, &namespace).await?;
        drop(c);
        let leader = lead::Leader::new(cfg, namespace);
        let heartbeat = tokio::spawn(lead::heartbeat(
            pool.clone(),
            leader.held_flag(),
            opts.owner.clone(),
            opts.lease,
        ));
        tracing::info!(owner = %opts.owner, schema = %schema, "PostgreSQL store open");
        Ok(PgStore {
            pool,
            opts,
            leader,
            heartbeat,
        })
    }

    /// With default options.
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        PgStore::open(url, PgOptions::default()).await
    }

    pub fn options(&self) -> &PgOptions {
        &self.opts
    }

    async fn client(&self) -> StoreResult<Object> {
        get(&self.pool).await
    }

    fn lease_ms(&self) -> i64 {
        self.opts.lease.as_millis() as i64
    }
}

impl Drop for PgStore {
    /// Ends the heartbeat; dropping the leader's connection ends its
    /// session, which releases every role for another node to take.
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

async fn get(pool: &Pool) -> StoreResult<Object> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => classify(e),
        other => StoreError::Unavailable(format!("PostgreSQL pool: {other}")),
    })
}

/// A key for `pg_advisory_lock`: locks are per database, so the key names
/// the schema too (two fleets, or two tests, on one database never collide).
pub(crate) fn lock_key(namespace: &str, name: &str) -> i64 {
    let d = Sha256::digest(format!("edgeflush:{namespace}:{name}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

/// A driver error with its cause (tokio-postgres shows only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; {d}"));
            }
            s
        }
        None => match std::error::Error::source(e) {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

/// Aborted for a reason a second try fixes.
pub(crate) fn is_transient(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

/// Connection trouble, a server shutting down or out of resources is
/// `Unavailable` (retryable: webhooks answer 503); a missing table or
/// column is `Schema`; the rest is a failed query.
pub(crate) fn classify(e: tokio_postgres::Error) -> StoreError {
    let msg = describe(&e);
    let Some(code) = e.code() else {
        let type_error = ["error serializing", "error deserializing", "invalid column"]
            .iter()
            .any(|p| msg.starts_with(p))
            || msg.starts_with("expected ")
            || msg.starts_with("query returned");
        return if type_error {
            StoreError::Query(msg)
        } else {
            StoreError::Unavailable(format!("PostgreSQL: {msg}"))
        };
    };
    let c = code.code();
    if c.starts_with("08")
        || c.starts_with("53")
        || c.starts_with("57")
        || c.starts_with("58")
        || c == "40001"
        || c == "40P01"
        || c == "25006"
        || c == "28000"
        || c == "28P01"
        || c == "42501"
    {
        StoreError::Unavailable(format!("PostgreSQL: {msg}"))
    } else if *code == SqlState::UNDEFINED_TABLE
        || *code == SqlState::UNDEFINED_COLUMN
        || *code == SqlState::INVALID_SCHEMA_NAME
    {
        StoreError::Schema(format!("PostgreSQL: {msg}"))
    } else {
        StoreError::Query(format!("PostgreSQL: {msg}"))
    }
}
