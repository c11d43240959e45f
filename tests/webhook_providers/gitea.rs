//! Gitea, Forgejo and Gogs: every push example, each product's header
//! spelling (and Forgejo's X-Gitea-* copies), create/delete ignored.

use edgeflush::sources::webhook::{Event, Headers, Provider, WebhookError, verify_and_parse};
use serde_json::json;

use super::{SECRET, deliver, fixtures, now, secrets, the_push};

const ZERO: &str = "0000000000000000000000000000000000000000";

#[test]
fn every_push_example() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let mut seen = 0;
    for (folder, provider) in [
        ("gitea", Provider::Gitea),
        ("forgejo", Provider::Forgejo),
        ("gogs", Provider::Gogs),
    ] {
        for f in fixtures::payloads(&dir, folder, "push.") {
            let v = fixtures::json(&dir, &f);
            let d = deliver(provider, "push", &fixtures::read(&dir, &f))
                .unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(d.id.as_deref(), Some("delivery-1"), "{f}");
            let p = the_push(&d);
            assert_eq!(
                p.repository,
                v["repository"]["full_name"].as_str().unwrap(),
                "{f}"
            );
            assert_eq!(p.git_ref, v["ref"].as_str().unwrap(), "{f}");
            assert_eq!(p.changed, fixtures::expected_changed(&v), "{f}");
            let after = v["after"].as_str().unwrap();
            assert_eq!(p.after.as_deref(), (after != ZERO).then_some(after), "{f}");
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
}

#[test]
fn known_values() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let d = deliver(
        Provider::Forgejo,
        "push",
        &fixtures::read(&dir, "forgejo/push.woodpecker-HookPushMulti.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "Test-CI/multi-line-secrets");
    assert_eq!(p.git_ref, "refs/heads/main");
    // Added, modified and removed over three commits; `aa` was added by one
    // commit and removed by a later one: it is purged either way.
    assert_eq!(p.changed.iter().collect::<Vec<_>>(), ["aa", "aaa"]);
    assert_eq!(p.incomplete, None);

    // Gitea's documented example (and the Gogs one) list commits without
    // file lists.
    for (f, provider) in [
        ("gitea/push.gitea-docs-webhooks-md.json", Provider::Gitea),
        ("gogs/push.go-playground-push-event.json", Provider::Gogs),
    ] {
        let d = deliver(provider, "push", &fixtures::read(&dir, f)).unwrap();
        let p = the_push(&d);
        assert!(p.changed.is_empty(), "{f}");
        assert_eq!(
            p.incomplete.as_deref(),
            Some("commits carry no file lists"),
            "{f}"
        );
    }

    // A new branch pushed without new commits (captured from codeberg.org).
    let d = deliver(
        Provider::Forgejo,
        "push",
        &fixtures::read(&dir, "forgejo/push.woodpecker-HookPushBranch.json"),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.git_ref, "refs/heads/fdsafdsa");
    assert!(p.incomplete.as_deref().unwrap().contains("no commits"));
}

#[test]
fn total_commits_beyond_the_list() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let mut v = fixtures::json(&dir, "forgejo/push.woodpecker-HookPushMulti.json");
    v["total_commits"] = json!(30);
    let d = deliver(Provider::Forgejo, "push", v.to_string().as_bytes()).unwrap();
    assert_eq!(
        the_push(&d).incomplete.as_deref(),
        Some("payload holds 3 of the push's 30 commits")
    );
}

#[test]
fn deletion_by_push() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let mut v = fixtures::json(&dir, "gitea/push.go-playground-push-event.json");
    v["after"] = json!(ZERO);
    v["commits"] = json!([]);
    let d = deliver(Provider::Gitea, "push", v.to_string().as_bytes()).unwrap();
    assert!(the_push(&d).deleted);
}

