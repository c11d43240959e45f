//! Reading the layers (defaults < file < environment < CLI overrides) with the
//! `config` crate, section by section so that `check` can report every
//! broken key at once, each with the file or variable it came from.

use super::ConfigError;
use super::Issue;
use super::raw::*;
use config::{Config, Environment, File, FileFormat, ValueKind};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/edgeflush/edgeflush.toml";
pub const ENV_PREFIX: &str = "EDGEFLUSH";

/// Where the configuration file comes from, and whether its absence is fatal.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: Option<PathBuf>,
    /// Named explicitly (flag or `EDGEFLUSH_CONFIG`): a missing file is an error.
    pub required: bool,
}

impl ConfigSource {
    /// `--config` wins over `EDGEFLUSH_CONFIG`, which wins over the default path
    /// (used only when it exists, so commands work without any file).
    pub fn resolve(flag: Option<PathBuf>) -> ConfigSource {
        if let Some(p) = flag {
            return ConfigSource {
                path: Some(p),
                required: true,
            };
        }
        if let Some(p) = std::env::var_os("EDGEFLUSH_CONFIG").filter(|v| !v.is_empty()) {
            return ConfigSource {
                path: Some(PathBuf::from(p)),
                required: true,
            };
        }
        let default = PathBuf::from(DEFAULT_CONFIG_PATH);
        ConfigSource {
            path: default.exists().then_some(default),
            required: false,
        }
    }

    pub fn none() -> ConfigSource {
        ConfigSource {
            path: None,
            required: false,
        }
    }
}

/// Names the origin of a key for error messages: the environment variable when
/// one is set for it, else the file.
pub(super) fn origin_of(key: &str, file: Option<&Path>) -> String {
    let top = key.split(['.', '[']).take(2).collect::<Vec<_>>();
    if top.len() == 2 && !key.contains('[') {
        let var = format!(
            "{ENV_PREFIX}__{}__{}",
            top[0].to_ascii_uppercase(),
            top[1].to_ascii_uppercase()
        );
        if std::env::var_os(&var).is_some() {
            return format!("environment {var}");
        }
    }
    match file {
        Some(f) => f.display().to_string(),
        None => "defaults/environment".to_string(),
    }
}

pub(super) fn read_layers(
    src: &ConfigSource,
    overrides: &[(String, String)],
) -> Result<(RawConfig, Vec<Issue>), ConfigError> {
    let file = src.path.as_deref();
    if let Some(p) = file {
        if src.required && !p.exists() {
            return Err(ConfigError::single(Issue {
                key: "-".into(),
                origin: p.display().to_string(),
                message: "configuration file not found".into(),
            }));
        }
    }
    let mut b = Config::builder();
    if let Some(p) = file {
        b = b.add_source(File::from(p).format(FileFormat::Toml).required(false));
    }
    b = b.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .ignore_empty(true),
    );
    for (k, v) in overrides {
        b = b.set_override(k.as_str(), v.as_str()).map_err(|e| {
            ConfigError::single(Issue {
                key: k.clone(),
                origin: "command line".into(),
                message: e.to_string(),
            })
        })?;
    }
    let cfg = b.build().map_err(|e| {
        ConfigError::single(Issue {
            key: "-".into(),
            origin: file
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "environment".into()),
            message: scrub(&e.to_string()),
        })
    })?;

    let mut issues = Vec::new();
    let table = cfg.cache.clone().into_table().unwrap_or_default();
    const KNOWN: &[&str] = &[
        "cloakfusion",
        "server",
        "store",
        "batch",
        "status",
        "log",
        "traffic",
        "watch",
        "site",
        "hook",
    ];
    for key in table.keys() {
        if !KNOWN.contains(&key.as_str()) {
            issues.push(Issue {
                key: key.clone(),
                origin: origin_of(key, file),
                message: format!("unknown section; expected one of: {}", KNOWN.join(", ")),
            });
        }
    }

    let mut raw = RawConfig {
        cloakfusion: section(&cfg, "cloakfusion", file, &mut issues),
        server: section(&cfg, "server", file, &mut issues),
        store: section(&cfg, "store", file, &mut issues),
        batch: section(&cfg, "batch", file, &mut issues),
        status: section(&cfg, "status", file, &mut issues),
        log: section(&cfg, "log", file, &mut issues),
        traffic: section(&cfg, "traffic", file, &mut issues),
        watch: section(&cfg, "watch", file, &mut issues),
        ..RawConfig::default()
    };
    raw.site = items(&cfg, "site", file, &mut issues);
    raw.hook = items(&cfg, "hook", file, &mut issues);
    Ok((raw, issues))
}

