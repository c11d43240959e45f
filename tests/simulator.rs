//! The simulator driven over real HTTP with a plain reqwest client: every
//! endpoint, every fault switch and the control API. This tests the
//! simulator itself, so it deliberately does not use edgeflush's client.

#![allow(clippy::unwrap_used)]

use edgeflush::simulator::{self, SimHandle, SimOptions};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

#[path = "simulator/faults.rs"]
mod faults;

struct Sim {
    sim: SimHandle,
    http: reqwest::Client,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

async fn sim_with(opts: SimOptions) -> Sim {
    let opts = SimOptions {
        listen: "127.0.0.1:0".into(),
        ..opts
    };
    Sim {
        sim: simulator::start(opts).await.unwrap(),
        http: reqwest::Client::new(),
    }
}

/// One vhost `www.example.com`; flushes never finish unless a test says so.
async fn sim() -> Sim {
    sim_with(SimOptions {
        vhosts: vec!["www.example.com".into()],
        flush_delay: "1h".into(),
        ..SimOptions::default()
    })
    .await
}

impl Sim {
    async fn raw(&self, m: Method, path: &str, auth: Option<&str>, body: Option<Value>) -> Answer {
        let url = if path.starts_with("/_sim") {
            format!("http://{}{path}", self.sim.addr())
        } else {
            format!("{}{path}", self.sim.base_url())
        };
        let mut rb = self.http.request(m, url);
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let text = resp.text().await.unwrap();
        Answer {
            status,
            headers,
            text,
        }
    }

    async fn api(&self, m: Method, path: &str, body: Option<Value>) -> Answer {
        let auth = format!("Token {}", self.sim.token());
        self.raw(m, path, Some(&auth), body).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.api(Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.api(Method::GET, path, None).await
    }

    async fn faults(&self, patch: Value) {
        let a = self
            .raw(Method::POST, "/_sim/faults", None, Some(patch))
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }

    async fn status_of(&self, path_regex: &str) -> Vec<Value> {
        let body = json!({"filenames": path_regex, "vhosts": ["www.example.com"]});
        let a = self.post("/flushstatus/", body).await;
        assert_eq!(a.status, 200, "{}", a.text);
        a.json().as_array().unwrap().clone()
    }
}

const A: &str = "https://www.example.com/a.css";
const B: &str = "https://www.example.com/blog/index.html";

#[tokio::test]
async fn auth_variants_and_token_switch() {
    let s = sim().await;
    let a = s.raw(Method::GET, "/vhosts/", None, None).await;
    assert_eq!(a.status, 401);
    assert!(a.json()["detail"].is_string());
    assert_eq!(a.headers["www-authenticate"], "Token");
    let a = s
        .raw(Method::GET, "/vhosts/", Some("Token nope"), None)
        .await;
    assert_eq!(
        (a.status, a.json()["detail"].as_str()),
        (401, Some("Invalid token."))
    );
    let a = s
        .raw(Method::GET, "/vhosts/", Some("token sim-token"), None)
        .await;
    assert_eq!(a.status, 200);

    s.faults(json!({"auth_status": 403})).await;
    assert_eq!(s.raw(Method::GET, "/vhosts", None, None).await.status, 403);
    // Revoke the token mid-run, then restore it.
    s.faults(json!({"token": "rotated"})).await;
    assert_eq!(s.get("/vhosts/").await.status, 403);
    let ok = s
        .raw(Method::GET, "/vhosts/", Some("Token rotated"), None)
        .await;
    assert_eq!(ok.status, 200);
    let shown = s.raw(Method::GET, "/_sim/faults", None, None).await;
    assert!(!shown.text.contains("rotated"));
    s.faults(json!({"token": null})).await;
    assert_eq!(s.get("/vhosts/").await.status, 200);

    let reqs = s.sim.state().requests();
    let flags: Vec<bool> = reqs.iter().map(|r| r.authorized).collect();
    assert_eq!(flags, [false, false, true, false, false, true, true]);
    let dump = s.raw(Method::GET, "/_sim/requests", None, None).await.text;
    assert!(!dump.contains("sim-token") && !dump.contains("rotated"));
}

#[tokio::test]
async fn vhost_upsert_and_properties() {
    let s = sim().await;
    let v = json!({"name": "Shop", "domain_name": "shop.example.com", "origin_url": "https://o.example.com:8443/shop/"});
    let a = s.post("/vhosts/", v.clone()).await;
    assert_eq!(a.status, 201);
    let id = a.json()["id"].as_u64().unwrap();
    let mut v2 = v.clone();
    v2["name"] = json!("Shop 2");
    let a = s.post("/vhosts", v2).await;
    assert_eq!((a.status, a.json()["id"].as_u64()), (200, Some(id)));
    let a = s.post("/vhosts/", json!({"name": "x"})).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.json()["domain_name"][0], "This field is required.");
    assert_eq!(a.json()["origin_url"][0], "This field is required.");
    let list = s.get("/vhosts/").await.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["name"], "Shop 2");
    s.faults(json!({"ids_as_strings": true})).await;
    assert_eq!(
        s.get("/vhosts/").await.json()[1]["id"],
        json!(id.to_string())
    );

