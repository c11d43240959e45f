//! Webhook deliveries from git hosts and CI jobs, as pure functions: given
//! the provider, the headers, the raw body, the hook's secrets and the time,
//! [`verify_and_parse`] answers with a verified, typed [`Delivery`] or a
//! [`WebhookError`] that knows its HTTP status. No server, no store: the
//! listener calls this and decides what to enqueue, so every provider's
//! quirks can be tested on bytes alone.
//!
//! Authenticity is checked first, on the raw bytes, before any parsing; a
//! body is never looked at unless one of the secrets (several are allowed,
//! for rotation) verifies it.
//!
//! Decisions worth knowing:
//! - GitHub: `X-Hub-Signature-256` is required; the legacy SHA-1
//!   `X-Hub-Signature` alone is refused. The `sha256=` prefix may be omitted
//!   (some relays strip it); other algorithm prefixes are refused.
//! - GitLab: when `webhook-signature` is present (GitLab's HMAC signing
//!   token, Standard Webhooks format) it must verify and `X-Gitlab-Token` is
//!   not consulted; otherwise `X-Gitlab-Token` must equal a secret. The
//!   delivery id is `webhook-id`, else `Idempotency-Key` (stable across
//!   GitLab's retries), else `X-Gitlab-Event-UUID`.
//! - Gitea/Forgejo/Gogs: `create` and `delete` events are `Ignored` (a new
//!   ref's files arrive with its push event; deleting a ref changes no
//!   page). A push whose `after` is all zeros is a `Push` with
//!   `deleted: true`. Only JSON bodies are read (configure the hook's
//!   content type as `application/json`).
//! - Bitbucket Cloud and Server can update several refs in one delivery:
//!   one ref gives [`Event::Push`], several give [`Event::Pushes`]; use
//!   [`Event::pushes`] to treat both alike.
//! - Standard Webhooks secrets: `whsec_<base64>` is the base64-decoded key;
//!   any other secret is tried both base64-decoded and as raw bytes.

pub mod actions;
mod bitbucket;
mod body;
mod error;
mod gitea;
mod github;
mod gitlab;
mod handler;
pub mod listener;
#[cfg(test)]
mod props;
mod push;
mod sig;
mod standard;
mod tls;

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::config::Secret;

pub use error::WebhookError;
pub use standard::{TIMESTAMP_TOLERANCE, signing_keys};

/// The `provider` of a `[[hook]]`: which headers and payloads to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Github,
    Gitlab,
    Gitea,
    Forgejo,
    Gogs,
    Bitbucket,
    BitbucketServer,
    Standard,
}

impl Provider {
    /// Every provider, in the order the documentation lists them.
    pub const ALL: [Provider; 8] = [
        Provider::Github,
        Provider::Gitlab,
        Provider::Gitea,
        Provider::Forgejo,
        Provider::Gogs,
        Provider::Bitbucket,
        Provider::BitbucketServer,
        Provider::Standard,
    ];

    /// The config spelling (`github`, ..., `bitbucket-server`, `standard`).
    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
            Provider::Gitea => "gitea",
            Provider::Forgejo => "forgejo",
            Provider::Gogs => "gogs",
            Provider::Bitbucket => "bitbucket",
            Provider::BitbucketServer => "bitbucket-server",
            Provider::Standard => "standard",
        }
    }
}

impl Provider {
    /// Why `secret` can never verify a delivery for this provider, for the
    /// config loader to refuse at startup instead of 401-ing every delivery.
    pub fn secret_problem(&self, secret: &Secret) -> Option<&'static str> {
        let s = secret.expose();
        if s.is_empty() {
            return Some("is empty");
        }
        let signs_standard = matches!(self, Provider::Standard | Provider::Gitlab);
        if signs_standard && s.starts_with("whsec_") && signing_keys(s).is_empty() {
            return Some("starts with `whsec_` but the rest is not a base64 key");
        }
        None
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request headers, names lower-cased, values as received. Lookups ignore
/// case; with a repeated header the first one wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Headers(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first of `names` that is present with a non-blank value.
    pub(crate) fn first_of(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .filter_map(|n| self.get(n))
            .map(str::trim)
            .find(|v| !v.is_empty())
    }

    /// A required header, trimmed, or a `Malformed` naming it.
    pub(crate) fn require(&self, names: &[&str]) -> Result<&str, WebhookError> {
        self.first_of(names)
            .ok_or_else(|| WebhookError::malformed(format!("no {} header", names.join(" or "))))
    }
}

impl FromIterator<(String, String)> for Headers {
    fn from_iter<T: IntoIterator<Item = (String, String)>>(iter: T) -> Self {
        Headers::new(iter)
    }
}

