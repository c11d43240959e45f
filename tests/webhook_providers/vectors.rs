//! Every published signature vector in the fixtures verifies or fails as
//! marked. One documented deviation: the legacy SHA-1 `X-Hub-Signature`
//! vectors (GitHub's old header) are refused as missing, because we require
//! `X-Hub-Signature-256`.

use std::time::{Duration, UNIX_EPOCH};

use edgeflush::sources::webhook::{Headers, Provider, WebhookError, verify, verify_and_parse};
use serde_json::Value;

use super::fixtures;
use super::secrets;

struct Tally {
    valid: usize,
    invalid: usize,
    refused_sha1: usize,
}

fn check_signature_file(folder: &str, provider: Provider) -> Option<Tally> {
    let dir = fixtures::require()?;
    let entries = fixtures::json(&dir, &format!("{folder}/signatures.json"));
    let entries = entries.as_array().expect("a list of vectors");
    assert!(!entries.is_empty());
    let mut tally = Tally {
        valid: 0,
        invalid: 0,
        refused_sha1: 0,
    };
    for (i, e) in entries.iter().enumerate() {
        let body: Vec<u8> = match (&e["body"], &e["body_file"]) {
            (Value::String(s), _) => s.as_bytes().to_vec(),
            (_, Value::String(f)) => fixtures::read(&dir, f),
            _ => panic!("{folder}[{i}] has no body"),
        };
        // The bytes are the ones the vector was made from.
        assert_eq!(
            fixtures::sha256_hex(&body),
            e["body_sha256"],
            "{folder}[{i}] body"
        );
        assert_eq!(body.len() as u64, e["body_length"].as_u64().unwrap());

        let mut pairs = vec![(
            e["header"].as_str().unwrap().to_string(),
            e["header_value"].as_str().unwrap().to_string(),
        )];
        for (k, v) in e["event_header"].as_object().into_iter().flatten() {
            pairs.push((k.clone(), v.as_str().unwrap().to_string()));
        }
        let headers = Headers::new(pairs);
        let secret = e["secret"].as_str().unwrap();
        let got = verify(provider, &headers, &body, &secrets(&[secret]), super::now());
        let valid = e["valid"].as_bool().unwrap();
        let what = format!("{folder}[{i}] ({})", e["source"]);

        if e["algorithm"] == "hmac-sha1" {
            assert!(
                matches!(got, Err(WebhookError::MissingSignature(_))),
                "{what}: SHA-1 alone must be refused, got {got:?}"
            );
            tally.refused_sha1 += 1;
        } else if valid {
            assert_eq!(got, Ok(()), "{what} must verify");
            tally.valid += 1;
            // With the event header the source test sent, the whole
            // delivery parses too.
            if e["body_file"].is_string() && e["event_header"].is_object() {
                let d =
                    verify_and_parse(provider, &headers, &body, &secrets(&[secret]), super::now());
                assert!(d.is_ok(), "{what} must parse: {d:?}");
            }
        } else {
            let err = got.expect_err(&format!("{what} must fail"));
            assert_eq!(err.status(), 401, "{what}: {err:?}");
            tally.invalid += 1;
            // A wrong signature never echoes what we expected (nor the
            // secret, where it is not a plain word like "secret").
            let shown = format!("{err} {err:?}");
            assert!(
                !shown.contains(&fixtures::hex_hmac(secret, &body)),
                "{what}: {shown}"
            );
            assert!(
                secret.len() < 8 || !shown.contains(secret),
                "{what}: {shown}"
            );
        }
    }
    assert_eq!(
        tally.valid + tally.invalid + tally.refused_sha1,
        entries.len()
    );
    Some(tally)
}

#[test]
fn github_vectors() {
    let Some(t) = check_signature_file("github", Provider::Github) else {
        return;
    };
    assert_eq!((t.valid, t.invalid, t.refused_sha1), (7, 6, 10));
}

#[test]
fn gitea_vectors() {
    let Some(t) = check_signature_file("gitea", Provider::Gitea) else {
        return;
    };
    assert_eq!((t.valid, t.invalid), (3, 2));
}

/// Forgejo hooks accept the `X-Gitea-Signature` Forgejo also sends.
#[test]
fn gitea_vectors_on_a_forgejo_hook() {
    let Some(t) = check_signature_file("gitea", Provider::Forgejo) else {
        return;
    };
    assert_eq!((t.valid, t.invalid), (3, 2));
}

#[test]
fn gogs_vectors() {
    let Some(t) = check_signature_file("gogs", Provider::Gogs) else {
        return;
    };
    assert_eq!((t.valid, t.invalid), (3, 2));
}

#[test]
fn bitbucket_server_vectors() {
    let Some(t) = check_signature_file("bitbucket-server", Provider::BitbucketServer) else {
        return;
    };
    assert_eq!((t.valid, t.invalid), (1, 2));
}

#[test]
fn gitlab_token_vectors() {
    let Some(t) = check_signature_file("gitlab", Provider::Gitlab) else {
        return;
    };
    assert_eq!((t.valid, t.invalid), (2, 1));
}

/// The Standard Webhooks vectors, for our `standard` provider and for
/// GitLab's signing token (same scheme), with the clock at the vector's
/// timestamp and then just inside and outside the 5-minute tolerance.
#[test]
fn standard_webhooks_vectors() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let v = fixtures::json(&dir, "standard-webhooks/vectors.json");
    let vectors = v.as_array().unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for (i, e) in vectors.iter().enumerate() {
        let ts = e["timestamp"].as_u64().unwrap();
        let body = e["payload"].as_str().unwrap().as_bytes();
        let headers = fixtures::headers(&[
            ("webhook-id", e["id"].as_str().unwrap()),
            ("webhook-timestamp", &ts.to_string()),
            ("webhook-signature", e["signature"].as_str().unwrap()),
            ("x-gitlab-event", "Push Hook"),
        ]);
        let keys = secrets(&[e["secret"].as_str().unwrap()]);
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        for provider in [Provider::Standard, Provider::Gitlab] {
            let got = verify(provider, &headers, body, &keys, at(ts));
            if e["valid"].as_bool().unwrap() {
                assert_eq!(got, Ok(()), "vector {i} on {provider}");
                assert_eq!(
                    verify(provider, &headers, body, &keys, at(ts + 300)),
                    Ok(())
                );
                assert_eq!(
                    verify(provider, &headers, body, &keys, at(ts - 300)),
                    Ok(())
                );
                for stale in [at(ts + 301), at(ts - 301)] {
                    assert!(
                        matches!(
                            verify(provider, &headers, body, &keys, stale),
                            Err(WebhookError::StaleTimestamp(_))
                        ),
                        "vector {i} on {provider} must be stale"
                    );
                }
            } else {
                assert_eq!(
                    got,
                    Err(WebhookError::BadSignature),
                    "vector {i} on {provider}"
                );
            }
        }
        if e["valid"].as_bool().unwrap() {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert_eq!((valid, invalid), (3, 6));
}
