//! Standard Webhooks (<https://www.standardwebhooks.com/>): the signature
//! scheme of our `standard` provider (what a CI job posts after it deployed)
//! and of GitLab's HMAC signing token. Signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`; the timestamp bounds replays.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;

use super::body::parse_json;
use super::sig::{hmac_matches, usable};
use super::{Delivery, Event, Headers, WebhookError};
use crate::config::Secret;

/// How far `webhook-timestamp` may be from our clock, either direction.
pub const TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The HMAC keys a configured secret stands for: `whsec_<base64>` is the
/// decoded key only; any other secret is tried base64-decoded (the
/// reference libraries accept the prefix-less form) and as its raw bytes.
pub fn signing_keys(secret: &str) -> Vec<Vec<u8>> {
    if let Some(rest) = secret.strip_prefix("whsec_") {
        return B64.decode(rest).into_iter().collect();
    }
    let mut keys: Vec<Vec<u8>> = B64.decode(secret).into_iter().collect();
    keys.push(secret.as_bytes().to_vec());
    keys.retain(|k| !k.is_empty());
    keys
}

fn unix_seconds(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::from(d.as_secs()),
        Err(e) => -i128::from(e.duration().as_secs()),
    }
}

/// Verifies `webhook-id`, `webhook-timestamp` and `webhook-signature`.
pub(crate) fn verify(
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
    now: SystemTime,
) -> Result<(), WebhookError> {
    let secrets = usable(secrets)?;
    let get = |name: &str| {
        headers
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| WebhookError::MissingSignature(format!("no {name} header")))
    };
    let id = get("webhook-id")?;
    let ts = get("webhook-timestamp")?;
    let signatures = get("webhook-signature")?;

    let sent: i64 = ts
        .trim()
        .parse()
        .map_err(|_| WebhookError::StaleTimestamp("is not a Unix time in seconds".into()))?;
    let skew = (unix_seconds(now) - i128::from(sent)).abs();
    let tolerance = i128::from(TIMESTAMP_TOLERANCE.as_secs());
    if skew > tolerance {
        return Err(WebhookError::StaleTimestamp(format!(
            "is {skew} s away from our clock (tolerance {tolerance} s)"
        )));
    }

    let tags: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|b64| B64.decode(b64).ok())
        .collect();
    if tags.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
    let verified = secrets.iter().any(|s| {
        signing_keys(s.expose())
            .iter()
            .any(|key| tags.iter().any(|tag| hmac_matches(key, &parts, tag)))
    });
    if verified {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// The body a CI job posts: one site and what to purge in it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericBody {
    site: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    purge_site: bool,
}

pub(crate) fn parse(headers: &Headers, body: &[u8]) -> Result<Delivery, WebhookError> {
    let b: GenericBody = parse_json(headers, body, false)?;
    if b.site.trim().is_empty() {
        return Err(WebhookError::malformed("`site` is empty"));
    }
    if !b.purge_site && b.paths.is_empty() && b.urls.is_empty() {
        return Err(WebhookError::malformed(
            "nothing to purge: give `paths`, `urls` or `purge_site: true`",
        ));
    }
    Ok(Delivery {
        id: headers.first_of(&["webhook-id"]).map(str::to_string),
        event_name: "purge".into(),
        event: Event::Generic {
            site: b.site,
            paths: b.paths,
            urls: b.urls,
            purge_site: b.purge_site,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_each_secret_form() {
        assert_eq!(signing_keys("whsec_AAEC"), vec![vec![0u8, 1, 2]]);
        assert!(signing_keys("whsec_!!").is_empty());
        assert_eq!(
            signing_keys("AAEC"),
            vec![vec![0u8, 1, 2], b"AAEC".to_vec()]
        );
        assert_eq!(signing_keys("not base64!"), vec![b"not base64!".to_vec()]);
    }

    #[test]
    fn now_before_epoch_does_not_panic() {
        let t = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(unix_seconds(t), -10);
    }
}
