//! Gitea, Forgejo and Gogs: one payload family (Gogs' format, which Gitea
//! and Forgejo inherited) with a bare-hex HMAC-SHA256 header named after
//! each product. Forgejo also sends the `X-Gitea-*` headers, so Gitea and
//! Forgejo hooks accept either spelling, preferring their own.

use serde::Deserialize;

use super::body::parse_json;
use super::push::{Commit, PushFacts};
use super::sig::verify_hex;
use super::{Delivery, Event, Headers, Provider, WebhookError};
use crate::config::Secret;

/// Header names to try, in order: (signature, event, delivery id).
fn names(
    provider: Provider,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    match provider {
        Provider::Forgejo => (
            &["x-forgejo-signature", "x-gitea-signature"],
            &["x-forgejo-event", "x-gitea-event"],
            &["x-forgejo-delivery", "x-gitea-delivery"],
        ),
        Provider::Gogs => (
            &["x-gogs-signature"],
            &["x-gogs-event"],
            &["x-gogs-delivery"],
        ),
        _ => (
            &["x-gitea-signature", "x-forgejo-signature"],
            &["x-gitea-event", "x-forgejo-event"],
            &["x-gitea-delivery", "x-forgejo-delivery"],
        ),
    }
}

fn display_name(header: &str) -> &'static str {
    match header {
        "x-forgejo-signature" => "X-Forgejo-Signature",
        "x-gogs-signature" => "X-Gogs-Signature",
        _ => "X-Gitea-Signature",
    }
}

pub(crate) fn verify(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
) -> Result<(), WebhookError> {
    let (sig_names, _, _) = names(provider);
    let primary = sig_names.first().copied().unwrap_or("x-gitea-signature");
    verify_hex(
        display_name(primary),
        headers.first_of(sig_names),
        body,
        secrets,
    )
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct PushBody {
    #[serde(rename = "ref")]
    git_ref: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    commits: Option<Vec<Commit>>,
    #[serde(default)]
    total_commits: Option<u64>,
    repository: Repository,
}

pub(crate) fn parse(
    provider: Provider,
    headers: &Headers,
    body: &[u8],
) -> Result<Delivery, WebhookError> {
    let (_, event_names, id_names) = names(provider);
    let event_name = headers.require(event_names)?.to_string();
    let id = headers.first_of(id_names).map(str::to_string);
    let event = match event_name.as_str() {
        "push" => {
            let b: PushBody = parse_json(headers, body, false)?;
            Event::Push(
                PushFacts {
                    repository: b.repository.full_name,
                    git_ref: b.git_ref,
                    after: b.after,
                    commits: b.commits.unwrap_or_default(),
                    total_commits: b.total_commits,
                    ..Default::default()
                }
                .into_push(),
            )
        }
        "create" => Event::Ignored {
            reason: "create event: the new ref's files arrive with its push event".into(),
        },
        "delete" => Event::Ignored {
            reason: "delete event: deleting a branch or tag changes no page".into(),
        },
        other => Event::Ignored {
            reason: format!("{provider} event `{other}` is not acted on"),
        },
    };
    Ok(Delivery {
        id,
        event_name,
        event,
    })
}
