//! The verdict on one URL: does the edge serve what the origin has now?
//! Pure, so every rule is unit-tested. The evidence is taken in the order of
//! what it costs and how much it proves: a strong ETag the origin gives, else
//! size and Last-Modified against the file on disk, else a content hash of
//! the body against the file. A URL whose file is gone must be gone at the
//! edge too.

use std::fmt;

/// What one HTTP answer (edge or origin) showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    pub status: u16,
    pub etag: Option<String>,
    /// Last-Modified in Unix seconds.
    pub last_modified: Option<i64>,
    /// Body bytes read (GET) or Content-Length (HEAD).
    pub length: Option<u64>,
    /// SHA-256 of the body (GET only).
    pub sha256: Option<[u8; 32]>,
    /// The edge's `Age` header, for the logs.
    pub age: Option<u64>,
}

/// The file a URL stands for on this server's disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disk {
    /// The site has no document root.
    NoRoot,
    /// No file maps to this URL by the default mapping (a rule's URL, ...).
    Unmapped,
    /// The files it would map from do not exist: deleted.
    Missing,
    File(DiskFile),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskFile {
    pub size: u64,
    pub mtime_secs: i64,
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Fresh,
    Stale,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fresh => "fresh",
            Outcome::Stale => "stale",
            Outcome::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// What decided it: etag, size_mtime, hash, deleted, status, none.
    pub basis: &'static str,
    pub detail: String,
}

impl Verdict {
    pub fn unknown(detail: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Unknown,
            basis: "none",
            detail: detail.into(),
        }
    }

    fn of(fresh: bool, basis: &'static str, detail: impl fmt::Display) -> Verdict {
        Verdict {
            outcome: if fresh {
                Outcome::Fresh
            } else {
                Outcome::Stale
            },
            basis,
            detail: detail.to_string(),
        }
    }
}

fn strong(etag: &Option<String>) -> Option<&str> {
    etag.as_deref().filter(|e| !e.starts_with("W/"))
}

fn gone(status: u16) -> bool {
    matches!(status, 404 | 410)
}

