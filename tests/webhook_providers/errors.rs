//! Bad input after a valid signature (400, never a panic), broken hook
//! configuration (no usable secret), and errors that never show a secret.

use edgeflush::config::Secret;
use edgeflush::sources::webhook::{Headers, Provider, WebhookError, verify_and_parse};

use super::{SECRET, deliver, fixtures, now, secrets};

/// The event each provider acts on (so its body is really parsed).
fn acted_on(provider: Provider) -> &'static str {
    match provider {
        Provider::Github | Provider::Gitea | Provider::Forgejo | Provider::Gogs => "push",
        Provider::Gitlab => "Push Hook",
        Provider::Bitbucket => "repo:push",
        Provider::BitbucketServer => "repo:refs_changed",
        Provider::Standard => "",
    }
}

#[test]
fn malformed_bodies_are_400_for_every_provider() {
    let deep = "[".repeat(100_000);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("not json", b"hello".to_vec()),
        ("array", b"[1, 2]".to_vec()),
        ("null", b"null".to_vec()),
        ("wrong types", br#"{"ref": 5, "repository": [], "push": 1, "changes": {}, "site": 1}"#.to_vec()),
        ("missing fields", b"{}".to_vec()),
        ("non-UTF-8", b"{\"ref\": \"\xff\xfe\"}".to_vec()),
        ("truncated", br#"{"ref": "refs/heads/main", "commits": [{"added": ["a"#.to_vec()),
        ("trailing garbage", br#"{"site": "www", "purge_site": true} {}"#.to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("commits of the wrong shape", br#"{"ref": "refs/heads/x", "after": "a", "commits": [{"added": "a"}], "repository": {"full_name": "o/r"}, "project": {"path_with_namespace": "o/r"}}"#.to_vec()),
    ];
    for provider in Provider::ALL {
        for (what, body) in &bodies {
            let err = deliver(provider, acted_on(provider), body)
                .expect_err(&format!("{provider}: {what} must be refused"));
            assert_eq!(err.status(), 400, "{provider}: {what}: {err:?}");
            assert_eq!(err.kind(), "malformed");
            assert!(
                err.to_string().len() < 260,
                "{provider}: {what}: reason too long"
            );
        }
    }
}

#[test]
fn malformed_reason_names_the_field() {
    let body = br#"{"ref": "refs/heads/main", "commits": [{"added": [1]}], "repository": {"full_name": "o/r"}}"#;
    let err = deliver(Provider::Github, "push", body).unwrap_err();
    assert!(err.to_string().contains("commits[0].added[0]"), "{err}");
    let err = deliver(Provider::Github, "push", br#"{"ref": "refs/heads/main"}"#).unwrap_err();
    assert!(err.to_string().contains("repository"), "{err}");
}

/// Every fixture cut short at several points is refused, never a panic.
#[test]
fn truncated_fixtures_never_panic() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let cases = [
        ("github/push.with-new-branch.payload.json", Provider::Github),
        (
            "gitlab/push.gitlab-docs-webhook_events-md.json",
            Provider::Gitlab,
        ),
        ("gitea/push.go-playground-push-event.json", Provider::Gitea),
        (
            "forgejo/push.woodpecker-HookPushMulti.json",
            Provider::Forgejo,
        ),
        ("gogs/push.go-playground-push-event.json", Provider::Gogs),
        (
            "bitbucket/repo_push.woodpecker-HookPush.json",
            Provider::Bitbucket,
        ),
        (
            "bitbucket-server/repo_refs_changed.woodpecker-HookPush.json",
            Provider::BitbucketServer,
        ),
    ];
    let mut refused = 0;
    for (f, provider) in cases {
        let body = fixtures::read(&dir, f);
        for cut in (1..body.len() - 2).step_by(97) {
            let err = deliver(provider, acted_on(provider), &body[..cut]).unwrap_err();
            assert_eq!(err.status(), 400, "{f} cut at {cut}");
            refused += 1;
        }
    }
    assert!(refused > 100, "{refused}");
}

#[test]
fn no_usable_secret_is_a_config_error() {
    let body = br#"{"site": "www", "purge_site": true}"#;
    for provider in Provider::ALL {
        let pairs = fixtures::delivery_headers(provider, "", acted_on(provider), "id", body, now());
        let h = Headers::new(pairs);
        for keys in [vec![], vec![Secret::new("")]] {
            let err = verify_and_parse(provider, &h, body, &keys, now()).unwrap_err();
            assert_eq!(err, WebhookError::NoSecret, "{provider}");
            assert_eq!(err.status(), 500);
        }
    }
}

#[test]
fn errors_never_show_the_secret_or_the_expected_signature() {
    let body = br#"{"site": "www", "purge_site": true}"#;
    for provider in Provider::ALL {
        let pairs =
            fixtures::delivery_headers(provider, "wrong", acted_on(provider), "id", body, now());
        let err = verify_and_parse(
            provider,
            &Headers::new(pairs),
            body,
            &secrets(&[SECRET]),
            now(),
        )
        .unwrap_err();
        assert_eq!(err, WebhookError::BadSignature, "{provider}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(SECRET));
        assert!(!shown.contains(&fixtures::hex_hmac(SECRET, body)));
    }
}

#[test]
fn missing_signature_for_every_provider() {
    let body = b"{}";
    for provider in Provider::ALL {
        let h = fixtures::headers(&[
            ("content-type", "application/json"),
            (fixtures::event_header(provider), acted_on(provider)),
        ]);
        let err = verify_and_parse(provider, &h, body, &secrets(&[SECRET]), now()).unwrap_err();
        assert!(
            matches!(err, WebhookError::MissingSignature(_)),
            "{provider}: {err:?}"
        );
        assert_eq!((err.status(), err.kind()), (401, "missing_signature"));
    }
}
