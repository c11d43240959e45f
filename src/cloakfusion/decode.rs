//! Reading success bodies: arrays or `{count,next,previous,results}` pages,
//! single objects, flush receipts and flush-status entries. Anything we
//! cannot read becomes `ApiError::Decode` with a snippet, never a panic.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::flex::{scalar_text, timestamp};
use super::text::{looks_html, snippet};
use super::types::{FlushReceipt, FlushState, StatusEntry};

/// One page of a list: its items and the `next` URL, if any.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

fn decode_err(what: impl Into<String>, body: &[u8]) -> ApiError {
    ApiError::Decode {
        what: what.into(),
        snippet: snippet(body),
    }
}

/// Parses a body as JSON; HTML (a proxy page, `format=api`) and empty
/// bodies are decode errors.
pub(crate) fn json(body: &[u8], what: &str) -> Result<Value, ApiError> {
    if looks_html(body) {
        return Err(decode_err(format!("{what} (HTML instead of JSON)"), body));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(decode_err(format!("{what} (empty body)"), body));
    }
    serde_json::from_slice(body).map_err(|e| decode_err(format!("{what}: {e}"), body))
}

/// A single object of type `T`.
pub(crate) fn object<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    let v = json(body, what)?;
    serde_json::from_value(v).map_err(|e| decode_err(format!("{what}: {e}"), body))
}

/// The raw items and `next` link of a list answer, before typing them.
pub(crate) fn raw_page(body: &[u8], what: &str) -> Result<Page<Value>, ApiError> {
    match json(body, what)? {
        Value::Array(items) => Ok(Page { items, next: None }),
        Value::Object(mut map) => match map.remove("results") {
            Some(Value::Array(items)) => {
                let next = map
                    .get("next")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string);
                Ok(Page { items, next })
            }
            _ => Err(decode_err(
                format!("{what}: expected an array or a page with `results`"),
                body,
            )),
        },
        _ => Err(decode_err(format!("{what}: expected a list"), body)),
    }
}

/// A list answer with typed items.
pub(crate) fn page<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<Page<T>, ApiError> {
    let raw = raw_page(body, what)?;
    let items = raw
        .items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| decode_err(format!("{what} item {i}: {e}"), body))
        })
        .collect::<Result<Vec<T>, ApiError>>()?;
    Ok(Page {
        items,
        next: raw.next,
    })
}

/// Any 2xx flush is accepted: keep the id when the body has one. Only an
/// HTML body is refused, as it means something other than the API answered.
pub(crate) fn flush_receipt(body: &[u8]) -> Result<FlushReceipt, ApiError> {
    if looks_html(body) {
        return Err(decode_err("flush answer (HTML instead of JSON)", body));
    }
    let id = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map.get("id").and_then(scalar_text),
        _ => None,
    };
    Ok(FlushReceipt { id })
}

/// A flush-status list page, entries typed.
pub(crate) fn status_page(body: &[u8]) -> Result<Page<StatusEntry>, ApiError> {
    let raw = raw_page(body, "flush status")?;
    let items = raw
        .items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(map) => status_entry(&map).ok_or_else(|| {
                decode_err(format!("flush status item {i}: no url or filename"), body)
            }),
            _ => Err(decode_err(
                format!("flush status item {i}: not an object"),
                body,
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        next: raw.next,
    })
}

/// Reads one entry keyed by `url` or `filename`; `None` when it has neither.
pub(crate) fn status_entry(map: &Map<String, Value>) -> Option<StatusEntry> {
    let text = |k: &str| map.get(k).and_then(scalar_text).filter(|s| !s.is_empty());
    let url = text("url");
    let path = match (&url, text("filename")) {
        (Some(u), _) => path_of(u),
        (None, Some(f)) => path_of(&f),
        (None, None) => return None,
    };
    let raw_status = text("status").or_else(|| text("state")).unwrap_or_default();
    let time = |k: &str| map.get(k).and_then(timestamp);
    Some(StatusEntry {
        url,
        path,
        vhost: text("vhost"),
        state: FlushState::from_word(&raw_status),
        raw_status,
        requested_at: time("requested_at"),
        completed_at: time("completed_at"),
    })
}

/// The path of an absolute URL (as `Url::path` normalises it), or a bare
/// path with its query dropped and a leading `/` ensured.
fn path_of(s: &str) -> String {
    if let Ok(u) = reqwest::Url::parse(s)
        && u.has_host()
    {
        return u.path().to_string();
    }
    let bare = s.split(['?', '#']).next().unwrap_or_default();
    if bare.starts_with('/') {
        bare.to_string()
    } else {
        format!("/{bare}")
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
