//! GitHub: every octokit payload example parses to the values in the file;
//! form-encoded bodies; deployment outcomes; the capped change sets.

use edgeflush::sources::webhook::{Event, Headers, Provider, WebhookError, verify_and_parse};
use serde_json::{Value, json};

use super::{SECRET, deliver, fixtures, now, secrets, the_push};

const ZERO: &str = "0000000000000000000000000000000000000000";

#[test]
fn every_push_example_parses_to_its_values() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let files = fixtures::payloads(&dir, "github", "push.");
    assert_eq!(files.len(), 6);
    for f in files {
        let body = fixtures::read(&dir, &f);
        let v = fixtures::json(&dir, &f);
        let d = deliver(Provider::Github, "push", &body).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(d.id.as_deref(), Some("delivery-1"));
        assert_eq!(d.event_name, "push");
        let p = the_push(&d);
        assert_eq!(
            p.repository,
            v["repository"]["full_name"].as_str().unwrap(),
            "{f}"
        );
        assert_eq!(p.git_ref, v["ref"].as_str().unwrap(), "{f}");
        assert_eq!(p.changed, fixtures::expected_changed(&v), "{f}");
        assert_eq!(p.deleted, v["deleted"].as_bool().unwrap(), "{f}");
        let after = v["after"].as_str().unwrap();
        assert_eq!(p.after.as_deref(), (after != ZERO).then_some(after), "{f}");
    }
}

#[test]
fn known_values() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let d = deliver(
        Provider::Github,
        "push",
        &fixtures::read(&dir, "github/push.with-new-branch.payload.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "Codertocat/Hello-World");
    assert_eq!(p.git_ref, "refs/heads/master");
    assert_eq!(
        p.after.as_deref(),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    );
    assert_eq!(p.changed.iter().collect::<Vec<_>>(), ["README.md"]);
    assert_eq!(p.incomplete, None);
    assert!(!p.deleted);

    // The tag deletion example.
    let d = deliver(
        Provider::Github,
        "push",
        &fixtures::read(&dir, "github/push.payload.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.git_ref, "refs/tags/simple-tag");
    assert!(p.deleted);
    assert_eq!(p.after, None);
    assert!(p.changed.is_empty());
}

#[test]
fn form_encoded_body_is_signed_over_the_form() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let json_body = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let form = format!("payload={}", fixtures::form_encode(&json_body)).into_bytes();
    let mut pairs =
        fixtures::delivery_headers(Provider::Github, SECRET, "push", "d-form", &form, now());
    pairs[0].1 = "application/x-www-form-urlencoded".into();
    let d = verify_and_parse(
        Provider::Github,
        &Headers::new(pairs.clone()),
        &form,
        &secrets(&[SECRET]),
        now(),
    )
    .unwrap();
    let via_json = deliver(Provider::Github, "push", &json_body).unwrap();
    assert_eq!(d.event, via_json.event);

    // A signature over the JSON inside the form is not GitHub's and fails.
    let sig = format!("sha256={}", fixtures::hex_hmac(SECRET, &json_body));
    for p in pairs.iter_mut().filter(|(k, _)| k == "x-hub-signature-256") {
        p.1 = sig.clone();
    }
    let got = verify_and_parse(
        Provider::Github,
        &Headers::new(pairs),
        &form,
        &secrets(&[SECRET]),
        now(),
    );
    assert_eq!(got, Err(WebhookError::BadSignature));
}

#[test]
fn pings() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let files = fixtures::payloads(&dir, "github", "ping.");
    assert_eq!(files.len(), 3);
    for f in files {
        let d = deliver(Provider::Github, "ping", &fixtures::read(&dir, &f)).unwrap();
        assert_eq!(d.event, Event::Ping, "{f}");
    }
}

#[test]
fn deployment_status_outcomes() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    for f in [
        "github/deployment_status.payload.json",
        "github/deployment_status.with-installation.payload.json",
    ] {
        let v = fixtures::json(&dir, f);
        assert_eq!(v["deployment_status"]["state"], "success");
        let d = deliver(
            Provider::Github,
            "deployment_status",
            &fixtures::read(&dir, f),
        )
        .unwrap();
        assert_eq!(
            d.event,
            Event::Deployed {
                repository: "Codertocat/Hello-World".into(),
                sha: v["deployment"]["sha"].as_str().unwrap().into(),
                success: true,
                kind: "deployment_status",
            },
            "{f}"
        );
    }
    // `in_progress` is not an outcome yet.
    let d = deliver(
        Provider::Github,
        "deployment_status",
        &fixtures::read(&dir, "github/deployment_status.gh-pages.payload.json"),
    )
    .unwrap();
    assert!(matches!(d.event, Event::Ignored { ref reason } if reason.contains("in_progress")));

    // A failed deployment is an outcome that releases nothing.
    let mut v = fixtures::json(&dir, "github/deployment_status.payload.json");
    v["deployment_status"]["state"] = json!("failure");
    let d = deliver(
        Provider::Github,
        "deployment_status",
        v.to_string().as_bytes(),
    )
    .unwrap();
    assert!(matches!(d.event, Event::Deployed { success: false, .. }));
}

