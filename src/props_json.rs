//! Arbitrary JSON for the property tests: objects keyed by the field names
//! a parser looks for (so generated input reaches its branches, not only
//! its "unknown field" path), leaves of every JSON type plus words that
//! mean something to that parser. Shared by the webhook and API decoder
//! properties, which differ only in their keys and words.

use proptest::prelude::*;
use serde_json::Value;

/// A leaf: null, booleans, integers, finite floats, short strings, `words`.
fn leaf(words: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        "\\PC{0,16}".prop_map(Value::String),
        prop::sample::select(words).prop_map(|s| Value::String(s.into())),
    ]
}

/// Arrays and objects (keys from `keys`) `depth` levels deep at most.
pub(crate) fn json_value(
    keys: &'static [&'static str],
    words: &'static [&'static str],
    depth: u32,
) -> impl Strategy<Value = Value> {
    leaf(words).prop_recursive(depth, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(keys).prop_map(String::from),
                inner,
                0..7
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
