//! Bitbucket Cloud and Server / Data Center: every push example, several
//! refs in one delivery, deletions, pings; always incomplete (no files).

use edgeflush::sources::webhook::{Event, Provider, WebhookError, verify_and_parse};
use serde_json::json;

use super::{SECRET, deliver, fixtures, now, secrets, the_push};

const NO_FILES: &str = "bitbucket sends no file lists";

#[test]
fn every_cloud_push_example() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let files = fixtures::payloads(&dir, "bitbucket", "repo_push.");
    assert_eq!(files.len(), 2);
    for f in files {
        let v = fixtures::json(&dir, &f);
        let d = deliver(Provider::Bitbucket, "repo:push", &fixtures::read(&dir, &f)).unwrap();
        assert_eq!(d.id.as_deref(), Some("delivery-1"));
        let p = the_push(&d);
        let change = &v["push"]["changes"][0];
        assert_eq!(
            p.repository,
            v["repository"]["full_name"].as_str().unwrap(),
            "{f}"
        );
        assert_eq!(
            p.git_ref,
            format!("refs/heads/{}", change["new"]["name"].as_str().unwrap())
        );
        assert_eq!(p.after.as_deref(), change["new"]["target"]["hash"].as_str());
        assert!(p.changed.is_empty());
        assert_eq!(p.incomplete.as_deref(), Some(NO_FILES));
        assert!(!p.deleted);
    }
}

#[test]
fn cloud_known_values_and_ref_kinds() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let f = "bitbucket/repo_push.woodpecker-HookPush.json";
    let d = deliver(Provider::Bitbucket, "repo:push", &fixtures::read(&dir, f)).unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "martinherren1984/publictestrepo");
    assert_eq!(p.git_ref, "refs/heads/main");
    assert_eq!(
        p.after.as_deref(),
        Some("c14c1bb05dfb1fdcdf06b31485fff61b0ea44277")
    );

    // Three refs at once: the branch, a new tag, a deleted branch.
    let mut v = fixtures::json(&dir, f);
    let branch = v["push"]["changes"][0].clone();
    let mut tag = branch.clone();
    tag["new"]["type"] = json!("tag");
    tag["new"]["name"] = json!("v2.0");
    tag["old"] = json!(null);
    let mut gone = branch.clone();
    gone["old"]["name"] = json!("old-feature");
    gone["new"] = json!(null);
    gone["closed"] = json!(true);
    v["push"]["changes"] = json!([branch, tag, gone]);
    let d = deliver(Provider::Bitbucket, "repo:push", v.to_string().as_bytes()).unwrap();
    let Event::Pushes(ps) = &d.event else {
        panic!("expected several pushes, got {:?}", d.event)
    };
    assert_eq!(d.event.pushes().len(), 3);
    let refs: Vec<&str> = ps.iter().map(|p| p.git_ref.as_str()).collect();
    assert_eq!(
        refs,
        [
            "refs/heads/main",
            "refs/tags/v2.0",
            "refs/heads/old-feature"
        ]
    );
    assert_eq!(
        ps.iter().map(|p| p.deleted).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(ps[2].after, None);
    assert!(
        ps[..2]
            .iter()
            .all(|p| p.incomplete.as_deref() == Some(NO_FILES))
    );

    // No changes at all.
    v["push"]["changes"] = json!([]);
    let d = deliver(Provider::Bitbucket, "repo:push", v.to_string().as_bytes()).unwrap();
    assert!(matches!(d.event, Event::Ignored { .. }));
}

#[test]
fn every_server_push_example() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let files = fixtures::payloads(&dir, "bitbucket-server", "repo_refs_changed.");
    assert_eq!(files.len(), 2);
    for f in &files {
        let v = fixtures::json(&dir, f);
        let d = deliver(
            Provider::BitbucketServer,
            "repo:refs_changed",
            &fixtures::read(&dir, f),
        )
        .unwrap();
        let p = the_push(&d);
        let r = &v["repository"];
        assert_eq!(
            p.repository,
            format!(
                "{}/{}",
                r["project"]["key"].as_str().unwrap(),
                r["slug"].as_str().unwrap()
            )
        );
        assert_eq!(p.git_ref, v["changes"][0]["ref"]["id"].as_str().unwrap());
        assert_eq!(p.deleted, v["changes"][0]["type"] == "DELETE");
    }
    let d = deliver(
        Provider::BitbucketServer,
        "repo:refs_changed",
        &fixtures::read(
            &dir,
            "bitbucket-server/repo_refs_changed.woodpecker-HookPush.json",
        ),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "DEV/deployment-automation");
    assert_eq!(p.git_ref, "refs/heads/renovate-all");
    assert_eq!(
        p.after.as_deref(),
        Some("76797d54bca87db6d1e3e82ee40622c7908aa514")
    );
    assert_eq!(p.incomplete.as_deref(), Some(NO_FILES));

    let d = deliver(
        Provider::BitbucketServer,
        "repo:refs_changed",
        &fixtures::read(
            &dir,
            "bitbucket-server/repo_refs_changed.go-playground-repo-refs-changed.json",
        ),
    )
    .unwrap();
    let p = the_push(&d);
    assert_eq!(p.repository, "~gopher/webhook-test");
    assert_eq!(p.git_ref, "refs/heads/feature/wip");
    assert!(p.deleted);
    assert_eq!(p.after, None);
}

#[test]
fn pings_and_other_events() {
    for provider in [Provider::Bitbucket, Provider::BitbucketServer] {
        let d = deliver(provider, "diagnostics:ping", br#"{"test": true}"#).unwrap();
        assert_eq!(d.event, Event::Ping);
        let d = deliver(provider, "pr:opened", b"{}").unwrap();
        assert!(matches!(d.event, Event::Ignored { ref reason } if reason.contains("pr:opened")));
    }
    // The cloud and server push events are not interchangeable.
    let d = deliver(Provider::Bitbucket, "repo:refs_changed", b"{}").unwrap();
    assert!(matches!(d.event, Event::Ignored { .. }));
}

#[test]
fn signature_is_always_required() {
    let body = br#"{"test": true}"#;
    let h = fixtures::headers(&[("x-event-key", "diagnostics:ping")]);
    for provider in [Provider::Bitbucket, Provider::BitbucketServer] {
        let err = verify_and_parse(provider, &h, body, &secrets(&[SECRET]), now()).unwrap_err();
        assert!(
            matches!(err, WebhookError::MissingSignature(_)),
            "{provider}: {err:?}"
        );
        let sha1 = fixtures::headers(&[
            ("x-event-key", "diagnostics:ping"),
            (
                "x-hub-signature",
                "sha1=0123456789012345678901234567890123456789",
            ),
        ]);
        let err = verify_and_parse(provider, &sha1, body, &secrets(&[SECRET]), now()).unwrap_err();
        assert_eq!(err, WebhookError::BadSignature);
    }
}

#[test]
fn change_without_a_ref_is_malformed() {
    let body = br#"{"push": {"changes": [{"new": null, "old": null}]}, "repository": {"full_name": "a/b"}}"#;
    let err = deliver(Provider::Bitbucket, "repo:push", body).unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("changes[0]"), "{err}");
}