#[test]
fn workflow_run_outcomes() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let f = "github/workflow_run.completed.payload.json";
    let d = deliver(Provider::Github, "workflow_run", &fixtures::read(&dir, f)).unwrap();
    assert_eq!(
        d.event,
        Event::Deployed {
            repository: "octo-org/octo-repo".into(),
            sha: "3484a3fb816e0859fd6e1cea078d76385ff50625".into(),
            success: true,
            kind: "workflow_run",
        }
    );
    let mut v = fixtures::json(&dir, f);
    v["workflow_run"]["conclusion"] = json!("failure");
    let d = deliver(Provider::Github, "workflow_run", v.to_string().as_bytes()).unwrap();
    assert!(matches!(d.event, Event::Deployed { success: false, .. }));
    v["action"] = json!("requested");
    v["workflow_run"]["conclusion"] = Value::Null;
    let d = deliver(Provider::Github, "workflow_run", v.to_string().as_bytes()).unwrap();
    assert!(matches!(d.event, Event::Ignored { .. }));
}

#[test]
fn other_events_are_ignored() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let d = deliver(
        Provider::Github,
        "release",
        &fixtures::read(&dir, "github/release.published.payload.json"),
    )
    .unwrap();
    assert_eq!(d.event_name, "release");
    assert!(matches!(d.event, Event::Ignored { ref reason } if reason.contains("release")));
}

/// A push body built from the new-branch example with `commits` replaced.
fn push_with(dir: &std::path::Path, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = fixtures::json(dir, "github/push.with-new-branch.payload.json");
    edit(&mut v);
    v.to_string().into_bytes()
}

fn commit(files: usize) -> Value {
    let added: Vec<String> = (0..files).map(|i| format!("f{i}.html")).collect();
    json!({"id": "x", "added": added, "modified": [], "removed": []})
}

#[test]
fn incomplete_change_sets() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let reason = |body: Vec<u8>| {
        let d = deliver(Provider::Github, "push", &body).unwrap();
        the_push(&d).incomplete.clone()
    };
    // GitHub's commit cap: 2048 listed commits may be a truncated list.
    let at_cap = push_with(&dir, |v| v["commits"] = Value::Array(vec![commit(1); 2048]));
    assert!(reason(at_cap).unwrap().contains("2048 commits"));
    let under = push_with(&dir, |v| v["commits"] = Value::Array(vec![commit(1); 2047]));
    assert_eq!(reason(under), None);
    // GitHub's per-commit file cap.
    let files = push_with(&dir, |v| v["commits"] = json!([commit(3000)]));
    assert!(reason(files).unwrap().contains("3000 files"));
    let fewer = push_with(&dir, |v| v["commits"] = json!([commit(2999)]));
    assert_eq!(reason(fewer), None);
    // No commits (e.g. a force push back to an older commit).
    let none = push_with(&dir, |v| v["commits"] = json!([]));
    assert!(reason(none).unwrap().contains("no commits"));
    let forced = push_with(&dir, |v| v["forced"] = json!(true));
    assert!(reason(forced).unwrap().contains("force"));
    let tag = push_with(&dir, |v| v["ref"] = json!("refs/tags/v1.0"));
    assert!(reason(tag).unwrap().contains("tag"));
}

#[test]
fn signature_failures() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let body = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let mut pairs = fixtures::delivery_headers(Provider::Github, SECRET, "push", "d", &body, now());
    let run = |pairs: &Vec<(String, String)>, body: &[u8], keys: &[&str]| {
        verify_and_parse(
            Provider::Github,
            &Headers::new(pairs.clone()),
            body,
            &secrets(keys),
            now(),
        )
    };
    // Rotation: the old and the new secret both verify.
    assert!(run(&pairs, &body, &["old-secret", SECRET]).is_ok());
    assert!(run(&pairs, &body, &[SECRET, "next-secret"]).is_ok());
    assert_eq!(
        run(&pairs, &body, &["old-secret", "other"]),
        Err(WebhookError::BadSignature)
    );
    // One changed byte.
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        run(&pairs, &tampered, &[SECRET]),
        Err(WebhookError::BadSignature)
    );
    // Verification comes first: a forged body with a wrong content type is
    // 401, not 415.
    let mut odd = pairs.clone();
    odd[0].1 = "text/plain".into();
    assert_eq!(run(&odd, &tampered, &[SECRET]).unwrap_err().status(), 401);
    assert_eq!(run(&odd, &body, &[SECRET]).unwrap_err().status(), 415);
    // Missing.
    pairs.retain(|(k, _)| k != "x-hub-signature-256");
    let err = run(&pairs, &body, &[SECRET]).unwrap_err();
    assert!(matches!(err, WebhookError::MissingSignature(_)));
    assert_eq!(err.status(), 401);
}

#[test]
fn missing_event_header_is_malformed() {
    let body = br#"{"zen": "x"}"#;
    let sig = format!("sha256={}", fixtures::hex_hmac(SECRET, body));
    let h = fixtures::headers(&[("x-hub-signature-256", &sig)]);
    let err = verify_and_parse(Provider::Github, &h, body, &secrets(&[SECRET]), now()).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("x-github-event"), "{err}");
}
