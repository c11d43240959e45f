//! The fault switches of the simulator. Every variation the API doc says a
//! client must accept is one field of `Faults`, so a test can set it at start
//! (`--faults`) or flip it mid-run (`/_sim/faults`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SimError;

/// `Retry-After` header shape on 429 answers.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum RetryAfter {
    #[default]
    Seconds,
    Date,
    None,
}

/// Key naming the object in a flush-status entry.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EntryKey {
    #[default]
    Url,
    Filename,
}

/// Timestamp encoding in flush-status entries.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Timestamps {
    #[default]
    Iso,
    Unix,
}

/// What a successful `POST /flush/` answers.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum FlushResponse {
    /// 201 `{"id", "urls", "status": "pending"}`.
    #[default]
    Object,
    /// 204, no body.
    Empty,
    /// 202, no body.
    #[serde(rename = "empty_202")]
    Empty202,
    /// 202 with the object.
    Accepted,
    /// 200 with the object.
    Ok,
}

/// A replacement token set through the faults; `Debug` keeps it out of logs.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(transparent)]
pub struct FaultToken(String);

impl FaultToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FaultToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for FaultToken {
    fn from(s: &str) -> Self {
        FaultToken(s.to_string())
    }
}

impl From<String> for FaultToken {
    fn from(s: String) -> Self {
        FaultToken(s)
    }
}

/// Every switchable deviation from the plain reading of the API. Partial JSON
/// objects merge into the current value, so each field needs a default.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share (0..1) of API requests answered with a random 500/502/503/504 HTML page.
    pub fail_rate: f64,
    /// The next N API requests get `fail_status` with an HTML proxy page.
    pub fail_next: u32,
    /// Status used by `fail_next` (default 503).
    pub fail_status: u16,
    /// The next N API requests get their connection dropped without an answer.
    pub reset_next: u32,
    /// Added to every API answer.
    pub latency_ms: u64,
    /// The next N API requests never answer (an hour, or until the simulator stops).
    pub hang_next: u32,
    /// The next N API requests get 429.
    pub throttle_next: u32,
    /// Admitted API requests per sliding minute; 0 = unlimited.
    pub throttle_per_minute: u32,
    pub retry_after: RetryAfter,
    pub retry_after_secs: u64,
    /// 0 = unlimited.
    pub max_urls_per_flush: usize,
    /// Answer an oversized flush with 400 `{"detail": "Too many URLs ..."}` instead of 413.
    pub too_many_as_400: bool,
    /// A flush naming a matching URL is refused whole with 400.
    pub reject_url_regex: Option<String>,
    /// Matching URLs end as `failed_word`.
    pub fail_url_regex: Option<String>,
    /// Matching URLs stay pending forever.
    pub stuck_url_regex: Option<String>,
    pub done_word: String,
    pub failed_word: String,
    pub pending_word: String,
    pub entry_key: EntryKey,
    pub timestamps: Timestamps,
    /// Lists come as `{"count", "next", "previous", "results"}` pages.
    pub pages: bool,
    pub page_size: usize,
    pub flush_response: FlushResponse,
    pub ids_as_strings: bool,
    pub property_vhost_as_id: bool,
    /// 401 or 403 for a missing or wrong token.
    pub auth_status: u16,
    /// Replaces the accepted token. Never serialized: GET /_sim/faults must
    /// not hand it out.
    #[serde(skip_serializing)]
    pub token: Option<FaultToken>,
    /// Every error body (status >= 400) is an HTML page.
    pub html_errors: bool,
    /// Overrides the start `--flush-delay` (applies to earlier flushes too).
    pub flush_delay_ms: Option<u64>,
    /// Longest accepted `filenames` regex in characters; 0 = unlimited.
    pub max_filenames_len: usize,
    /// Traffic figures nested as `{"totals": {...}, "cache": {...}}`.
    pub traffic_nested: bool,
    /// The edge keeps serving its cached copy of matching URLs after their
    /// flush completed (the API says done; the edge did not drop it).
    pub edge_ignore_purge_regex: Option<String>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_rate: 0.0,
            fail_next: 0,
            fail_status: 503,
            reset_next: 0,
            latency_ms: 0,
            hang_next: 0,
            throttle_next: 0,
            throttle_per_minute: 0,
            retry_after: RetryAfter::Seconds,
            retry_after_secs: 1,
            max_urls_per_flush: 0,
            too_many_as_400: false,
            reject_url_regex: None,
            fail_url_regex: None,
            stuck_url_regex: None,
            done_word: "done".to_string(),
            failed_word: "failed".to_string(),
            pending_word: "pending".to_string(),
            entry_key: EntryKey::Url,
            timestamps: Timestamps::Iso,
            pages: false,
            page_size: 2,
            flush_response: FlushResponse::Object,
            ids_as_strings: false,
            property_vhost_as_id: false,
            auth_status: 401,
            token: None,
            html_errors: false,
            flush_delay_ms: None,
            max_filenames_len: 0,
            traffic_nested: false,
            edge_ignore_purge_regex: None,
        }
    }
}

