//! Shared helpers of the integration tests: start the simulator on a free
//! loopback port and build a Cloakfusion client pointed at it, plus a tiny
//! canned-answer HTTP server for wire shapes the simulator never produces.
#![allow(dead_code)]

pub mod daemon;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgeflush::cloakfusion::{Client, ClientConfig};
use edgeflush::config::Secret;
use edgeflush::simulator::{Faults, SimHandle, SimOptions, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const VHOST: &str = "www.example.com";

/// A simulator with one vhost (`www.example.com`), flushes done after 100 ms.
pub async fn sim() -> SimHandle {
    sim_with(Faults::default()).await
}

pub async fn sim_with(faults: Faults) -> SimHandle {
    let sim = start(SimOptions {
        listen: "127.0.0.1:0".into(),
        vhosts: vec![VHOST.into()],
        flush_delay: "100ms".into(),
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    sim.state().set_faults(faults);
    sim
}

/// Client settings for `base_url` with the simulator's default token and
/// short timeouts, no rate limits.
pub fn config(base_url: &str, token: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(base_url, Secret::new(token));
    cfg.timeout = Duration::from_secs(10);
    cfg.connect_timeout = Duration::from_secs(2);
    cfg
}

pub fn client_for(sim: &SimHandle) -> Client {
    Client::new(config(&sim.base_url(), &sim.token())).expect("client builds")
}

/// One request as the canned server read it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Request line and headers, as sent.
    pub head: String,
    pub body: String,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    /// Method and target, e.g. `GET /api/v1/vhosts/?format=json`.
    pub fn line(&self) -> String {
        self.head.lines().next().unwrap_or_default().to_string()
    }
}

/// A raw answer: status line code, extra headers and body.
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

pub fn canned(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.into(),
    }
}

/// Serves `answers` in order, one per connection (`Connection: close`),
/// the last one repeated. Returns the base URL (`http://127.0.0.1:PORT/api/v1`)
/// and the log of requests received.
pub async fn canned_server(answers: Vec<Canned>) -> (String, Arc<Mutex<Vec<RawRequest>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    tokio::spawn(async move {
        let mut i = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            let Some(req) = read_request(&mut sock).await else {
                continue;
            };
            seen.lock().unwrap().push(req);
            let a = &answers[i.min(answers.len() - 1)];
            i += 1;
            let mut out = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", a.status);
            for (k, v) in &a.headers {
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
    (format!("http://{addr}/api/v1"), log)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let req = RawRequest {
        head: head.clone(),
        body: String::new(),
    };
    let len: usize = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = buf.len().min(head_end + len);
    Some(RawRequest {
        head,
        body: String::from_utf8_lossy(&buf[head_end..end]).to_string(),
    })
}