/// A verified delivery: its id (for deduplication), the event as the
/// provider named it, and what it means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The provider's delivery id, stable across its retries where the
    /// provider offers one (`X-GitHub-Delivery`, `webhook-id`, ...).
    pub id: Option<String>,
    /// The event header's value (`push`, `Push Hook`, `repo:push`, ...);
    /// `purge` for Standard Webhooks.
    pub event_name: String,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connectivity test (GitHub `ping`, Bitbucket `diagnostics:ping`).
    Ping,
    Push(Push),
    /// Several ref updates in one delivery (Bitbucket only).
    Pushes(Vec<Push>),
    /// GitHub deployment_status (state "success" etc.) or workflow_run
    /// completed: releases held pushes of the same commit.
    Deployed {
        repository: String,
        sha: String,
        success: bool,
        /// `deployment_status` or `workflow_run`.
        kind: &'static str,
    },
    /// Standard Webhooks body: {"site": "www", "paths": [...]} |
    /// {"site","urls": [...]} | {"site","purge_site": true}
    Generic {
        site: String,
        paths: Vec<String>,
        urls: Vec<String>,
        purge_site: bool,
    },
    /// An event we don't act on (answer 202 "ignored").
    Ignored {
        reason: String,
    },
}

impl Event {
    /// The ref updates this event carries (none, one or several).
    pub fn pushes(&self) -> &[Push] {
        match self {
            Event::Push(p) => std::slice::from_ref(p),
            Event::Pushes(ps) => ps,
            _ => &[],
        }
    }

    /// A bounded label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Ping => "ping",
            Event::Push(_) | Event::Pushes(_) => "push",
            Event::Deployed { .. } => "deployed",
            Event::Generic { .. } => "generic",
            Event::Ignored { .. } => "ignored",
        }
    }
}

/// One ref update and the files it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Full name, e.g. "Codertocat/Hello-World" (GitLab: path with
    /// namespace; Bitbucket: workspace/repo; Server: PROJECT/repo).
    pub repository: String,
    /// "refs/heads/main" or "refs/tags/v1.0".
    pub git_ref: String,
    /// Head commit sha after the push; `None` for a deletion.
    pub after: Option<String>,
    /// Union of added, modified and removed over all commits.
    pub changed: BTreeSet<String>,
    /// Some(reason) when the change set may be partial.
    pub incomplete: Option<String>,
    /// Branch or tag deletion.
    pub deleted: bool,
}

/// Checks authenticity only: the provider's signature or token against any
/// of `secrets` and, for Standard Webhooks (and GitLab's signing), the
/// timestamp against `now`. Never reads the body as JSON.
pub fn verify(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
    now: SystemTime,
) -> Result<(), WebhookError> {
    match provider {
        Provider::Github => github::verify(headers, body, secrets),
        Provider::Gitlab => gitlab::verify(headers, body, secrets, now),
        Provider::Gitea | Provider::Forgejo | Provider::Gogs => {
            gitea::verify(provider, headers, body, secrets)
        }
        Provider::Bitbucket | Provider::BitbucketServer => {
            bitbucket::verify(headers, body, secrets)
        }
        Provider::Standard => standard::verify(headers, body, secrets, now),
    }
}

/// Verifies, then parses: the one entry point the listener calls.
pub fn verify_and_parse(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
    now: SystemTime,
) -> Result<Delivery, WebhookError> {
    verify(provider, headers, body, secrets, now)?;
    match provider {
        Provider::Github => github::parse(headers, body),
        Provider::Gitlab => gitlab::parse(headers, body),
        Provider::Gitea | Provider::Forgejo | Provider::Gogs => {
            gitea::parse(provider, headers, body)
        }
        Provider::Bitbucket => bitbucket::parse_cloud(headers, body),
        Provider::BitbucketServer => bitbucket::parse_server(headers, body),
        Provider::Standard => standard::parse(headers, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("GitHub"), None);
        assert_eq!(Provider::parse("bitbucket_server"), None);
    }

    #[test]
    fn secret_problems() {
        let s = Secret::new;
        assert_eq!(Provider::Github.secret_problem(&s("")), Some("is empty"));
        assert_eq!(Provider::Github.secret_problem(&s("whsec_!!")), None);
        assert!(Provider::Standard.secret_problem(&s("whsec_!!")).is_some());
        assert!(Provider::Gitlab.secret_problem(&s("whsec_!!")).is_some());
        assert_eq!(Provider::Standard.secret_problem(&s("whsec_AAEC")), None);
        assert_eq!(Provider::Standard.secret_problem(&s("plain")), None);
    }

    #[test]
    fn headers_ignore_case_and_skip_blank() {
        let h = Headers::new([
            ("X-GitHub-Event".to_string(), "push".to_string()),
            ("x-a".to_string(), "  ".to_string()),
            ("x-b".to_string(), " v ".to_string()),
        ]);
        assert_eq!(h.get("x-github-event"), Some("push"));
        assert_eq!(h.get("X-GITHUB-EVENT"), Some("push"));
        assert_eq!(h.first_of(&["x-a", "x-b"]), Some("v"));
        assert!(h.require(&["x-c"]).is_err());
    }

    #[test]
    fn pushes_view() {
        assert!(Event::Ping.pushes().is_empty());
        let p = Push {
            repository: "o/r".into(),
            git_ref: "refs/heads/main".into(),
            after: None,
            changed: BTreeSet::new(),
            incomplete: None,
            deleted: false,
        };
        assert_eq!(Event::Push(p.clone()).pushes().len(), 1);
        assert_eq!(Event::Pushes(vec![p.clone(), p]).pushes().len(), 2);
    }
}
