//! Turns a `[[site]]` as written into a [`SiteMap`], validating everything up
//! front and reporting every problem at once, each prefixed with the key that
//! holds it (`site[www].rule[0].glob: ...`), so a config is fixed in one pass.

use std::path::Path;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::fs::lexical_normalize;
use super::relpath::RelPath;
use super::template::UrlSpec;
use super::{Base, Rule, SiteMap};
use crate::config::raw::RawSite;

impl SiteMap {
    /// Errors are strings that name the key, e.g.
    /// `` site[www].rule[0].glob: invalid glob `[`: ... ``.
    pub fn compile(raw: &RawSite, index: usize) -> Result<SiteMap, Vec<String>> {
        let mut errs = Vec::new();
        let name_ok = valid_name(&raw.name);
        let key = if name_ok {
            format!("site[{}]", raw.name)
        } else {
            format!("site[{index}]")
        };
        if !name_ok {
            errs.push(format!(
                "{key}.name: {:?} must be non-empty and use only A-Z a-z 0-9 _ -",
                raw.name
            ));
        }
        let vhost = raw.vhost.to_ascii_lowercase();
        let vhost_ok = valid_hostname(&vhost);
        if !vhost_ok {
            errs.push(format!("{key}.vhost: {:?} is not a hostname", raw.vhost));
        }

        let mut bases: Vec<Base> = Vec::new();
        if raw.base_urls.is_empty() {
            if vhost_ok {
                bases.push(Base {
                    origin: format!("https://{vhost}"),
                    prefix: String::new(),
                });
            }
        } else {
            for (i, s) in raw.base_urls.iter().enumerate() {
                match parse_base(s) {
                    Ok(b) => match bases.iter().position(|x| *x == b) {
                        Some(j) => {
                            errs.push(format!("{key}.base_urls[{i}]: duplicate of base_urls[{j}]"))
                        }
                        None => bases.push(b),
                    },
                    Err(e) => errs.push(format!("{key}.base_urls[{i}]: {e}")),
                }
            }
        }

        let root = match raw.root.as_deref() {
            None => None,
            Some(r) if Path::new(r).is_absolute() && !r.contains('\0') => {
                Some(lexical_normalize(Path::new(r)))
            }
            Some(r) => {
                errs.push(format!("{key}.root: {r:?} must be an absolute path"));
                None
            }
        };

        let repo_prefix = RelPath::prefix_segments(raw.repo_prefix.as_deref().unwrap_or(""))
            .unwrap_or_else(|e| {
                errs.push(format!("{key}.repo_prefix: {e}"));
                Vec::new()
            });

        let default_index = ["index.html".to_string()];
        let index_src = raw.index_files.as_deref().unwrap_or(&default_index);
        let mut index_files = Vec::new();
        for (i, f) in index_src.iter().enumerate() {
            if f.is_empty() || f == "." || f == ".." || f.contains(['/', '\0']) {
                errs.push(format!(
                    "{key}.index_files[{i}]: {f:?} must be a plain file name"
                ));
            } else {
                index_files.push(f.as_bytes().to_vec());
            }
        }

        let also_purge = fixed_specs(&raw.also_purge, &format!("{key}.also_purge"), &mut errs);

        let mut exclude = GlobSetBuilder::new();
        for (i, g) in raw.exclude.iter().enumerate() {
            match glob(g) {
                Ok(g) => {
                    exclude.add(g);
                }
                Err(e) => errs.push(format!("{key}.exclude[{i}]: {e}")),
            }
        }

        let mut rules = Vec::new();
        let mut rule_globs = GlobSetBuilder::new();
        for (i, r) in raw.rule.iter().enumerate() {
            let rkey = format!("{key}.rule[{i}]");
            match glob(&r.glob) {
                Ok(g) => {
                    rule_globs.add(g);
                }
                Err(e) => errs.push(format!("{rkey}.glob: {e}")),
            }
            if r.urls.is_empty() {
                errs.push(format!(
                    "{rkey}.urls: empty (to purge nothing for these files, use exclude)"
                ));
            }
            let mut urls = Vec::new();
            for (j, u) in r.urls.iter().enumerate() {
                match UrlSpec::parse(u, true) {
                    Ok(spec) => urls.push(spec),
                    Err(e) => errs.push(format!("{rkey}.urls[{j}]: {}{e}", echo(u))),
                }
            }
            rules.push(Rule {
                label: format!("rule[{i}] {}", r.glob),
                keep_default: r.keep_default.unwrap_or(true),
                urls,
            });
        }

        let full_purge = fixed_specs(&raw.full_purge, &format!("{key}.full_purge"), &mut errs);
        let exclude = finish(exclude, &format!("{key}.exclude"), &mut errs);
        let rule_globs = finish(rule_globs, &format!("{key}.rule"), &mut errs);
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(SiteMap {
            name: raw.name.clone(),
            vhost,
            root,
            base_urls: bases
                .iter()
                .map(|b| format!("{}{}", b.origin, b.prefix))
                .collect(),
            bases,
            repo_prefix,
            index_files,
            pretty_urls: raw.pretty_urls,
            also_purge,
            full_purge,
            exclude_globs: raw.exclude.clone(),
            exclude,
            rules,
            rule_globs,
        })
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// RFC 1123 host name (an IPv4 address passes too).
fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The value itself is never echoed: it might carry credentials.
fn parse_base(s: &str) -> Result<Base, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credentials in URLs are not allowed".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("query strings and fragments are not allowed".into());
    }
    let full = url.as_str();
    let origin = &full[..full.len() - url.path().len()];
    let prefix = url.path().trim_end_matches('/');
    if prefix.contains("//") {
        return Err("empty path segment (`//`)".into());
    }
    Ok(Base {
        origin: origin.to_string(),
        prefix: prefix.to_string(),
    })
}

/// Quotes a URL-ish value in an error, unless it may carry credentials.
fn echo(s: &str) -> String {
    if s.contains('@') {
        String::new()
    } else {
        format!("{s:?}: ")
    }
}

fn fixed_specs(src: &[String], key: &str, errs: &mut Vec<String>) -> Vec<UrlSpec> {
    let mut out = Vec::new();
    for (i, s) in src.iter().enumerate() {
        match UrlSpec::parse(s, false) {
            Ok(spec) => out.push(spec),
            Err(e) => errs.push(format!("{key}[{i}]: {}{e}", echo(s))),
        }
    }
    out
}

/// Globs are relative to the site root and `*` stays within one directory.
fn glob(g: &str) -> Result<Glob, String> {
    if g.starts_with('/') {
        return Err(format!(
            "glob `{g}` must be relative to the site root (no leading `/`)"
        ));
    }
    GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob `{g}`: {}", e.kind()))
}

fn finish(b: GlobSetBuilder, key: &str, errs: &mut Vec<String>) -> GlobSet {
    b.build().unwrap_or_else(|e| {
        errs.push(format!("{key}: {e}"));
        GlobSet::empty()
    })
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
