//! A small static file server over a folder: the origin the simulated edge
//! pulls from in `edgeflush demo` and in tests. It answers as a typical
//! origin web server does (nginx's strong `"mtime-size"` ETag,
//! Last-Modified, Content-Length), so what edgeflush compares at the edge
//! is what a real origin gives it.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use actix_web::dev::ServerHandle;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use tokio::task::JoinHandle;

use super::SimError;

/// A running origin; dropping it stops the server.
pub struct OriginHandle {
    addr: SocketAddr,
    server: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl OriginHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`: what a vhost's `origin_url` is set to.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub async fn stop(mut self) {
        self.server.stop(true).await;
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for OriginHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            drop(self.server.stop(false));
        }
    }
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

/// The file a request path names under `root`: percent-decoded, no `..`,
/// a folder answered by its `index.html`.
fn resolve(root: &Path, raw_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()
        .ok()?;
    let rel = Path::new(decoded.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut p = root.join(rel);
    if p.is_dir() {
        p = p.join("index.html");
    }
    p.is_file().then_some(p)
}

async fn serve(req: HttpRequest, root: web::Data<PathBuf>) -> HttpResponse {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return HttpResponse::MethodNotAllowed().finish();
    }
    let Some(file) = resolve(&root, req.uri().path()) else {
        return HttpResponse::NotFound().body("not found\n");
    };
    let read = web::block(move || {
        let meta = std::fs::metadata(&file)?;
        let body = std::fs::read(&file)?;
        Ok::<_, std::io::Error>((file, meta, body))
    })
    .await;
    let Ok(Ok((file, meta, body))) = read else {
        return HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).body("read failed\n");
    };
    let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
    let secs = mtime.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(&file)))
        .insert_header((header::ETAG, format!("\"{secs:x}-{:x}\"", body.len())))
        .insert_header((header::LAST_MODIFIED, httpdate::fmt_http_date(mtime)))
        .body(body)
}

/// Serves `root` on `listen` ("127.0.0.1:0" picks a port) in the background.
pub fn serve_dir(root: PathBuf, listen: &str) -> Result<OriginHandle, SimError> {
    let bind_err = |source| SimError::Bind {
        addr: listen.to_string(),
        source,
    };
    let listener = std::net::TcpListener::bind(listen).map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let root = web::Data::new(root);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(root.clone())
            .default_service(web::to(serve))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .map_err(bind_err)?
    .run();
    let handle = server.handle();
    Ok(OriginHandle {
        addr,
        server: handle,
        task: Some(tokio::spawn(server)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("blog")).unwrap();
        std::fs::write(dir.path().join("blog/index.html"), "b").unwrap();
        std::fs::write(dir.path().join("a b.css"), "a").unwrap();
        let r = dir.path();
        assert_eq!(resolve(r, "/blog/"), Some(r.join("blog/index.html")));
        assert_eq!(resolve(r, "/blog"), Some(r.join("blog/index.html")));
        assert_eq!(resolve(r, "/a%20b.css"), Some(r.join("a b.css")));
        assert_eq!(resolve(r, "/../etc/passwd"), None);
        assert_eq!(resolve(r, "/blog/%2e%2e/a%20b.css"), None);
        assert_eq!(resolve(r, "/missing"), None);
    }
}
