//! Signature and token headers, every provider: byte 0 picks the provider;
//! the rest, split at the first 0xFF, is the header value(s) and the body.
//! Nothing forged by the fuzzer may verify (any `Ok` is a crash), every
//! refusal is a 401, and a secret of any shape never panics `signing_keys`.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use edgeflush::fuzzing::{Headers, Provider, Secret, signing_keys, verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [p, rest @ ..] = data else { return };
    let provider = Provider::ALL[*p as usize % Provider::ALL.len()];
    let (head, body) = match rest.iter().position(|b| *b == 0xff) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let text = String::from_utf8_lossy(head).into_owned();
    let _ = signing_keys(&text);
    // Standard Webhooks: "<timestamp> <signatures...>"; others: the header.
    let (ts, sig) = text
        .split_once(' ')
        .unwrap_or(("1700000000", text.as_str()));
    // GitLab checks its token unless a `webhook-signature` is sent.
    let standard_headers = provider != Provider::Gitlab || *p >= 128;
    let h: Headers = [
        ("x-hub-signature-256", sig),
        ("x-hub-signature", sig),
        ("x-gitea-signature", sig),
        ("x-forgejo-signature", sig),
        ("x-gogs-signature", sig),
        ("x-gitlab-token", sig),
        ("webhook-id", "id"),
        ("webhook-timestamp", ts),
        ("webhook-signature", sig),
    ]
    .into_iter()
    .filter(|(k, _)| standard_headers || !k.starts_with("webhook-"))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let secrets = [
        Secret::new("fuzz-secret"),
        Secret::new("whsec_c2VjcmV0LWtleS1ieXRlcw=="),
    ];
    match verify(provider, &h, body, &secrets, now) {
        // Only GitLab's clear token can be guessed: the secret itself.
        Ok(()) if provider == Provider::Gitlab && sig == "fuzz-secret" => {}
        Ok(()) => panic!("{provider}: forged delivery verified: {text:?}"),
        Err(e) => assert_eq!(e.status(), 401, "{provider}: {e:?}"),
    }
});
