//! Layered configuration: typed defaults < TOML file < `EDGEFLUSH__SECTION__KEY`
//! environment < CLI flags, validated and compiled once at load.

mod compile;
mod hooks;
mod live;
mod load;
pub mod raw;
pub mod secret;
pub mod settings;
mod traffic;
pub mod units;
mod verify;
mod watch;

pub use live::LiveSettings;
pub use load::{ConfigSource, DEFAULT_CONFIG_PATH};
pub use secret::Secret;
pub use settings::*;

use std::fmt;

/// One problem in the configuration: which key, where it came from, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub key: String,
    pub origin: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.key, self.message)
    }
}

/// Every problem found while loading, in file order.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<Issue>,
}

impl ConfigError {
    fn single(issue: Issue) -> Self {
        ConfigError {
            issues: vec![issue],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(
            f,
            "invalid configuration ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for i in &self.issues {
            writeln!(f, "  - {i}")?;
        }
        Ok(())
    }
}

/// Loads and compiles the configuration. `overrides` are CLI flags as
/// (`section.key`, value) pairs, the top layer.
pub fn load(src: &ConfigSource, overrides: &[(String, String)]) -> Result<Settings, ConfigError> {
    let (raw, issues) = load::read_layers(src, overrides)?;
    let (settings, mut issues) = compile::compile(raw, src.path.as_deref(), issues);
    // The top layer: a bad value there came from the command line, not the file.
    for i in &mut issues {
        if overrides.iter().any(|(k, _)| *k == i.key) {
            i.origin = "command line".into();
        }
    }
    if issues.is_empty() {
        Ok(settings)
    } else {
        Err(ConfigError { issues })
    }
}

/// Parses a TOML string as if it were the file at `path` (tests, `check` of a
/// candidate before a reload).
pub fn load_file(path: &std::path::Path) -> Result<Settings, ConfigError> {
    load(
        &ConfigSource {
            path: Some(path.to_path_buf()),
            required: true,
        },
        &[],
    )
}