pub fn judge(edge: &Observed, origin: Option<&Observed>, disk: &Disk) -> Verdict {
    if edge.status >= 500 {
        return Verdict::unknown(format!("the edge answered {}", edge.status));
    }
    // Only the origin can say a file is deleted: a URL without a file on
    // disk may as well be a page a rule or the origin's app makes.
    let deleted = origin.is_some_and(|o| gone(o.status)) && !matches!(disk, Disk::File(_));
    if deleted {
        return match edge.status {
            s if gone(s) => Verdict::of(true, "deleted", format!("gone at the edge ({s})")),
            200 => Verdict::of(false, "deleted", "the edge still serves a deleted file"),
            s => Verdict::unknown(format!("deleted; the edge answered {s}")),
        };
    }
    let origin_ok = origin.filter(|o| o.status == 200);
    if gone(edge.status) {
        if matches!(disk, Disk::File(_)) || origin_ok.is_some() {
            return Verdict::of(
                false,
                "status",
                "the edge answers 404 for a file the origin has",
            );
        }
        return Verdict::unknown(format!("the edge answered {}", edge.status));
    }
    if edge.status != 200 {
        return Verdict::unknown(format!("the edge answered {}", edge.status));
    }
    if let (Some(want), Some(got)) = (origin_ok.and_then(|o| strong(&o.etag)), &edge.etag) {
        return Verdict::of(
            want == got,
            "etag",
            format!("edge ETag {got}, origin ETag {want}"),
        );
    }
    if let Disk::File(f) = disk {
        if let (Some(lm), Some(len)) = (edge.last_modified, edge.length) {
            let same = len == f.size && lm == f.mtime_secs;
            if same || edge.sha256.is_none() {
                return Verdict::of(
                    same,
                    "size_mtime",
                    format!(
                        "edge {len} bytes, modified {lm}; disk {} bytes, modified {}",
                        f.size, f.mtime_secs
                    ),
                );
            }
        }
        if let Some(h) = edge.sha256 {
            return Verdict::of(
                h == f.sha256,
                "hash",
                "content hash of the edge's body against the file",
            );
        }
        return Verdict::unknown("no Last-Modified and no body to compare with the file");
    }
    if *disk == Disk::Missing && origin.is_none() {
        return Verdict::unknown(
            "no file on disk for this URL (deleted, or made by a rule); verify.origin can tell",
        );
    }
    if let Some(o) = origin_ok {
        if let (Some(a), Some(b)) = (o.last_modified, edge.last_modified) {
            let same = a == b && o.length == edge.length;
            return Verdict::of(
                same,
                "size_mtime",
                "size and Last-Modified against the origin",
            );
        }
    }
    Verdict::unknown("nothing to compare with: no origin ETag and no file on disk")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Observed {
        Observed {
            status: 200,
            ..Observed::default()
        }
    }

    fn file(body: &[u8], mtime: i64) -> Disk {
        use sha2::Digest;
        Disk::File(DiskFile {
            size: body.len() as u64,
            mtime_secs: mtime,
            sha256: sha2::Sha256::digest(body).into(),
        })
    }

    fn hash(body: &[u8]) -> Option<[u8; 32]> {
        use sha2::Digest;
        Some(sha2::Sha256::digest(body).into())
    }

    #[test]
    fn strong_origin_etag_decides() {
        let origin = Observed {
            etag: Some("\"a-1\"".into()),
            ..ok()
        };
        let edge = Observed {
            etag: Some("\"a-1\"".into()),
            ..ok()
        };
        let v = judge(&edge, Some(&origin), &Disk::NoRoot);
        assert_eq!((v.outcome, v.basis), (Outcome::Fresh, "etag"));
        let edge = Observed {
            etag: Some("\"a-0\"".into()),
            ..ok()
        };
        assert_eq!(
            judge(&edge, Some(&origin), &Disk::NoRoot).outcome,
            Outcome::Stale
        );
        // A weak ETag proves nothing: fall through to what else is known.
        let weak = Observed {
            etag: Some("W/\"a-1\"".into()),
            ..ok()
        };
        assert_eq!(
            judge(&edge, Some(&weak), &Disk::NoRoot).outcome,
            Outcome::Unknown
        );
    }

    #[test]
    fn size_and_mtime_then_hash_against_the_disk() {
        let disk = file(b"new", 200);
        let edge = Observed {
            length: Some(3),
            last_modified: Some(200),
            ..ok()
        };
        assert_eq!(judge(&edge, None, &disk).basis, "size_mtime");
        assert_eq!(judge(&edge, None, &disk).outcome, Outcome::Fresh);
        let old = Observed {
            length: Some(3),
            last_modified: Some(100),
            ..ok()
        };
        assert_eq!(
            judge(&old, None, &disk).outcome,
            Outcome::Stale,
            "HEAD: no body"
        );
        // Same bytes, other mtime (a touched file): the body settles it.
        let touched = Observed {
            sha256: hash(b"new"),
            ..old.clone()
        };
        let v = judge(&touched, None, &disk);
        assert_eq!((v.outcome, v.basis), (Outcome::Fresh, "hash"));
        let stale = Observed {
            sha256: hash(b"old"),
            length: Some(3),
            ..ok()
        };
        assert_eq!(judge(&stale, None, &disk).outcome, Outcome::Stale);
        assert_eq!(judge(&ok(), None, &disk).outcome, Outcome::Unknown);
    }

    #[test]
    fn deleted_files_must_be_gone() {
        let gone_edge = Observed {
            status: 404,
            ..Observed::default()
        };
        let origin_gone = Observed {
            status: 404,
            ..Observed::default()
        };
        let v = judge(&gone_edge, Some(&origin_gone), &Disk::Missing);
        assert_eq!((v.outcome, v.basis), (Outcome::Fresh, "deleted"));
        let v = judge(&ok(), Some(&origin_gone), &Disk::Missing);
        assert_eq!(v.outcome, Outcome::Stale);
        // Without the origin's word a missing file may be a generated page.
        let v = judge(&ok(), None, &Disk::Missing);
        assert_eq!(v.outcome, Outcome::Unknown);
        // The origin still serves it (a generated page): not deleted.
        let origin = Observed {
            etag: Some("\"x\"".into()),
            ..ok()
        };
        let edge = Observed {
            etag: Some("\"x\"".into()),
            ..ok()
        };
        assert_eq!(
            judge(&edge, Some(&origin), &Disk::Missing).outcome,
            Outcome::Fresh
        );
        // No disk view, the origin says 404.
        assert_eq!(
            judge(&ok(), Some(&origin_gone), &Disk::Unmapped).outcome,
            Outcome::Stale
        );
        // A 404 at the edge for a file that exists is stale.
        assert_eq!(
            judge(&gone_edge, None, &file(b"x", 1)).outcome,
            Outcome::Stale
        );
    }

    #[test]
    fn unknown_when_nothing_proves_it() {
        let e5 = Observed {
            status: 502,
            ..Observed::default()
        };
        assert_eq!(judge(&e5, None, &file(b"x", 1)).outcome, Outcome::Unknown);
        assert_eq!(
            judge(&ok(), None, &Disk::Unmapped).outcome,
            Outcome::Unknown
        );
        let redirect = Observed {
            status: 301,
            ..Observed::default()
        };
        assert_eq!(
            judge(&redirect, None, &file(b"x", 1)).outcome,
            Outcome::Unknown
        );
    }
}
