//! Why a delivery was refused, and the one place that maps each refusal to
//! its HTTP status and metric label, so the listener, the logs and the
//! metrics never disagree. Messages never carry a secret or the signature we
//! expected: a sender probing the endpoint learns only that it failed.

/// A delivery we will not act on. Each variant maps to one status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The provider's signature or token header is absent (or empty).
    #[error("missing signature: {0}")]
    MissingSignature(String),
    /// A signature or token is present but no configured secret verifies it.
    #[error("signature does not match any configured secret")]
    BadSignature,
    /// Standard Webhooks: `webhook-timestamp` is more than the tolerance away
    /// from our clock (a replay or a badly wrong clock), or not a number.
    #[error("webhook-timestamp {0}")]
    StaleTimestamp(String),
    /// The hook has no usable secret: a configuration error, never the
    /// sender's fault, and never "verified by default".
    #[error("no usable secret is configured for this hook")]
    NoSecret,
    /// A body type the provider's parser does not read.
    #[error("unsupported content type {0:?}")]
    UnsupportedContentType(String),
    /// Verified, but the body or a required header is not what the provider
    /// sends: bad JSON, wrong shape, missing event header, non-UTF-8.
    #[error("malformed delivery: {0}")]
    Malformed(String),
}

impl WebhookError {
    /// The HTTP status to answer with: 401 for anything about authenticity
    /// (so a sender cannot tell a wrong secret from a stale replay), 415 for
    /// the content type, 400 for a bad body, 500 when our config is broken.
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::MissingSignature(_)
            | WebhookError::BadSignature
            | WebhookError::StaleTimestamp(_) => 401,
            WebhookError::NoSecret => 500,
            WebhookError::UnsupportedContentType(_) => 415,
            WebhookError::Malformed(_) => 400,
        }
    }

    /// A bounded label, safe as a metric label value.
    pub fn kind(&self) -> &'static str {
        match self {
            WebhookError::MissingSignature(_) => "missing_signature",
            WebhookError::BadSignature => "bad_signature",
            WebhookError::StaleTimestamp(_) => "stale_timestamp",
            WebhookError::NoSecret => "no_secret",
            WebhookError::UnsupportedContentType(_) => "unsupported_content_type",
            WebhookError::Malformed(_) => "malformed",
        }
    }

    /// True for the refusals that mean "not authentic" (counted per hook as
    /// signature failures).
    pub fn is_auth(&self) -> bool {
        self.status() == 401
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        WebhookError::Malformed(shorten(reason.into()))
    }
}

/// Keeps reasons short: a parser message can quote a long string value.
fn shorten(mut s: String) -> String {
    const MAX: usize = 200;
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_kinds() {
        assert_eq!(WebhookError::BadSignature.status(), 401);
        assert_eq!(WebhookError::MissingSignature("x".into()).status(), 401);
        assert_eq!(WebhookError::StaleTimestamp("x".into()).status(), 401);
        assert_eq!(
            WebhookError::UnsupportedContentType("x".into()).status(),
            415
        );
        assert_eq!(WebhookError::Malformed("x".into()).status(), 400);
        assert_eq!(WebhookError::NoSecret.status(), 500);
        assert_eq!(WebhookError::BadSignature.kind(), "bad_signature");
        assert!(WebhookError::BadSignature.is_auth());
        assert!(!WebhookError::Malformed("x".into()).is_auth());
    }

    #[test]
    fn long_reasons_are_cut_on_a_char_boundary() {
        let e = WebhookError::malformed("é".repeat(300));
        let WebhookError::Malformed(m) = e else {
            panic!("wrong variant")
        };
        assert!(m.len() <= 204);
        assert!(m.ends_with('…'));
    }
}
