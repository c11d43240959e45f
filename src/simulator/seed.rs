//! Start-up content: `--vhost` domains and the `--seed` file, loaded through
//! the same validation as the HTTP endpoints so a seed cannot hold what the
//! API would refuse.

use serde_json::{Map, Value};

use super::SimError;
use super::reply::{Body, Reply};
use super::routes::{properties_apply, vhosts_validate};
use super::state::Data;

/// Origin of `--vhost` domains: nothing listens on port 1, and the
/// simulator never fetches from origins anyway.
pub const DEFAULT_ORIGIN: &str = "http://127.0.0.1:1/";

fn reason(r: Reply) -> String {
    match r.body {
        Body::Json(v) => v.to_string(),
        _ => r.status.to_string(),
    }
}

fn objects<'a>(
    root: &'a Map<String, Value>,
    key: &str,
) -> Result<Vec<&'a Map<String, Value>>, String> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|i| {
                i.as_object()
                    .ok_or_else(|| format!("{key}: items must be objects"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be an array")),
    }
}

/// Applies a seed document `{"vhosts": [...], "properties": [...]}`.
pub(crate) fn apply_seed(text: &str, d: &mut Data) -> Result<(), String> {
    let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(root) = root else {
        return Err("seed must be a JSON object".to_string());
    };
    for v in objects(&root, "vhosts")? {
        let (name, domain, origin) = vhosts_validate(v).map_err(reason)?;
        d.upsert_vhost(&name, &domain, &origin);
    }
    for p in objects(&root, "properties")? {
        properties_apply(p, d).map_err(reason)?;
    }
    Ok(())
}

pub(crate) fn load(opts: &super::SimOptions, d: &mut Data) -> Result<(), SimError> {
    for domain in &opts.vhosts {
        d.upsert_vhost(domain, domain, DEFAULT_ORIGIN);
    }
    if let Some(path) = &opts.seed {
        let text = std::fs::read_to_string(path).map_err(|e| SimError::Seed {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        apply_seed(&text, d).map_err(|reason| SimError::Seed {
            path: path.clone(),
            reason,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::faults::Faults;
    use crate::simulator::state::SimState;
    use std::time::Duration;

    #[test]
    fn seed_applies_and_validates() {
        let st = SimState::new("t".into(), Duration::ZERO, Faults::default());
        let text = r#"{"vhosts":[{"name":"Shop","domain_name":"www.example.com","origin_url":"https://o.example.com/"}],
                       "properties":[{"vhost":"www.example.com","ttl":60,"gzip":true}]}"#;
        apply_seed(text, &mut st.lock()).unwrap();
        assert_eq!(st.vhosts()[0].name, "Shop");
        assert_eq!(st.properties()[0].ttl, 60);
        assert!(st.properties()[0].gzip);
        let bad = r#"{"properties":[{"vhost":"nope.example.com","ttl":60}]}"#;
        let err = apply_seed(bad, &mut st.lock()).unwrap_err();
        assert!(err.contains("nope.example.com"), "{err}");
    }
}
