//! The verification requests: one to the edge (through `verify.via` when
//! public DNS is not the way) and, when an origin is known, one HEAD to the
//! origin for its current ETag. Redirects are not followed and bodies are
//! hashed as they stream, so a large file costs no memory.

use super::judge::Observed;
use crate::config::{Site, VerifyMethod, VerifySettings, Via};
use reqwest::header::{AGE, CONTENT_LENGTH, ETAG, HOST, LAST_MODIFIED};
use sha2::{Digest, Sha256};

const USER_AGENT: &str = concat!("edgeflush/", env!("CARGO_PKG_VERSION"), " (verify)");

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Connection refused, DNS, TLS, timeout: the edge (or origin) cannot be
    /// reached, so the answer is unknown and the site backs off.
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("bad URL {0:?}")]
    BadUrl(String),
    #[error("client: {0}")]
    Client(String),
}

impl ProbeError {
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ProbeError::Unreachable(_))
    }
}

/// A site's clients, built once per worker start.
pub struct Prober {
    edge: reqwest::Client,
    origin: reqwest::Client,
    settings: VerifySettings,
}

fn builder(v: &VerifySettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(v.timeout)
        .connect_timeout(v.timeout.min(std::time::Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
}

impl Prober {
    pub fn new(site: &Site, v: &VerifySettings) -> Result<Prober, ProbeError> {
        let mut edge = builder(v);
        if let Some(Via::Resolve(addr)) = &v.via {
            for base in site.map.base_urls() {
                if let Some(host) = reqwest::Url::parse(base)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                {
                    edge = edge.resolve(&host, *addr);
                }
            }
        }
        let err = |e: reqwest::Error| ProbeError::Client(e.to_string());
        Ok(Prober {
            edge: edge.build().map_err(err)?,
            origin: builder(v).build().map_err(err)?,
            settings: v.clone(),
        })
    }

    /// What the edge serves for `url`.
    pub async fn edge(&self, url: &str) -> Result<Observed, ProbeError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| ProbeError::BadUrl(url.to_string()))?;
        let head = self.settings.method == VerifyMethod::Head;
        let req = match &self.settings.via {
            Some(Via::Base(base)) => {
                let mut target = format!("{base}{}", parsed.path());
                if let Some(q) = parsed.query() {
                    target.push('?');
                    target.push_str(q);
                }
                let host = match parsed.port() {
                    Some(p) => format!("{}:{p}", parsed.host_str().unwrap_or_default()),
                    None => parsed.host_str().unwrap_or_default().to_string(),
                };
                self.request(&self.edge, head, &target).header(HOST, host)
            }
            _ => self.request(&self.edge, head, url),
        };
        observe(req, !head).await
    }

    /// What the origin has now for `path` (HEAD), when one is configured.
    pub async fn origin(&self, url_path: &str) -> Option<Result<Observed, ProbeError>> {
        let base = self.settings.origin.as_deref()?;
        let req = self.origin.head(format!("{base}{url_path}"));
        Some(observe(req, false).await)
    }

    fn request(&self, c: &reqwest::Client, head: bool, url: &str) -> reqwest::RequestBuilder {
        if head { c.head(url) } else { c.get(url) }
    }
}

fn classify(e: reqwest::Error) -> ProbeError {
    if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() {
        ProbeError::Unreachable(e.to_string())
    } else {
        ProbeError::Client(e.to_string())
    }
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

async fn observe(req: reqwest::RequestBuilder, body: bool) -> Result<Observed, ProbeError> {
    let mut resp = req.send().await.map_err(classify)?;
    let mut o = Observed {
        status: resp.status().as_u16(),
        etag: header(&resp, ETAG),
        last_modified: header(&resp, LAST_MODIFIED)
            .and_then(|s| httpdate::parse_http_date(&s).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64),
        length: header(&resp, CONTENT_LENGTH).and_then(|s| s.parse().ok()),
        sha256: None,
        age: header(&resp, AGE).and_then(|s| s.parse().ok()),
    };
    if body {
        let mut h = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            n += chunk.len() as u64;
            h.update(&chunk);
        }
        o.length = Some(n);
        o.sha256 = Some(h.finalize().into());
    }
    Ok(o)
}
