//! Property tests of the webhook parsers (issue 9, "hostile input"): every
//! provider is fed arbitrary bytes and arbitrary JSON built from the
//! providers' own field names, correctly signed so the parser is reached,
//! and must answer `Ok` or a 400/415 refusal, never panic and never a 500.
//! Well-formed pushes round-trip to the files they list. The signature
//! properties live in `props/sig.rs`.

mod sig;

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Event, Headers, Provider, WebhookError, verify_and_parse};
use crate::config::Secret;

pub(super) const SECRET: &str = "s3cret-key";

pub(super) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

pub(super) fn secrets() -> Vec<Secret> {
    vec![Secret::new(SECRET)]
}

pub(super) fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// The header carrying the provider's authenticity proof, and its value for
/// `body` signed with [`SECRET`].
pub(super) fn auth_header(p: Provider, body: &[u8]) -> (&'static str, String) {
    let hex_sig = || hex::encode(mac(SECRET.as_bytes(), &[body]));
    match p {
        Provider::Github => ("x-hub-signature-256", format!("sha256={}", hex_sig())),
        Provider::Gitlab => ("x-gitlab-token", SECRET.to_string()),
        Provider::Gitea => ("x-gitea-signature", hex_sig()),
        Provider::Forgejo => ("x-forgejo-signature", hex_sig()),
        Provider::Gogs => ("x-gogs-signature", hex_sig()),
        Provider::Bitbucket | Provider::BitbucketServer => {
            ("x-hub-signature", format!("sha256={}", hex_sig()))
        }
        Provider::Standard => {
            let ts = ts_now();
            let tag = mac(SECRET.as_bytes(), &[b"msg_1.", ts.as_bytes(), b".", body]);
            ("webhook-signature", format!("v1,{}", B64.encode(tag)))
        }
    }
}

pub(super) fn ts_now() -> String {
    now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

fn event_header(p: Provider) -> &'static str {
    match p {
        Provider::Github => "x-github-event",
        Provider::Gitlab => "x-gitlab-event",
        Provider::Gitea => "x-gitea-event",
        Provider::Forgejo => "x-forgejo-event",
        Provider::Gogs => "x-gogs-event",
        Provider::Bitbucket | Provider::BitbucketServer => "x-event-key",
        Provider::Standard => "x-unused-event",
    }
}

/// Headers of a delivery of `event` whose body is correctly signed.
pub(super) fn signed(p: Provider, event: &str, ct: Option<&str>, body: &[u8]) -> Headers {
    let (name, value) = auth_header(p, body);
    let mut pairs = vec![
        (name.to_string(), value),
        (event_header(p).to_string(), event.to_string()),
        ("webhook-id".to_string(), "msg_1".to_string()),
        ("webhook-timestamp".to_string(), ts_now()),
    ];
    if let Some(ct) = ct {
        pairs.push(("content-type".to_string(), ct.to_string()));
    }
    Headers::new(pairs)
}

const EVENTS: &[&str] = &[
    "push",
    "ping",
    "deployment_status",
    "workflow_run",
    "Push Hook",
    "Tag Push Hook",
    "System Hook",
    "create",
    "delete",
    "repo:push",
    "repo:refs_changed",
    "diagnostics:ping",
    "issues",
    "",
];

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/vnd.gitea+json"),
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    Some(""),
];

/// Every field name any provider reads, so generated objects reach deep.
const KEYS: &[&str] = &[
    "ref",
    "after",
    "commits",
    "added",
    "modified",
    "removed",
    "deleted",
    "forced",
    "repository",
    "full_name",
    "project",
    "path_with_namespace",
    "total_commits",
    "total_commits_count",
    "deployment_status",
    "state",
    "deployment",
    "sha",
    "workflow_run",
    "action",
    "head_sha",
    "conclusion",
    "push",
    "changes",
    "new",
    "old",
    "closed",
    "type",
    "name",
    "target",
    "hash",
    "refId",
    "toHash",
    "slug",
    "key",
    "id",
    "site",
    "paths",
    "urls",
    "purge_site",
    "payload",
];

