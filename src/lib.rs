//! edgeflush: deploy webhooks and file changes on the document root become
//! batched, rate-limited, durable and confirmed purges on the Cloakfusion CDN.
//!
//! The pipeline, one folder per stage:
//! sources (webhook, fs watch) -> mapping -> queue (store + batcher) ->
//! sink (Cloakfusion flush + status poller). Beside it: config, metrics/admin,
//! the CLI, the API simulator and the daemon wiring.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod admin;
pub mod admission;
pub mod cli;
pub mod cloakfusion;
pub mod config;
pub mod daemon;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod health;
pub mod intake;
pub mod mapping;
pub mod metrics;
#[cfg(test)]
mod props_json;
pub mod queue;
pub mod simulator;
pub mod sink;
pub mod sources;
