//! The HTTP core of the Cloakfusion client: configuration, the one `send`
//! path every endpoint goes through (limiter, headers, error mapping, 429
//! pause, token redaction) and list pagination. Endpoints live in
//! `endpoints.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use serde_json::Value;

use super::decode::{self, Page};
use super::error::ApiError;
use super::limiter::Limiter;
use crate::config::Secret;

const USER_AGENT: &str = concat!("edgeflush/", env!("CARGO_PKG_VERSION"));
/// Upper bound on pages followed, so a server whose `next` loops cannot
/// keep us busy forever.
pub(crate) const MAX_PAGES: usize = 10_000;
/// Upper bound on a body we are willing to hold in memory.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How to reach and how hard to use the Cloakfusion API.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://my.cloakfusion.com/api/v1`, with or without trailing slash.
    pub base_url: String,
    pub token: Secret,
    /// Whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// 0 = unlimited; one budget shared by all clones of the client.
    pub max_requests_per_minute: u32,
    /// 0 = unlimited; `flush` takes one per URL.
    pub max_urls_per_minute: u32,
    /// The seed prints two paths for properties; see the API doc.
    pub properties_path: String,
}

impl ClientConfig {
    /// Defaults: 30 s timeout, 10 s connect timeout, no rate limits,
    /// properties at `/vhostsproperty/`.
    pub fn new(base_url: impl Into<String>, token: Secret) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            token,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_requests_per_minute: 0,
            max_urls_per_minute: 0,
            properties_path: "/vhostsproperty/".to_string(),
        }
    }
}

/// A cheap-to-clone handle on the API; clones share the rate limiter and
/// the 429 pause.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    /// Base URL without trailing slash.
    base: Url,
    auth: HeaderValue,
    token: Secret,
    limiter: Limiter,
    pub(crate) properties_path: String,
    timeout: Duration,
    limits: (u32, u32),
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &i.base.as_str())
            .field("token", &i.token)
            .field("timeout", &i.timeout)
            .field("max_requests_per_minute", &i.limits.0)
            .field("max_urls_per_minute", &i.limits.1)
            .field("properties_path", &i.properties_path)
            .finish()
    }
}

/// A 2xx answer: its status and body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Client, ApiError> {
        let trimmed = cfg.base_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed)
            .map_err(|e| ApiError::Config(format!("base_url {trimmed:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || !base.has_host() {
            return Err(ApiError::Config(format!(
                "base_url {trimmed:?} must be an http(s) URL with a host"
            )));
        }
        if cfg.timeout.is_zero() || cfg.connect_timeout.is_zero() {
            return Err(ApiError::Config("timeouts must be above zero".into()));
        }
        let mut auth =
            HeaderValue::from_str(&format!("Token {}", cfg.token.expose())).map_err(|_| {
                ApiError::Config("token contains characters not allowed in a header".into())
            })?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            // A redirect could carry the token elsewhere or turn a POST into
            // a GET; the API has no reason to redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Config(format!("HTTP client: {e}")))?;
        let mut properties_path = cfg.properties_path.trim().to_string();
        if !properties_path.starts_with('/') {
            properties_path.insert(0, '/');
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                token: cfg.token,
                limiter: Limiter::new(cfg.max_requests_per_minute, cfg.max_urls_per_minute),
                properties_path,
                timeout: cfg.timeout,
                limits: (cfg.max_requests_per_minute, cfg.max_urls_per_minute),
            }),
        })
    }

    /// When the limiter (budget or 429 pause) next lets a request through;
    /// `None` when a request could go now.
    pub fn throttled_until(&self) -> Option<Instant> {
        self.inner.limiter.throttled_until(Instant::now())
    }

    /// `base + path`, e.g. `endpoint("/flush/")`.
    pub(crate) fn endpoint(&self, path: &str) -> Url {
        let mut url = self.inner.base.clone();
        let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Where a page's `next` points, resolved against the request URL but
    /// forced onto the configured origin so that the token never travels to
    /// another host or over a downgraded scheme.
    fn next_url(&self, current: &Url, next: &str) -> Result<Url, ApiError> {
        let resolved = current.join(next).map_err(|e| ApiError::Decode {
            what: format!("page link: {e}"),
            snippet: next.chars().take(200).collect(),
        })?;
        let mut url = self.inner.base.clone();
        url.set_path(resolved.path());
        url.set_query(resolved.query());
        if resolved.origin() != url.origin() {
            tracing::debug!(next = %resolved, "page link points elsewhere; kept on the configured origin");
        }
        Ok(url)
    }

    /// The one way a request leaves this client: waits for the limiter,
    /// sends, reads the body and maps failures. `urls` is the URL budget
    /// this request consumes.
    pub(crate) async fn send(
        &self,
        method: Method,
        mut url: Url,
        body: Option<&Value>,
        urls: u32,
    ) -> Result<Answer, ApiError> {
        let inner = &self.inner;
        set_format_json(&mut url);
        inner.limiter.acquire(1, urls).await;
        let mut req = inner
            .http
            .request(method.clone(), url.clone())
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, inner.auth.clone());
        if let Some(b) = body {
            req = req.json(b);
        }
        let started = Instant::now();
        // Redacted before anything logs or returns it.
        let result = self
            .exchange(req)
            .await
            .map_err(|e| e.redact(inner.token.expose()));
        let path = url.path();
        match &result {
            Ok(a) => {
                tracing::debug!(%method, path, status = a.status, elapsed = ?started.elapsed(), "cloakfusion answered")
            }
            Err(e) => {
                tracing::debug!(%method, path, kind = e.kind(), error = %e, "cloakfusion call failed")
            }
        }
        if let Err(ApiError::Throttled { retry_after, .. }) = &result {
            let wait = retry_after.unwrap_or(super::error::DEFAULT_RETRY_AFTER);
            inner.limiter.pause_until(Instant::now() + wait);
        }
        result
    }

    async fn exchange(&self, req: reqwest::RequestBuilder) -> Result<Answer, ApiError> {
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::Decode {
                    what: format!("answer larger than {MAX_BODY_BYTES} bytes"),
                    snippet: super::text::snippet(&body[..body.len().min(1024)]),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            return Ok(Answer { status, body });
        }
        Err(ApiError::from_status(
            status,
            retry_after.as_deref(),
            &body,
            SystemTime::now(),
        ))
    }

    /// Fetches every page of a list: GET `next` for plain lists, or POST the
    /// same body to it (flush status).
    pub(crate) async fn collect_pages<T>(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        parse: impl Fn(&[u8]) -> Result<Page<T>, ApiError>,
    ) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        let mut url = url;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let answer = self.send(method.clone(), url.clone(), body, 0).await?;
            let page = parse(&answer.body)?;
            items.extend(page.items);
            let Some(next) = page.next else {
                return Ok(items);
            };
            let next = self.next_url(&url, &next)?;
            if !seen.insert(next.to_string()) {
                return Err(ApiError::Decode {
                    what: "pagination loops".into(),
                    snippet: next.path().to_string(),
                });
            }
            url = next;
        }
        Err(ApiError::Decode {
            what: format!("more than {MAX_PAGES} pages"),
            snippet: url.path().to_string(),
        })
    }

    /// A body that must be one JSON object of type `T`.
    pub(crate) fn object<T: serde::de::DeserializeOwned>(
        answer: &Answer,
        what: &str,
    ) -> Result<T, ApiError> {
        decode::object(&answer.body, what)
    }
}

