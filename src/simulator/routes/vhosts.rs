//! `/vhosts/`: list, and the upsert keyed by `domain_name` that the doc reads
//! into the seed's "create and update?".

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{Ctx, FieldErrors, id_value, list as list_reply, req_str};
use crate::simulator::faults::Faults;
use crate::simulator::reply::Reply;
use crate::simulator::state::{Data, Vhost};

pub(crate) fn vhost_json(v: &Vhost, faults: &Faults) -> Value {
    json!({
        "id": id_value(v.id, faults),
        "name": v.name,
        "domain_name": v.domain_name,
        "origin_url": v.origin_url,
    })
}

pub(super) fn list(ctx: &Ctx, d: &Data) -> Reply {
    let items = d.vhosts.iter().map(|v| vhost_json(v, &d.faults)).collect();
    list_reply(ctx, &d.faults, items)
}

/// Checks the three required fields; shared with the seed file loader.
pub(crate) fn validate(m: &Map<String, Value>) -> Result<(String, String, String), Reply> {
    let mut errs = FieldErrors::default();
    let domain = req_str(m, "domain_name", &mut errs);
    let name = req_str(m, "name", &mut errs);
    let origin = req_str(m, "origin_url", &mut errs);
    if !domain.is_empty() && !valid_domain(&domain) {
        errs.add("domain_name", "Enter a valid domain name.");
    }
    if !origin.is_empty() && !valid_origin(&origin) {
        errs.add("origin_url", "Enter a valid URL.");
    }
    errs.into_result()?;
    Ok((name, domain, origin))
}

pub(super) fn upsert(ctx: &Ctx, d: &mut Data) -> Result<Reply, Reply> {
    let m = ctx.object()?;
    let (name, domain, origin) = validate(&m)?;
    let (v, created) = d.upsert_vhost(&name, &domain, &origin);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Reply::json(status, vhost_json(&v, &d.faults)))
}

fn valid_domain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn valid_origin(s: &str) -> bool {
    reqwest::Url::parse(s)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages() {
        let m = json!({"name": "", "origin_url": "ftp://x/"});
        let Err(r) = validate(m.as_object().unwrap()) else {
            panic!("expected errors")
        };
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let ok = json!({"name": "Shop", "domain_name": "www.example.com", "origin_url": "https://o.example.com:8443/shop/"});
        let (n, dn, o) = validate(ok.as_object().unwrap()).unwrap();
        assert_eq!((n.as_str(), dn.as_str()), ("Shop", "www.example.com"));
        assert_eq!(o, "https://o.example.com:8443/shop/");
        assert!(!valid_domain("a..b"));
        assert!(valid_domain("127.0.0.1"));
    }
}
