//! Finding the shared webhook fixtures (never copied into the project) and
//! signing deliveries the way each provider does, so the pure parser tests
//! and the HTTP listener tests build requests the same way. Include it with
//! `#[path = "webhook_providers/fixtures.rs"] mod fixtures;`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use edgeflush::sources::webhook::{Headers, Provider};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The fixture folder: `$EDGEFLUSH_FIXTURES` when set (it must exist then),
/// else `<manifest>/../shared/fixtures/webhooks` when it exists, else None.
pub fn fixtures_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("EDGEFLUSH_FIXTURES") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "EDGEFLUSH_FIXTURES={} is not a directory",
            dir.display()
        );
        return Some(dir);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/webhooks");
    dir.is_dir().then_some(dir)
}

/// `fixtures_dir()`, or prints why the calling test is skipped.
pub fn require() -> Option<PathBuf> {
    let dir = fixtures_dir();
    if dir.is_none() {
        eprintln!(
            "skipped: webhook fixtures not found (set EDGEFLUSH_FIXTURES or provide \
             ../shared/fixtures/webhooks next to the crate)"
        );
    }
    dir
}

pub fn read(dir: &Path, rel: &str) -> Vec<u8> {
    let p = dir.join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

pub fn json(dir: &Path, rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read(dir, rel)).unwrap_or_else(|e| panic!("parse {rel}: {e}"))
}

/// The payload files of one provider folder whose name starts with
/// `prefix` (e.g. `push.`), sorted, as paths relative to the fixture dir.
pub fn payloads(dir: &Path, folder: &str, prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir.join(folder))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix) && n.ends_with(".json") && n != "signatures.json")
        .map(|n| format!("{folder}/{n}"))
        .collect();
    out.sort();
    out
}

/// The union of added, modified and removed over `commits`, computed from
/// the fixture's JSON independently of the code under test.
pub fn expected_changed(v: &serde_json::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in v["commits"].as_array().into_iter().flatten() {
        for list in ["added", "modified", "removed"] {
            for p in c[list].as_array().into_iter().flatten() {
                out.insert(p.as_str().unwrap().to_string());
            }
        }
    }
    out
}

pub fn sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

pub fn hex_hmac(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
}

/// The HMAC key of a Standard Webhooks secret as a sender derives it.
pub fn standard_key(secret: &str) -> Vec<u8> {
    match secret.strip_prefix("whsec_") {
        Some(b64) => B64.decode(b64).unwrap(),
        None => secret.as_bytes().to_vec(),
    }
}

/// `v1,<base64>` over `{id}.{ts}.{body}`.
pub fn standard_signature(secret: &str, id: &str, ts: u64, body: &[u8]) -> String {
    let ts = ts.to_string();
    let tag = hmac_sha256(
        &standard_key(secret),
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    format!("v1,{}", B64.encode(tag))
}

pub fn unix(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The header a provider names its event in.
pub fn event_header(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => "x-github-event",
        Provider::Gitlab => "x-gitlab-event",
        Provider::Gitea => "x-gitea-event",
        Provider::Forgejo => "x-forgejo-event",
        Provider::Gogs => "x-gogs-event",
        Provider::Bitbucket | Provider::BitbucketServer => "x-event-key",
        Provider::Standard => "x-unused-event",
    }
}

/// The header a provider puts its delivery id in.
pub fn id_header(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => "x-github-delivery",
        Provider::Gitlab => "x-gitlab-event-uuid",
        Provider::Gitea => "x-gitea-delivery",
        Provider::Forgejo => "x-forgejo-delivery",
        Provider::Gogs => "x-gogs-delivery",
        Provider::Bitbucket => "x-request-uuid",
        Provider::BitbucketServer => "x-request-id",
        Provider::Standard => "webhook-id",
    }
}

/// Only the authenticity headers, computed the way `provider` does.
pub fn signature_headers(
    provider: Provider,
    secret: &str,
    id: &str,
    body: &[u8],
    now: SystemTime,
) -> Vec<(String, String)> {
    let one = |k: &str, v: String| vec![(k.to_string(), v)];
    match provider {
        Provider::Github => one(
            "x-hub-signature-256",
            format!("sha256={}", hex_hmac(secret, body)),
        ),
        Provider::Gitlab => one("x-gitlab-token", secret.to_string()),
        Provider::Gitea => one("x-gitea-signature", hex_hmac(secret, body)),
        Provider::Forgejo => one("x-forgejo-signature", hex_hmac(secret, body)),
        Provider::Gogs => one("x-gogs-signature", hex_hmac(secret, body)),
        Provider::Bitbucket | Provider::BitbucketServer => one(
            "x-hub-signature",
            format!("sha256={}", hex_hmac(secret, body)),
        ),
        Provider::Standard => {
            let ts = unix(now);
            vec![
                ("webhook-id".into(), id.to_string()),
                ("webhook-timestamp".into(), ts.to_string()),
                (
                    "webhook-signature".into(),
                    standard_signature(secret, id, ts, body),
                ),
            ]
        }
    }
}

/// A complete signed JSON delivery: content type, event, id, signature.
pub fn delivery_headers(
    provider: Provider,
    secret: &str,
    event: &str,
    id: &str,
    body: &[u8],
    now: SystemTime,
) -> Vec<(String, String)> {
    let mut h = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (event_header(provider).to_string(), event.to_string()),
    ];
    if provider != Provider::Standard {
        h.push((id_header(provider).to_string(), id.to_string()));
    }
    h.extend(signature_headers(provider, secret, id, body, now));
    h
}

pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    Headers::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// `application/x-www-form-urlencoded` encoding of one value (space as `+`).
pub fn form_encode(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
