//! GitHub: `X-Hub-Signature-256` over the raw body (JSON, or the
//! `payload=` form GitHub sends when the hook's content type is
//! `application/x-www-form-urlencoded`), and the events that matter to a
//! CDN: `push`, `ping`, and the two that say a deploy finished
//! (`deployment_status`, `workflow_run`), which release held pushes.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::body::parse_json;
use super::push::{Commit, PushFacts};
use super::sig::verify_hex;
use super::{Delivery, Event, Headers, WebhookError};
use crate::config::Secret;

/// GitHub lists at most this many commits in a push payload.
const MAX_COMMITS: usize = 2048;
/// ... and at most this many files per commit's lists.
const MAX_FILES_PER_COMMIT: usize = 3000;

pub(crate) fn verify(
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
) -> Result<(), WebhookError> {
    verify_hex(
        "X-Hub-Signature-256",
        headers.get("x-hub-signature-256"),
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
    deleted: bool,
    #[serde(default)]
    forced: bool,
    repository: Repository,
}

#[derive(Deserialize)]
struct DeploymentStatusBody {
    deployment_status: DeploymentStatus,
    deployment: Deployment,
    repository: Repository,
}

#[derive(Deserialize)]
struct DeploymentStatus {
    state: String,
}

#[derive(Deserialize)]
struct Deployment {
    sha: String,
}

#[derive(Deserialize)]
struct WorkflowRunBody {
    action: String,
    workflow_run: WorkflowRun,
    repository: Repository,
}

#[derive(Deserialize)]
struct WorkflowRun {
    head_sha: String,
    #[serde(default)]
    conclusion: Option<String>,
}

pub(crate) fn parse(headers: &Headers, body: &[u8]) -> Result<Delivery, WebhookError> {
    let event_name = headers.require(&["x-github-event"])?.to_string();
    let id = headers.first_of(&["x-github-delivery"]).map(str::to_string);
    let event = match event_name.as_str() {
        "ping" => {
            parse_json::<IgnoredAny>(headers, body, true)?;
            Event::Ping
        }
        "push" => push(parse_json(headers, body, true)?),
        "deployment_status" => deployment_status(parse_json(headers, body, true)?),
        "workflow_run" => workflow_run(parse_json(headers, body, true)?),
        other => Event::Ignored {
            reason: format!("GitHub event `{other}` is not acted on"),
        },
    };
    Ok(Delivery {
        id,
        event_name,
        event,
    })
}

fn push(b: PushBody) -> Event {
    Event::Push(
        PushFacts {
            repository: b.repository.full_name,
            git_ref: b.git_ref,
            after: b.after,
            commits: b.commits.unwrap_or_default(),
            deleted: b.deleted,
            forced: b.forced,
            max_commits: Some(MAX_COMMITS),
            max_files_per_commit: Some(MAX_FILES_PER_COMMIT),
            ..Default::default()
        }
        .into_push(),
    )
}

/// `success` releases; `failure`/`error` are final but release nothing;
/// `pending`, `queued`, `in_progress`, `inactive` are not an outcome yet.
fn deployment_status(b: DeploymentStatusBody) -> Event {
    let state = b.deployment_status.state;
    match state.as_str() {
        "success" | "failure" | "error" => Event::Deployed {
            repository: b.repository.full_name,
            sha: b.deployment.sha,
            success: state == "success",
            kind: "deployment_status",
        },
        _ => Event::Ignored {
            reason: format!("deployment_status state `{state}` is not an outcome"),
        },
    }
}

/// Only a `completed` run is an outcome; success is `conclusion: success`.
fn workflow_run(b: WorkflowRunBody) -> Event {
    if b.action != "completed" {
        return Event::Ignored {
            reason: format!("workflow_run action `{}` is not an outcome", b.action),
        };
    }
    Event::Deployed {
        repository: b.repository.full_name,
        sha: b.workflow_run.head_sha,
        success: b.workflow_run.conclusion.as_deref() == Some("success"),
        kind: "workflow_run",
    }
}
