//! Secrets (API token, hook secrets, admin token): a type that cannot be
//! printed by accident, and the `x` / `x_file` loading rules shared by every
//! secret in the configuration.

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value. `Debug` and `Display` never show it; only `expose` does,
/// so every place that reads the value is easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a secret could not be loaded. Messages name the file, never the value.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SecretError {
    #[error("both `{key}` and `{key}_file` are set; use one")]
    Both { key: String },
    #[error("cannot read secret file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "secret file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("secret file {path} is empty")]
    Empty { path: PathBuf },
}

/// Resolves a relative `x_file` against `$CREDENTIALS_DIRECTORY` (systemd
/// `LoadCredential=`) when set, else against the config file's folder.
pub fn resolve_secret_path(file: &str, config_dir: Option<&Path>) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        return Path::new(&dir).join(p);
    }
    match config_dir {
        Some(dir) => dir.join(p),
        None => p.to_path_buf(),
    }
}

/// Loads `x` or `x_file` (never both). `Ok(None)` when neither is set.
pub fn load_secret(
    key: &str,
    inline: Option<&str>,
    file: Option<&str>,
    config_dir: Option<&Path>,
) -> Result<Option<Secret>, SecretError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(SecretError::Both {
            key: key.to_string(),
        }),
        (Some(v), None) => Ok(Some(Secret::new(v.trim()))),
        (None, Some(f)) => read_secret_file(&resolve_secret_path(f, config_dir)).map(Some),
        (None, None) => Ok(None),
    }
}

/// Reads and trims a secret file, refusing one that group or others can read:
/// a token that any local user can copy is a leaked token.
pub fn read_secret_file(path: &Path) -> Result<Secret, SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    // systemd hands credentials over in a private, service-only directory and
    // grants access with an ACL, which shows as group bits (0440): trust it.
    if mode & 0o077 != 0 && !in_credentials_dir(path) {
        return Err(SecretError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(Secret::new(value))
}

fn in_credentials_dir(path: &Path) -> bool {
    let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
        return false;
    };
    match (std::fs::canonicalize(&dir), std::fs::canonicalize(path)) {
        (Ok(d), Ok(p)) => p.starts_with(d),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn debug_never_shows_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
    }

    #[test]
    fn file_modes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tok");
        std::fs::write(&p, "  abc \n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&p).unwrap().expose(), "abc");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_secret_file(&p).unwrap_err();
        assert!(matches!(err, SecretError::TooOpen { .. }));
        assert!(!err.to_string().contains("abc"));
    }

    #[test]
    fn both_refused() {
        let err = load_secret("token", Some("a"), Some("f"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "both `token` and `token_file` are set; use one"
        );
    }
}