    let p = json!({"vhost": "shop.example.com", "ttl": 3600, "gzip": true, "cname": "foo.cdn.warpcache.com"});
    assert_eq!(s.post("/vhostsproperty/", p).await.status, 201);
    let a = s
        .post("/vhostsproperty/", json!({"vhost": id, "ttl": 60}))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        (a.json()["ttl"].as_u64(), a.json()["gzip"].as_bool()),
        (Some(60), Some(true))
    );
    let a = s
        .post("/vhostsproperty/", json!({"vhost": "shop.example.com"}))
        .await;
    assert_eq!(
        (a.status, a.json()["ttl"][0].as_str()),
        (400, Some("This field is required."))
    );
    assert_eq!(
        s.post("/vhostsproperty/", json!({"vhost": "no.such", "ttl": 1}))
            .await
            .status,
        400
    );
    let list = s.get("/vhostsproperty/").await.json();
    assert_eq!(list[0]["vhost"], "shop.example.com");
    s.faults(json!({"property_vhost_as_id": true, "ids_as_strings": false}))
        .await;
    assert_eq!(
        s.get("/vhostsproperty/").await.json()[0]["vhost"],
        json!(id)
    );
}

#[tokio::test]
async fn flush_then_status_transitions() {
    let s = sim().await;
    let a = s.post("/flush/", json!({"urls": [A, B]})).await;
    assert_eq!(a.status, 201);
    assert_eq!(
        (a.json()["status"].as_str(), a.json()["id"].as_u64()),
        (Some("pending"), Some(1))
    );
    let entries = s.status_of(r"^/(a\.css|blog/index\.html)$").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (entries[0]["url"].as_str(), entries[0]["status"].as_str()),
        (Some(A), Some("pending"))
    );
    assert!(entries[0]["completed_at"].is_null());
    assert!(entries[0]["requested_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(s.status_of(r"^/a\.css$").await.len(), 1);
    assert!(s.status_of(r"^/nothing$").await.is_empty());

    s.faults(json!({"flush_delay_ms": 0, "fail_url_regex": "blog", "done_word": "completed"}))
        .await;
    let entries = s.status_of(".*").await;
    let words: Vec<&str> = entries
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["completed", "failed"]);
    assert!(entries[0]["completed_at"].is_string());

    s.faults(json!({"stuck_url_regex": "a\\.css", "pending_word": "queued", "entry_key": "filename", "timestamps": "unix"})).await;
    let e = &s.status_of(".*").await[0];
    assert_eq!(
        (e["filename"].as_str(), e["status"].as_str()),
        (Some("/a.css"), Some("queued"))
    );
    assert!(e["requested_at"].is_u64() && e.get("url").is_none());

    let bad = s
        .post(
            "/flushstatus/",
            json!({"filenames": "(", "vhosts": ["www.example.com"]}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.json()["filenames"][0].as_str()),
        (400, Some("Invalid regex"))
    );
    let bad = s
        .post("/flush/", json!({"urls": ["https://other.example.org/x"]}))
        .await;
    assert_eq!(bad.json()["urls"][0], "Unknown vhost: other.example.org");
    assert_eq!(
        s.post("/flush/", json!({})).await.json()["urls"][0],
        "This field is required."
    );
    // A re-flush keeps one entry per URL; flushed_urls keeps every one.
    assert_eq!(s.post("/flush/", json!({"urls": [A]})).await.status, 201);
    assert_eq!(s.status_of(".*").await.len(), 2);
    assert_eq!(s.sim.state().flushed_urls(), [A, B, A]);
    let flushed = s.raw(Method::GET, "/_sim/flushed", None, None).await.json();
    assert_eq!(flushed, json!([A, B, A]));
    let st = s.raw(Method::GET, "/_sim/state", None, None).await.json();
    assert_eq!(st["flushes"].as_array().unwrap().len(), 3);
    assert_eq!(st["vhosts"][0]["domain_name"], "www.example.com");
}

