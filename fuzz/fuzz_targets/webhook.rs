//! Webhook payloads, every provider: byte 0 picks the provider, byte 1 the
//! event header, byte 2 the content type; the rest is the body, signed
//! correctly so the real parser is reached. A delivery must parse or be
//! refused as 400/415 (never 401 here, never 500, never a panic).

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use edgeflush::fuzzing::{Headers, Provider, Secret, verify_and_parse};
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-secret";
const EVENTS: &[&str] = &[
    "push",
    "ping",
    "deployment_status",
    "workflow_run",
    "Push Hook",
    "Tag Push Hook",
    "create",
    "delete",
    "repo:push",
    "repo:refs_changed",
    "diagnostics:ping",
    "other",
];
const TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/vnd.x+json",
    "text/plain",
    "",
];

fn mac(parts: &[&[u8]]) -> Vec<u8> {
    let Ok(mut m) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()) else {
        return Vec::new();
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

fuzz_target!(|data: &[u8]| {
    let [p, e, t, body @ ..] = data else { return };
    let provider = Provider::ALL[*p as usize % Provider::ALL.len()];
    let event = EVENTS[*e as usize % EVENTS.len()].to_string();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ts = "1700000000".to_string();
    let hex_sig = hex::encode(mac(&[body]));
    let std_sig =
        base64::engine::general_purpose::STANDARD.encode(mac(&[b"id.", ts.as_bytes(), b".", body]));
    let mut h = vec![
        (
            "X-Hub-Signature-256".to_string(),
            format!("sha256={hex_sig}"),
        ),
        ("X-Hub-Signature".to_string(), format!("sha256={hex_sig}")),
        ("X-Gitea-Signature".to_string(), hex_sig.clone()),
        ("X-Forgejo-Signature".to_string(), hex_sig.clone()),
        ("X-Gogs-Signature".to_string(), hex_sig),
        ("X-Gitlab-Token".to_string(), SECRET.to_string()),
        ("webhook-id".to_string(), "id".to_string()),
        ("webhook-timestamp".to_string(), ts),
        ("webhook-signature".to_string(), format!("v1,{std_sig}")),
    ];
    if provider == Provider::Gitlab {
        h.retain(|(k, _)| !k.starts_with("webhook-")); // token mode
    }
    for name in [
        "X-GitHub-Event",
        "X-Gitlab-Event",
        "X-Gitea-Event",
        "X-Forgejo-Event",
        "X-Gogs-Event",
        "X-Event-Key",
    ] {
        h.push((name.to_string(), event.clone()));
    }
    let ct = TYPES[*t as usize % TYPES.len()];
    if !ct.is_empty() {
        h.push(("Content-Type".to_string(), ct.to_string()));
    }
    let secrets = [Secret::new(SECRET)];
    match verify_and_parse(provider, &Headers::new(h), body, &secrets, now) {
        Ok(_) => {}
        Err(e) => assert!(matches!(e.status(), 400 | 415), "{provider}: {e:?}"),
    }
});