impl Faults {
    /// Applies a partial JSON object on top of `self`. A patch without
    /// `token` keeps the current override (it is never serialized).
    pub fn merged(&self, patch: &str) -> Result<Faults, SimError> {
        let patch: serde_json::Value =
            serde_json::from_str(patch).map_err(|e| SimError::Faults(e.to_string()))?;
        self.merged_value(&patch)
    }

    pub fn merged_value(&self, patch: &serde_json::Value) -> Result<Faults, SimError> {
        let serde_json::Value::Object(patch_map) = patch else {
            return Err(SimError::Faults("faults must be a JSON object".to_string()));
        };
        let mut base = serde_json::to_value(self).map_err(|e| SimError::Faults(e.to_string()))?;
        if let serde_json::Value::Object(map) = &mut base {
            for (k, v) in patch_map {
                map.insert(k.clone(), v.clone());
            }
        }
        let mut merged: Faults =
            serde_json::from_value(base).map_err(|e| SimError::Faults(e.to_string()))?;
        if !patch_map.contains_key("token") {
            merged.token = self.token.clone();
        }
        merged.validate()?;
        Ok(merged)
    }

    /// Catches what serde cannot: bad regexes and out-of-range numbers, so a
    /// typo in a test fails loudly instead of silently matching nothing.
    pub fn validate(&self) -> Result<(), SimError> {
        for (name, pat) in [
            ("reject_url_regex", &self.reject_url_regex),
            ("fail_url_regex", &self.fail_url_regex),
            ("stuck_url_regex", &self.stuck_url_regex),
            ("edge_ignore_purge_regex", &self.edge_ignore_purge_regex),
        ] {
            if let Some(p) = pat {
                regex::Regex::new(p).map_err(|e| SimError::Faults(format!("{name}: {e}")))?;
            }
        }
        if !(0.0..=1.0).contains(&self.fail_rate) {
            return Err(SimError::Faults("fail_rate must be within 0..=1".into()));
        }
        if self.page_size == 0 {
            return Err(SimError::Faults("page_size must be at least 1".into()));
        }
        for (name, status) in [
            ("auth_status", self.auth_status),
            ("fail_status", self.fail_status),
        ] {
            if actix_web::http::StatusCode::from_u16(status).is_err() {
                return Err(SimError::Faults(format!("{name}: bad status {status}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_partial_and_keeps_token() {
        let base = Faults {
            token: Some("other".into()),
            ..Faults::default()
        };
        let m = base
            .merged(r#"{"pages": true, "retry_after": "date"}"#)
            .unwrap();
        assert!(m.pages);
        assert_eq!(m.retry_after, RetryAfter::Date);
        assert_eq!(m.page_size, 2);
        assert_eq!(m.token, Some("other".into()));
        let cleared = m.merged(r#"{"token": null}"#).unwrap();
        assert_eq!(cleared.token, None);
    }

    #[test]
    fn merge_rejects_typos_and_bad_regex() {
        assert!(Faults::default().merged(r#"{"pagez": true}"#).is_err());
        assert!(
            Faults::default()
                .merged(r#"{"fail_url_regex": "("}"#)
                .is_err()
        );
        assert!(Faults::default().merged(r#"{"auth_status": 42}"#).is_err());
        assert!(Faults::default().merged("[]").is_err());
    }

    #[test]
    fn token_never_serialized_or_debugged() {
        let f = Faults {
            token: Some("hunter2".into()),
            ..Faults::default()
        };
        assert!(!serde_json::to_string(&f).unwrap().contains("hunter2"));
        assert!(!format!("{f:?}").contains("hunter2"));
    }
}
