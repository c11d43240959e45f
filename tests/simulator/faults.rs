//! Fault switches of the simulator seen over HTTP: pages, batch limits,
//! throttling, proxy failures, hangs, resets and body-shape variations.

use std::time::Duration;

use edgeflush::simulator::Faults;
use reqwest::Method;
use serde_json::{Value, json};

use super::{A, B, sim};

#[tokio::test]
async fn flush_response_shapes() {
    let s = sim().await;
    for (shape, status, has_body) in [
        ("empty", 204, false),
        ("empty_202", 202, false),
        ("accepted", 202, true),
        ("ok", 200, true),
    ] {
        s.faults(json!({"flush_response": shape})).await;
        let a = s.post("/flush/", json!({"urls": [A]})).await;
        assert_eq!(
            (a.status, !a.text.is_empty()),
            (status, has_body),
            "{shape}"
        );
    }
}

#[tokio::test]
async fn pages_follow_next_with_same_body() {
    let s = sim().await;
    let urls: Vec<String> = (0..5)
        .map(|i| format!("https://www.example.com/p{i}"))
        .collect();
    assert_eq!(s.post("/flush/", json!({"urls": urls})).await.status, 201);
    s.faults(json!({"pages": true})).await;
    let body = json!({"filenames": "^/p", "vhosts": ["www.example.com"]});
    let auth = format!("Token {}", s.sim.token());
    let mut next = Some(format!("{}/flushstatus/?format=json", s.sim.base_url()));
    let mut seen = Vec::new();
    while let Some(url) = next {
        let resp = s.http.post(&url).header("Authorization", &auth).json(&body);
        let page: Value = resp.send().await.unwrap().json().await.unwrap();
        assert_eq!(page["count"], 5);
        assert!(page["results"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["url"].clone()),
        );
        next = page["next"].as_str().map(String::from);
        if let Some(n) = &next {
            assert!(n.contains("format=json") && n.starts_with("http://127.0.0.1:"));
        }
    }
    assert_eq!(seen, urls.iter().map(|u| json!(u)).collect::<Vec<_>>());
    let p1 = s.get("/vhosts/").await.json();
    assert_eq!(
        (p1["count"].as_u64(), p1["previous"].is_null()),
        (Some(1), true)
    );
    assert_eq!(s.get("/vhosts/?page=9").await.status, 404);
}

#[tokio::test]
async fn batch_limits_and_rejects() {
    let s = sim().await;
    s.faults(json!({"max_urls_per_flush": 1})).await;
    assert_eq!(s.post("/flush/", json!({"urls": [A, B]})).await.status, 413);
    assert_eq!(s.post("/flush/", json!({"urls": [A]})).await.status, 201);
    s.faults(json!({"too_many_as_400": true})).await;
    let a = s.post("/flush/", json!({"urls": [A, B]})).await;
    assert_eq!(a.status, 400);
    assert!(
        a.json()["detail"]
            .as_str()
            .unwrap()
            .contains("Too many URLs")
    );
    s.faults(json!({"max_urls_per_flush": 0, "reject_url_regex": "blog"}))
        .await;
    let a = s.post("/flush/", json!({"urls": [A, B]})).await;
    assert_eq!(
        (a.status, a.json()),
        (400, json!({"urls": [format!("Invalid URL: {B}")]}))
    );
    assert_eq!(s.sim.state().flushed_urls(), [A]);
}

