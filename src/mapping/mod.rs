//! Path to URL mapping: turns a changed file (webhook repo path, watcher path,
//! operator input) into the exact CDN URLs to purge. Each `[[site]]` is
//! compiled once at load into a [`SiteMap`]; workers only call its cheap
//! lookups, and every refusal is a typed [`MapError`] whose
//! [`MapError::kind`] can label a metric.

mod compile;
mod encode;
mod fs;
mod map;
#[cfg(test)]
mod props;
mod relpath;
mod reverse;
mod template;
#[cfg(test)]
mod testutil;

use std::path::PathBuf;

use globset::GlobSet;

use template::UrlSpec;

/// One URL to purge and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedUrl {
    /// Absolute URL as sent to `POST /flush/`.
    pub url: String,
    /// URL path (encoded, leading `/`, base-URL prefix included): what a
    /// `/flushstatus/` regex is matched against.
    pub path: String,
    /// What produced it: `file`, `index`, `pretty`, `rule[0] <glob>`,
    /// `also_purge`, `full_purge`, `operator`.
    pub rule: String,
}

/// What a file maps to. Exclusion is a normal outcome, not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOutcome {
    Urls(Vec<MappedUrl>),
    Excluded { glob: String },
}

/// Why a path or URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("path {path:?} climbs out of the site root")]
    OutsideRoot { path: String },
    #[error("path {path:?} is absolute; a site-relative path was expected")]
    AbsolutePath { path: String },
    #[error("path {path:?} resolves through a symlink that leaves the site root")]
    SymlinkEscape { path: String },
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("URL {url:?} is not under any base URL of site `{site}`")]
    ForeignUrl { url: String, site: String },
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("site `{site}` has no root; filesystem paths cannot be mapped")]
    NoRoot { site: String },
    #[error("cannot resolve {path:?}: {message}")]
    Io { path: String, message: String },
}

impl MapError {
    /// A short, fixed label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            MapError::OutsideRoot { .. }
            | MapError::AbsolutePath { .. }
            | MapError::SymlinkEscape { .. } => "outside_root",
            MapError::InvalidPath { .. } => "invalid_path",
            MapError::ForeignUrl { .. } => "foreign_url",
            MapError::InvalidUrl { .. } => "invalid_url",
            MapError::NoRoot { .. } => "no_root",
            MapError::Io { .. } => "io",
        }
    }
}

/// A base URL split so joining a path is plain concatenation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Base {
    /// `scheme://host[:port]`, normalised by the URL parser.
    origin: String,
    /// Path prefix without trailing slash: "" or "/docs".
    prefix: String,
}

#[derive(Debug, Clone)]
struct Rule {
    label: String,
    keep_default: bool,
    urls: Vec<UrlSpec>,
}

/// One site, compiled. Cheap to clone; immutable after [`SiteMap::compile`].
#[derive(Debug, Clone)]
pub struct SiteMap {
    name: String,
    vhost: String,
    root: Option<PathBuf>,
    base_urls: Vec<String>,
    bases: Vec<Base>,
    repo_prefix: Vec<Vec<u8>>,
    index_files: Vec<Vec<u8>>,
    pretty_urls: bool,
    also_purge: Vec<UrlSpec>,
    full_purge: Vec<UrlSpec>,
    exclude_globs: Vec<String>,
    exclude: GlobSet,
    rules: Vec<Rule>,
    rule_globs: GlobSet,
}

impl SiteMap {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Cloakfusion vhost (`domain_name`), lower-cased.
    pub fn vhost(&self) -> &str {
        &self.vhost
    }

    /// The document root, lexically normalised; None for webhook-only sites.
    pub fn root(&self) -> Option<&std::path::Path> {
        self.root.as_deref()
    }

    /// Normalised base URLs, no trailing slash (`https://example.com/docs`).
    pub fn base_urls(&self) -> &[String] {
        &self.base_urls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Workers share one compiled map across tasks.
    #[test]
    fn site_map_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SiteMap>();
        shareable::<MapError>();
    }

    #[test]
    fn kinds_are_stable_labels() {
        let p = || "x".to_string();
        assert_eq!(MapError::OutsideRoot { path: p() }.kind(), "outside_root");
        assert_eq!(MapError::AbsolutePath { path: p() }.kind(), "outside_root");
        assert_eq!(MapError::SymlinkEscape { path: p() }.kind(), "outside_root");
        let invalid = MapError::InvalidPath {
            path: p(),
            reason: "r".into(),
        };
        assert_eq!(invalid.kind(), "invalid_path");
        let foreign = MapError::ForeignUrl {
            url: p(),
            site: p(),
        };
        assert_eq!(foreign.kind(), "foreign_url");
        let bad = MapError::InvalidUrl {
            url: p(),
            reason: p(),
        };
        assert_eq!(bad.kind(), "invalid_url");
        assert_eq!(MapError::NoRoot { site: p() }.kind(), "no_root");
        let io = MapError::Io {
            path: p(),
            message: p(),
        };
        assert_eq!(io.kind(), "io");
    }
}
