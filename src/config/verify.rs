//! `[site.verify]` compiled: whether, where and how hard edgeflush checks at
//! the CDN edge that a confirmed purge really serves the new file. Parsed
//! once here so the verifier never sees an address or a duration string.

use super::raw::{RawSample, RawVerify};
use super::units::parse_duration;
use std::net::SocketAddr;
use std::time::Duration;

/// How the edge is reached for a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Connect to this address instead of resolving the URL's host; scheme,
    /// TLS and SNI stay the URL's (like `curl --resolve`).
    Resolve(SocketAddr),
    /// Send the URL's path and query to this base (`http://host:port`) with
    /// the URL's host in the `Host` header: an edge node or test address.
    Base(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMethod {
    /// Headers and body: every comparison, up to the content hash.
    Get,
    /// Headers only: ETag, size and Last-Modified.
    Head,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySettings {
    /// None: the URL itself, through public DNS.
    pub via: Option<Via>,
    /// Base URL of the origin, asked for its current ETag (default: the
    /// site's `origin_url`).
    pub origin: Option<String>,
    /// At most this many URLs of a batch are checked; None: all.
    pub sample: Option<usize>,
    /// Re-flushes of a URL found stale before it becomes a dead letter.
    pub max_reflush: u32,
    pub method: VerifyMethod,
    /// Wait after confirmation before checking.
    pub delay: Duration,
    pub timeout: Duration,
    /// Verification requests in flight at once for the site.
    pub concurrency: usize,
    /// Verification requests per second to the edge for the site.
    pub max_requests_per_second: u32,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            via: None,
            origin: None,
            sample: Some(25),
            max_reflush: 2,
            method: VerifyMethod::Get,
            delay: Duration::ZERO,
            timeout: Duration::from_secs(10),
            concurrency: 4,
            max_requests_per_second: 10,
        }
    }
}

