//! A site-relative file path that has been proven to stay inside the root.
//! Every input (webhook repo path, watcher path, CLI argument) goes through
//! here first, so `..` escapes, absolute paths and NUL bytes are refused in
//! one place; kept as raw bytes so non-UTF-8 file names still map.

use std::borrow::Cow;
use std::path::Path;

use super::MapError;

/// Normalised segments: at least one, none empty, `.`, `..`, or holding `/`/NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelPath {
    segs: Vec<Vec<u8>>,
}

impl RelPath {
    pub(crate) fn parse_str(s: &str) -> Result<RelPath, MapError> {
        Self::parse_bytes(s.as_bytes())
    }

    /// `..` that stays inside (`blog/../a.css`) resolves lexically; one that
    /// climbs above the root is refused, as is any empty component.
    pub(crate) fn parse_bytes(raw: &[u8]) -> Result<RelPath, MapError> {
        let shown = || String::from_utf8_lossy(raw).into_owned();
        let invalid = |reason: &str| MapError::InvalidPath {
            path: shown(),
            reason: reason.into(),
        };
        if raw.is_empty() {
            return Err(invalid("empty path"));
        }
        if raw.contains(&0) {
            return Err(invalid("NUL byte in path"));
        }
        if raw.starts_with(b"/") {
            return Err(MapError::AbsolutePath { path: shown() });
        }
        let mut segs: Vec<Vec<u8>> = Vec::new();
        for seg in raw.split(|b| *b == b'/') {
            match seg {
                b"" => return Err(invalid("empty path component")),
                b"." => {}
                b".." => {
                    if segs.pop().is_none() {
                        return Err(MapError::OutsideRoot { path: shown() });
                    }
                }
                _ => segs.push(seg.to_vec()),
            }
        }
        if segs.is_empty() {
            return Err(invalid("path names the site root, not a file"));
        }
        Ok(RelPath { segs })
    }

    /// Segments for a directory prefix such as `repo_prefix`: same rules, but
    /// the empty string (and `/` alone) means "no prefix".
    pub(crate) fn prefix_segments(s: &str) -> Result<Vec<Vec<u8>>, String> {
        let trimmed = s.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(Vec::new());
        }
        match Self::parse_str(trimmed) {
            Ok(p) if !s.contains("..") => Ok(p.segs),
            Ok(_) => Err("`..` is not allowed".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The rest of the path after `prefix`; None when the path is not strictly
    /// below it.
    pub(crate) fn strip_prefix(&self, prefix: &[Vec<u8>]) -> Option<RelPath> {
        if self.segs.len() <= prefix.len() || !self.segs.starts_with(prefix) {
            return None;
        }
        Some(RelPath {
            segs: self.segs[prefix.len()..].to_vec(),
        })
    }

    pub(crate) fn name(&self) -> &[u8] {
        self.segs.last().map(Vec::as_slice).unwrap_or_default()
    }

    pub(crate) fn dir(&self) -> &[Vec<u8>] {
        &self.segs[..self.segs.len().saturating_sub(1)]
    }

    pub(crate) fn segs(&self) -> &[Vec<u8>] {
        &self.segs
    }

    /// The path as globset wants it; on Unix the exact bytes, so a glob never
    /// sees a lossily converted name.
    pub(crate) fn as_path(&self) -> Cow<'_, Path> {
        let joined = self.segs.join(&b'/');
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            Cow::Owned(std::ffi::OsString::from_vec(joined).into())
        }
        #[cfg(not(unix))]
        {
            Cow::Owned(String::from_utf8_lossy(&joined).into_owned().into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &RelPath) -> Vec<String> {
        p.segs()
            .iter()
            .map(|s| String::from_utf8(s.clone()).unwrap())
            .collect()
    }

    #[test]
    fn plain_and_normalised_paths() {
        assert_eq!(segs(&RelPath::parse_str("a.css").unwrap()), ["a.css"]);
        assert_eq!(
            segs(&RelPath::parse_str("./blog/./x/../a.css").unwrap()),
            ["blog", "a.css"]
        );
    }

    #[test]
    fn escapes_are_refused_with_kinds() {
        let kind = |s: &str| RelPath::parse_str(s).unwrap_err().kind();
        assert_eq!(kind("../etc/passwd"), "outside_root");
        assert_eq!(kind("blog/../../x"), "outside_root");
        assert_eq!(kind("/etc/passwd"), "outside_root");
        assert_eq!(kind(""), "invalid_path");
        assert_eq!(kind("a\0b"), "invalid_path");
        assert_eq!(kind("a//b"), "invalid_path");
        assert_eq!(kind("blog/"), "invalid_path");
        assert_eq!(kind("."), "invalid_path");
        assert_eq!(kind("blog/.."), "invalid_path");
    }

    #[test]
    fn error_messages_escape_odd_characters() {
        let e = RelPath::parse_str("../a\nb").unwrap_err().to_string();
        assert!(e.contains("\\n"), "{e}");
    }

    #[test]
    fn non_utf8_bytes_are_kept() {
        let p = RelPath::parse_bytes(b"dir/\xffname").unwrap();
        assert_eq!(p.name(), b"\xffname");
        assert_eq!(p.dir(), [b"dir".to_vec()]);
    }

    #[test]
    fn prefix_segments_normalise_slashes() {
        assert!(RelPath::prefix_segments("").unwrap().is_empty());
        assert!(RelPath::prefix_segments("/").unwrap().is_empty());
        assert_eq!(
            RelPath::prefix_segments("public/").unwrap(),
            RelPath::prefix_segments("public").unwrap()
        );
        assert_eq!(RelPath::prefix_segments("/a/b/").unwrap().len(), 2);
        assert!(RelPath::prefix_segments("a//b").is_err());
        assert!(RelPath::prefix_segments("a/../b").is_err());
        assert!(RelPath::prefix_segments("..").is_err());
    }

    #[test]
    fn strip_prefix_requires_a_file_below() {
        let pre = RelPath::prefix_segments("public").unwrap();
        let p = RelPath::parse_str("public/blog/a.html").unwrap();
        assert_eq!(segs(&p.strip_prefix(&pre).unwrap()), ["blog", "a.html"]);
        assert!(
            RelPath::parse_str("public")
                .unwrap()
                .strip_prefix(&pre)
                .is_none()
        );
        assert!(
            RelPath::parse_str("publication/a")
                .unwrap()
                .strip_prefix(&pre)
                .is_none()
        );
        let p = RelPath::parse_str("a.html").unwrap();
        assert_eq!(p.strip_prefix(&[]).unwrap(), p);
    }
}
