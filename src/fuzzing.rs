//! Public entry points for the cargo-fuzz targets in `fuzz/` (issue 9,
//! "hostile input"). The parsers they exercise are `pub(crate)`, so this
//! facade, compiled only with the `fuzzing` feature, exposes them as they
//! are: each function calls the real parser and returns its answer, with no
//! logic of its own. See docs/fuzzing.md.

use std::time::{Duration, SystemTime};

use crate::cloakfusion::{self, ApiError};

pub use crate::cloakfusion::{FlushReceipt, StatusEntry, Vhost, VhostProperties};
pub use crate::config::Secret;
pub use crate::config::raw::{RawRule, RawSite};
pub use crate::mapping::{MapError, MapOutcome, MappedUrl, SiteMap};
pub use crate::sources::webhook::{
    Delivery, Event, Headers, Provider, WebhookError, signing_keys, verify, verify_and_parse,
};

/// `GET /vhosts/` (array or page): the entries and the `next` link.
pub fn decode_vhosts(body: &[u8]) -> Result<(Vec<Vhost>, Option<String>), ApiError> {
    cloakfusion::page(body, "vhosts").map(|p| (p.items, p.next))
}

/// `GET /vhostsproperty/` (array or page).
pub fn decode_properties(body: &[u8]) -> Result<(Vec<VhostProperties>, Option<String>), ApiError> {
    cloakfusion::page(body, "properties").map(|p| (p.items, p.next))
}

/// One vhost object (the answer of an upsert).
pub fn decode_vhost(body: &[u8]) -> Result<Vhost, ApiError> {
    cloakfusion::object(body, "vhost")
}

/// `POST /flushstatus/` entries and the `next` link.
pub fn decode_status(body: &[u8]) -> Result<(Vec<StatusEntry>, Option<String>), ApiError> {
    cloakfusion::status_page(body).map(|p| (p.items, p.next))
}

/// The receipt of a 2xx `POST /flush/`.
pub fn decode_flush_receipt(body: &[u8]) -> Result<FlushReceipt, ApiError> {
    cloakfusion::flush_receipt(body)
}

/// A non-2xx answer as the client types it (`Retry-After` included).
pub fn api_error(status: u16, retry_after: Option<&str>, body: &[u8], now: SystemTime) -> ApiError {
    ApiError::from_status(status, retry_after, body, now)
}

/// A `Retry-After` header value.
pub fn retry_after(header: &str, now: SystemTime) -> Option<Duration> {
    cloakfusion::error::parse_retry_after(header, now)
}

/// A timestamp field of a flush-status entry.
pub fn timestamp(v: &serde_json::Value) -> Option<SystemTime> {
    cloakfusion::timestamp(v)
}

/// The snippet an error or log line shows of a body.
pub fn snippet(body: &[u8]) -> String {
    cloakfusion::snippet(body)
}
