//! Which paths under a root are never watched, indexed nor purged: the
//! scratch files that deploy tools and editors leave for a moment (rsync
//! temporaries, swap and backup files, `*.tmp`), version-control folders,
//! the hold marker, the site's `exclude` globs and `watch.ignore`. A temp
//! file renamed into place is seen under its final name, which is not
//! ignored, so the rename purges the real file.

use crate::config::{Site, WatchSettings};
use globset::GlobSet;
use std::sync::Arc;

/// Why a path is left alone (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// rsync, editor and tool scratch files.
    Temporary,
    /// `.git/` and friends.
    VersionControl,
    /// `watch.ignore`.
    IgnoreGlob,
    /// The site's `exclude`.
    Excluded,
    /// The hold marker itself.
    Marker,
}

impl Ignored {
    pub fn label(self) -> &'static str {
        match self {
            Ignored::Temporary => "temporary",
            Ignored::VersionControl => "vcs",
            Ignored::IgnoreGlob => "ignore_glob",
            Ignored::Excluded => "excluded",
            Ignored::Marker => "marker",
        }
    }
}

#[derive(Clone)]
pub struct Filter {
    ignore: GlobSet,
    marker: Option<String>,
    site: Arc<Site>,
}

const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn", ".bzr"];
/// rsync `--delay-updates` stages files in this folder.
const RSYNC_STAGING: &str = ".~tmp~";

impl Filter {
    pub fn new(settings: &WatchSettings, site: Arc<Site>) -> Filter {
        Filter {
            ignore: settings.ignore_set.clone(),
            marker: settings.hold_marker.clone(),
            site,
        }
    }

    /// The hold marker (only at the top of the root).
    pub fn is_marker(&self, rel: &str) -> bool {
        self.marker.as_deref() == Some(rel)
    }

    /// For a site-relative file path: None when it is a real file to watch.
    pub fn file(&self, rel: &str) -> Option<Ignored> {
        if self.is_marker(rel) {
            return Some(Ignored::Marker);
        }
        let (dirs, name) = match rel.rsplit_once('/') {
            Some((d, n)) => (Some(d), n),
            None => (None, rel),
        };
        if let Some(why) = dirs.and_then(|d| d.split('/').find_map(dir_name)) {
            return Some(why);
        }
        if is_scratch_file(name) {
            return Some(Ignored::Temporary);
        }
        if self.ignore.is_match(rel) {
            return Some(Ignored::IgnoreGlob);
        }
        if self.site.map.is_excluded(rel) {
            return Some(Ignored::Excluded);
        }
        None
    }

    /// For a site-relative directory: None when it is watched and walked.
    /// (`exclude` names files, so it does not prune directories.)
    pub fn dir(&self, rel: &str) -> Option<Ignored> {
        if let Some(why) = rel.split('/').find_map(dir_name) {
            return Some(why);
        }
        self.ignore.is_match(rel).then_some(Ignored::IgnoreGlob)
    }
}

fn dir_name(name: &str) -> Option<Ignored> {
    if VCS_DIRS.contains(&name) {
        Some(Ignored::VersionControl)
    } else if name == RSYNC_STAGING {
        Some(Ignored::Temporary)
    } else {
        None
    }
}

/// Editor swap/backup/lock files, vim's `4913` probe, `*.tmp`, and rsync's
/// `.name.XXXXXX` temporaries (a dot, the final name, a dot, six
/// alphanumerics).
fn is_scratch_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if name == "4913"
        || name.ends_with('~')
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#') && name.len() > 1)
        || lower.ends_with(".tmp")
        || [".swp", ".swo", ".swx"]
            .iter()
            .any(|s| lower.ends_with(s) && name.starts_with('.'))
    {
        return true;
    }
    is_rsync_temp(name)
}

fn is_rsync_temp(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((stem, suffix)) = rest.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty() && suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawSite;
    use crate::mapping::SiteMap;

    fn filter(marker: Option<&str>, ignore: &[&str]) -> Filter {
        let raw = RawSite {
            name: "www".into(),
            vhost: "www.example.com".into(),
            root: Some("/srv/www".into()),
            exclude: vec!["private/**".into()],
            ..Default::default()
        };
        let site = Arc::new(Site {
            map: SiteMap::compile(&raw, 0).unwrap(),
            origin_url: None,
            display_name: "www".into(),
            properties: None,
            verify: None,
        });
        let mut b = globset::GlobSetBuilder::new();
        for g in ignore {
            b.add(
                globset::GlobBuilder::new(g)
                    .literal_separator(true)
                    .build()
                    .unwrap(),
            );
        }
        let settings = WatchSettings {
            hold_marker: marker.map(String::from),
            ignore_set: b.build().unwrap(),
            ..Default::default()
        };
        Filter::new(&settings, site)
    }

    #[test]
    fn real_files_pass() {
        let f = filter(None, &[]);
        for p in [
            "index.html",
            "blog/a.css",
            ".htaccess",
            ".well-known/security.txt",
            "img/photo.2024ab.jpg",
            "a.tmpl",
            "dir.tmp/file.css",
        ] {
            assert_eq!(f.file(p), None, "{p}");
        }
    }

    #[test]
    fn scratch_files_are_ignored() {
        let f = filter(None, &[]);
        for p in [
            ".index.html.Ab3dE9",
            "blog/.a.css.x0x0x0",
            ".a.swp",
            "blog/.a.html.swx",
            "a.html~",
            ".#a.html",
            "#a.html#",
            "4913",
            "upload.TMP",
            "b/c.tmp",
        ] {
            assert_eq!(f.file(p), Some(Ignored::Temporary), "{p}");
        }
        assert_eq!(f.file(".~tmp~/a.html"), Some(Ignored::Temporary));
        assert_eq!(f.dir("a/.~tmp~"), Some(Ignored::Temporary));
    }

    #[test]
    fn vcs_marker_globs_and_excludes() {
        let f = filter(Some(".edgeflush-hold"), &["drafts/**", "drafts"]);
        assert_eq!(f.file(".git/config"), Some(Ignored::VersionControl));
        assert_eq!(f.file("a/.git/HEAD"), Some(Ignored::VersionControl));
        assert_eq!(f.dir(".git"), Some(Ignored::VersionControl));
        assert_eq!(f.dir("a/.git/objects"), Some(Ignored::VersionControl));
        assert_eq!(f.file(".edgeflush-hold"), Some(Ignored::Marker));
        assert!(f.is_marker(".edgeflush-hold"));
        assert_eq!(f.file("blog/.edgeflush-hold"), None, "only at the top");
        assert_eq!(f.file("drafts/x.html"), Some(Ignored::IgnoreGlob));
        assert_eq!(f.dir("drafts"), Some(Ignored::IgnoreGlob));
        assert_eq!(f.file("private/x.html"), Some(Ignored::Excluded));
        assert_eq!(f.dir("private"), None);
        assert_eq!(f.dir("blog"), None);
        assert_eq!(Ignored::Temporary.label(), "temporary");
    }
}
