//! The endpoints of `/api/v1/`, as synchronous functions over the locked
//! state: the gate has already applied auth and transport faults, so each
//! route only implements the API's own behaviour and its body variations.

pub(crate) mod control;
mod flush;
mod properties;
mod status;
mod traffic;
mod vhosts;

pub(crate) use properties::apply as properties_apply;
pub(crate) use vhosts::validate as vhosts_validate;

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use actix_web::http::{Method, StatusCode};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::faults::Faults;
use super::reply::Reply;
use super::state::Data;

/// Why a request body could not be read; becomes a 400.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("JSON parse error - {0}")]
    Json(String),
    #[error("Invalid data. Expected a dictionary, but got {0}.")]
    NotObject(&'static str),
}

impl From<BodyError> for Reply {
    fn from(e: BodyError) -> Reply {
        Reply::detail(StatusCode::BAD_REQUEST, e.to_string())
    }
}

/// What a route needs to know about the request.
pub(crate) struct Ctx<'a> {
    pub method: &'a Method,
    /// `scheme://host/api/v1/endpoint/` as the client addressed it, for `next` links.
    pub self_url: String,
    pub params: Vec<(String, String)>,
    pub body: &'a [u8],
    pub started: (Instant, SystemTime),
}

impl Ctx<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body as an object; an empty body reads as `{}`.
    pub fn object(&self) -> Result<Map<String, Value>, BodyError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Array(_)) => Err(BodyError::NotObject("list")),
            Ok(_) => Err(BodyError::NotObject("scalar")),
            Err(e) => Err(BodyError::Json(e.to_string())),
        }
    }

    fn page_url(&self, page: usize) -> String {
        let mut parts: Vec<String> = self
            .params
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, NON_ALPHANUMERIC),
                    utf8_percent_encode(v, NON_ALPHANUMERIC)
                )
            })
            .collect();
        parts.push(format!("page={page}"));
        format!("{}?{}", self.self_url, parts.join("&"))
    }
}

/// Field errors gathered DRF-style, `{"field": ["msg", ...]}`.
#[derive(Default)]
pub(crate) struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, msg: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_default()
            .push(msg.into());
    }

    pub fn into_result(self) -> Result<(), Reply> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Reply::json(StatusCode::BAD_REQUEST, json!(self.0)))
        }
    }
}

pub(crate) const REQUIRED: &str = "This field is required.";

/// A required, non-blank string field.
pub(crate) fn req_str(m: &Map<String, Value>, field: &str, errs: &mut FieldErrors) -> String {
    match m.get(field) {
        None | Some(Value::Null) => errs.add(field, REQUIRED),
        Some(Value::String(s)) if s.trim().is_empty() => {
            errs.add(field, "This field may not be blank.")
        }
        Some(Value::String(s)) => return s.trim().to_string(),
        Some(_) => errs.add(field, "Not a valid string."),
    }
    String::new()
}

/// A list answer: a plain array, or a page when `faults.pages` is on.
pub(crate) fn list(ctx: &Ctx, faults: &Faults, items: Vec<Value>) -> Reply {
    if !faults.pages {
        return Reply::json(StatusCode::OK, Value::Array(items));
    }
    let page = match ctx.param("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return Reply::detail(StatusCode::NOT_FOUND, "Invalid page."),
    };
    let size = faults.page_size.max(1);
    let count = items.len();
    let start = (page - 1).saturating_mul(size);
    if start >= count && page != 1 {
        return Reply::detail(StatusCode::NOT_FOUND, "Invalid page.");
    }
    let results: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < count).then(|| ctx.page_url(page + 1));
    let previous = (page > 1).then(|| ctx.page_url(page - 1));
    Reply::json(
        StatusCode::OK,
        json!({ "count": count, "next": next, "previous": previous, "results": results }),
    )
}

/// A vhost reference in a request: its domain, its id, or its id as a string.
pub(crate) fn find_vhost_ref(d: &Data, v: &Value) -> Option<(u64, String)> {
    let found = match v {
        Value::Number(n) => n.as_u64().and_then(|id| d.vhost_by_id(id)),
        Value::String(s) => d
            .vhost_by_domain(s.trim())
            .or_else(|| s.trim().parse().ok().and_then(|id| d.vhost_by_id(id))),
        _ => None,
    };
    found.map(|v| (v.id, v.domain_name.clone()))
}

pub(crate) fn id_value(id: u64, faults: &Faults) -> Value {
    if faults.ids_as_strings {
        json!(id.to_string())
    } else {
        json!(id)
    }
}

/// Routes a request whose path is already stripped of `/api/v1/` and slashes.
pub(crate) fn dispatch(endpoint: &str, ctx: &Ctx, d: &mut Data) -> Reply {
    let m = ctx.method;
    let allowed: &[Method] = match endpoint {
        "vhosts" | "vhostsproperty" => &[Method::GET, Method::POST],
        "flush" | "flushstatus" => &[Method::POST],
        "traffic" => &[Method::GET],
        _ => return Reply::detail(StatusCode::NOT_FOUND, "Not found."),
    };
    if !allowed.contains(m) {
        let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        return Reply::detail(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method \"{m}\" not allowed."),
        )
        .with_header("Allow", allow.join(", "));
    }
    let result = match (endpoint, m == Method::GET) {
        ("vhosts", true) => Ok(vhosts::list(ctx, d)),
        ("vhosts", false) => vhosts::upsert(ctx, d),
        ("vhostsproperty", true) => Ok(properties::list(ctx, d)),
        ("vhostsproperty", false) => properties::set(ctx, d),
        ("flush", _) => flush::flush(ctx, d),
        ("flushstatus", _) => status::status(ctx, d),
        _ => traffic::traffic(ctx, d),
    };
    result.unwrap_or_else(|reply| reply)
}
