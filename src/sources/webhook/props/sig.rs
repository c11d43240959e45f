//! Property tests of authenticity (issue 9): a body signed with the secret
//! always verifies, and any single-bit change of the body, the tag, the
//! timestamp or the token never does; garbage signature headers (odd
//! prefixes, odd lengths, non-hex, non-base64) are refused as 401, and a
//! hook without a usable secret refuses everything as 500, never `Ok`.

use proptest::prelude::*;

use super::super::{Headers, Provider, WebhookError, verify};
use super::{SECRET, auth_header, mac, now, secrets, signed, ts_now};
use crate::config::Secret;

const HEX_PROVIDERS: [Provider; 6] = [
    Provider::Github,
    Provider::Gitea,
    Provider::Forgejo,
    Provider::Gogs,
    Provider::Bitbucket,
    Provider::BitbucketServer,
];

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut v = bytes.to_vec();
    let i = bit % (v.len() * 8);
    v[i / 8] ^= 1 << (i % 8);
    v
}

fn with_header(p: Provider, body: &[u8], name: &str, value: String) -> Headers {
    let mut h = signed(p, "push", None, body).0;
    h.retain(|(k, _)| k != name);
    h.push((name.to_string(), value));
    Headers(h)
}

fn verifies(p: Provider, h: &Headers, body: &[u8]) -> bool {
    verify(p, h, body, &secrets(), now()).is_ok()
}

