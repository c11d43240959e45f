//! The simulator as a CDN edge: a second loopback listener that serves every
//! vhost's domain (routed by the `Host` header) from a cache filled from the
//! vhost's `origin_url`. A cached copy lives until the vhost's `ttl` property
//! runs out or a flush of its URL completes, so a test (or the demo) can see
//! a page stale before a purge and fresh after it, and the
//! `edge_ignore_purge_regex` fault gives an edge that ignores purges.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::SimError;
use super::state::{SimState, unix_ms};

/// A cached object's lifetime when its vhost has no `ttl` property.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Origin headers the edge keeps and serves again.
const KEPT_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CACHE_CONTROL,
];

struct Entry {
    status: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: web::Bytes,
    stored: Instant,
}

/// One request the edge answered, for tests (never a header value).
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct EdgeRequest {
    pub at_ms: u64,
    pub method: String,
    pub host: String,
    pub path: String,
    /// "hit", "miss", "pass" (ttl 0), or "error" (unknown host, origin down).
    pub cache: String,
    pub status: u16,
}

/// The edge's cache and request log. Cheap to clone.
#[derive(Clone)]
pub struct EdgeState {
    inner: Arc<EdgeInner>,
}

struct EdgeInner {
    cache: Mutex<HashMap<String, Entry>>,
    log: Mutex<Vec<EdgeRequest>>,
    origin: reqwest::Client,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EdgeState {
    pub(crate) fn new() -> Result<EdgeState, SimError> {
        let origin = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SimError::Serve(format!("edge origin client: {e}")))?;
        Ok(EdgeState {
            inner: Arc::new(EdgeInner {
                cache: Mutex::new(HashMap::new()),
                log: Mutex::new(Vec::new()),
                origin,
            }),
        })
    }

    /// Every request the edge answered since start, oldest first.
    pub fn requests(&self) -> Vec<EdgeRequest> {
        locked(&self.inner.log).clone()
    }

    /// Drops every cached object and the request log.
    pub fn clear(&self) {
        locked(&self.inner.cache).clear();
        locked(&self.inner.log).clear();
    }

    fn record(&self, req: &HttpRequest, host: &str, cache: &str, status: u16) {
        locked(&self.inner.log).push(EdgeRequest {
            at_ms: unix_ms(std::time::SystemTime::now()),
            method: req.method().to_string(),
            host: host.to_string(),
            path: req.uri().path().to_string(),
            cache: cache.to_string(),
            status,
        });
    }
}

/// The `Host` header without its port, lower-cased.
fn host_of(req: &HttpRequest) -> String {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    };
    host.to_ascii_lowercase()
}

fn answer(e: &Entry, age: Duration, cache: &str) -> HttpResponse {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::OK);
    let mut r = HttpResponse::build(status);
    for (k, v) in &e.headers {
        r.insert_header((k.clone(), v.clone()));
    }
    r.insert_header((header::AGE, age.as_secs().to_string()));
    r.insert_header(("X-Cache", cache.to_ascii_uppercase()));
    r.insert_header((header::VIA, "1.1 cloakfusion-sim"));
    // actix answers HEAD with this body's Content-Length and no body.
    r.body(e.body.clone())
}

fn edge_error(status: StatusCode, msg: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/plain"))
        .body(format!("{msg}\n"))
}

async fn serve(
    req: HttpRequest,
    sim: web::Data<SimState>,
    edge: web::Data<EdgeState>,
) -> HttpResponse {
    let host = host_of(&req);
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        edge.record(&req, &host, "error", 405);
        return edge_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "the edge serves GET and HEAD",
        );
    }
    let path = req.uri().path().to_string();
    let decoded = percent_encoding::percent_decode_str(&path)
        .decode_utf8_lossy()
        .into_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or(path.clone(), |pq| pq.as_str().to_string());
    let now = Instant::now();
    let found = {
        let d = sim.lock();
        d.vhost_by_domain(&host).map(|v| {
            let ttl = d.ttl_of(v.id).map_or(DEFAULT_TTL, Duration::from_secs);
            let purged = d.last_purge(&v.domain_name, &decoded, now);
            (
                v.domain_name.to_ascii_lowercase(),
                v.origin_url.clone(),
                ttl,
                purged,
            )
        })
    };
    let Some((domain, origin_url, ttl, purged)) = found else {
        edge.record(&req, &host, "error", 404);
        return edge_error(StatusCode::NOT_FOUND, "no vhost serves this host");
    };
    let key = format!("{domain}{target}");
    {
        let cache = locked(&edge.inner.cache);
        if let Some(e) = cache.get(&key) {
            let age = now.duration_since(e.stored);
            let dropped = purged.is_some_and(|p| p > e.stored);
            if age < ttl && !dropped {
                let r = answer(e, age, "hit");
                drop(cache);
                edge.record(&req, &host, "hit", r.status().as_u16());
                return r;
            }
        }
    }
    let url = format!("{}{target}", origin_url.trim_end_matches('/'));
    let fetched = async {
        let resp = edge.inner.origin.get(&url).send().await?;
        let status = resp.status().as_u16();
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|k| {
                let v = resp.headers().get(k.as_str())?;
                Some((k.clone(), HeaderValue::from_bytes(v.as_bytes()).ok()?))
            })
            .collect();
        let body = resp.bytes().await?;
        Ok::<_, reqwest::Error>(Entry {
            status,
            headers,
            body,
            stored: Instant::now(),
        })
    }
    .await;
    let entry = match fetched {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!(host, error = %e, "edge: origin fetch failed");
            edge.record(&req, &host, "error", 502);
            return edge_error(StatusCode::BAD_GATEWAY, "origin unreachable");
        }
    };
    let cache_it = entry.status == 200 && !ttl.is_zero();
    let label = if cache_it { "miss" } else { "pass" };
    let r = answer(&entry, Duration::ZERO, label);
    if cache_it {
        locked(&edge.inner.cache).insert(key, entry);
    }
    edge.record(&req, &host, label, r.status().as_u16());
    r
}

async fn requests(edge: web::Data<EdgeState>) -> HttpResponse {
    HttpResponse::Ok().json(edge.requests())
}

async fn clear(edge: web::Data<EdgeState>) -> HttpResponse {
    edge.clear();
    HttpResponse::NoContent().finish()
}

/// `/_sim/edge/requests` (GET) and `/_sim/edge/clear` (POST) on the API listener.
pub(crate) fn configure_control(cfg: &mut web::ServiceConfig) {
    cfg.route("/_sim/edge/requests", web::get().to(requests))
        .route("/_sim/edge/clear", web::post().to(clear));
}

/// Binds the edge listener; the server runs once spawned.
pub(crate) fn bind(
    listen: &str,
    sim: SimState,
    edge: EdgeState,
) -> Result<(SocketAddr, actix_web::dev::Server), SimError> {
    let bind_err = |source| SimError::Bind {
        addr: listen.to_string(),
        source,
    };
    let listener = std::net::TcpListener::bind(listen).map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let (sim, edge) = (web::Data::new(sim), web::Data::new(edge));
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(sim.clone())
            .app_data(edge.clone())
            .default_service(web::to(serve))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(2)
    .listen(listener)
    .map_err(bind_err)?
    .run();
    Ok((addr, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_without_port() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::HOST, "WWW.Example.com:8472"))
            .to_http_request();
        assert_eq!(host_of(&req), "www.example.com");
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::HOST, "a.test"))
            .to_http_request();
        assert_eq!(host_of(&req), "a.test");
    }
}
