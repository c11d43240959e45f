//! `[traffic]` compiled: how often each vhost's traffic figures are
//! snapshotted and how long the snapshots are kept. Kept apart from
//! `compile.rs` so the traffic feature is one file to read.

use super::raw::RawTraffic;
use super::units::parse_duration;
use std::time::Duration;

/// Shortest accepted interval: every snapshot spends one request of the
/// rate budget the flusher depends on.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSettings {
    pub enabled: bool,
    /// One snapshot per vhost per interval, spread over it.
    pub interval: Duration,
    /// Snapshots older than this are pruned.
    pub retention: Duration,
}

impl Default for TrafficSettings {
    fn default() -> Self {
        TrafficSettings {
            enabled: true,
            interval: Duration::from_secs(300),
            retention: Duration::from_secs(30 * 86400),
        }
    }
}

/// Compiles `[traffic]`, reporting each problem through `push(key, message)`
/// and falling back to the default for that key so the other checks go on.
pub(super) fn compile(raw: &RawTraffic, mut push: impl FnMut(&str, String)) -> TrafficSettings {
    let def = TrafficSettings::default();
    let mut duration = |key: &str, v: &Option<String>, default: Duration| match v {
        None => default,
        Some(s) => parse_duration(s).unwrap_or_else(|e| {
            push(key, e);
            default
        }),
    };
    let mut interval = duration("traffic.interval", &raw.interval, def.interval);
    let retention = duration("traffic.retention", &raw.retention, def.retention);
    if interval < MIN_INTERVAL {
        push(
            "traffic.interval",
            format!("must be at least {MIN_INTERVAL:?}"),
        );
        interval = def.interval;
    }
    if retention < interval {
        push(
            "traffic.retention",
            format!(
                "must be at least traffic.interval ({}), or every snapshot is gone before the next",
                humantime::format_duration(interval)
            ),
        );
    }
    TrafficSettings {
        enabled: raw.enabled.unwrap_or(def.enabled),
        interval,
        retention: retention.max(interval),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: RawTraffic) -> (TrafficSettings, Vec<(String, String)>) {
        let mut issues = Vec::new();
        let s = compile(&raw, |k, m| issues.push((k.to_string(), m)));
        (s, issues)
    }

    #[test]
    fn defaults() {
        let (s, issues) = run(RawTraffic::default());
        assert!(issues.is_empty());
        assert_eq!(s, TrafficSettings::default());
        assert!(s.enabled);
        assert_eq!(s.interval, Duration::from_secs(300));
        assert_eq!(s.retention, Duration::from_secs(30 * 86400));
    }

    #[test]
    fn values_and_problems() {
        let (s, issues) = run(RawTraffic {
            enabled: Some(false),
            interval: Some("1s".into()),
            retention: Some("2h".into()),
        });
        assert!(issues.is_empty(), "{issues:?}");
        assert!(!s.enabled);
        assert_eq!(s.interval, Duration::from_secs(1));
        assert_eq!(s.retention, Duration::from_secs(7200));

        let (_, issues) = run(RawTraffic {
            interval: Some("soon".into()),
            retention: Some("100ms".into()),
            ..RawTraffic::default()
        });
        let keys: Vec<&str> = issues.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["traffic.interval", "traffic.retention"],
            "{issues:?}"
        );

        let (s, issues) = run(RawTraffic {
            interval: Some("10ms".into()),
            ..RawTraffic::default()
        });
        assert_eq!(issues.len(), 1);
        assert!(issues[0].1.contains("at least"), "{issues:?}");
        assert_eq!(s.interval, Duration::from_secs(300));
    }
}
