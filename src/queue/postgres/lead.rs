//! Roles across the fleet, elected with session-level advisory locks held on
//! a connection of their own: the lock lives exactly as long as the session,
//! so a node that dies (kill -9, crash, power cut) releases its roles when
//! PostgreSQL notices the session end, and a standby that asks once a second
//! takes over. Every role that spends the API budget (flusher, poller,
//! traffic) shares one lock: the whole budget is then spent by one process,
//! whose in-process token buckets and Retry-After pause are exact for the
//! fleet, with no database round trip per API call.

use super::lock_key;
use deadpool_postgres::Pool;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, NoTls};

/// How long one question to the leader connection may take before the
/// session is given up (and with it the roles).
const ANSWER_WITHIN: Duration = Duration::from_secs(3);
/// How often a held role is confirmed (the session still answers).
const RECHECK: Duration = Duration::from_secs(1);

/// The lock behind a role.
fn lock_name(role: &str) -> &str {
    match role {
        "flusher" | "poller" | "traffic" => "api",
        other => other,
    }
}

struct State {
    client: Option<Client>,
    locks: BTreeSet<String>,
    checked: Instant,
    down_reported: bool,
}

pub(super) struct Leader {
    cfg: tokio_postgres::Config,
    namespace: String,
    state: tokio::sync::Mutex<State>,
    /// The API lock is held: the heartbeat renews this process's leases only
    /// then, so a node that lost its roles (but lives on) lets go of its
    /// batches within one lease.
    api: Arc<AtomicBool>,
}

impl Leader {
    pub(super) fn new(cfg: tokio_postgres::Config, namespace: String) -> Leader {
        Leader {
            cfg,
            namespace,
            state: tokio::sync::Mutex::new(State {
                client: None,
                locks: BTreeSet::new(),
                checked: Instant::now(),
                down_reported: false,
            }),
            api: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(super) fn held_flag(&self) -> Arc<AtomicBool> {
        self.api.clone()
    }

    /// Whether this process holds `role`; tries to take it when free. Any
    /// trouble with the leader connection answers false (standing by is the
    /// safe side) and drops the session, releasing whatever it held.
    pub(super) async fn lead(&self, role: &'static str) -> bool {
        let name = lock_name(role);
        let mut st = self.state.lock().await;
        if st.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.lose(&mut st, "the leader connection closed");
        }
        if let Some(c) = &st.client
            && st.checked.elapsed() >= RECHECK
        {
            let alive = matches!(
                tokio::time::timeout(ANSWER_WITHIN, c.simple_query("SELECT 1")).await,
                Ok(Ok(_))
            );
            if alive {
                st.checked = Instant::now();
            } else {
                self.lose(&mut st, "the leader connection stopped answering");
            }
        }
        if st.locks.contains(name) {
            return true;
        }
        if st.client.is_none() {
            match self.connect().await {
                Ok(c) => {
                    st.client = Some(c);
                    st.checked = Instant::now();
                    st.down_reported = false;
                }
                Err(e) => {
                    if !st.down_reported {
                        tracing::warn!(role, error = %super::describe(&e),
                            "cannot reach PostgreSQL for the role election; standing by");
                        st.down_reported = true;
                    }
                    return false;
                }
            }
        }
        let Some(c) = &st.client else {
            return false;
        };
        let key = lock_key(&self.namespace, name);
        let asked = tokio::time::timeout(
            ANSWER_WITHIN,
            c.query_one("SELECT pg_try_advisory_lock($1)", &[&key]),
        )
        .await;
        match asked {
            Ok(Ok(row)) => {
                let got: bool = row.try_get(0).unwrap_or(false);
                if got {
                    st.locks.insert(name.to_string());
                    if name == "api" {
                        self.api.store(true, Ordering::SeqCst);
                    }
                    tracing::info!(
                        role,
                        lock = name,
                        "this node now holds the role for the fleet"
                    );
                }
                got
            }
            Ok(Err(e)) => {
                let why = format!("the lock query failed: {}", super::describe(&e));
                self.lose(&mut st, &why);
                false
            }
            Err(_) => {
                self.lose(&mut st, "the lock query timed out");
                false
            }
        }
    }

    fn lose(&self, st: &mut State, why: &str) {
        if !st.locks.is_empty() {
            tracing::warn!(roles = ?st.locks, reason = why,
                "lost the fleet roles; another node takes over");
        }
        st.locks.clear();
        st.client = None;
        self.api.store(false, Ordering::SeqCst);
    }

    async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        let (client, conn) = self.cfg.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "leader connection ended");
            }
        });
        // Let the server notice a vanished node within seconds rather than
        // the OS default of hours, so its roles are freed. Best effort.
        if let Err(e) = client
            .batch_execute(
                "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2;
                 SET tcp_keepalives_count = 3",
            )
            .await
        {
            tracing::debug!(error = %e, "keepalive settings not applied");
        }
        Ok(client)
    }
}

/// Renews the leases of this process's batches while it holds the API
/// role, every third of a lease.
pub(super) async fn heartbeat(pool: Pool, api: Arc<AtomicBool>, owner: String, lease: Duration) {
    let every = (lease / 3).max(Duration::from_millis(100));
    let ms = lease.as_millis() as i64;
    loop {
        tokio::time::sleep(every).await;
        if !api.load(Ordering::SeqCst) {
            continue;
        }
        let renewed = match pool.get().await {
            Ok(c) => c
                .execute(
                    concat!(
                        "UPDATE batches SET lease_until = ",
                        db_now!(),
                        " + $2 WHERE owner = $1 AND state <> 'done'"
                    ),
                    &[&owner, &ms],
                )
                .await
                .map_err(|e| super::describe(&e)),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = renewed {
            tracing::warn!(error = %e, "lease heartbeat failed; will try again");
        }
    }
}