const WORDS: &[&str] = &[
    "refs/heads/main",
    "refs/tags/v1",
    "0000000000000000000000000000000000000000",
    "success",
    "completed",
    "branch",
    "tag",
    "DELETE",
    "o/r",
    "www",
    "a.html",
    "",
];

/// Arbitrary JSON whose object keys come from [`KEYS`].
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    crate::props_json::json_value(KEYS, WORDS, 5)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        // Form bodies with a JSON payload, percent-encoded or not.
        json_value().prop_map(|v| {
            let s = v.to_string();
            let enc = percent_encoding::utf8_percent_encode(&s, percent_encoding::NON_ALPHANUMERIC);
            format!("a=1&payload={enc}").into_bytes()
        }),
    ]
}

/// The only refusals a correctly signed delivery may get.
fn body_refusal(e: &WebhookError) -> bool {
    matches!(
        e,
        WebhookError::Malformed(_) | WebhookError::UnsupportedContentType(_)
    ) && matches!(e.status(), 400 | 415)
}

proptest! {
    #[test]
    fn any_signed_body_parses_or_is_refused_as_a_bad_request(
        p in prop::sample::select(Provider::ALL.to_vec()),
        event in prop::sample::select(EVENTS),
        ct in prop::sample::select(CONTENT_TYPES),
        body in body(),
    ) {
        let h = signed(p, event, ct, &body);
        match verify_and_parse(p, &h, &body, &secrets(), now()) {
            Ok(d) => prop_assert!(d.id.is_some() || p != Provider::Standard),
            Err(e) => prop_assert!(body_refusal(&e), "{p} {event}: {e:?}"),
        }
    }

    /// Unrelated and duplicated headers of any value change nothing.
    #[test]
    fn odd_extra_headers_never_panic(
        p in prop::sample::select(Provider::ALL.to_vec()),
        extra in prop::collection::vec(("[a-zA-Z-]{1,20}", "\\PC{0,40}"), 0..6),
        body in body(),
    ) {
        let mut h = signed(p, "push", None, &body).0;
        h.extend(extra.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)));
        let _ = verify_and_parse(p, &Headers(h), &body, &secrets(), now());
    }
}

/// A commit's lists: each present or absent, names arbitrary (empty too).
fn commit() -> impl Strategy<Value = [Option<Vec<String>>; 3]> {
    let list = prop::option::of(prop::collection::vec("\\PC{0,16}", 0..4));
    [list.clone(), list.clone(), list]
}

fn commit_json(c: &[Option<Vec<String>>; 3]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, l) in ["added", "modified", "removed"].iter().zip(c) {
        if let Some(l) = l {
            m.insert(k.to_string(), json!(l));
        }
    }
    Value::Object(m)
}