#[tokio::test]
async fn throttling_in_each_retry_after_format() {
    let s = sim().await;
    s.faults(json!({"throttle_next": 1, "retry_after_secs": 12}))
        .await;
    let a = s.get("/vhosts/").await;
    assert_eq!(
        (a.status, a.headers["retry-after"].to_str().unwrap()),
        (429, "12")
    );
    let detail = a.json()["detail"].as_str().unwrap().to_string();
    assert_eq!(
        detail,
        "Request was throttled. Expected available in 12 seconds."
    );
    assert_eq!(s.get("/vhosts/").await.status, 200);

    s.faults(json!({"throttle_next": 1, "retry_after": "date"}))
        .await;
    let a = s.get("/vhosts/").await;
    let date = httpdate::parse_http_date(a.headers["retry-after"].to_str().unwrap()).unwrap();
    assert!(date > std::time::SystemTime::now());
    s.faults(json!({"throttle_next": 1, "retry_after": "none"}))
        .await;
    let a = s.get("/vhosts/").await;
    assert_eq!((a.status, a.headers.get("retry-after")), (429, None));

    s.faults(json!({"throttle_per_minute": 2, "retry_after": "seconds"}))
        .await;
    assert_eq!(s.get("/vhosts/").await.status, 200);
    assert_eq!(s.get("/vhosts/").await.status, 200);
    let a = s.get("/vhosts/").await;
    assert_eq!(a.status, 429);
    let wait: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn server_failures_html_hang_and_reset() {
    let s = sim().await;
    s.faults(json!({"fail_next": 2})).await;
    for _ in 0..2 {
        let a = s.get("/vhosts/").await;
        assert_eq!(a.status, 503);
        assert!(
            a.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(a.text.contains("503 Service"));
    }
    // Faults never touch the control API.
    s.faults(json!({"fail_next": 1})).await;
    assert_eq!(
        s.raw(Method::GET, "/_sim/state", None, None).await.status,
        200
    );
    assert_eq!(s.get("/vhosts/").await.status, 503);
    assert_eq!(s.get("/vhosts/").await.status, 200);

    s.faults(json!({"fail_rate": 1.0})).await;
    let a = s.get("/vhosts/").await;
    assert!([500, 502, 503, 504].contains(&a.status) && a.text.contains("<html>"));
    s.faults(json!({"fail_rate": 0.0, "hang_next": 1})).await;
    let quick = s.http.get(format!("{}/vhosts/", s.sim.base_url()));
    let err = quick
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(s.get("/vhosts/").await.status, 200);
    assert_eq!(
        s.sim.state().requests().iter().rev().nth(1).unwrap().status,
        0
    );

    s.faults(json!({"reset_next": 1})).await;
    let url = format!("{}/vhosts/", s.sim.base_url());
    let err = s.http.get(url).send().await.unwrap_err();
    assert!(err.is_request() && !err.is_timeout(), "{err}");
    assert_eq!(s.get("/vhosts/").await.status, 200);
}

#[tokio::test]
async fn html_bodies_latency_and_routing() {
    let s = sim().await;
    s.faults(json!({"html_errors": true})).await;
    let a = s.post("/flush/", json!({})).await;
    assert_eq!(a.status, 400);
    assert!(a.text.contains("<html>") && serde_json::from_str::<Value>(&a.text).is_err());
    s.faults(json!({"html_errors": false, "latency_ms": 50}))
        .await;
    let a = s.get("/vhosts/?format=api").await;
    assert_eq!(a.status, 200);
    assert!(a.text.contains("www.example.com") && a.text.contains("<html>"));
    let t0 = std::time::Instant::now();
    s.get("/vhosts/").await;
    assert!(
        t0.elapsed() >= Duration::from_millis(50),
        "latency is a floor"
    );
    s.faults(json!({"latency_ms": 0})).await;
    assert_eq!(s.get("/nope/").await.json()["detail"], "Not found.");
    let a = s.get("/flush/").await;
    assert_eq!(
        (a.status, a.headers["allow"].to_str().unwrap()),
        (405, "POST")
    );
    assert_eq!(
        s.raw(
            Method::POST,
            "/_sim/faults",
            None,
            Some(json!({"pagez": 1}))
        )
        .await
        .status,
        400
    );
    let put = s
        .raw(
            Method::PUT,
            "/_sim/faults",
            None,
            Some(json!({"pages": true})),
        )
        .await;
    assert_eq!(put.json()["pages"], true);
    assert_eq!(
        s.sim.state().faults(),
        Faults {
            pages: true,
            ..Faults::default()
        }
    );
}
