//! Start options and the fault switches of the simulator. Every variation the
//! API doc says a client must accept is one field of `Faults`, so a test can
//! set it at start (`--faults`) or flip it mid-run (`/_sim/faults`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::SimError;

/// Well-known default token: it guards nothing, so it may be shown in logs.
pub const DEFAULT_TOKEN: &str = "sim-token";

/// How the simulator is started. `clap::Args` so the CLI can flatten it into
/// `edgeflush simulate` / `edgeflush demo`.
#[derive(clap::Args, Clone)]
pub struct SimOptions {
    /// Address to listen on; tests pass "127.0.0.1:0".
    #[arg(long, default_value = "127.0.0.1:8471")]
    pub listen: String,
    /// API token the simulator accepts (`Authorization: Token <token>`).
    #[arg(
        long,
        env = "EDGEFLUSH_SIM_TOKEN",
        default_value = DEFAULT_TOKEN,
        hide_env_values = true,
        hide_default_value = false
    )]
    pub token: String,
    /// A vhost that exists at start (name = domain, origin http://127.0.0.1:1/). Repeatable.
    #[arg(long = "vhost", value_name = "DOMAIN")]
    pub vhosts: Vec<String>,
    /// JSON file: {"vhosts":[{name,domain_name,origin_url}], "properties":[{vhost,ttl,...}]}.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<std::path::PathBuf>,
    /// How long after its flush a URL reports done (humantime, e.g. "1s", "250ms").
    #[arg(long, default_value = "1s")]
    pub flush_delay: String,
    /// A JSON `Faults` object (partial) applied at start.
    #[arg(long, value_name = "JSON")]
    pub faults: Option<String>,
    /// Serve every list as pages of `--page-size` items.
    #[arg(long)]
    pub pages: bool,
    /// Items per page when `--pages` is on.
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,
    /// Largest accepted flush batch (413 beyond it).
    #[arg(long = "max-urls", value_name = "N")]
    pub max_urls: Option<usize>,
    /// Share (0..1) of API requests answered with a random 5xx.
    #[arg(long, value_name = "RATE")]
    pub fail_rate: Option<f64>,
    /// Extra latency of every API answer (humantime, e.g. "50ms").
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// Requests per minute before answering 429.
    #[arg(long, value_name = "N")]
    pub throttle_per_minute: Option<u32>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: "127.0.0.1:8471".to_string(),
            token: DEFAULT_TOKEN.to_string(),
            vhosts: Vec::new(),
            seed: None,
            flush_delay: "1s".to_string(),
            faults: None,
            pages: false,
            page_size: None,
            max_urls: None,
            fail_rate: None,
            latency: None,
            throttle_per_minute: None,
        }
    }
}

/// Hand-written so the token never reaches a log line through `{:?}`.
impl fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimOptions")
            .field("listen", &self.listen)
            .field("token", &"[redacted]")
            .field("vhosts", &self.vhosts)
            .field("seed", &self.seed)
            .field("flush_delay", &self.flush_delay)
            .field("faults", &self.faults)
            .field("pages", &self.pages)
            .field("page_size", &self.page_size)
            .field("max_urls", &self.max_urls)
            .field("fail_rate", &self.fail_rate)
            .field("latency", &self.latency)
            .field("throttle_per_minute", &self.throttle_per_minute)
            .finish()
    }
}

impl SimOptions {
    pub(crate) fn flush_delay(&self) -> Result<Duration, SimError> {
        humantime::parse_duration(self.flush_delay.trim()).map_err(|e| SimError::Option {
            option: "flush-delay",
            reason: e.to_string(),
        })
    }

    /// The start faults: `--faults` first, then the convenience flags on top.
    pub(crate) fn initial_faults(&self) -> Result<Faults, SimError> {
        let mut faults = match &self.faults {
            Some(text) => Faults::default().merged(text)?,
            None => Faults::default(),
        };
        if self.pages {
            faults.pages = true;
        }
        if let Some(n) = self.page_size {
            faults.page_size = n;
        }
        if let Some(n) = self.max_urls {
            faults.max_urls_per_flush = n;
        }
        if let Some(r) = self.fail_rate {
            faults.fail_rate = r;
        }
        if let Some(l) = &self.latency {
            let d = humantime::parse_duration(l.trim()).map_err(|e| SimError::Option {
                option: "latency",
                reason: e.to_string(),
            })?;
            faults.latency_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        }
        if let Some(n) = self.throttle_per_minute {
            faults.throttle_per_minute = n;
        }
        faults.validate()?;
        Ok(faults)
    }
}

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
        let o = SimOptions {
            token: "hunter2".into(),
            ..SimOptions::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }

    #[test]
    fn convenience_flags_override_json() {
        let o = SimOptions {
            faults: Some(r#"{"max_urls_per_flush": 5, "pages": false}"#.into()),
            max_urls: Some(3),
            pages: true,
            latency: Some("20ms".into()),
            ..SimOptions::default()
        };
        let f = o.initial_faults().unwrap();
        assert_eq!(f.max_urls_per_flush, 3);
        assert!(f.pages);
        assert_eq!(f.latency_ms, 20);
        assert_eq!(o.flush_delay().unwrap(), Duration::from_secs(1));
    }
}
