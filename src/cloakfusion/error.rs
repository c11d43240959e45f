//! The one error type of the Cloakfusion client, and the ONE place that
//! decides which failures are worth retrying, so the sink, the poller and the
//! CLI never disagree about it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::text::{extract_urls, snippet};

/// Why a call to the Cloakfusion API failed. Messages carry the server's
/// words (shortened), never the token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401/403: the key is missing, wrong or revoked. Retrying cannot help.
    #[error("authentication refused ({status}): {detail}")]
    Auth { status: u16, detail: String },
    /// 429: the server asked us to slow down; the client pauses itself.
    #[error("throttled (retry after {retry_after:?}): {detail}")]
    Throttled {
        retry_after: Option<Duration>,
        detail: String,
    },
    /// 413, or 400 about too many URLs: the batch must be split.
    #[error("batch too large ({status}): {detail}")]
    TooLarge { status: u16, detail: String },
    /// The server refused the request itself (400 and other 4xx).
    #[error("request rejected ({status}): {detail}")]
    Rejected {
        status: u16,
        detail: String,
        fields: BTreeMap<String, Vec<String>>,
    },
    /// 404/410: wrong base URL or path, or an unknown vhost.
    #[error("not found")]
    NotFound,
    /// 5xx: the server or a proxy in front of it failed.
    #[error("server error ({status}): {snippet}")]
    Server { status: u16, snippet: String },
    /// No complete answer within the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// Connection refused, reset, DNS or TLS failure.
    #[error("transport error: {0}")]
    Transport(String),
    /// A success status with a body we cannot read (HTML, wrong shape).
    #[error("cannot decode {what}: {snippet}")]
    Decode { what: String, snippet: String },
    /// The client could not be built from its configuration.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl ApiError {
    /// Only throttling, server errors, timeouts and connection failures are
    /// transient; everything else needs a human or a different request.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::Throttled { .. }
                | ApiError::Server { .. }
                | ApiError::Timeout
                | ApiError::Transport(_)
        )
    }

    /// A bounded label, safe to use as a metrics label value.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Auth { .. } => "auth",
            ApiError::Throttled { .. } => "throttled",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::Rejected { .. } => "rejected",
            ApiError::NotFound => "not_found",
            ApiError::Server { .. } => "server",
            ApiError::Timeout => "timeout",
            ApiError::Transport(_) => "transport",
            ApiError::Decode { .. } => "decode",
            ApiError::Config(_) => "config",
        }
    }

    /// How long the server asked us to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// URLs the server named in field errors (in keys or messages), so a
    /// caller can drop the offenders and resend the rest of a batch.
    pub fn rejected_urls(&self) -> Vec<String> {
        let ApiError::Rejected { fields, .. } = self else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for (key, messages) in fields {
            let found = extract_urls(key)
                .into_iter()
                .chain(messages.iter().flat_map(|m| extract_urls(m)));
            for url in found {
                if !out.contains(&url) {
                    out.push(url);
                }
            }
        }
        out
    }

    /// Replaces every occurrence of `secret` in the texts of this error, in
    /// case a server or proxy echoes the key back.
    pub(crate) fn redact(self, secret: &str) -> ApiError {
        if secret.is_empty() {
            return self;
        }
        let r = |s: String| s.replace(secret, "[redacted]");
        match self {
            ApiError::Auth { status, detail } => ApiError::Auth {
                status,
                detail: r(detail),
            },
            ApiError::Throttled {
                retry_after,
                detail,
            } => ApiError::Throttled {
                retry_after,
                detail: r(detail),
            },
            ApiError::TooLarge { status, detail } => ApiError::TooLarge {
                status,
                detail: r(detail),
            },
            ApiError::Rejected {
                status,
                detail,
                fields,
            } => ApiError::Rejected {
                status,
                detail: r(detail),
                fields: fields
                    .into_iter()
                    .map(|(k, v)| (r(k), v.into_iter().map(r).collect()))
                    .collect(),
            },
            ApiError::Server { status, snippet } => ApiError::Server {
                status,
                snippet: r(snippet),
            },
            ApiError::Transport(s) => ApiError::Transport(r(s)),
            ApiError::Decode { what, snippet } => ApiError::Decode {
                what: r(what),
                snippet: r(snippet),
            },
            ApiError::Config(s) => ApiError::Config(r(s)),
            other @ (ApiError::NotFound | ApiError::Timeout) => other,
        }
    }

    /// Maps a non-2xx answer to its typed error. `retry_after` is the raw
    /// `Retry-After` header; `now` makes HTTP dates testable.
    pub(crate) fn from_status(
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
        now: std::time::SystemTime,
    ) -> ApiError {
        let parsed = ErrorBody::parse(body);
        match status {
            401 | 403 => ApiError::Auth {
                status,
                detail: parsed.summary(),
            },
            404 | 410 => ApiError::NotFound,
            413 => ApiError::TooLarge {
                status,
                detail: parsed.summary(),
            },
            429 => {
                let detail = parsed.summary();
                let wait = retry_after
                    .and_then(|h| parse_retry_after(h, now))
                    .or_else(|| seconds_in_detail(&detail))
                    .unwrap_or(DEFAULT_RETRY_AFTER);
                ApiError::Throttled {
                    retry_after: Some(wait),
                    detail,
                }
            }
            500..=599 => ApiError::Server {
                status,
                snippet: parsed.summary(),
            },
            _ if status == 400 && parsed.mentions_too_many_urls() => ApiError::TooLarge {
                status,
                detail: parsed.summary(),
            },
            _ => ApiError::Rejected {
                status,
                detail: parsed.summary(),
                fields: parsed.fields,
            },
        }
    }
}

