//! Cloakfusion API client: every endpoint of the seed, tolerant of every
//! variation listed in `docs/cloakfusion-api.md`, rate-limited, and with one
//! error type that decides retryability for the whole daemon.

mod client;
mod decode;
mod endpoints;
pub mod error;
mod flex;
mod limiter;
#[cfg(test)]
mod props;
pub mod regex;
mod text;
mod types;

pub use client::{Client, ClientConfig};
pub use endpoints::SplitResults;
pub use error::{ApiError, DEFAULT_RETRY_AFTER};
pub use regex::path_regex;
pub use types::{
    FlushReceipt, FlushState, PropertiesSpec, StatusEntry, Upserted, Vhost, VhostProperties,
    VhostSpec,
};
// For the `fuzzing` facade (src/fuzzing.rs) only: the decoders, unchanged.
#[cfg(feature = "fuzzing")]
pub(crate) use {
    decode::{flush_receipt, object, page, status_page},
    flex::timestamp,
    text::snippet,
};