/// `format=json` exactly once, whatever a `next` link already carries.
fn set_format_json(url: &mut Url) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "format")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = url.query_pairs_mut();
    q.clear();
    for (k, v) in &kept {
        q.append_pair(k, v);
    }
    q.append_pair("format", "json");
}

/// reqwest errors name the URL (never headers); the chain of sources says
/// what actually went wrong (refused, reset, TLS).
fn transport(e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout;
    }
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    ApiError::Transport(parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(ClientConfig::new(base, Secret::new("s3cr3t"))).unwrap()
    }

    #[test]
    fn base_url_with_or_without_slash() {
        for base in [
            "http://h:1/api/v1",
            "http://h:1/api/v1/",
            "http://h:1/api/v1//",
        ] {
            assert_eq!(
                client(base).endpoint("/flush/").as_str(),
                "http://h:1/api/v1/flush/"
            );
        }
        assert_eq!(
            client("https://h").endpoint("/vhosts/").as_str(),
            "https://h/vhosts/"
        );
    }

    #[test]
    fn bad_configs_are_refused() {
        for base in ["", "not a url", "ftp://h/", "file:///tmp"] {
            let e = Client::new(ClientConfig::new(base, Secret::new("t"))).unwrap_err();
            assert_eq!(e.kind(), "config", "{base}");
        }
        let e = Client::new(ClientConfig::new("http://h", Secret::new("bad\ntoken"))).unwrap_err();
        assert!(!e.to_string().contains("bad\ntoken"));
        let mut cfg = ClientConfig::new("http://h", Secret::new("t"));
        cfg.timeout = Duration::ZERO;
        assert!(Client::new(cfg).is_err());
    }

    #[test]
    fn debug_hides_token() {
        let c = client("http://h/api/v1");
        let d = format!("{c:?}");
        assert!(!d.contains("s3cr3t"), "{d}");
        assert!(d.contains("http://h/api/v1"));
        let cfg = ClientConfig::new("http://h", Secret::new("s3cr3t"));
        assert!(!format!("{cfg:?}").contains("s3cr3t"));
    }

    #[test]
    fn format_json_once() {
        let mut u = Url::parse("http://h/x/?page=2&format=api&format=json").unwrap();
        set_format_json(&mut u);
        assert_eq!(u.query(), Some("page=2&format=json"));
        let mut u = Url::parse("http://h/x/").unwrap();
        set_format_json(&mut u);
        assert_eq!(u.query(), Some("format=json"));
    }

    #[test]
    fn next_links_stay_on_our_origin() {
        let c = client("https://api.example.com/api/v1/");
        let cur = c.endpoint("/vhosts/");
        let n = c
            .next_url(&cur, "http://evil.example.net:8080/api/v1/vhosts/?page=2")
            .unwrap();
        assert_eq!(n.as_str(), "https://api.example.com/api/v1/vhosts/?page=2");
        let n = c.next_url(&cur, "?page=3").unwrap();
        assert_eq!(n.as_str(), "https://api.example.com/api/v1/vhosts/?page=3");
        let n = c.next_url(&cur, "/api/v1/vhosts/?page=4").unwrap();
        assert_eq!(n.as_str(), "https://api.example.com/api/v1/vhosts/?page=4");
    }
}