/// What an error body told us: a `detail`, field errors, or (HTML, plain
/// text) a short snippet of it.
#[derive(Debug, Default)]
struct ErrorBody {
    detail: Option<String>,
    fields: BTreeMap<String, Vec<String>>,
    text: String,
}

impl ErrorBody {
    fn parse(body: &[u8]) -> ErrorBody {
        let mut out = ErrorBody::default();
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(map)) => {
                for (key, value) in map {
                    if key == "detail" {
                        out.detail = Some(flat_text(&value));
                    } else {
                        flatten_field(&key, &value, &mut out.fields);
                    }
                }
            }
            Ok(serde_json::Value::Array(items)) => {
                // DRF answers a raised ValidationError(list) with a bare array.
                let msgs: Vec<String> = items.iter().map(flat_text).collect();
                out.detail = Some(msgs.join("; "));
            }
            Ok(other) => out.detail = Some(flat_text(&other)),
            Err(_) => out.text = snippet(body),
        }
        out
    }

    /// One line for logs: the detail, else the field errors, else the snippet.
    fn summary(&self) -> String {
        if let Some(d) = &self.detail {
            return shorten(d);
        }
        if !self.fields.is_empty() {
            let parts: Vec<String> = self
                .fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.join(" ")))
                .collect();
            return shorten(&parts.join("; "));
        }
        if self.text.is_empty() {
            return "(empty body)".to_string();
        }
        self.text.clone()
    }

    fn mentions_too_many_urls(&self) -> bool {
        let mut texts: Vec<(String, &str)> = Vec::new();
        if let Some(d) = &self.detail {
            texts.push((d.to_lowercase(), ""));
        }
        texts.push((self.text.to_lowercase(), ""));
        for (k, msgs) in &self.fields {
            for m in msgs {
                texts.push((m.to_lowercase(), k.as_str()));
            }
        }
        texts.iter().any(|(t, key)| {
            let about_urls = t.contains("url") || key.starts_with("urls");
            let too_many = ["too many", "too large", "no more than", "exceed", "at most"]
                .iter()
                .any(|w| t.contains(w));
            about_urls && too_many
        })
    }
}

/// Flattens DRF's nested field errors (`{"urls": {"3": ["..."]}}`,
/// `{"urls": [[], ["..."]]}`) into `"urls.3": ["..."]`.
fn flatten_field(key: &str, value: &serde_json::Value, out: &mut BTreeMap<String, Vec<String>>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_field(&format!("{key}.{k}"), v, out);
            }
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            let msgs = items.iter().map(flat_text).collect::<Vec<_>>();
            out.entry(key.to_string()).or_default().extend(msgs);
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                match v {
                    Value::Object(_) | Value::Array(_) => {
                        flatten_field(&format!("{key}.{i}"), v, out)
                    }
                    other => out
                        .entry(key.to_string())
                        .or_default()
                        .push(flat_text(other)),
                }
            }
        }
        other => out
            .entry(key.to_string())
            .or_default()
            .push(flat_text(other)),
    }
}

fn flat_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}…")
}

/// The pause after a 429 that gave no hint how long to wait.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The longest pause a 429 can impose: a longer `Retry-After` (or throttle
/// message) is read as this, so an absurd value from a broken or hostile
/// server neither overflows `Instant + wait` (a panic) nor parks the queue
/// for years.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Seconds as a `Duration`, at most [`MAX_RETRY_AFTER`] (`from_secs_f64`
/// panics above `u64::MAX` seconds). `secs` is finite and not negative.
fn capped_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs)
        .unwrap_or(MAX_RETRY_AFTER)
        .min(MAX_RETRY_AFTER)
}

/// `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn parse_retry_after(header: &str, now: std::time::SystemTime) -> Option<Duration> {
    let h = header.trim();
    if let Ok(secs) = h.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    if let Ok(secs) = h.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(capped_secs(secs));
    }
    let at = httpdate::parse_http_date(h).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

/// DRF's throttle message: "Request was throttled. Expected available in 12 seconds."
pub(crate) fn seconds_in_detail(detail: &str) -> Option<Duration> {
    let lower = detail.to_lowercase();
    let start = lower.find("available in")? + "available in".len();
    let rest = lower[start..].trim_start();
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let secs: f64 = num.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| capped_secs(secs))
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
