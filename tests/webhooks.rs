//! Webhooks over real HTTP into the real binary, with the shared fixtures:
//! each provider's signed push ends as confirmed flushes on the simulator;
//! bad signatures, redeliveries, filters, incomplete change sets, deploy
//! holds and every error status.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "webhook_providers/fixtures.rs"]
mod fixtures;

#[path = "webhooks/admission.rs"]
mod admission;
#[path = "webhooks/errors.rs"]
mod errors;
#[path = "webhooks/holds.rs"]
mod holds;
#[path = "webhooks/providers.rs"]
mod providers;

use common::daemon::{Daemon, DaemonConfig};
use edgeflush::sources::webhook::Provider;
use std::time::{Duration, SystemTime};

pub const SECRET: &str = "hook-secret-for-tests";

/// A daemon whose site `www` maps the whole repository (repo_prefix = ""),
/// with `hooks` appended as TOML.
pub fn daemon_with(sim: &edgeflush::simulator::SimHandle, hooks: &str) -> Daemon {
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.site_extra = "repo_prefix = \"\"".into();
    cfg.extra = hooks.to_string();
    Daemon::start(&cfg)
}

pub fn hook_toml(name: &str, provider: &str, extra: &str) -> String {
    format!(
        "[[hook]]\nname = \"{name}\"\nprovider = \"{provider}\"\npath = \"/hooks/{name}\"\nsecret = \"{SECRET}\"\nsites = [\"www\"]\n{extra}\n"
    )
}

/// POSTs `body` with `headers`; returns (status, JSON body).
pub async fn post(
    d: &Daemon,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut rb = reqwest::Client::new().post(d.hook_url(path)).body(body);
    for (k, v) in headers {
        rb = rb.header(k, v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// A signed delivery of `body` as `provider` sends it.
pub async fn deliver(
    d: &Daemon,
    hook: &str,
    provider: Provider,
    event: &str,
    id: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let h = fixtures::delivery_headers(provider, SECRET, event, id, &body, SystemTime::now());
    post(d, &format!("/hooks/{hook}"), &h, body).await
}

pub async fn wait_confirmed(d: &Daemon, n: u64) {
    d.wait_for(&format!("{n} confirmed"), Duration::from_secs(20), |s| {
        s["queue"]["confirmed"].as_u64() == Some(n)
    })
    .await;
}
