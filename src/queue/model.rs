//! What the queue holds: purges (one URL of one vhost), batches (one flush
//! call's worth of purges), and the small value types around them.

use serde::Serialize;
use std::fmt;

/// Milliseconds since the Unix epoch: the store's one time unit, portable
/// across SQLite and PostgreSQL.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where a purge came from, kept for `edgeflush status` and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// "webhook", "file", "manual", "reconcile", ...
    pub kind: String,
    /// Delivery id, file path or operator note.
    pub reference: String,
}

impl Origin {
    pub fn new(kind: &str, reference: impl Into<String>) -> Self {
        Origin {
            kind: kind.to_string(),
            reference: reference.into(),
        }
    }
}

/// A purge to enqueue.
#[derive(Debug, Clone)]
pub struct NewPurge {
    pub site: String,
    pub vhost: String,
    pub url: String,
    /// The URL's path: what flushstatus regexes are matched against.
    pub path: String,
    pub origin: Origin,
    /// Held until this time (deploy delays, holds); 0 = now.
    pub not_before: Millis,
    /// A hold that an event can release early (e.g. the commit sha a
    /// deployment_status will name); `not_before` is then the safety limit.
    pub hold: Option<String>,
}

/// A webhook delivery, remembered so that a redelivery enqueues nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryKey {
    pub hook: String,
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnqueueReport {
    pub added: u64,
    /// Already pending for the same vhost: not added twice.
    pub coalesced: u64,
    /// (added, coalesced) per site, for per-site reports and metrics.
    pub per_site: std::collections::BTreeMap<String, (u64, u64)>,
}

/// Life of a purge: pending -> sent -> flushed -> confirmed, or failed (dead
/// letter) / unconfirmed (never confirmed, even after a re-flush).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PurgeState {
    Pending,
    Sent,
    Flushed,
    Confirmed,
    Failed,
    Unconfirmed,
}

impl PurgeState {
    pub const ALL: [PurgeState; 6] = [
        PurgeState::Pending,
        PurgeState::Sent,
        PurgeState::Flushed,
        PurgeState::Confirmed,
        PurgeState::Failed,
        PurgeState::Unconfirmed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PurgeState::Pending => "pending",
            PurgeState::Sent => "sent",
            PurgeState::Flushed => "flushed",
            PurgeState::Confirmed => "confirmed",
            PurgeState::Failed => "failed",
            PurgeState::Unconfirmed => "unconfirmed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            PurgeState::Confirmed | PurgeState::Failed | PurgeState::Unconfirmed
        )
    }
}

impl fmt::Display for PurgeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A batch: `sending` until the API accepts it, `flushed` while its purges are
/// polled, `done` when none is left to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchState {
    Sending,
    Flushed,
    Done,
}

impl BatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Sending => "sending",
            BatchState::Flushed => "flushed",
            BatchState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sending" => Some(BatchState::Sending),
            "flushed" => Some(BatchState::Flushed),
            "done" => Some(BatchState::Done),
            _ => None,
        }
    }
}

/// One queued URL as the workers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeItem {
    pub id: i64,
    pub url: String,
    pub path: String,
    pub enqueued_at: Millis,
    pub reflushes: u32,
    pub unconfirmed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Batch {
    pub id: i64,
    pub vhost: String,
    pub state: BatchState,
    pub attempts: u32,
    pub created_at: Millis,
    pub flushed_at: Option<Millis>,
    pub polls: u32,
    pub items: Vec<PurgeItem>,
}

impl Batch {
    pub fn urls(&self) -> Vec<String> {
        self.items.iter().map(|i| i.url.clone()).collect()
    }
}

/// Pending work of one vhost, for the batching policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingGroup {
    pub vhost: String,
    pub count: u64,
    pub first_enqueued: Millis,
    pub last_enqueued: Millis,
}

/// The outcome of a flushstatus poll for one purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Confirmed,
    /// The API said failed: flush again (counted against max_reflush).
    Reflush,
    /// Not confirmed within status.timeout: flush once more, flagged.
    ReflushUnconfirmed,
    DeadLetter,
    GiveUpUnconfirmed,
}

/// A row for status listings.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeRecord {
    pub id: i64,
    pub site: String,
    pub vhost: String,
    pub url: String,
    pub state: PurgeState,
    pub origin: Origin,
    pub attempts: u32,
    pub reflushes: u32,
    pub enqueued_at: Millis,
    pub updated_at: Millis,
    pub confirmed_at: Option<Millis>,
    pub batch_id: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchRecord {
    pub id: i64,
    pub vhost: String,
    pub state: BatchState,
    pub size: u64,
    pub attempts: u32,
    pub created_at: Millis,
    pub flushed_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    pub api_id: Option<String>,
    pub error: Option<String>,
}

/// Per-site activity for status pages.
#[derive(Debug, Clone, Serialize)]
pub struct SiteActivity {
    pub site: String,
    pub last_change: Option<Millis>,
    pub last_confirmed: Option<Millis>,
}
