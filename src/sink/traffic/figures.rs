//! Reading figures out of a traffic snapshot whose shape the API does not
//! document: every numeric leaf, named by its dotted path. The number of
//! fields is capped so that a strange answer cannot blow up the metrics'
//! label sets (fields are leaves of the snapshot, never values).

use serde_json::Value;

/// Most fields read from one snapshot; the rest are ignored.
pub const MAX_FIELDS: usize = 200;
/// Longest field name kept; longer paths are ignored.
pub const MAX_FIELD_LEN: usize = 120;

/// The figures of `vhost` in `data`, sorted by field name, at most
/// `MAX_FIELDS`. An array (every vhost's figures, when the server ignores
/// the `vhost` parameter) is narrowed to the item naming `vhost`.
pub fn figures(data: &Value, vhost: &str) -> Figures {
    let mut out = Figures::default();
    leaves(own_part(data, vhost), "", &mut out);
    out.fields.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Numeric leaves by dotted path, plus how many were left out.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Figures {
    pub fields: Vec<(String, f64)>,
    pub dropped: usize,
}

fn own_part<'a>(data: &'a Value, vhost: &str) -> &'a Value {
    let Value::Array(items) = data else {
        return data;
    };
    let named = |v: &Value| {
        ["vhost", "domain_name", "name"]
            .iter()
            .any(|k| v[k].as_str() == Some(vhost))
    };
    match items.iter().find(|v| named(v)) {
        Some(own) => own,
        None if items.len() == 1 => &items[0],
        None => data,
    }
}

fn leaves(v: &Value, prefix: &str, out: &mut Figures) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() && out.fields.len() < MAX_FIELDS => {
                if prefix.is_empty() || prefix.len() > MAX_FIELD_LEN {
                    out.dropped += 1;
                } else {
                    out.fields.push((prefix.to_string(), f));
                }
            }
            _ => out.dropped += 1,
        },
        Value::Object(m) => {
            for (k, x) in m {
                leaves(x, &join(k), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, &join(&i.to_string()), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(f: &Figures) -> Vec<&str> {
        f.fields.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn flat_and_nested_shapes() {
        let flat = json!({"vhost": "a.test", "from": "x", "requests": 12, "bytes": 4096.5,
            "status": {"2xx": 10, "5xx": 2}, "ok": true, "note": null});
        let f = figures(&flat, "a.test");
        assert_eq!(names(&f), ["bytes", "requests", "status.2xx", "status.5xx"]);
        assert_eq!(f.fields[0].1, 4096.5);
        assert_eq!(f.dropped, 0);
        let nested = json!({"totals": {"requests": 1}, "cache": {"hits": 2, "misses": 0}});
        assert_eq!(
            names(&figures(&nested, "a.test")),
            ["cache.hits", "cache.misses", "totals.requests"]
        );
    }

    #[test]
    fn arrays_are_narrowed_to_the_vhost() {
        let all = json!([{"vhost": "a.test", "requests": 1}, {"vhost": "b.test", "requests": 2}]);
        assert_eq!(figures(&all, "b.test").fields, [("requests".into(), 2.0)]);
        let one = json!([{"requests": 3}]);
        assert_eq!(figures(&one, "c.test").fields, [("requests".into(), 3.0)]);
        // Nobody named: every item, by index.
        assert_eq!(
            names(&figures(&all, "c.test")),
            ["0.requests", "1.requests"]
        );
        // A bare number has no name to export it under.
        let bare = figures(&json!(5), "a.test");
        assert!(bare.fields.is_empty());
        assert_eq!(bare.dropped, 1);
    }

    #[test]
    fn bounded() {
        let many: serde_json::Map<String, Value> =
            (0..500).map(|i| (format!("f{i:03}"), json!(i))).collect();
        let f = figures(&Value::Object(many), "a.test");
        assert_eq!(f.fields.len(), MAX_FIELDS);
        assert_eq!(f.dropped, 500 - MAX_FIELDS);
        let long = json!({ "x".repeat(MAX_FIELD_LEN + 1): 1, "short": 2 });
        let f = figures(&long, "a.test");
        assert_eq!(names(&f), ["short"]);
        assert_eq!(f.dropped, 1);
    }
}
