//! The HMAC and token checks every provider shares. All comparisons go
//! through the `hmac` crate's constant-time `verify_slice` (which also checks
//! the length), so no provider can grow its own timing leak. Empty secrets
//! are skipped: an HMAC keyed with "" is something anyone can compute.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::WebhookError;
use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The secrets that can verify anything (non-empty), or `NoSecret`.
pub(crate) fn usable(secrets: &[Secret]) -> Result<Vec<&Secret>, WebhookError> {
    let keys: Vec<&Secret> = secrets.iter().filter(|s| !s.is_empty()).collect();
    if keys.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    Ok(keys)
}

/// True when HMAC-SHA256(key, parts concatenated) equals `tag`.
pub(crate) fn hmac_matches(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    // HMAC takes keys of any length, so this never fails in practice; a
    // failure would mean "cannot verify", which is "does not verify".
    let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(tag).is_ok()
}

/// Checks a hex HMAC-SHA256 of the raw body, as GitHub
/// (`X-Hub-Signature-256`), Bitbucket (`X-Hub-Signature`) and
/// Gitea/Forgejo/Gogs send it. A `sha256=` prefix is accepted and stripped;
/// any other `algo=` prefix (e.g. legacy `sha1=`) is refused.
pub(crate) fn verify_hex(
    header: &str,
    value: Option<&str>,
    body: &[u8],
    secrets: &[Secret],
) -> Result<(), WebhookError> {
    let keys = usable(secrets)?;
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(WebhookError::MissingSignature(format!(
            "no {header} header"
        )));
    }
    let hex_part = match value.split_once('=') {
        Some((algo, rest)) if algo.eq_ignore_ascii_case("sha256") => rest,
        Some(_) => return Err(WebhookError::BadSignature),
        None => value,
    };
    let tag = hex::decode(hex_part).map_err(|_| WebhookError::BadSignature)?;
    if keys
        .iter()
        .any(|k| hmac_matches(k.expose().as_bytes(), &[body], &tag))
    {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Compares a token sent in clear (GitLab's `X-Gitlab-Token`) with each
/// secret without leaking where they differ or how long the secret is: both
/// sides are first reduced to an HMAC under a fixed label, and those equal-
/// length tags are compared in constant time.
pub(crate) fn verify_token(
    header: &str,
    value: Option<&str>,
    secrets: &[Secret],
) -> Result<(), WebhookError> {
    const LABEL: &[u8] = b"edgeflush token comparison";
    let keys = usable(secrets)?;
    let given = value.unwrap_or_default();
    if given.is_empty() {
        return Err(WebhookError::MissingSignature(format!(
            "no {header} header"
        )));
    }
    let Ok(given_mac) = <HmacSha256 as KeyInit>::new_from_slice(LABEL) else {
        return Err(WebhookError::BadSignature);
    };
    let given_tag = given_mac
        .chain_update(given.as_bytes())
        .finalize()
        .into_bytes();
    if keys
        .iter()
        .any(|k| hmac_matches(LABEL, &[k.expose().as_bytes()], &given_tag))
    {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_sig(key: &str, body: &[u8]) -> String {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn hex_with_and_without_prefix() {
        let s = [Secret::new("k")];
        let sig = hex_sig("k", b"body");
        assert!(verify_hex("h", Some(&sig), b"body", &s).is_ok());
        assert!(verify_hex("h", Some(&format!("sha256={sig}")), b"body", &s).is_ok());
        assert_eq!(
            verify_hex("h", Some(&format!("sha1={sig}")), b"body", &s),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_hex("h", Some(&sig), b"other", &s),
            Err(WebhookError::BadSignature)
        );
        // Truncated tag: verify_slice checks the length.
        assert_eq!(
            verify_hex("h", Some(&sig[..32]), b"body", &s),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn empty_secret_never_verifies() {
        let sig = hex_sig("", b"body");
        assert_eq!(
            verify_hex("h", Some(&sig), b"body", &[Secret::new("")]),
            Err(WebhookError::NoSecret)
        );
        assert_eq!(
            verify_token("t", Some(""), &[Secret::new("")]),
            Err(WebhookError::NoSecret)
        );
    }

    #[test]
    fn tokens() {
        let s = [Secret::new("old"), Secret::new("new-token")];
        assert!(verify_token("t", Some("new-token"), &s).is_ok());
        assert!(verify_token("t", Some("old"), &s).is_ok());
        assert_eq!(
            verify_token("t", Some("new-toke"), &s),
            Err(WebhookError::BadSignature)
        );
        assert!(matches!(
            verify_token("t", None, &s),
            Err(WebhookError::MissingSignature(_))
        ));
    }
}