fn http_base(s: &str) -> Option<String> {
    let u = reqwest::Url::parse(s).ok()?;
    (matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .then(|| s.trim_end_matches('/').to_string())
}

/// Compiles one site's `verify` table (`key` is e.g. "site[0].verify");
/// None when absent or disabled. Problems go through `push(key, message)`.
pub(super) fn compile(
    raw: Option<&RawVerify>,
    origin_url: Option<&str>,
    key: &str,
    mut push: impl FnMut(String, String),
) -> Option<VerifySettings> {
    let raw = raw?;
    let def = VerifySettings::default();
    let mut k = |name: &str, msg: String| push(format!("{key}.{name}"), msg);
    let via = raw.via.as_deref().and_then(|v| {
        if let Ok(addr) = v.parse::<SocketAddr>() {
            Some(Via::Resolve(addr))
        } else if let Some(base) = http_base(v) {
            Some(Via::Base(base))
        } else {
            k(
                "via",
                format!(
                    "{v:?} is neither IP:PORT (\"203.0.113.7:443\") nor an http(s) base URL (\"http://127.0.0.1:8472\")"
                ),
            );
            None
        }
    });
    let origin = match raw.origin.as_deref().or(origin_url) {
        None => None,
        Some(o) => http_base(o).or_else(|| {
            k("origin", format!("{o:?} is not an http(s) URL"));
            None
        }),
    };
    let sample = match &raw.sample {
        None => def.sample,
        Some(RawSample::Count(0)) => {
            k("sample", "must be \"all\" or at least 1".into());
            def.sample
        }
        Some(RawSample::Count(n)) => Some(*n as usize),
        Some(RawSample::Word(w)) if w.eq_ignore_ascii_case("all") => None,
        Some(RawSample::Word(w)) => match w.trim().parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                k(
                    "sample",
                    format!("{w:?}: expected \"all\" or a number of URLs"),
                );
                def.sample
            }
        },
    };
    let method = match raw
        .method
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("get") => VerifyMethod::Get,
        Some("head") => VerifyMethod::Head,
        Some(m) => {
            k("method", format!("{m:?}: expected \"get\" or \"head\""));
            VerifyMethod::Get
        }
    };
    let mut duration = |name: &str, v: &Option<String>, default: Duration| match v {
        None => default,
        Some(s) => parse_duration(s).unwrap_or_else(|e| {
            k(name, e);
            default
        }),
    };
    let delay = duration("delay", &raw.delay, def.delay);
    let timeout = duration("timeout", &raw.timeout, def.timeout);
    let concurrency = raw.concurrency.unwrap_or(def.concurrency);
    let rate = raw
        .max_requests_per_second
        .unwrap_or(def.max_requests_per_second);
    if concurrency == 0 {
        k("concurrency", "must be at least 1".into());
    }
    if rate == 0 {
        k("max_requests_per_second", "must be at least 1".into());
    }
    if timeout.is_zero() {
        k("timeout", "must be more than 0s".into());
    }
    raw.enabled.unwrap_or(false).then_some(VerifySettings {
        via,
        origin,
        sample,
        max_reflush: raw.max_reflush.unwrap_or(def.max_reflush),
        method,
        delay,
        timeout: if timeout.is_zero() {
            def.timeout
        } else {
            timeout
        },
        concurrency: concurrency.max(1),
        max_requests_per_second: rate.max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: RawVerify, origin: Option<&str>) -> (Option<VerifySettings>, Vec<String>) {
        let mut issues = Vec::new();
        let s = compile(Some(&raw), origin, "site[0].verify", |k, m| {
            issues.push(format!("{k}: {m}"))
        });
        (s, issues)
    }

    #[test]
    fn absent_or_disabled_is_off() {
        assert_eq!(compile(None, None, "k", |_, _| panic!()), None);
        let (s, issues) = run(RawVerify::default(), None);
        assert_eq!((s, issues.len()), (None, 0));
    }

    #[test]
    fn values_compile() {
        let (s, issues) = run(
            RawVerify {
                enabled: Some(true),
                via: Some("http://127.0.0.1:8472/".into()),
                sample: Some(RawSample::Word("all".into())),
                method: Some("HEAD".into()),
                delay: Some("250ms".into()),
                ..RawVerify::default()
            },
            Some("http://origin.test:8080/"),
        );
        assert!(issues.is_empty(), "{issues:?}");
        let s = s.unwrap();
        assert_eq!(s.via, Some(Via::Base("http://127.0.0.1:8472".into())));
        assert_eq!(s.origin.as_deref(), Some("http://origin.test:8080"));
        assert_eq!((s.sample, s.method), (None, VerifyMethod::Head));
        assert_eq!(s.delay, Duration::from_millis(250));
        let (s, _) = run(
            RawVerify {
                enabled: Some(true),
                via: Some("203.0.113.7:443".into()),
                sample: Some(RawSample::Count(3)),
                ..RawVerify::default()
            },
            None,
        );
        let s = s.unwrap();
        assert_eq!(
            s.via,
            Some(Via::Resolve("203.0.113.7:443".parse().unwrap()))
        );
        assert_eq!((s.sample, s.origin), (Some(3), None));
    }

    #[test]
    fn every_problem_is_named() {
        let (_, issues) = run(
            RawVerify {
                enabled: Some(true),
                via: Some("edge".into()),
                origin: Some("ftp://x".into()),
                sample: Some(RawSample::Word("some".into())),
                method: Some("post".into()),
                timeout: Some("soon".into()),
                concurrency: Some(0),
                max_requests_per_second: Some(0),
                ..RawVerify::default()
            },
            None,
        );
        let keys: Vec<&str> = issues
            .iter()
            .map(|i| i.split(':').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "site[0].verify.via",
                "site[0].verify.origin",
                "site[0].verify.sample",
                "site[0].verify.method",
                "site[0].verify.timeout",
                "site[0].verify.concurrency",
                "site[0].verify.max_requests_per_second"
            ]
        );
    }
}