proptest! {
    /// GitHub, GitLab and Gitea-family pushes give exactly the union of the
    /// listed files (empty names dropped), incomplete iff a commit has no lists.
    #[test]
    fn listed_files_round_trip(
        p in prop::sample::select(vec![Provider::Github, Provider::Gitlab, Provider::Gitea, Provider::Forgejo, Provider::Gogs]),
        repo in "\\PC{1,20}",
        branch in "[a-z0-9/._-]{1,20}",
        commits in prop::collection::vec(commit(), 1..5),
    ) {
        let git_ref = format!("refs/heads/{branch}");
        let cj: Vec<Value> = commits.iter().map(commit_json).collect();
        let n = cj.len();
        let (event, body) = match p {
            Provider::Github => ("push", json!({"ref": git_ref, "after": "abc", "commits": cj,
                "repository": {"full_name": repo}})),
            Provider::Gitlab => ("Push Hook", json!({"ref": git_ref, "after": "abc", "commits": cj,
                "total_commits_count": n, "project": {"path_with_namespace": repo}})),
            _ => ("push", json!({"ref": git_ref, "after": "abc", "commits": cj,
                "total_commits": n, "repository": {"full_name": repo}})),
        };
        let body = body.to_string().into_bytes();
        let h = signed(p, event, Some("application/json"), &body);
        let d = verify_and_parse(p, &h, &body, &secrets(), now()).unwrap();
        let Event::Push(push) = d.event else { panic!("not a push: {:?}", d.event) };
        let want: BTreeSet<String> = commits.iter().flatten().flatten().flatten()
            .filter(|s| !s.is_empty()).cloned().collect();
        prop_assert_eq!(&push.changed, &want);
        prop_assert_eq!(&push.repository, &repo);
        prop_assert_eq!(&push.git_ref, &git_ref);
        let all_listed = commits.iter().all(|c| c.iter().any(Option::is_some));
        prop_assert_eq!(push.incomplete.is_none(), all_listed, "{:?}", push.incomplete);
    }

    /// GitHub's form encoding carries the same delivery as the JSON body.
    #[test]
    fn github_form_body_equals_json_body(v in json_value()) {
        let json_body = v.to_string().into_bytes();
        let enc = percent_encoding::percent_encode(&json_body, percent_encoding::NON_ALPHANUMERIC);
        let form = format!("payload={enc}").into_bytes();
        let run = |ct: &str, b: &[u8]| {
            verify_and_parse(Provider::Github, &signed(Provider::Github, "push", Some(ct), b), b, &secrets(), now())
        };
        prop_assert_eq!(run("application/json", &json_body), run("application/x-www-form-urlencoded", &form));
    }

    /// Bitbucket Cloud: one push per change, refs named by type.
    #[test]
    fn bitbucket_changes_round_trip(
        changes in prop::collection::vec((any::<bool>(), "[a-zA-Z0-9/._-]{1,12}", "[0-9a-f]{4,40}"), 0..4),
    ) {
        let cj: Vec<Value> = changes.iter().map(|(tag, name, hash)| json!({"new": {
            "type": if *tag { "tag" } else { "branch" }, "name": name, "target": {"hash": hash}}})).collect();
        let body = json!({"push": {"changes": cj}, "repository": {"full_name": "w/r"}}).to_string().into_bytes();
        let h = signed(Provider::Bitbucket, "repo:push", None, &body);
        let d = verify_and_parse(Provider::Bitbucket, &h, &body, &secrets(), now()).unwrap();
        let got: Vec<(String, Option<String>)> =
            d.event.pushes().iter().map(|p| (p.git_ref.clone(), p.after.clone())).collect();
        let want: Vec<(String, Option<String>)> = changes.iter().map(|(tag, name, hash)| {
            let kind = if *tag { "tags" } else { "heads" };
            (format!("refs/{kind}/{name}"), Some(hash.clone()).filter(|h| !h.bytes().all(|b| b == b'0')))
        }).collect();
        prop_assert_eq!(got, want);
        prop_assert!(d.event.pushes().iter().all(|p| p.incomplete.is_some() || p.deleted));
    }

    /// Standard Webhooks bodies round-trip, or are refused for the two
    /// documented reasons only.
    #[test]
    fn standard_body_round_trips(
        site in "\\PC{0,10}",
        paths in prop::collection::vec("\\PC{0,20}", 0..4),
        urls in prop::collection::vec("\\PC{0,20}", 0..3),
        purge_site in any::<bool>(),
    ) {
        let body = json!({"site": site, "paths": paths, "urls": urls, "purge_site": purge_site})
            .to_string().into_bytes();
        let h = signed(Provider::Standard, "", None, &body);
        let got = verify_and_parse(Provider::Standard, &h, &body, &secrets(), now());
        let refused = site.trim().is_empty() || (!purge_site && paths.is_empty() && urls.is_empty());
        match got {
            Ok(d) => {
                prop_assert!(!refused);
                prop_assert_eq!(d.id.as_deref(), Some("msg_1"));
                prop_assert_eq!(d.event, Event::Generic { site, paths, urls, purge_site });
            }
            Err(e) => prop_assert!(refused && matches!(e, WebhookError::Malformed(_)), "{e:?}"),
        }
    }
}