#[test]
fn create_and_delete_are_ignored() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    for (f, provider, event) in [
        (
            "gitea/create.go-playground-create-event.json",
            Provider::Gitea,
            "create",
        ),
        (
            "gitea/delete.go-playground-delete-event.json",
            Provider::Gitea,
            "delete",
        ),
        (
            "gogs/create.go-playground-create-event.json",
            Provider::Gogs,
            "create",
        ),
        (
            "gogs/delete.go-playground-delete-event.json",
            Provider::Gogs,
            "delete",
        ),
        (
            "forgejo/create.woodpecker-HookTag.json",
            Provider::Forgejo,
            "create",
        ),
    ] {
        let d = deliver(provider, event, &fixtures::read(&dir, f)).unwrap();
        assert_eq!(d.event_name, event);
        assert!(
            matches!(d.event, Event::Ignored { ref reason } if reason.starts_with(event)),
            "{f}: {:?}",
            d.event
        );
    }
}

/// Which header spellings each provider accepts.
#[test]
fn header_spellings() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let body = fixtures::read(&dir, "forgejo/push.woodpecker-HookPush.json");
    let sig = fixtures::hex_hmac(SECRET, &body);
    let run = |provider, sig_header: &str, event_header: &str, id_header: &str| {
        let h = fixtures::headers(&[
            (sig_header, &sig),
            (event_header, "push"),
            (id_header, "the-id"),
        ]);
        verify_and_parse(provider, &h, &body, &secrets(&[SECRET]), now())
    };
    for provider in [Provider::Gitea, Provider::Forgejo] {
        for prefix in ["x-gitea", "x-forgejo"] {
            let d = run(
                provider,
                &format!("{prefix}-signature"),
                &format!("{prefix}-event"),
                &format!("{prefix}-delivery"),
            )
            .unwrap_or_else(|e| panic!("{provider} with {prefix}-*: {e}"));
            assert_eq!(d.id.as_deref(), Some("the-id"));
            assert_eq!(the_push(&d).repository, "gordon/hello-world");
        }
    }
    assert!(
        run(
            Provider::Gogs,
            "x-gogs-signature",
            "x-gogs-event",
            "x-gogs-delivery"
        )
        .is_ok()
    );
    // Gogs hooks want Gogs' header; Gitea hooks do not read Gogs' one.
    assert!(matches!(
        run(
            Provider::Gogs,
            "x-gitea-signature",
            "x-gogs-event",
            "x-gogs-delivery"
        ),
        Err(WebhookError::MissingSignature(_))
    ));
    assert!(matches!(
        run(
            Provider::Gitea,
            "x-gogs-signature",
            "x-gitea-event",
            "x-gitea-delivery"
        ),
        Err(WebhookError::MissingSignature(_))
    ));
}

#[test]
fn signature_failures_and_rotation() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let body = fixtures::read(&dir, "gogs/push.go-playground-push-event.json");
    let pairs = fixtures::delivery_headers(Provider::Gogs, SECRET, "push", "id", &body, now());
    let run = |keys: &[&str], body: &[u8]| {
        verify_and_parse(
            Provider::Gogs,
            &Headers::new(pairs.clone()),
            body,
            &secrets(keys),
            now(),
        )
    };
    assert!(run(&["retired", SECRET], &body).is_ok());
    assert_eq!(run(&["retired"], &body), Err(WebhookError::BadSignature));
    assert_eq!(run(&[SECRET], b"{}"), Err(WebhookError::BadSignature));
    // A form body is not read for these providers (after verification).
    let mut form_pairs = fixtures::delivery_headers(
        Provider::Gogs,
        SECRET,
        "push",
        "id",
        b"payload=%7B%7D",
        now(),
    );
    form_pairs[0].1 = "application/x-www-form-urlencoded".into();
    let err = verify_and_parse(
        Provider::Gogs,
        &Headers::new(form_pairs),
        b"payload=%7B%7D",
        &secrets(&[SECRET]),
        now(),
    )
    .unwrap_err();
    assert_eq!(err.status(), 415);
}
