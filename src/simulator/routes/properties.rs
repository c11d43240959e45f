//! `/vhostsproperty/`: per-vhost settings. The doc's variation where list
//! items name the vhost by id is `faults.property_vhost_as_id`.

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{Ctx, FieldErrors, REQUIRED, find_vhost_ref, id_value, list as list_reply};
use crate::simulator::reply::Reply;
use crate::simulator::state::{Data, Property};

fn property_json(p: &Property, d: &Data) -> Value {
    let vhost = match d.vhost_by_id(p.vhost_id) {
        Some(v) if !d.faults.property_vhost_as_id => json!(v.domain_name),
        _ => id_value(p.vhost_id, &d.faults),
    };
    json!({
        "vhost": vhost,
        "cname": p.cname,
        "ttl": p.ttl,
        "gzip": p.gzip,
        "ssl": p.ssl,
        "override_hostheader": p.override_hostheader,
        "host_header": p.host_header,
    })
}

pub(super) fn list(ctx: &Ctx, d: &Data) -> Reply {
    let items = d.properties.iter().map(|p| property_json(p, d)).collect();
    list_reply(ctx, &d.faults, items)
}

fn opt_bool(m: &Map<String, Value>, f: &str, errs: &mut FieldErrors) -> Option<bool> {
    match m.get(f)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if matches!(s.to_ascii_lowercase().as_str(), "true" | "1") => Some(true),
        Value::String(s) if matches!(s.to_ascii_lowercase().as_str(), "false" | "0") => Some(false),
        _ => {
            errs.add(f, "Must be a valid boolean.");
            None
        }
    }
}

/// `Some(None)` means explicitly cleared with null.
fn opt_str(m: &Map<String, Value>, f: &str, errs: &mut FieldErrors) -> Option<Option<String>> {
    match m.get(f)? {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => {
            errs.add(f, "Not a valid string.");
            None
        }
    }
}

/// Applies a properties object to the state; shared with the seed loader.
pub(crate) fn apply(m: &Map<String, Value>, d: &mut Data) -> Result<(Property, bool), Reply> {
    let mut errs = FieldErrors::default();
    let vhost = match m.get("vhost") {
        None | Some(Value::Null) => {
            errs.add("vhost", REQUIRED);
            None
        }
        Some(r) => {
            let found = find_vhost_ref(d, r);
            if found.is_none() {
                errs.add(
                    "vhost",
                    format!("Invalid vhost {r} - object does not exist."),
                );
            }
            found
        }
    };
    let ttl = match m.get("ttl") {
        None | Some(Value::Null) => {
            errs.add("ttl", REQUIRED);
            None
        }
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => s.trim().parse().ok(),
        Some(_) => {
            errs.add("ttl", "A valid integer is required.");
            None
        }
    };
    let cname = opt_str(m, "cname", &mut errs);
    let host_header = opt_str(m, "host_header", &mut errs);
    let gzip = opt_bool(m, "gzip", &mut errs);
    let ssl = opt_bool(m, "ssl", &mut errs);
    let over = opt_bool(m, "override_hostheader", &mut errs);
    errs.into_result()?;
    let (Some((vhost_id, _)), Some(ttl)) = (vhost, ttl) else {
        return Err(Reply::field("vhost", REQUIRED));
    };
    let created = !d.properties.iter().any(|p| p.vhost_id == vhost_id);
    if created {
        d.properties.push(Property {
            vhost_id,
            cname: None,
            ttl,
            gzip: false,
            ssl: false,
            override_hostheader: false,
            host_header: None,
        });
    }
    let Some(p) = d.properties.iter_mut().find(|p| p.vhost_id == vhost_id) else {
        return Err(Reply::detail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "lost property",
        ));
    };
    p.ttl = ttl;
    if let Some(c) = cname {
        p.cname = c;
    }
    if let Some(h) = host_header {
        p.host_header = h;
    }
    if let Some(b) = gzip {
        p.gzip = b;
    }
    if let Some(b) = ssl {
        p.ssl = b;
    }
    if let Some(b) = over {
        p.override_hostheader = b;
    }
    Ok((p.clone(), created))
}

pub(super) fn set(ctx: &Ctx, d: &mut Data) -> Result<Reply, Reply> {
    let m = ctx.object()?;
    let (p, created) = apply(&m, d)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Reply::json(status, property_json(&p, d)))
}
