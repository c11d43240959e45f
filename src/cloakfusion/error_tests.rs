//! Unit tests of the status/body -> ApiError mapping, kept apart so that
//! error.rs stays small.

use super::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn map(status: u16, retry_after: Option<&str>, body: &str) -> ApiError {
    ApiError::from_status(status, retry_after, body.as_bytes(), now())
}

#[test]
fn auth_statuses() {
    for status in [401, 403] {
        let e = map(status, None, r#"{"detail": "Invalid token."}"#);
        assert_eq!(
            e,
            ApiError::Auth {
                status,
                detail: "Invalid token.".into()
            }
        );
        assert!(!e.is_retryable());
        assert_eq!(e.kind(), "auth");
    }
}

#[test]
fn retry_after_seconds_date_and_missing() {
    let detail = r#"{"detail": "Request was throttled. Expected available in 12 seconds."}"#;
    let e = map(429, Some("7"), detail);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.is_retryable());
    assert_eq!(e.kind(), "throttled");

    let date = httpdate::fmt_http_date(now() + Duration::from_secs(30));
    assert_eq!(
        map(429, Some(&date), detail).retry_after(),
        Some(Duration::from_secs(30))
    );
    let past = httpdate::fmt_http_date(now() - Duration::from_secs(30));
    assert_eq!(
        map(429, Some(&past), "{}").retry_after(),
        Some(Duration::ZERO)
    );

    assert_eq!(
        map(429, None, detail).retry_after(),
        Some(Duration::from_secs(12))
    );
    assert_eq!(
        map(429, Some("soon"), detail).retry_after(),
        Some(Duration::from_secs(12))
    );
    assert_eq!(map(429, None, "").retry_after(), Some(DEFAULT_RETRY_AFTER));
    assert_eq!(
        map(429, None, "<html><body>Too Many Requests</body></html>").retry_after(),
        Some(DEFAULT_RETRY_AFTER)
    );
}

#[test]
fn too_large_413_and_400_too_many() {
    let e = map(413, None, "");
    assert!(matches!(e, ApiError::TooLarge { status: 413, .. }));
    assert!(!e.is_retryable());
    let e = map(
        400,
        None,
        r#"{"detail": "Too many URLs in one request (max 100)."}"#,
    );
    assert!(matches!(e, ApiError::TooLarge { status: 400, .. }), "{e:?}");
    let e = map(
        400,
        None,
        r#"{"urls": ["Ensure this field has no more than 100 elements."]}"#,
    );
    assert!(matches!(e, ApiError::TooLarge { status: 400, .. }), "{e:?}");
    let e = map(400, None, "<html><p>Too many URLs</p></html>");
    assert!(matches!(e, ApiError::TooLarge { status: 400, .. }), "{e:?}");
    // Other 400s stay rejections.
    let e = map(400, None, r#"{"ttl": ["A valid integer is required."]}"#);
    assert_eq!(e.kind(), "rejected");
}

#[test]
fn field_errors_and_rejected_urls() {
    let e = map(
        400,
        None,
        r#"{"urls": ["Invalid URL: https://www.example.com/a.css", "Invalid URL: https://www.example.com/x.js."]}"#,
    );
    let ApiError::Rejected { status, fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 400);
    assert_eq!(fields["urls"].len(), 2);
    assert_eq!(
        e.rejected_urls(),
        vec![
            "https://www.example.com/a.css",
            "https://www.example.com/x.js"
        ]
    );
    assert!(!e.is_retryable());

    let e = map(
        400,
        None,
        r#"{"https://www.example.com/k": ["not allowed"], "name": ["This field is required."]}"#,
    );
    assert_eq!(e.rejected_urls(), vec!["https://www.example.com/k"]);
    assert!(e.to_string().contains("name: This field is required."));
}

#[test]
fn nested_field_errors_flatten() {
    let e = map(
        400,
        None,
        r#"{"urls": {"1": ["Enter a valid URL."]}, "vhosts": [[], ["Bad"]], "non_field_errors": ["x"]}"#,
    );
    let ApiError::Rejected { fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(fields["urls.1"], vec!["Enter a valid URL."]);
    assert_eq!(fields["vhosts.1"], vec!["Bad"]);
    assert_eq!(fields["non_field_errors"], vec!["x"]);
}

#[test]
fn other_client_statuses_are_typed() {
    for status in [400, 405, 406, 418, 422] {
        let e = map(status, None, r#"{"detail": "nope"}"#);
        assert_eq!(
            e,
            ApiError::Rejected {
                status,
                detail: "nope".into(),
                fields: BTreeMap::new()
            }
        );
        assert!(!e.is_retryable());
    }
    for status in [404, 410] {
        assert_eq!(map(status, None, "{}"), ApiError::NotFound);
        assert_eq!(ApiError::NotFound.kind(), "not_found");
    }
}

#[test]
fn server_errors_with_html_bodies() {
    for status in [500, 502, 503, 504] {
        let e = map(
            status,
            None,
            "<html><head><title>503 Service Unavailable</title></head><body>down</body></html>",
        );
        let ApiError::Server { status: s, snippet } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*s, status);
        assert_eq!(snippet, "503 Service Unavailable down");
        assert!(e.is_retryable());
        assert_eq!(e.kind(), "server");
    }
}

#[test]
fn plain_and_empty_bodies() {
    let e = map(400, None, "Bad Request\n");
    assert_eq!(
        e,
        ApiError::Rejected {
            status: 400,
            detail: "Bad Request".into(),
            fields: BTreeMap::new()
        }
    );
    let e = map(500, None, "");
    assert_eq!(
        e,
        ApiError::Server {
            status: 500,
            snippet: "(empty body)".into()
        }
    );
}

#[test]
fn retryability_of_local_failures() {
    assert!(ApiError::Timeout.is_retryable());
    assert!(ApiError::Transport("refused".into()).is_retryable());
    let d = ApiError::Decode {
        what: "x".into(),
        snippet: "y".into(),
    };
    assert!(!d.is_retryable());
    assert_eq!(d.kind(), "decode");
    assert!(!ApiError::Config("x".into()).is_retryable());
    assert_eq!(ApiError::Timeout.kind(), "timeout");
    assert_eq!(ApiError::Transport(String::new()).kind(), "transport");
}

#[test]
fn redact_removes_echoed_token() {
    let e = map(401, None, r#"{"detail": "Invalid token s3cr3t-key."}"#).redact("s3cr3t-key");
    assert!(!e.to_string().contains("s3cr3t-key"));
    assert!(!format!("{e:?}").contains("s3cr3t-key"));
    let e = map(400, None, r#"{"s3cr3t-key": ["s3cr3t-key"]}"#).redact("s3cr3t-key");
    assert!(!format!("{e:?}").contains("s3cr3t-key"));
}

#[test]
fn detail_seconds_parser() {
    assert_eq!(
        seconds_in_detail("Expected available in 3 seconds."),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        seconds_in_detail("expected AVAILABLE IN 1.5 seconds"),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(seconds_in_detail("Request was throttled."), None);
}
