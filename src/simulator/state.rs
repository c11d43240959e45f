//! The simulator's memory: vhosts, properties, flushes, recorded requests
//! and the live faults, behind one lock so a test in the same process can
//! inspect or change them while the HTTP side runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::faults::Faults;

/// Cheap handle (an `Arc`) on the simulator state.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

struct Inner {
    data: Mutex<Data>,
    started: Instant,
    started_at: SystemTime,
    stopping: CancellationToken,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Vhost {
    pub id: u64,
    pub name: String,
    pub domain_name: String,
    pub origin_url: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub vhost_id: u64,
    pub cname: Option<String>,
    pub ttl: u64,
    pub gzip: bool,
    pub ssl: bool,
    pub override_hostheader: bool,
    pub host_header: Option<String>,
}

/// One URL of one accepted flush.
#[derive(Debug, Clone)]
pub struct FlushRecord {
    pub flush_id: u64,
    /// As sent by the client.
    pub url: String,
    /// Domain of the vhost it belongs to.
    pub vhost: String,
    /// Path as it appears in the URL (percent-encoded).
    pub path: String,
    /// Path percent-decoded, so a regex built from either form matches.
    pub decoded_path: String,
    pub requested_at: SystemTime,
    requested: Instant,
}

/// Where a flushed URL stands when asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Done,
    Failed,
}

/// One `/api/v1/*` request as received. Never holds the Authorization header.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub seq: u64,
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// Parsed JSON body, or null when empty or not JSON.
    pub body: serde_json::Value,
    /// Status answered; 0 while unanswered (e.g. a hanging request).
    pub status: u16,
    pub authorized: bool,
}

pub(crate) struct Data {
    pub faults: Faults,
    pub base_delay: Duration,
    pub token: String,
    pub vhosts: Vec<Vhost>,
    pub properties: Vec<Property>,
    pub flushes: Vec<FlushRecord>,
    pub flushed_urls: Vec<String>,
    pub requests: Vec<RecordedRequest>,
    /// Admission times of the last minute, for `throttle_per_minute`.
    pub admitted: VecDeque<Instant>,
    next_seq: u64,
    next_vhost_id: u64,
    next_flush_id: u64,
}

pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Data {
    pub fn accepted_token(&self) -> &str {
        match &self.faults.token {
            Some(t) => t.expose(),
            None => &self.token,
        }
    }

    pub fn flush_delay(&self) -> Duration {
        self.faults
            .flush_delay_ms
            .map(Duration::from_millis)
            .unwrap_or(self.base_delay)
    }

    pub fn vhost_by_domain(&self, domain: &str) -> Option<&Vhost> {
        self.vhosts
            .iter()
            .find(|v| v.domain_name.eq_ignore_ascii_case(domain))
    }

    pub fn vhost_by_id(&self, id: u64) -> Option<&Vhost> {
        self.vhosts.iter().find(|v| v.id == id)
    }

    /// Upsert keyed by domain; returns the vhost and whether it was created.
    pub fn upsert_vhost(&mut self, name: &str, domain: &str, origin: &str) -> (Vhost, bool) {
        if let Some(v) = self
            .vhosts
            .iter_mut()
            .find(|v| v.domain_name.eq_ignore_ascii_case(domain))
        {
            v.name = name.to_string();
            v.origin_url = origin.to_string();
            return (v.clone(), false);
        }
        let v = Vhost {
            id: self.next_vhost_id,
            name: name.to_string(),
            domain_name: domain.to_string(),
            origin_url: origin.to_string(),
        };
        self.next_vhost_id += 1;
        self.vhosts.push(v.clone());
        (v, true)
    }

    /// Records one flush of `urls` (already validated: `(url, vhost, path)`).
    pub fn add_flush(&mut self, urls: Vec<(String, String, String)>) -> u64 {
        let id = self.next_flush_id;
        self.next_flush_id += 1;
        let (now, now_i) = (SystemTime::now(), Instant::now());
        for (url, vhost, path) in urls {
            let decoded_path = percent_encoding::percent_decode_str(&path)
                .decode_utf8_lossy()
                .into_owned();
            self.flushed_urls.push(url.clone());
            self.flushes.push(FlushRecord {
                flush_id: id,
                url,
                vhost,
                path,
                decoded_path,
                requested_at: now,
                requested: now_i,
            });
        }
        id
    }

    /// Phase and completion time of a flushed URL under the current faults.
    pub fn phase_of(&self, rec: &FlushRecord, now: Instant) -> (Phase, Option<SystemTime>) {
        let matches = |pat: &Option<String>| {
            pat.as_deref()
                .and_then(|p| regex::Regex::new(p).ok())
                .is_some_and(|re| re.is_match(&rec.url))
        };
        let delay = self.flush_delay();
        if matches(&self.faults.stuck_url_regex) || now < rec.requested + delay {
            return (Phase::Pending, None);
        }
        let completed = rec.requested_at + delay;
        if matches(&self.faults.fail_url_regex) {
            (Phase::Failed, Some(completed))
        } else {
            (Phase::Done, Some(completed))
        }
    }
}

