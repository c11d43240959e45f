//! GitLab: every push and tag push example, the 20-commit truncation, the
//! secret token and the HMAC signing token (Standard Webhooks format).

use std::time::Duration;

use edgeflush::sources::webhook::{Event, Headers, Provider, WebhookError, verify_and_parse};
use serde_json::json;

use super::{SECRET, deliver, fixtures, now, secrets, the_push};

#[test]
fn every_push_and_tag_push_example() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let mut seen = 0;
    for (prefix, event) in [("push.", "Push Hook"), ("tag_push.", "Tag Push Hook")] {
        for f in fixtures::payloads(&dir, "gitlab", prefix) {
            let v = fixtures::json(&dir, &f);
            let d = deliver(Provider::Gitlab, event, &fixtures::read(&dir, &f))
                .unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(d.event_name, event);
            assert_eq!(d.id.as_deref(), Some("delivery-1"));
            let p = the_push(&d);
            assert_eq!(
                p.repository,
                v["project"]["path_with_namespace"].as_str().unwrap(),
                "{f}"
            );
            assert_eq!(p.git_ref, v["ref"].as_str().unwrap(), "{f}");
            assert_eq!(p.changed, fixtures::expected_changed(&v), "{f}");
            assert_eq!(p.after.as_deref(), v["after"].as_str(), "{f}");
            assert!(!p.deleted);
            let listed = v["commits"].as_array().unwrap().len() as u64;
            let total = v["total_commits_count"].as_u64().unwrap();
            let should_be_incomplete = prefix == "tag_push." || listed == 0 || total > listed;
            assert_eq!(
                p.incomplete.is_some(),
                should_be_incomplete,
                "{f}: {:?}",
                p.incomplete
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 8);
}

#[test]
fn known_values() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    // GitLab's documented example lists 2 of the push's 4 commits.
    let d = deliver(
        Provider::Gitlab,
        "Push Hook",
        &fixtures::read(&dir, "gitlab/push.gitlab-docs-webhook_events-md.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "mike/diaspora");
    assert_eq!(p.git_ref, "refs/heads/master");
    assert_eq!(
        p.changed.iter().collect::<Vec<_>>(),
        ["CHANGELOG", "app/controller/application.rb"]
    );
    assert_eq!(
        p.incomplete.as_deref(),
        Some("payload holds 2 of the push's 4 commits")
    );

    // A complete one.
    let d = deliver(
        Provider::Gitlab,
        "Push Hook",
        &fixtures::read(&dir, "gitlab/push.woodpecker-HookPush.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "test/woodpecker");
    assert_eq!(p.changed.iter().collect::<Vec<_>>(), ["cmd/cli/main.go"]);
    assert_eq!(p.incomplete, None);
    assert_eq!(
        p.after.as_deref(),
        Some("16862e368d8ab812e48833b741dad720d6e2cb7f")
    );

    // A tag push is incomplete even when it lists a commit.
    let d = deliver(
        Provider::Gitlab,
        "Tag Push Hook",
        &fixtures::read(&dir, "gitlab/tag_push.woodpecker-HookTag.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.git_ref, "refs/tags/v22");
    assert!(p.incomplete.as_deref().unwrap().contains("tag"));
}

#[test]
fn branch_deletion() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let mut v = fixtures::json(&dir, "gitlab/push.woodpecker-HookPush.json");
    v["after"] = json!("0000000000000000000000000000000000000000");
    v["commits"] = json!([]);
    v["total_commits_count"] = json!(0);
    let d = deliver(Provider::Gitlab, "Push Hook", v.to_string().as_bytes()).unwrap();
    let p = the_push(&d);
    assert!(p.deleted);
    assert_eq!(p.after, None);
}

#[test]
fn other_events_are_ignored() {
    let d = deliver(Provider::Gitlab, "Merge Request Hook", b"{}").unwrap();
    assert!(
        matches!(d.event, Event::Ignored { ref reason } if reason.contains("Merge Request Hook"))
    );
    let d = deliver(Provider::Gitlab, "System Hook", b"{}").unwrap();
    assert!(matches!(d.event, Event::Ignored { .. }));
}

#[test]
fn token_checks() {
    let body = br#"{"object_kind": "push"}"#;
    let run = |token: Option<&str>, keys: &[&str]| {
        let mut h = vec![("x-gitlab-event".to_string(), "Note Hook".to_string())];
        if let Some(t) = token {
            h.push(("x-gitlab-token".into(), t.into()));
        }
        verify_and_parse(
            Provider::Gitlab,
            &Headers::new(h),
            body,
            &secrets(keys),
            now(),
        )
    };
    assert!(run(Some(SECRET), &[SECRET]).is_ok());
    assert!(run(Some("new"), &["old", "new"]).is_ok(), "rotation");
    assert_eq!(
        run(Some("nope"), &[SECRET]),
        Err(WebhookError::BadSignature)
    );
    // A prefix of the secret is not the secret.
    assert_eq!(
        run(Some("test-secret"), &[SECRET]),
        Err(WebhookError::BadSignature)
    );
    assert!(matches!(
        run(None, &[SECRET]),
        Err(WebhookError::MissingSignature(_))
    ));
    assert!(matches!(
        run(Some(""), &[SECRET]),
        Err(WebhookError::MissingSignature(_))
    ));
}

const SIGNING: &str = "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=";

fn signed(body: &[u8], id: &str, ts: u64, secret: &str) -> Vec<(String, String)> {
    vec![
        ("x-gitlab-event".into(), "Push Hook".into()),
        ("x-gitlab-event-uuid".into(), "event-uuid".into()),
        ("idempotency-key".into(), id.into()),
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        (
            "webhook-signature".into(),
            fixtures::standard_signature(secret, id, ts, body),
        ),
    ]
}

#[test]
fn hmac_signing_token() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let body = fixtures::read(&dir, "gitlab/push.woodpecker-HookPush.json");
    let ts = fixtures::unix(now());
    let keys = secrets(&["old-token", SIGNING]);
    let run = |pairs: Vec<(String, String)>, at| {
        verify_and_parse(Provider::Gitlab, &Headers::new(pairs), &body, &keys, at)
    };
    let d = run(signed(&body, "idem-1", ts, SIGNING), now()).unwrap();
    assert_eq!(d.id.as_deref(), Some("idem-1"));
    assert_eq!(the_push(&d).repository, "test/woodpecker");

    // When a signature is sent it must verify; a right token does not
    // rescue a wrong signature.
    let mut forged = signed(
        &body,
        "idem-1",
        ts,
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    forged.push(("x-gitlab-token".into(), "old-token".into()));
    assert_eq!(run(forged, now()), Err(WebhookError::BadSignature));

    // Replays outside 5 minutes are refused.
    let stale = run(
        signed(&body, "idem-1", ts, SIGNING),
        now() + Duration::from_secs(301),
    );
    assert!(matches!(stale, Err(WebhookError::StaleTimestamp(_))));
}

#[test]
fn delivery_id_prefers_the_retry_stable_key() {
    let body = b"{}";
    let h = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("x-gitlab-event".to_string(), "Issue Hook".to_string()),
            ("x-gitlab-token".to_string(), SECRET.to_string()),
        ];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        verify_and_parse(
            Provider::Gitlab,
            &Headers::new(pairs),
            body,
            &secrets(&[SECRET]),
            now(),
        )
        .unwrap()
        .id
    };
    assert_eq!(h(&[("x-gitlab-event-uuid", "u")]), Some("u".into()));
    assert_eq!(
        h(&[("x-gitlab-event-uuid", "u"), ("idempotency-key", "k")]),
        Some("k".into())
    );
    assert_eq!(h(&[]), None);
}
