//! Bitbucket Cloud (`repo:push`) and Bitbucket Server / Data Center
//! (`repo:refs_changed`). Both sign with `X-Hub-Signature: sha256=<hex>`
//! (only when the hook has a secret; we always require one), both may
//! update several refs in one delivery, and neither lists changed files, so
//! every push is reported incomplete.

use serde::Deserialize;

use super::body::parse_json;
use super::push::PushFacts;
use super::sig::verify_hex;
use super::{Delivery, Event, Headers, Push, WebhookError};
use crate::config::Secret;

const NO_FILES: &str = "bitbucket sends no file lists";

pub(crate) fn verify(
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
) -> Result<(), WebhookError> {
    verify_hex(
        "X-Hub-Signature",
        headers.get("x-hub-signature"),
        body,
        secrets,
    )
}

/// One ref update is a `Push`, several are `Pushes`, none is ignored.
fn pushes_event(mut pushes: Vec<Push>) -> Event {
    if pushes.len() > 1 {
        return Event::Pushes(pushes);
    }
    match pushes.pop() {
        Some(p) => Event::Push(p),
        None => Event::Ignored {
            reason: "push without ref changes".into(),
        },
    }
}

#[derive(Deserialize)]
struct CloudBody {
    push: CloudPush,
    repository: CloudRepository,
}

#[derive(Deserialize)]
struct CloudRepository {
    full_name: String,
}

#[derive(Deserialize)]
struct CloudPush {
    #[serde(default)]
    changes: Vec<CloudChange>,
}

#[derive(Deserialize)]
struct CloudChange {
    #[serde(default)]
    new: Option<CloudRef>,
    #[serde(default)]
    old: Option<CloudRef>,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    forced: bool,
}

#[derive(Deserialize)]
struct CloudRef {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    target: Option<CloudTarget>,
}

#[derive(Deserialize)]
struct CloudTarget {
    hash: String,
}

impl CloudRef {
    fn full_ref(&self) -> String {
        match self.kind.as_str() {
            "tag" => format!("refs/tags/{}", self.name),
            _ => format!("refs/heads/{}", self.name),
        }
    }
}

pub(crate) fn parse_cloud(headers: &Headers, body: &[u8]) -> Result<Delivery, WebhookError> {
    let event_name = headers.require(&["x-event-key"])?.to_string();
    let id = headers.first_of(&["x-request-uuid"]).map(str::to_string);
    let event = match event_name.as_str() {
        "diagnostics:ping" => Event::Ping,
        "repo:push" => {
            let b: CloudBody = parse_json(headers, body, false)?;
            let repository = b.repository.full_name;
            let mut pushes = Vec::new();
            for (i, c) in b.push.changes.into_iter().enumerate() {
                let Some(r) = c.new.as_ref().or(c.old.as_ref()) else {
                    return Err(WebhookError::malformed(format!(
                        "push.changes[{i}] has neither `new` nor `old`"
                    )));
                };
                pushes.push(
                    PushFacts {
                        repository: repository.clone(),
                        git_ref: r.full_ref(),
                        after: c
                            .new
                            .as_ref()
                            .and_then(|n| n.target.as_ref())
                            .map(|t| t.hash.clone()),
                        deleted: c.closed || c.new.is_none(),
                        forced: c.forced,
                        no_file_lists: Some(NO_FILES),
                        ..Default::default()
                    }
                    .into_push(),
                );
            }
            pushes_event(pushes)
        }
        other => Event::Ignored {
            reason: format!("Bitbucket event `{other}` is not acted on"),
        },
    };
    Ok(Delivery {
        id,
        event_name,
        event,
    })
}

#[derive(Deserialize)]
struct ServerBody {
    #[serde(default)]
    changes: Vec<ServerChange>,
    repository: ServerRepository,
}

#[derive(Deserialize)]
struct ServerRepository {
    slug: String,
    project: ServerProject,
}

#[derive(Deserialize)]
struct ServerProject {
    key: String,
}

#[derive(Deserialize)]
struct ServerChange {
    #[serde(default, rename = "ref")]
    git_ref: Option<ServerRef>,
    #[serde(default, rename = "refId")]
    ref_id: Option<String>,
    #[serde(default, rename = "toHash")]
    to_hash: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct ServerRef {
    id: String,
}

pub(crate) fn parse_server(headers: &Headers, body: &[u8]) -> Result<Delivery, WebhookError> {
    let event_name = headers.require(&["x-event-key"])?.to_string();
    let id = headers.first_of(&["x-request-id"]).map(str::to_string);
    let event = match event_name.as_str() {
        "diagnostics:ping" => Event::Ping,
        "repo:refs_changed" => {
            let b: ServerBody = parse_json(headers, body, false)?;
            let repository = format!("{}/{}", b.repository.project.key, b.repository.slug);
            let mut pushes = Vec::new();
            for (i, c) in b.changes.into_iter().enumerate() {
                let Some(git_ref) = c.git_ref.map(|r| r.id).or(c.ref_id) else {
                    return Err(WebhookError::malformed(format!(
                        "changes[{i}] has neither `ref.id` nor `refId`"
                    )));
                };
                pushes.push(
                    PushFacts {
                        repository: repository.clone(),
                        git_ref,
                        after: c.to_hash,
                        deleted: c.kind.as_deref() == Some("DELETE"),
                        no_file_lists: Some(NO_FILES),
                        ..Default::default()
                    }
                    .into_push(),
                );
            }
            pushes_event(pushes)
        }
        other => Event::Ignored {
            reason: format!("Bitbucket Server event `{other}` is not acted on"),
        },
    };
    Ok(Delivery {
        id,
        event_name,
        event,
    })
}
