//! GitLab: authenticity is either the clear-text `X-Gitlab-Token` (the
//! classic secret token) or, when the hook has a signing token, an HMAC in
//! the Standard Webhooks format. Push and tag push hooks become pushes;
//! GitLab lists only the first 20 commits, and `total_commits_count` tells
//! when more were left out.

use std::time::SystemTime;

use serde::Deserialize;

use super::body::parse_json;
use super::push::{Commit, PushFacts};
use super::sig::verify_token;
use super::{Delivery, Event, Headers, WebhookError, standard};
use crate::config::Secret;

pub(crate) fn verify(
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
    now: SystemTime,
) -> Result<(), WebhookError> {
    if headers.get("webhook-signature").is_some() {
        return standard::verify(headers, body, secrets, now);
    }
    verify_token("X-Gitlab-Token", headers.get("x-gitlab-token"), secrets)
}

#[derive(Deserialize)]
struct Project {
    path_with_namespace: String,
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
    total_commits_count: Option<u64>,
    project: Project,
}

pub(crate) fn parse(headers: &Headers, body: &[u8]) -> Result<Delivery, WebhookError> {
    let event_name = headers.require(&["x-gitlab-event"])?.to_string();
    let id = headers
        .first_of(&["webhook-id", "idempotency-key", "x-gitlab-event-uuid"])
        .map(str::to_string);
    let event = match event_name.as_str() {
        "Push Hook" | "Tag Push Hook" => {
            let b: PushBody = parse_json(headers, body, false)?;
            Event::Push(
                PushFacts {
                    repository: b.project.path_with_namespace,
                    git_ref: b.git_ref,
                    after: b.after,
                    commits: b.commits.unwrap_or_default(),
                    total_commits: b.total_commits_count,
                    ..Default::default()
                }
                .into_push(),
            )
        }
        "System Hook" => Event::Ignored {
            reason: "GitLab system hooks are not acted on; add a project or group webhook".into(),
        },
        other => Event::Ignored {
            reason: format!("GitLab event `{other}` is not acted on"),
        },
    };
    Ok(Delivery {
        id,
        event_name,
        event,
    })
}
