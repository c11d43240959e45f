//! Webhook verification and payload parsing for every provider, on bytes
//! alone: every signature vector and payload of the shared fixtures
//! (`$EDGEFLUSH_FIXTURES`, else `../shared/fixtures/webhooks`; tests skip
//! with a printed reason when neither exists), plus deliveries we sign
//! ourselves for the cases the vectors do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "webhook_providers/bitbucket.rs"]
mod bitbucket;
#[path = "webhook_providers/errors.rs"]
mod errors;
#[path = "webhook_providers/fixtures.rs"]
mod fixtures;
#[path = "webhook_providers/gitea.rs"]
mod gitea;
#[path = "webhook_providers/github.rs"]
mod github;
#[path = "webhook_providers/gitlab.rs"]
mod gitlab;
#[path = "webhook_providers/standard.rs"]
mod standard;
#[path = "webhook_providers/vectors.rs"]
mod vectors;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgeflush::config::Secret;
use edgeflush::sources::webhook::{
    Delivery, Event, Headers, Provider, Push, WebhookError, verify_and_parse,
};

/// The secret our self-signed deliveries use.
pub const SECRET: &str = "test-secret-☃";

/// A fixed "now" (2026-01-01T00:00:00Z) so nothing depends on the clock.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

pub fn secrets(list: &[&str]) -> Vec<Secret> {
    list.iter().map(|s| Secret::new(*s)).collect()
}

/// A delivery signed with [`SECRET`] as `provider` would send it, verified
/// and parsed with [`SECRET`] configured.
pub fn deliver(provider: Provider, event: &str, body: &[u8]) -> Result<Delivery, WebhookError> {
    let h = Headers::new(fixtures::delivery_headers(
        provider,
        SECRET,
        event,
        "delivery-1",
        body,
        now(),
    ));
    verify_and_parse(provider, &h, body, &secrets(&[SECRET]), now())
}

/// The single push of a delivery, or a panic naming what came instead.
pub fn the_push(d: &Delivery) -> &Push {
    match &d.event {
        Event::Push(p) => p,
        other => panic!("expected one push, got {other:?}"),
    }
}