fn section<T: DeserializeOwned + Default>(
    cfg: &Config,
    key: &str,
    file: Option<&Path>,
    issues: &mut Vec<Issue>,
) -> T {
    match cfg.get::<config::Value>(key) {
        Err(config::ConfigError::NotFound(_)) => T::default(),
        Err(e) => {
            issues.push(issue_from(key, &e, file));
            T::default()
        }
        Ok(v) => decode(v, key, file, issues).unwrap_or_default(),
    }
}

fn items<T: DeserializeOwned>(
    cfg: &Config,
    key: &str,
    file: Option<&Path>,
    issues: &mut Vec<Issue>,
) -> Vec<T> {
    let list = match cfg.get::<Vec<config::Value>>(key) {
        Err(config::ConfigError::NotFound(_)) => return Vec::new(),
        Err(e) => {
            issues.push(issue_from(key, &e, file));
            return Vec::new();
        }
        Ok(l) => l,
    };
    list.into_iter()
        .enumerate()
        .filter_map(|(i, v)| decode(v, &format!("{key}[{i}]"), file, issues))
        .collect()
}

/// Most problems one value may report before decoding gives up on it.
const MAX_ISSUES_PER_VALUE: usize = 64;

/// Decodes one value through `serde_path_to_error` so that the message names
/// the exact nested key (`site[1].rule[0].glob`), not just the section. A bad
/// key (unknown, or of the wrong type) is recorded, cut out and the decoding
/// tried again, so one typo does not hide the other problems of its section
/// nor the checks `compile` runs on the keys that are fine.
fn decode<T: DeserializeOwned>(
    mut v: config::Value,
    key: &str,
    file: Option<&Path>,
    issues: &mut Vec<Issue>,
) -> Option<T> {
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_ISSUES_PER_VALUE {
        let e = match serde_path_to_error::deserialize::<_, T>(v.clone()) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let segments: Vec<Segment> = e.path().iter().cloned().collect();
        let path = e.path().to_string();
        let full = if path == "." || path.is_empty() {
            key.to_string()
        } else {
            format!("{key}.{path}")
        };
        let message = scrub(&e.into_inner().to_string());
        // A required key we cut out ourselves is already reported.
        let ours = removed
            .iter()
            .any(|r| leaf(r, &full).is_some_and(|k| names_missing(&message, k)));
        if ours {
            return None;
        }
        issues.push(Issue {
            origin: origin_of(&full, file),
            key: full.clone(),
            message,
        });
        if !remove_at(&mut v, &segments) {
            return None;
        }
        removed.push(full);
    }
    None
}

/// The last key of `removed` when it sits directly under `parent`.
fn leaf<'a>(removed: &'a str, parent: &str) -> Option<&'a str> {
    removed
        .strip_prefix(parent)
        .and_then(|r| r.strip_prefix('.'))
        .filter(|r| !r.contains(['.', '[']))
}

/// Whether `message` says that field `k` is missing, in serde's words
/// (missing field `k`) or the `config` crate's (missing configuration field "x[0]k").
fn names_missing(message: &str, k: &str) -> bool {
    message.starts_with("missing")
        && (message.contains(&format!("`{k}`"))
            || [".", "]", "\""]
                .iter()
                .any(|p| message.contains(&format!("{p}{k}\""))))
}

/// Removes the table entry at `path`. Only keys of tables are removed: taking
/// an item out of an array would shift the indexes later messages name.
fn remove_at(v: &mut config::Value, path: &[Segment]) -> bool {
    let Some((Segment::Map { key }, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = v;
    for seg in parents {
        cur = match (seg, &mut cur.kind) {
            (Segment::Map { key }, ValueKind::Table(t)) => match t.get_mut(key) {
                Some(x) => x,
                None => return false,
            },
            (Segment::Seq { index }, ValueKind::Array(a)) => match a.get_mut(*index) {
                Some(x) => x,
                None => return false,
            },
            _ => return false,
        };
    }
    match &mut cur.kind {
        ValueKind::Table(t) => t.remove(key).is_some(),
        _ => false,
    }
}

fn issue_from(key: &str, e: &config::ConfigError, file: Option<&Path>) -> Issue {
    Issue {
        key: key.to_string(),
        origin: origin_of(key, file),
        message: scrub(&e.to_string()),
    }
}

/// The `config` crate quotes offending values in some messages; a value may be
/// a secret, so quoted strings are cut out of messages about them.
fn scrub(msg: &str) -> String {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("token") || lower.contains("secret") {
        let re = regex::Regex::new(r#""[^"]*""#);
        if let Ok(re) = re {
            return re.replace_all(msg, "\"…\"").into_owned();
        }
    }
    msg.to_string()
}
