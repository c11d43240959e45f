//! The lookups workers call: a validated site-relative path becomes the list
//! of URLs to purge (default file/index/pretty URLs, then every matching
//! rule), deduplicated and labelled with what produced each one so
//! `edgeflush map` can explain its answer.

use std::collections::HashSet;
use std::path::Path;

use super::encode::{self, Mode};
use super::relpath::RelPath;
use super::template::{Captures, UrlSpec};
use super::{Base, MapError, MapOutcome, MappedUrl, SiteMap, fs};

/// Collects URLs in order, keeping the first label of a URL seen twice.
struct UrlList<'a> {
    bases: &'a [Base],
    list: Vec<MappedUrl>,
    seen: HashSet<String>,
}

impl<'a> UrlList<'a> {
    fn new(bases: &'a [Base]) -> Self {
        UrlList {
            bases,
            list: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn push(&mut self, origin: &str, path: String, rule: &str) {
        // A name made of dots gives a dot segment (`...html` has the pretty
        // URL `/..`, `...md` the `{stem}` `..`) that a CDN resolves to
        // another URL, possibly above the base's prefix: never purged.
        if encode::check_path_shape(&path).is_err() {
            return;
        }
        let url = format!("{origin}{path}");
        if self.seen.insert(url.clone()) {
            self.list.push(MappedUrl {
                url,
                path,
                rule: rule.to_string(),
            });
        }
    }

    /// `path` is site-relative (leading `/`): one URL per base URL.
    fn push_site_path(&mut self, path: &str, rule: &str) {
        for b in self.bases {
            self.push(&b.origin, format!("{}{path}", b.prefix), rule);
        }
    }

    fn push_spec(&mut self, spec: &UrlSpec, caps: &Captures, rule: &str) {
        let path = spec.render(caps);
        match &spec.origin {
            Some(origin) => self.push(origin, path, rule),
            None => self.push_site_path(&path, rule),
        }
    }
}

impl SiteMap {
    /// site-relative path ("blog/a.css", '/'-separated, no leading '/')
    pub fn map_relative(&self, rel: &str) -> Result<MapOutcome, MapError> {
        Ok(self.map_rel(&RelPath::parse_str(rel)?))
    }

    /// A repo path from a webhook: Ok(None) when outside repo_prefix (not this site's file).
    pub fn map_repo_path(&self, repo_path: &str) -> Result<Option<MapOutcome>, MapError> {
        let path = RelPath::parse_str(repo_path)?;
        Ok(path
            .strip_prefix(&self.repo_prefix)
            .map(|rel| self.map_rel(&rel)))
    }

    /// An absolute filesystem path seen by the watcher: must be inside root (symlinks resolved); non-UTF-8
    /// names are mapped with their bytes percent-encoded.
    pub fn map_fs_path(&self, abs: &Path) -> Result<MapOutcome, MapError> {
        let root = self.root.as_deref().ok_or_else(|| MapError::NoRoot {
            site: self.name.clone(),
        })?;
        let bytes = fs::relative_to_root(root, abs)?;
        Ok(self.map_rel(&RelPath::parse_bytes(&bytes)?))
    }

    /// URL path or absolute URL given by an operator (admin purge): absolute URLs must start with one of
    /// base_urls (else MapError); paths are joined to every base URL.
    ///
    /// A path may be typed unencoded (`/my file`): illegal characters are
    /// encoded, existing `%XX` kept.
    pub fn urls_for_url_or_path(&self, s: &str) -> Result<Vec<MappedUrl>, MapError> {
        let s = s.trim();
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return self.operator_url(s).map(|u| vec![u]);
        }
        let invalid = |reason: String| MapError::InvalidPath {
            path: s.to_string(),
            reason,
        };
        if !s.starts_with('/') {
            return Err(invalid(
                "expected a URL path starting with `/` or an http(s) URL".into(),
            ));
        }
        let path = encode::url_path_text(s, Mode::Lenient).map_err(invalid)?;
        encode::check_path_shape(&path).map_err(invalid)?;
        let mut out = UrlList::new(&self.bases);
        out.push_site_path(&path, "operator");
        Ok(out.list)
    }

    fn operator_url(&self, s: &str) -> Result<MappedUrl, MapError> {
        let invalid = |reason: &str| MapError::InvalidUrl {
            url: redact(s),
            reason: reason.to_string(),
        };
        if s.chars().any(char::is_control) {
            return Err(invalid("control characters are not allowed"));
        }
        let url = reqwest::Url::parse(s).map_err(|e| invalid(&e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in URLs are not allowed"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("query strings and fragments are not supported"));
        }
        encode::check_path_shape(url.path()).map_err(|e| invalid(&e))?;
        let full = url.as_str();
        let path = url.path();
        let origin = &full[..full.len() - path.len()];
        let under = |b: &Base| {
            b.origin == origin
                && (path == b.prefix
                    || path
                        .strip_prefix(b.prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/')))
        };
        if !self.bases.iter().any(under) {
            return Err(MapError::ForeignUrl {
                url: full.to_string(),
                site: self.name.clone(),
            });
        }
        Ok(MappedUrl {
            url: full.to_string(),
            path: path.to_string(),
            rule: "operator".into(),
        })
    }

    /// URLs to purge once per change set, whatever changed.
    pub fn also_purge_urls(&self) -> Vec<MappedUrl> {
        self.fixed(&self.also_purge, "also_purge")
    }

    /// URLs for a whole-site purge when the root cannot be enumerated.
    pub fn full_purge_urls(&self) -> Vec<MappedUrl> {
        self.fixed(&self.full_purge, "full_purge")
    }

    /// An invalid path is not excluded (mapping it fails instead).
    pub fn is_excluded(&self, rel: &str) -> bool {
        RelPath::parse_str(rel).is_ok_and(|r| self.excluded_by(&r).is_some())
    }

    fn fixed(&self, specs: &[UrlSpec], rule: &str) -> Vec<MappedUrl> {
        let mut out = UrlList::new(&self.bases);
        let none = Captures::default();
        for spec in specs {
            out.push_spec(spec, &none, rule);
        }
        out.list
    }

    fn excluded_by(&self, rel: &RelPath) -> Option<&str> {
        let first = self.exclude.matches(rel.as_path()).into_iter().min()?;
        self.exclude_globs.get(first).map(String::as_str)
    }

    /// Default URLs are dropped only when a matching rule says
    /// `keep_default = false`; an explicit opt-out wins over the default.
    fn map_rel(&self, rel: &RelPath) -> MapOutcome {
        if let Some(glob) = self.excluded_by(rel) {
            return MapOutcome::Excluded {
                glob: glob.to_string(),
            };
        }
        let mut matched = self.rule_globs.matches(rel.as_path());
        matched.sort_unstable();
        let caps = Captures::of(rel);
        let mut out = UrlList::new(&self.bases);
        let rules: Vec<_> = matched.iter().filter_map(|&i| self.rules.get(i)).collect();
        if rules.iter().all(|r| r.keep_default) {
            self.push_defaults(&mut out, rel, &caps);
        }
        for rule in rules {
            for spec in &rule.urls {
                out.push_spec(spec, &caps, &rule.label);
            }
        }
        MapOutcome::Urls(out.list)
    }

    /// The file's own URL, then its directory URLs when it is an index file
    /// (`blog/` and `blog`; just `/` at the top), else its extension-less
    /// URL under `pretty_urls`.
    fn push_defaults(&self, out: &mut UrlList<'_>, rel: &RelPath, caps: &Captures) {
        out.push_site_path(&format!("/{}", caps.path), "file");
        let name = rel.name();
        if self.index_files.iter().any(|f| f.as_slice() == name) {
            if caps.dir.is_empty() {
                out.push_site_path("/", "index");
            } else {
                out.push_site_path(&format!("/{}/", caps.dir), "index");
                out.push_site_path(&format!("/{}", caps.dir), "index");
            }
            return;
        }
        if !self.pretty_urls {
            return;
        }
        if let Some(stem) = name.strip_suffix(b".html").filter(|s| !s.is_empty()) {
            let stem = encode::segment(stem);
            let path = if caps.dir.is_empty() {
                format!("/{stem}")
            } else {
                format!("/{}/{stem}", caps.dir)
            };
            out.push_site_path(&path, "pretty");
        }
    }
}

/// An operator URL for an error message, without any credentials in it.
fn redact(s: &str) -> String {
    match reqwest::Url::parse(s) {
        Ok(mut u) => {
            // Only fails for URLs that cannot carry credentials anyway.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        Err(_) if s.contains('@') => "<unparseable URL>".into(),
        Err(_) => s.to_string(),
    }
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "lookup_tests.rs"]
mod lookup_tests;