impl Data {
    /// When the newest completed flush of `decoded_path` on `domain` took
    /// effect, for the edge: a cached copy stored before that is gone. URLs
    /// matching the `edge_ignore_purge_regex` fault are never dropped.
    pub fn last_purge(&self, domain: &str, decoded_path: &str, now: Instant) -> Option<Instant> {
        let ignored = self
            .faults
            .edge_ignore_purge_regex
            .as_deref()
            .and_then(|p| regex::Regex::new(p).ok());
        let delay = self.flush_delay();
        // Completion is request time + one global delay, so the newest done
        // record is the latest purge.
        self.flushes
            .iter()
            .rev()
            .filter(|r| r.vhost.eq_ignore_ascii_case(domain) && r.decoded_path == decoded_path)
            .filter(|r| !ignored.as_ref().is_some_and(|re| re.is_match(&r.url)))
            .find(|r| self.phase_of(r, now).0 == Phase::Done)
            .map(|r| r.requested + delay)
    }

    /// The `ttl` property of a vhost in seconds, when one is set.
    pub fn ttl_of(&self, vhost_id: u64) -> Option<u64> {
        self.properties
            .iter()
            .find(|p| p.vhost_id == vhost_id)
            .map(|p| p.ttl)
    }
}

impl SimState {
    pub(crate) fn new(token: String, base_delay: Duration, faults: Faults) -> Self {
        SimState {
            inner: Arc::new(Inner {
                data: Mutex::new(Data {
                    faults,
                    base_delay,
                    token,
                    vhosts: Vec::new(),
                    properties: Vec::new(),
                    flushes: Vec::new(),
                    flushed_urls: Vec::new(),
                    requests: Vec::new(),
                    admitted: VecDeque::new(),
                    next_seq: 1,
                    next_vhost_id: 1,
                    next_flush_id: 1,
                }),
                started: Instant::now(),
                started_at: SystemTime::now(),
                stopping: CancellationToken::new(),
            }),
        }
    }

    /// A poisoned lock only means a handler panicked mid-update; the data is
    /// still the best view we have, so keep serving it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Data> {
        self.inner
            .data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn started(&self) -> (Instant, SystemTime) {
        (self.inner.started, self.inner.started_at)
    }

    /// Cancelled when the simulator stops, so hanging requests let go.
    pub(crate) fn stopping(&self) -> CancellationToken {
        self.inner.stopping.clone()
    }

    /// Records an arriving request; its status is filled in by `answered`.
    pub(crate) fn arrived(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: serde_json::Value,
        authorized: bool,
    ) -> u64 {
        let mut d = self.lock();
        let seq = d.next_seq;
        d.next_seq += 1;
        d.requests.push(RecordedRequest {
            seq,
            at_ms: unix_ms(SystemTime::now()),
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            body,
            status: 0,
            authorized,
        });
        seq
    }

    pub(crate) fn answered(&self, seq: u64, status: u16) {
        let mut d = self.lock();
        if let Some(r) = d.requests.iter_mut().rev().find(|r| r.seq == seq) {
            r.status = status;
        }
    }

    /// Every `/api/v1/*` request since start (or the last clear), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the faults. Invalid regexes match nothing; use
    /// `Faults::validate` first when that matters.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Every URL of every flush answered 2xx, in order, duplicates kept.
    pub fn flushed_urls(&self) -> Vec<String> {
        self.lock().flushed_urls.clone()
    }

    pub fn vhosts(&self) -> Vec<Vhost> {
        self.lock().vhosts.clone()
    }

    pub fn properties(&self) -> Vec<Property> {
        self.lock().properties.clone()
    }

    /// Every flushed URL record, oldest first.
    pub fn flushes(&self) -> Vec<FlushRecord> {
        self.lock().flushes.clone()
    }

    /// Phase of the latest flush of `url`, `None` if never flushed.
    pub fn phase(&self, url: &str) -> Option<Phase> {
        let d = self.lock();
        let rec = d.flushes.iter().rev().find(|r| r.url == url)?;
        Some(d.phase_of(rec, Instant::now()).0)
    }

    /// Creates or updates a vhost in-process (as `POST /vhosts/` would).
    pub fn upsert_vhost(&self, name: &str, domain_name: &str, origin_url: &str) -> Vhost {
        self.lock().upsert_vhost(name, domain_name, origin_url).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_delay_and_regexes() {
        let st = SimState::new("t".into(), Duration::from_secs(3600), Faults::default());
        st.lock().add_flush(vec![
            ("https://a.test/x".into(), "a.test".into(), "/x".into()),
            ("https://a.test/bad".into(), "a.test".into(), "/bad".into()),
        ]);
        assert_eq!(st.phase("https://a.test/x"), Some(Phase::Pending));
        st.set_faults(Faults {
            flush_delay_ms: Some(0),
            fail_url_regex: Some("bad".into()),
            ..Faults::default()
        });
        assert_eq!(st.phase("https://a.test/x"), Some(Phase::Done));
        assert_eq!(st.phase("https://a.test/bad"), Some(Phase::Failed));
        assert_eq!(st.phase("https://a.test/none"), None);
        st.set_faults(Faults {
            flush_delay_ms: Some(0),
            stuck_url_regex: Some("/x$".into()),
            ..Faults::default()
        });
        assert_eq!(st.phase("https://a.test/x"), Some(Phase::Pending));
        assert_eq!(st.flushed_urls().len(), 2);
    }

    #[test]
    fn upsert_keys_on_domain() {
        let st = SimState::new("t".into(), Duration::ZERO, Faults::default());
        let a = st.upsert_vhost("A", "a.test", "http://o/");
        let b = st.upsert_vhost("B", "A.TEST", "http://o2/");
        assert_eq!(a.id, b.id);
        assert_eq!(st.vhosts().len(), 1);
        assert_eq!(st.vhosts()[0].name, "B");
    }
}
