//! A stand-in admin listener: serves the real page (as the binary served it,
//! with its headers) next to canned `/api/status` and `/api/traffic`
//! answers, for shapes and hostile text a live daemon rarely produces.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub extra_headers: Vec<(String, String)>,
    pub body: String,
}

pub fn json(status: u16, body: &serde_json::Value) -> Answer {
    Answer {
        status,
        content_type: "application/json".into(),
        extra_headers: Vec::new(),
        body: body.to_string(),
    }
}

/// The page exactly as the daemon at `admin_url` serves it, headers included.
pub async fn page_from(admin_url: &str) -> Answer {
    let r = reqwest::get(admin_url).await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    Answer {
        status: 200,
        content_type: "text/html; charset=utf-8".into(),
        extra_headers: vec![("Content-Security-Policy".into(), csp)],
        body: r.text().await.unwrap(),
    }
}

/// Serves `/` (the page), `/api/status*` and `/api/traffic*` (404 when
/// `traffic` is `None`); returns the base URL.
pub async fn serve(page: Answer, status: Answer, traffic: Option<Answer>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let not_found = json(404, &serde_json::json!({"error": "not found"}));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).to_string();
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let a = if path == "/" {
                &page
            } else if path.starts_with("/api/status") {
                &status
            } else if path.starts_with("/api/traffic") {
                traffic.as_ref().unwrap_or(&not_found)
            } else {
                &not_found
            };
            let mut out = format!(
                "HTTP/1.1 {} X\r\nConnection: close\r\nContent-Type: {}\r\n",
                a.status, a.content_type
            );
            for (k, v) in &a.extra_headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str(&format!(
                "Content-Length: {}\r\n\r\n{}",
                a.body.len(),
                a.body
            ));
            let _ = sock.write_all(out.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    format!("http://{addr}")
}
