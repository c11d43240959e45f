//! Standard Webhooks (`standard` provider): the three body shapes a CI job
//! posts, secret forms, multi-signature headers, rotation, timestamps.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use edgeflush::sources::webhook::{Event, Headers, Provider, WebhookError, verify_and_parse};

use super::{deliver, fixtures, now, secrets};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn headers_for(secret: &str, id: &str, ts: u64, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        (
            "webhook-signature".into(),
            fixtures::standard_signature(secret, id, ts, body),
        ),
    ]
}

fn run(pairs: Vec<(String, String)>, body: &[u8], keys: &[&str]) -> Result<Event, WebhookError> {
    verify_and_parse(
        Provider::Standard,
        &Headers::new(pairs),
        body,
        &secrets(keys),
        now(),
    )
    .map(|d| d.event)
}

#[test]
fn the_three_body_shapes() {
    let ts = fixtures::unix(now());
    let paths = br#"{"site": "www", "paths": ["index.html", "css/site.css"]}"#;
    let d = verify_and_parse(
        Provider::Standard,
        &Headers::new(headers_for(WHSEC, "msg_1", ts, paths)),
        paths,
        &secrets(&[WHSEC]),
        now(),
    )
    .unwrap();
    assert_eq!(d.id.as_deref(), Some("msg_1"));
    assert_eq!(d.event_name, "purge");
    assert_eq!(
        d.event,
        Event::Generic {
            site: "www".into(),
            paths: vec!["index.html".into(), "css/site.css".into()],
            urls: vec![],
            purge_site: false,
        }
    );
    let urls = br#"{"site": "www", "urls": ["https://www.example.com/a"]}"#;
    assert!(matches!(
        run(headers_for(WHSEC, "m", ts, urls), urls, &[WHSEC]),
        Ok(Event::Generic { ref urls, .. }) if urls.len() == 1
    ));
    let all = br#"{"site": "www", "purge_site": true}"#;
    assert!(matches!(
        run(headers_for(WHSEC, "m", ts, all), all, &[WHSEC]),
        Ok(Event::Generic {
            purge_site: true,
            ..
        })
    ));
}

#[test]
fn bodies_that_say_nothing_or_something_else() {
    for body in [
        &br#"{"site": "www"}"#[..],
        br#"{"site": "", "paths": ["a"]}"#,
        br#"{"site": "www", "path": ["a"]}"#,
        br#"{"paths": ["a"]}"#,
        br#"{"site": "www", "paths": "a"}"#,
        br#"{"site": "www", "purge_site": "yes"}"#,
        b"[]",
    ] {
        let err = deliver(Provider::Standard, "", body).unwrap_err();
        assert_eq!(
            err.status(),
            400,
            "{}: {err}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn secret_forms_and_rotation() {
    let ts = fixtures::unix(now());
    let body = br#"{"site": "www", "purge_site": true}"#;
    // A plain secret used as raw HMAC key bytes.
    assert!(
        run(
            headers_for("plain secret", "m", ts, body),
            body,
            &["plain secret"]
        )
        .is_ok()
    );
    // whsec_ and its prefix-less base64 form are the same key.
    let bare = WHSEC.trim_start_matches("whsec_");
    assert!(run(headers_for(WHSEC, "m", ts, body), body, &[bare]).is_ok());
    // Rotation: either configured secret verifies.
    let next = format!("whsec_{}", B64.encode([7u8; 32]));
    assert!(run(headers_for(&next, "m", ts, body), body, &[WHSEC, &next]).is_ok());
    assert_eq!(
        run(headers_for(&next, "m", ts, body), body, &[WHSEC]),
        Err(WebhookError::BadSignature)
    );
}

#[test]
fn multi_signature_header() {
    let ts = fixtures::unix(now());
    let body = br#"{"site": "www", "purge_site": true}"#;
    let good = fixtures::standard_signature(WHSEC, "m", ts, body);
    let other = fixtures::standard_signature("whsec_AAAA", "m", ts, body);
    let mut pairs = headers_for(WHSEC, "m", ts, body);
    let v2 = good.replace("v1,", "v2,");
    pairs[3].1 = format!("{other} {v2} {good}");
    assert!(run(pairs.clone(), body, &[WHSEC]).is_ok());
    // Only a v2 entry with the right value: other versions are not read.
    pairs[3].1 = format!("{other} {v2}");
    assert_eq!(run(pairs, body, &[WHSEC]), Err(WebhookError::BadSignature));
}

#[test]
fn timestamps() {
    let ts = fixtures::unix(now());
    let body = br#"{"site": "www", "purge_site": true}"#;
    for off in [-301i64, 301, 86_400] {
        let t = (ts as i64 + off) as u64;
        let err = run(headers_for(WHSEC, "m", t, body), body, &[WHSEC]).unwrap_err();
        assert!(
            matches!(err, WebhookError::StaleTimestamp(_)),
            "{off}: {err:?}"
        );
        assert_eq!(err.status(), 401);
    }
    for off in [-300i64, 0, 300] {
        let t = (ts as i64 + off) as u64;
        assert!(
            run(headers_for(WHSEC, "m", t, body), body, &[WHSEC]).is_ok(),
            "{off}"
        );
    }
    // The timestamp is part of what is signed.
    let mut pairs = headers_for(WHSEC, "m", ts, body);
    pairs[2].1 = (ts + 1).to_string();
    assert_eq!(
        run(pairs.clone(), body, &[WHSEC]),
        Err(WebhookError::BadSignature)
    );
    pairs[2].1 = "soon".into();
    assert!(matches!(
        run(pairs, body, &[WHSEC]),
        Err(WebhookError::StaleTimestamp(_))
    ));
    // The clock moved on: a delivery signed 10 minutes ago is a replay.
    let d = verify_and_parse(
        Provider::Standard,
        &Headers::new(headers_for(WHSEC, "m", ts, body)),
        body,
        &secrets(&[WHSEC]),
        now() + Duration::from_secs(600),
    );
    assert!(matches!(d, Err(WebhookError::StaleTimestamp(_))));
}

#[test]
fn missing_headers_and_content_type() {
    let ts = fixtures::unix(now());
    let body = br#"{"site": "www", "purge_site": true}"#;
    for drop in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut pairs = headers_for(WHSEC, "m", ts, body);
        pairs.retain(|(k, _)| k != drop);
        let err = run(pairs, body, &[WHSEC]).unwrap_err();
        assert!(
            matches!(err, WebhookError::MissingSignature(ref m) if m.contains(drop)),
            "{err:?}"
        );
    }
    let mut pairs = headers_for(WHSEC, "m", ts, body);
    pairs[0].1 = "application/x-www-form-urlencoded".into();
    assert_eq!(run(pairs, body, &[WHSEC]).unwrap_err().status(), 415);
    // The id is signed: the same signature under another id fails.
    let mut pairs = headers_for(WHSEC, "m", ts, body);
    pairs[1].1 = "m2".into();
    assert_eq!(run(pairs, body, &[WHSEC]), Err(WebhookError::BadSignature));
}
