//! Wire shapes the simulator does not produce, served by a canned-answer
//! HTTP server: the exact request headers, unknown fields, relative and
//! foreign `next` links, HTML on 2xx, plain-text errors and odd statuses.

use std::time::{Duration, UNIX_EPOCH};

use edgeflush::cloakfusion::{ApiError, Client, FlushState};

use crate::common::{Canned, canned, canned_server, config};

#[tokio::test]
async fn every_request_carries_format_accept_token_and_agent() {
    let (base, log) = canned_server(vec![canned(201, r#"{"id": 9}"#)]).await;
    let c = Client::new(config(&base, "abc123")).unwrap();
    let r = c.flush(&["https://w/x".to_string()]).await.unwrap();
    assert_eq!(r.id.as_deref(), Some("9"));
    let req = log.lock().unwrap()[0].clone();
    assert_eq!(req.line(), "POST /api/v1/flush/?format=json HTTP/1.1");
    assert_eq!(req.header("authorization").as_deref(), Some("Token abc123"));
    assert_eq!(req.header("accept").as_deref(), Some("application/json"));
    assert_eq!(
        req.header("user-agent"),
        Some(format!("edgeflush/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        req.header("content-type").as_deref(),
        Some("application/json")
    );
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body, serde_json::json!({"urls": ["https://w/x"]}));
}

#[tokio::test]
async fn unknown_fields_offsets_and_relative_next_links() {
    let page1 = r#"{"count": 2, "next": "?page=2", "previous": null, "extra": true,
        "results": [{"url": "https://w/a.css", "status": "Completed", "vhost": 4,
                     "requested_at": "2024-01-02T05:04:05+02:00", "completed_at": 1704164646.5,
                     "node": "ams-1", "attempts": [1, 2]}]}"#;
    let page2 = r#"{"count": 2, "next": null, "previous": "?page=1",
        "results": [{"filename": "b.js", "state": "queued"}]}"#;
    let (base, log) = canned_server(vec![canned(200, page1), canned(200, page2)]).await;
    let c = Client::new(config(&base, "t")).unwrap();
    let entries = c
        .flush_status("^/(a\\.css|b\\.js)$", &["w".into()])
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    let a = &entries[0];
    assert_eq!((a.path.as_str(), a.state), ("/a.css", FlushState::Done));
    assert_eq!(a.vhost.as_deref(), Some("4"));
    let t = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
    assert_eq!(a.requested_at, Some(t));
    assert_eq!(a.completed_at, Some(t + Duration::from_millis(1500)));
    let b = &entries[1];
    assert_eq!((b.path.as_str(), b.state), ("/b.js", FlushState::Pending));
    let log = log.lock().unwrap();
    assert_eq!(
        log[1].line(),
        "POST /api/v1/flushstatus/?page=2&format=json HTTP/1.1"
    );
    assert_eq!(log[0].body, log[1].body, "same body POSTed to `next`");
}

#[tokio::test]
async fn foreign_next_link_stays_on_our_server() {
    let page1 = r#"{"count": 2, "next": "http://elsewhere.invalid:9/api/v1/vhosts/?page=2",
        "previous": null, "results": [{"id": 1, "name": "a", "domain_name": "a.test", "origin_url": "http://o/"}]}"#;
    let page2 = r#"{"count": 2, "next": null, "previous": null,
        "results": [{"id": "x2", "name": "b", "domain_name": "b.test", "origin_url": "http://o/"}]}"#;
    let (base, log) = canned_server(vec![canned(200, page1), canned(200, page2)]).await;
    let c = Client::new(config(&base, "t")).unwrap();
    let list = c.list_vhosts().await.unwrap();
    assert_eq!(list[1].id, "x2");
    assert_eq!(
        log.lock().unwrap()[1].line(),
        "GET /api/v1/vhosts/?page=2&format=json HTTP/1.1"
    );
}

#[tokio::test]
async fn looping_next_link_is_a_decode_error() {
    let page = r#"{"count": 9, "next": "?page=2", "previous": null, "results": []}"#;
    let (base, log) = canned_server(vec![canned(200, page)]).await;
    let c = Client::new(config(&base, "t")).unwrap();
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e.kind(), "decode", "{e:?}");
    assert_eq!(log.lock().unwrap().len(), 2);
}

fn html(status: u16, page: &str) -> Canned {
    Canned {
        status,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: page.into(),
    }
}

#[tokio::test]
async fn html_on_success_is_a_decode_error() {
    let page = "<!DOCTYPE html><html><head><title>Cloakfusion API</title></head><body>Vhost list</body></html>";
    let (base, _) = canned_server(vec![html(200, page)]).await;
    let c = Client::new(config(&base, "t")).unwrap();
    let e = c.list_vhosts().await.unwrap_err();
    let ApiError::Decode { snippet, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(snippet, "Cloakfusion API Vhost list");
    assert!(!e.is_retryable());
    assert_eq!(
        c.flush(&["https://w/x".into()]).await.unwrap_err().kind(),
        "decode"
    );
}

#[tokio::test]
async fn odd_statuses_are_typed() {
    let cases: Vec<(Canned, &str, bool)> = vec![
        (
            canned(405, r#"{"detail": "Method \"GET\" not allowed."}"#),
            "rejected",
            false,
        ),
        (
            canned(
                406,
                r#"{"detail": "Could not satisfy the request Accept header."}"#,
            ),
            "rejected",
            false,
        ),
        (canned(410, r#"{"detail": "Gone."}"#), "not_found", false),
        (canned(418, "I'm a teapot"), "rejected", false),
        (
            canned(
                413,
                "<html><body>413 Request Entity Too Large</body></html>",
            ),
            "too_large",
            false,
        ),
        (
            canned(400, "Bad Request: too many URLs\n"),
            "too_large",
            false,
        ),
        (canned(400, "Bad Request\n"), "rejected", false),
        (canned(502, "upstream connect error"), "server", true),
        (canned(429, ""), "throttled", true),
        (
            Canned {
                status: 301,
                headers: vec![("Location".into(), "https://elsewhere.invalid/".into())],
                body: String::new(),
            },
            "rejected",
            false,
        ),
    ];
    for (answer, kind, retryable) in cases {
        let status = answer.status;
        let (base, log) = canned_server(vec![answer]).await;
        let c = Client::new(config(&base, "t")).unwrap();
        let e = c.list_vhosts().await.unwrap_err();
        assert_eq!(
            (e.kind(), e.is_retryable()),
            (kind, retryable),
            "{status}: {e:?}"
        );
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "{status}: no retry, no redirect"
        );
        if status == 429 {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        }
    }
}