proptest! {
    #[test]
    fn signed_body_verifies_and_a_flipped_body_bit_never_does(
        p in prop::sample::select(Provider::ALL.to_vec()),
        body in prop::collection::vec(any::<u8>(), 1..200),
        bit in any::<usize>(),
    ) {
        let h = signed(p, "push", None, &body);
        prop_assert!(verifies(p, &h, &body));
        if p != Provider::Gitlab {
            // A clear-text token does not sign the body.
            let e = verify(p, &h, &flip(&body, bit), &secrets(), now()).unwrap_err();
            prop_assert_eq!(e, WebhookError::BadSignature);
        }
    }

    /// A flipped bit anywhere in the header text is refused unless it only
    /// changed the case of a hex digit or of the `sha256=` prefix.
    #[test]
    fn flipped_hex_header_bit_is_refused_unless_only_case_changed(
        p in prop::sample::select(HEX_PROVIDERS.to_vec()),
        body in prop::collection::vec(any::<u8>(), 0..64),
        bit in any::<usize>(),
    ) {
        let (name, value) = auth_header(p, &body);
        let Ok(mutated) = String::from_utf8(flip(value.as_bytes(), bit)) else {
            return Ok(()); // not a header value a server could hand us
        };
        let ok = verifies(p, &with_header(p, &body, name, mutated.clone()), &body);
        let same = mutated.trim().eq_ignore_ascii_case(&value);
        prop_assert_eq!(ok, same, "{} -> {}", value, mutated);
    }

    /// A flipped bit of the decoded tag (HMAC or Standard Webhooks) is refused.
    #[test]
    fn flipped_tag_bit_is_refused(
        p in prop::sample::select(vec![Provider::Github, Provider::Gitea, Provider::Standard]),
        body in prop::collection::vec(any::<u8>(), 0..64),
        bit in 0usize..256,
    ) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (name, value) = match p {
            Provider::Standard => {
                let ts = ts_now();
                let tag = mac(SECRET.as_bytes(), &[b"msg_1.", ts.as_bytes(), b".", &body]);
                ("webhook-signature", format!("v1,{}", b64.encode(flip(&tag, bit))))
            }
            _ => {
                let tag = mac(SECRET.as_bytes(), &[&body]);
                (auth_header(p, &body).0, hex::encode(flip(&tag, bit)))
            }
        };
        let e = verify(p, &with_header(p, &body, name, value), &body, &secrets(), now()).unwrap_err();
        prop_assert_eq!(e, WebhookError::BadSignature);
    }

    /// Garbage after odd prefixes, odd-length and non-hex tags: always 401.
    #[test]
    fn garbage_hex_signature_headers_are_refused(
        p in prop::sample::select(HEX_PROVIDERS.to_vec()),
        prefix in prop::sample::select(vec!["", "sha256=", "SHA256=", "sha1=", "sha512=", "sha256:",
            "=", "sha256==", " sha256=", "sha256 =", "v1,", "sha256=sha256="]),
        tail in prop_oneof!["[0-9a-f]{0,80}", "[0-9a-fA-FxXg =,]{0,80}", "\\PC{0,80}"],
        body in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let (name, _) = auth_header(p, &body);
        let value = format!("{prefix}{tail}");
        let e = verify(p, &with_header(p, &body, name, value), &body, &secrets(), now()).unwrap_err();
        prop_assert_eq!(e.status(), 401, "{:?}", e);
    }

    /// The right tag cut to any shorter (odd or even) length is refused.
    #[test]
    fn truncated_hex_signature_is_refused(
        p in prop::sample::select(HEX_PROVIDERS.to_vec()),
        keep in 0usize..64,
    ) {
        let tag = hex::encode(mac(SECRET.as_bytes(), &[b"body"]));
        let (name, _) = auth_header(p, b"body");
        let e = verify(p, &with_header(p, b"body", name, tag[..keep].to_string()), b"body", &secrets(), now());
        prop_assert!(e.is_err_and(|e| e.is_auth()));
    }

    /// Standard Webhooks: any signature list without the right `v1,` tag is
    /// refused; with it anywhere in the list (rotation), it verifies.
    #[test]
    fn standard_signature_lists(
        junk in prop::collection::vec(prop_oneof!["v1,[A-Za-z0-9+/=]{0,50}", "v[0-9a],\\PC{0,20}", "\\PC{0,30}"], 0..4),
        at in any::<prop::sample::Index>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let p = Provider::Standard;
        let (_, good) = auth_header(p, &body);
        let bad = junk.join(" ");
        prop_assert!(!verifies(p, &with_header(p, &body, "webhook-signature", bad), &body));
        let mut list = junk.clone();
        list.insert(at.index(junk.len() + 1), good);
        let all = list.join(" ");
        prop_assert!(verifies(p, &with_header(p, &body, "webhook-signature", all), &body));
    }

    /// The timestamp is part of what is signed and bounds replays: a signed
    /// delivery verifies iff it is at most 5 minutes off our clock.
    #[test]
    fn standard_timestamp_window(skew in -1_000i64..1_000, body in prop::collection::vec(any::<u8>(), 0..32)) {
        let p = Provider::Standard;
        let ts = (1_700_000_000 + skew).to_string();
        let tag = mac(SECRET.as_bytes(), &[b"msg_1.", ts.as_bytes(), b".", &body]);
        use base64::Engine as _;
        let sig = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag));
        let mut h = with_header(p, &body, "webhook-signature", sig).0;
        h.retain(|(k, _)| k != "webhook-timestamp");
        h.push(("webhook-timestamp".into(), ts));
        let got = verify(p, &Headers(h), &body, &secrets(), now());
        if skew.abs() <= 300 {
            prop_assert!(got.is_ok(), "{:?}", got);
        } else {
            prop_assert!(matches!(got, Err(WebhookError::StaleTimestamp(_))), "{:?}", got);
        }
    }

    /// Any `webhook-timestamp` text at all is refused or checked, never a panic.
    #[test]
    fn standard_timestamp_garbage(ts in prop_oneof!["\\PC{0,30}", "-?[0-9]{1,30}"]) {
        let body = b"{}";
        let mut h = signed(Provider::Standard, "", None, body).0;
        h.retain(|(k, _)| k != "webhook-timestamp");
        h.push(("webhook-timestamp".into(), ts));
        let _ = verify(Provider::Standard, &Headers(h), body, &secrets(), now());
    }

    /// GitLab's clear token: only the exact secret passes.
    #[test]
    fn gitlab_token_must_be_exact(token in prop_oneof!["\\PC{0,30}", Just(SECRET.to_string())], bit in any::<usize>()) {
        let p = Provider::Gitlab;
        let ok = verifies(p, &with_header(p, b"", "x-gitlab-token", token.clone()), b"");
        prop_assert_eq!(ok, token == SECRET);
        if let Ok(t) = String::from_utf8(flip(SECRET.as_bytes(), bit)) {
            prop_assert!(!verifies(p, &with_header(p, b"", "x-gitlab-token", t), b""));
        }
    }

    /// Without a usable secret nothing verifies, whatever the headers say.
    #[test]
    fn no_usable_secret_refuses_everything(
        p in prop::sample::select(Provider::ALL.to_vec()),
        body in prop::collection::vec(any::<u8>(), 0..32),
        empties in 0usize..3,
    ) {
        let none: Vec<Secret> = (0..empties).map(|_| Secret::new("")).collect();
        let h = signed(p, "push", None, &body);
        let e = verify(p, &h, &body, &none, now()).unwrap_err();
        prop_assert_eq!(e.status(), 500);
    }
}
