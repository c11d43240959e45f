//! The values exchanged with the Cloakfusion API, shaped for edgeflush rather
//! than for the wire: ids and vhost references are always strings, status
//! words are folded into three states, timestamps are `SystemTime`s. The
//! wire variations are absorbed by the lenient deserializers in `flex`.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::flex;

/// A CDN vhost as listed by `GET /vhosts/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vhost {
    /// A number or a string on the wire.
    #[serde(deserialize_with = "flex::string_or_number")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub domain_name: String,
    #[serde(default)]
    pub origin_url: String,
}

/// What `POST /vhosts/` needs: an upsert keyed by `domain_name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VhostSpec {
    pub domain_name: String,
    pub name: String,
    pub origin_url: String,
}

/// The answer of an upsert: the object and whether it was new (201).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted<T> {
    pub created: bool,
    pub value: T,
}

/// Properties of one vhost as listed by `GET /vhostsproperty/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VhostProperties {
    /// The vhost's domain name, or its id (as a string) on some servers.
    #[serde(deserialize_with = "flex::string_or_number")]
    pub vhost: String,
    #[serde(default)]
    pub cname: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_u64")]
    pub ttl: Option<u64>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub gzip: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub ssl: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub override_hostheader: Option<bool>,
    #[serde(default)]
    pub host_header: Option<String>,
}

/// What `POST /vhostsproperty/` needs; unset options are not sent, so the
/// server keeps its current values for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertiesSpec {
    /// Domain name or id of the vhost.
    pub vhost: String,
    pub ttl: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gzip: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_hostheader: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_header: Option<String>,
}

/// The server's acknowledgement of a flush; many servers send no id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReceipt {
    pub id: Option<String>,
}

/// The three outcomes edgeflush cares about, whatever word the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlushState {
    Done,
    Failed,
    /// Not finished yet, including words we do not know.
    Pending,
}

impl FlushState {
    /// Case-insensitive; unknown words are `Pending` so that a new word never
    /// marks a purge as confirmed or failed by mistake.
    pub fn from_word(word: &str) -> FlushState {
        let w = word.trim().to_ascii_lowercase();
        match w.as_str() {
            "done" | "completed" | "complete" | "finished" | "success" | "flushed" => {
                FlushState::Done
            }
            "failed" | "error" => FlushState::Failed,
            _ => FlushState::Pending,
        }
    }
}

/// One entry of `POST /flushstatus/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// The absolute URL, when the server names entries by `url`.
    pub url: Option<String>,
    /// The URL path (percent-encoded, as `Url::path` gives it), from `url`
    /// or from `filename`; always starts with `/`.
    pub path: String,
    pub vhost: Option<String>,
    pub state: FlushState,
    /// The server's own word, for logs.
    pub raw_status: String,
    pub requested_at: Option<SystemTime>,
    pub completed_at: Option<SystemTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_word() {
        for w in [
            "done",
            "completed",
            "complete",
            "finished",
            "success",
            "flushed",
            "DONE",
            " Done ",
        ] {
            assert_eq!(FlushState::from_word(w), FlushState::Done, "{w}");
        }
        for w in ["failed", "error", "FAILED", "Error"] {
            assert_eq!(FlushState::from_word(w), FlushState::Failed, "{w}");
        }
        for w in [
            "pending",
            "queued",
            "in_progress",
            "processing",
            "",
            "banana",
        ] {
            assert_eq!(FlushState::from_word(w), FlushState::Pending, "{w}");
        }
    }

    #[test]
    fn properties_spec_skips_unset() {
        let spec = PropertiesSpec {
            vhost: "www.example.com".into(),
            ttl: 60,
            cname: None,
            gzip: Some(true),
            ssl: None,
            override_hostheader: None,
            host_header: None,
        };
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            serde_json::json!({"vhost": "www.example.com", "ttl": 60, "gzip": true})
        );
    }

    #[test]
    fn vhost_id_number_or_string_and_unknown_fields() {
        let a: Vhost = serde_json::from_str(
            r#"{"id": 12, "name": "Shop", "domain_name": "www.example.com",
                "origin_url": "https://o/", "created": "2024-01-01", "extra": {"x": 1}}"#,
        )
        .unwrap();
        let b: Vhost = serde_json::from_str(
            r#"{"id": "12", "name": "Shop", "domain_name": "www.example.com", "origin_url": "https://o/"}"#,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.id, "12");
    }

    #[test]
    fn properties_vhost_as_domain_or_id() {
        let a: VhostProperties = serde_json::from_str(
            r#"{"vhost": 7, "cname": "foo.cdn.warpcache.com", "ttl": 3600, "gzip": true,
                "ssl": false, "override_hostheader": false, "host_header": null, "new": 1}"#,
        )
        .unwrap();
        assert_eq!(a.vhost, "7");
        assert_eq!(a.ttl, Some(3600));
        assert_eq!(a.gzip, Some(true));
        assert_eq!(a.ssl, Some(false));
        assert_eq!(a.host_header, None);
        let b: VhostProperties =
            serde_json::from_str(r#"{"vhost": "www.example.com", "ttl": "60", "gzip": "true"}"#)
                .unwrap();
        assert_eq!(b.vhost, "www.example.com");
        assert_eq!(b.ttl, Some(60));
        assert_eq!(b.gzip, Some(true));
        assert_eq!(b.cname, None);
    }
}