#[tokio::test]
async fn traffic_figures() {
    let s = sim().await;
    s.sim
        .state()
        .upsert_vhost("b", "b.example.com", "http://o/");
    let a = s.get("/traffic/?vhost=www.example.com").await.json();
    assert_eq!(a["vhost"], "www.example.com");
    for k in ["requests", "bytes", "hits", "misses"] {
        assert!(a[k].is_u64(), "{k}");
    }
    assert!(a["status"]["2xx"].is_u64());
    let all = s.get("/traffic/").await.json();
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(s.get("/traffic/?vhost=none.example.com").await.status, 404);
    let window =
        "/traffic/?vhost=www.example.com&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z";
    assert_eq!(s.get(window).await.json()["requests"], 0);
    assert_eq!(s.get("/traffic/?from=soon").await.status, 400);
    s.faults(json!({"traffic_nested": true})).await;
    assert!(s.get("/traffic/?vhost=www.example.com").await.json()["cache"]["hits"].is_u64());
}

#[tokio::test]
async fn requests_are_recorded_and_cleared() {
    let s = sim().await;
    s.post("/flush/?format=json", json!({"urls": [A]})).await;
    let log = s
        .raw(Method::GET, "/_sim/requests", None, None)
        .await
        .json();
    let r = &log[0];
    assert_eq!(
        (r["seq"].as_u64(), r["method"].as_str()),
        (Some(1), Some("POST"))
    );
    assert_eq!(
        (r["path"].as_str(), r["query"].as_str()),
        (Some("/api/v1/flush/"), Some("format=json"))
    );
    assert_eq!(
        (r["body"]["urls"][0].as_str(), r["status"].as_u64()),
        (Some(A), Some(201))
    );
    assert!(r["at_ms"].as_u64().unwrap() > 1_600_000_000_000 && r["authorized"] == true);
    assert_eq!(
        s.raw(Method::DELETE, "/_sim/requests", None, None)
            .await
            .status,
        204
    );
    assert!(s.sim.state().requests().is_empty());
}

#[tokio::test]
async fn start_options_seed_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    let doc = json!({"vhosts": [{"name": "S", "domain_name": "s.example.com", "origin_url": "https://o/"}],
                     "properties": [{"vhost": "s.example.com", "ttl": 30}]});
    std::fs::write(&seed, doc.to_string()).unwrap();
    let s = sim_with(SimOptions {
        vhosts: vec!["cli.example.com".into()],
        seed: Some(seed),
        token: "t0k".into(),
        faults: Some(r#"{"done_word": "flushed"}"#.into()),
        max_urls: Some(3),
        flush_delay: "0s".into(),
        ..SimOptions::default()
    })
    .await;
    let names: Vec<String> = s
        .sim
        .state()
        .vhosts()
        .into_iter()
        .map(|v| v.domain_name)
        .collect();
    assert_eq!(names, ["cli.example.com", "s.example.com"]);
    assert_eq!(s.sim.state().faults().max_urls_per_flush, 3);
    s.post("/flush/", json!({"urls": ["http://s.example.com/x"]}))
        .await;
    let a = s
        .post(
            "/flushstatus/",
            json!({"filenames": "x", "vhosts": "s.example.com"}),
        )
        .await;
    assert_eq!(a.json()[0]["status"], "flushed");
    let addr = s.sim.addr();
    s.sim.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped means closed"
    );

    let bad = SimOptions {
        listen: "127.0.0.1:0".into(),
        faults: Some(r#"{"no_such": 1}"#.into()),
        ..SimOptions::default()
    };
    assert!(simulator::start(bad).await.is_err());

    let shutdown = tokio_util::sync::CancellationToken::new();
    let opts = SimOptions {
        listen: "127.0.0.1:0".into(),
        ..SimOptions::default()
    };
    let task = tokio::spawn(simulator::run(opts, shutdown.clone()));
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
