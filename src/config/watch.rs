//! `[watch]` compiled: the document-root watcher gets typed durations, a
//! validated marker name and a ready glob set, so that a typo in the config
//! fails `edgeflush check` instead of silently watching the wrong things.

use super::raw::RawWatch;
use super::units::parse_duration;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::time::Duration;

pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);
pub const DEFAULT_MAX_HOLD: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_CHANNEL_CAPACITY: usize = 4096;

#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// A changed file is purged once it has been quiet this long.
    pub settle: Duration,
    /// While a file of this name exists in a site's root, its purges are held.
    pub hold_marker: Option<String>,
    /// The longest a hold (marker or admin API) keeps purges back.
    pub max_hold: Duration,
    /// Extra ignore globs as written, for messages.
    pub ignore: Vec<String>,
    /// The same globs, compiled (site-relative, `*` stays in one directory).
    pub ignore_set: GlobSet,
    /// Events buffered between the inotify thread and a site's worker; when
    /// full, the site is rescanned instead of events being dropped unseen.
    pub channel_capacity: usize,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            settle: DEFAULT_SETTLE,
            hold_marker: None,
            max_hold: DEFAULT_MAX_HOLD,
            ignore: Vec::new(),
            ignore_set: GlobSet::empty(),
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
        }
    }
}

/// Compiles `[watch]`; every problem goes to `push(key, message)` and the
/// default is kept so that later checks can go on.
pub(super) fn compile(raw: &RawWatch, mut push: impl FnMut(&str, String)) -> WatchSettings {
    let mut out = WatchSettings::default();
    if let Some(s) = &raw.settle {
        match parse_duration(s) {
            Ok(d) => out.settle = d,
            Err(e) => push("watch.settle", e),
        }
    }
    if let Some(s) = &raw.max_hold {
        match parse_duration(s) {
            Ok(d) if d.is_zero() => push("watch.max_hold", "must be longer than 0s".into()),
            Ok(d) => out.max_hold = d,
            Err(e) => push("watch.max_hold", e),
        }
    }
    if let Some(m) = &raw.hold_marker {
        match check_marker(m) {
            Ok(()) => out.hold_marker = Some(m.clone()),
            Err(e) => push("watch.hold_marker", e),
        }
    }
    match raw.channel_capacity {
        Some(0) => push("watch.channel_capacity", "must be at least 1".into()),
        Some(n) => out.channel_capacity = n,
        None => {}
    }
    let mut set = GlobSetBuilder::new();
    for (i, g) in raw.ignore.iter().enumerate() {
        if g.starts_with('/') {
            push(
                &format!("watch.ignore[{i}]"),
                format!("glob `{g}` must be relative to the site root (no leading `/`)"),
            );
            continue;
        }
        match GlobBuilder::new(g).literal_separator(true).build() {
            Ok(glob) => {
                set.add(glob);
            }
            Err(e) => push(
                &format!("watch.ignore[{i}]"),
                format!("invalid glob `{g}`: {}", e.kind()),
            ),
        }
    }
    match set.build() {
        Ok(s) => {
            out.ignore_set = s;
            out.ignore = raw.ignore.clone();
        }
        Err(e) => push("watch.ignore", e.to_string()),
    }
    out
}

/// The marker is looked up directly in the root: one plain file name.
fn check_marker(m: &str) -> Result<(), String> {
    if m.is_empty() || m == "." || m == ".." || m.contains(['/', '\\', '\0']) {
        return Err(format!(
            "{m:?} is not a plain file name; expected e.g. \".edgeflush-hold\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(raw: RawWatch) -> (WatchSettings, Vec<(String, String)>) {
        let mut issues = Vec::new();
        let s = compile(&raw, |k, m| issues.push((k.to_string(), m)));
        (s, issues)
    }

    #[test]
    fn defaults() {
        let (s, issues) = compiled(RawWatch::default());
        assert!(issues.is_empty());
        assert_eq!(s.settle, Duration::from_millis(500));
        assert_eq!(s.max_hold, Duration::from_secs(1800));
        assert_eq!(s.hold_marker, None);
        assert_eq!(s.channel_capacity, 4096);
        assert!(!s.ignore_set.is_match("a.html"));
    }

    #[test]
    fn values_are_parsed() {
        let (s, issues) = compiled(RawWatch {
            settle: Some("250ms".into()),
            hold_marker: Some(".edgeflush-hold".into()),
            max_hold: Some("5m".into()),
            ignore: vec!["drafts/**".into(), "*.bak".into()],
            channel_capacity: Some(8),
        });
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(s.settle, Duration::from_millis(250));
        assert_eq!(s.max_hold, Duration::from_secs(300));
        assert_eq!(s.hold_marker.as_deref(), Some(".edgeflush-hold"));
        assert_eq!(s.channel_capacity, 8);
        assert!(s.ignore_set.is_match("drafts/a/b.html"));
        assert!(s.ignore_set.is_match("x.bak"));
        // `*` stays within one directory, as for `exclude`.
        assert!(!s.ignore_set.is_match("dir/x.bak"));
    }

    #[test]
    fn every_bad_key_is_reported() {
        let (s, issues) = compiled(RawWatch {
            settle: Some("soon".into()),
            hold_marker: Some("deploy/.hold".into()),
            max_hold: Some("0s".into()),
            ignore: vec!["/abs/*".into(), "a[".into()],
            channel_capacity: Some(0),
        });
        let keys: Vec<&str> = issues.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "watch.settle",
                "watch.max_hold",
                "watch.hold_marker",
                "watch.channel_capacity",
                "watch.ignore[0]",
                "watch.ignore[1]",
            ]
        );
        assert_eq!(s.settle, DEFAULT_SETTLE);
        assert_eq!(s.channel_capacity, DEFAULT_CHANNEL_CAPACITY);
    }

    #[test]
    fn marker_names() {
        assert!(check_marker(".edgeflush-hold").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            assert!(check_marker(bad).is_err(), "{bad:?}");
        }
    }
}
