//! Decoder tests fed with the bodies of every variation in the API doc.

use super::*;
use crate::cloakfusion::types::{Vhost, VhostProperties};
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn vhost_list_as_array() {
    let body = br#"[{"id": 12, "name": "Shop", "domain_name": "www.example.com",
        "origin_url": "https://origin.example.com:8443/shop/", "unknown": [1, 2]},
        {"id": "a7", "name": "Blog", "domain_name": "blog.example.com", "origin_url": "http://o/"}]"#;
    let p: Page<Vhost> = page(body, "vhosts").unwrap();
    assert_eq!(p.next, None);
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].id, "12");
    assert_eq!(
        p.items[0].origin_url,
        "https://origin.example.com:8443/shop/"
    );
    assert_eq!(p.items[1].id, "a7");
}

#[test]
fn vhost_list_as_page() {
    let body = br#"{"count": 3, "next": "http://h/api/v1/vhosts/?page=2", "previous": null,
        "results": [{"id": 1, "name": "a", "domain_name": "a.example", "origin_url": "http://o/"}]}"#;
    let p: Page<Vhost> = page(body, "vhosts").unwrap();
    assert_eq!(p.next.as_deref(), Some("http://h/api/v1/vhosts/?page=2"));
    assert_eq!(p.items.len(), 1);
    let last = br#"{"count": 3, "next": null, "previous": "x", "results": []}"#;
    let p: Page<Vhost> = page(last, "vhosts").unwrap();
    assert_eq!(p.next, None);
    assert!(p.items.is_empty());
}

#[test]
fn properties_list_with_vhost_ids() {
    let body = br#"[{"vhost": 12, "cname": "foo.cdn.warpcache.com", "ttl": 3600, "gzip": true,
        "ssl": true, "override_hostheader": false, "host_header": null}]"#;
    let p: Page<VhostProperties> = page(body, "properties").unwrap();
    assert_eq!(p.items[0].vhost, "12");
    assert_eq!(p.items[0].cname.as_deref(), Some("foo.cdn.warpcache.com"));
}

#[test]
fn wrong_shapes_and_html_are_decode_errors() {
    for body in [
        &b"<!DOCTYPE html><html><body><h1>Vhost List</h1></body></html>"[..],
        b"<html>api</html>",
        b"",
        b"   ",
        b"{\"count\": 1}",
        b"42",
        b"not json",
        b"[{\"name\": \"no domain\"}]",
    ] {
        let e = page::<Vhost>(body, "vhosts").unwrap_err();
        assert_eq!(e.kind(), "decode", "{e:?}");
        assert!(!e.is_retryable());
    }
    let e = page::<Vhost>(
        b"<html><title>Django REST framework</title></html>",
        "vhosts",
    )
    .unwrap_err();
    assert!(e.to_string().contains("HTML"), "{e}");
    assert!(e.to_string().contains("Django REST framework"), "{e}");
}

#[test]
fn flush_receipts() {
    assert_eq!(flush_receipt(b"").unwrap().id, None);
    assert_eq!(
        flush_receipt(br#"{"id": 5, "urls": ["https://a/x"], "status": "pending"}"#)
            .unwrap()
            .id
            .as_deref(),
        Some("5")
    );
    assert_eq!(
        flush_receipt(br#"{"id": "f-9", "status": "accepted"}"#)
            .unwrap()
            .id
            .as_deref(),
        Some("f-9")
    );
    assert_eq!(
        flush_receipt(br#"{"status": "accepted"}"#).unwrap().id,
        None
    );
    assert_eq!(flush_receipt(br#""accepted""#).unwrap().id, None);
    assert_eq!(flush_receipt(b"Accepted\n").unwrap().id, None);
    let e = flush_receipt(b"<html><body>Login</body></html>").unwrap_err();
    assert_eq!(e.kind(), "decode");
}

#[test]
fn status_entries_by_url_and_filename() {
    let body = br#"[
        {"url": "https://www.example.com/a.css", "vhost": "www.example.com", "status": "done",
         "requested_at": "2024-01-02T03:04:05Z", "completed_at": "2024-01-02T03:04:06Z", "x": 1},
        {"filename": "/blog/index.html", "vhost": "www.example.com", "status": "Pending",
         "requested_at": 1704164645, "completed_at": null},
        {"filename": "img/logo.png", "status": "ERROR"},
        {"url": "https://www.example.com/q%20s.js?v=1", "status": "in_progress"}
    ]"#;
    let p = status_page(body).unwrap();
    assert_eq!(p.items.len(), 4);
    let a = &p.items[0];
    assert_eq!(a.url.as_deref(), Some("https://www.example.com/a.css"));
    assert_eq!(a.path, "/a.css");
    assert_eq!(a.vhost.as_deref(), Some("www.example.com"));
    assert_eq!(a.state, FlushState::Done);
    assert_eq!(a.raw_status, "done");
    let t = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
    assert_eq!(a.requested_at, Some(t));
    assert_eq!(a.completed_at, Some(t + Duration::from_secs(1)));
    let b = &p.items[1];
    assert_eq!(b.url, None);
    assert_eq!(b.path, "/blog/index.html");
    assert_eq!(b.state, FlushState::Pending);
    assert_eq!(b.raw_status, "Pending");
    assert_eq!(b.requested_at, Some(t));
    assert_eq!(b.completed_at, None);
    let c = &p.items[2];
    assert_eq!(c.path, "/img/logo.png");
    assert_eq!(c.state, FlushState::Failed);
    assert_eq!(c.vhost, None);
    let d = &p.items[3];
    assert_eq!(d.path, "/q%20s.js");
    assert_eq!(d.state, FlushState::Pending);
}

#[test]
fn status_page_and_words() {
    let words = [
        ("completed", FlushState::Done),
        ("complete", FlushState::Done),
        ("finished", FlushState::Done),
        ("success", FlushState::Done),
        ("FLUSHED", FlushState::Done),
        ("failed", FlushState::Failed),
        ("error", FlushState::Failed),
        ("queued", FlushState::Pending),
        ("processing", FlushState::Pending),
        ("mystery", FlushState::Pending),
    ];
    for (word, state) in words {
        let body = format!(
            r#"{{"count": 9, "next": "http://h/api/v1/flushstatus/?page=3", "previous": null,
                "results": [{{"url": "https://w/x", "status": "{word}"}}]}}"#
        );
        let p = status_page(body.as_bytes()).unwrap();
        assert_eq!(p.items[0].state, state, "{word}");
        assert_eq!(
            p.next.as_deref(),
            Some("http://h/api/v1/flushstatus/?page=3")
        );
    }
}

#[test]
fn status_entry_without_name_or_status() {
    let e = status_page(br#"[{"status": "done"}]"#).unwrap_err();
    assert_eq!(e.kind(), "decode");
    let p = status_page(br#"[{"url": "https://w/x", "vhost": 3}]"#).unwrap();
    assert_eq!(p.items[0].state, FlushState::Pending);
    assert_eq!(p.items[0].raw_status, "");
    assert_eq!(p.items[0].vhost.as_deref(), Some("3"));
    assert_eq!(status_page(b"[]").unwrap().items.len(), 0);
}
