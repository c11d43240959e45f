//! `POST /flush/`: accepts absolute URLs of known vhosts and records one
//! flush per URL. Batch limits and refusals are faults, so the client's
//! split-and-retry and bisect paths can be driven.

use actix_web::http::StatusCode;
use serde_json::{Value, json};

use super::{Ctx, FieldErrors, REQUIRED, id_value};
use crate::simulator::faults::FlushResponse;
use crate::simulator::reply::Reply;
use crate::simulator::state::Data;

/// The `urls` field as strings (a lone string counts as a list of one).
fn urls_field(v: Option<&Value>) -> Result<Vec<String>, Reply> {
    let items = match v {
        None | Some(Value::Null) => return Err(Reply::field("urls", REQUIRED)),
        Some(Value::String(s)) => return Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(Reply::field(
                "urls",
                "Expected a list of items but got type \"dict\".",
            ));
        }
    };
    if items.is_empty() {
        return Err(Reply::field("urls", "This list may not be empty."));
    }
    items
        .iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            _ => Err(Reply::field("urls", "Not a valid string.")),
        })
        .collect()
}

pub(super) fn flush(ctx: &Ctx, d: &mut Data) -> Result<Reply, Reply> {
    let m = ctx.object()?;
    let urls = urls_field(m.get("urls"))?;
    let max = d.faults.max_urls_per_flush;
    if max > 0 && urls.len() > max {
        return Err(if d.faults.too_many_as_400 {
            Reply::detail(
                StatusCode::BAD_REQUEST,
                format!("Too many URLs in one request (max {max})."),
            )
        } else {
            Reply::detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request entity too large: at most {max} URLs per flush."),
            )
        });
    }
    if let Some(re) = d
        .faults
        .reject_url_regex
        .as_deref()
        .and_then(|p| regex::Regex::new(p).ok())
    {
        let bad: Vec<String> = urls
            .iter()
            .filter(|u| re.is_match(u))
            .map(|u| format!("Invalid URL: {u}"))
            .collect();
        if !bad.is_empty() {
            return Err(Reply::json(StatusCode::BAD_REQUEST, json!({ "urls": bad })));
        }
    }
    let mut errs = FieldErrors::default();
    let mut accepted = Vec::with_capacity(urls.len());
    for raw in &urls {
        let parsed = reqwest::Url::parse(raw.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        let Some(u) = parsed else {
            errs.add("urls", format!("Enter a valid URL: {raw}"));
            continue;
        };
        let host = u.host_str().unwrap_or_default();
        match d.vhost_by_domain(host) {
            Some(v) => accepted.push((raw.clone(), v.domain_name.clone(), u.path().to_string())),
            None => errs.add("urls", format!("Unknown vhost: {host}")),
        }
    }
    errs.into_result()?;
    let id = d.add_flush(accepted);
    let object =
        json!({ "id": id_value(id, &d.faults), "urls": urls, "status": d.faults.pending_word });
    Ok(match d.faults.flush_response {
        FlushResponse::Object => Reply::json(StatusCode::CREATED, object),
        FlushResponse::Accepted => Reply::json(StatusCode::ACCEPTED, object),
        FlushResponse::Ok => Reply::json(StatusCode::OK, object),
        FlushResponse::Empty => Reply::empty(StatusCode::NO_CONTENT),
        FlushResponse::Empty202 => Reply::empty(StatusCode::ACCEPTED),
    })
}
