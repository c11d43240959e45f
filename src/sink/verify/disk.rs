//! The file on this server's disk that a purged URL stands for: found
//! through the site's mapping read backwards, kept inside the document root
//! (a symlink out of it is not followed), and read on the blocking pool.

use super::judge::{Disk, DiskFile};
use crate::config::Site;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// What the disk says about `url` now.
pub async fn lookup(site: &Site, url: &str) -> Disk {
    let Some(root) = site.map.root().map(Path::to_path_buf) else {
        return Disk::NoRoot;
    };
    let candidates = site.map.files_for_url(url);
    if candidates.is_empty() {
        return Disk::Unmapped;
    }
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let Ok(real_root) = root.canonicalize() else {
            // The root itself is gone (a release being switched): no view.
            return Disk::NoRoot;
        };
        for rel in &candidates {
            match read(&real_root, &real_root.join(rel)) {
                Ok(Some(f)) => return Disk::File(f),
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(url, file = rel, error = %e, "verify: cannot read the file");
                    return Disk::Unmapped;
                }
            }
        }
        Disk::Missing
    })
    .await
    .unwrap_or(Disk::Unmapped)
}

/// Ok(None) when there is no regular file there (inside the root).
fn read(root: &Path, p: &Path) -> std::io::Result<Option<DiskFile>> {
    let real = match p.canonicalize() {
        Ok(r) => r,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if !real.starts_with(root) {
        return Ok(None);
    }
    let meta = std::fs::metadata(&real)?;
    if !meta.is_file() {
        return Ok(None);
    }
    let mut f = std::fs::File::open(&real)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    let mtime_secs = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    Ok(Some(DiskFile {
        size,
        mtime_secs,
        sha256: h.finalize().into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawSite;
    use crate::mapping::SiteMap;

    fn site(root: &Path) -> Site {
        let raw = RawSite {
            name: "www".into(),
            vhost: "www.example.com".into(),
            root: Some(root.display().to_string()),
            ..RawSite::default()
        };
        Site {
            map: SiteMap::compile(&raw, 0).unwrap(),
            origin_url: None,
            display_name: "www".into(),
            properties: None,
            verify: None,
        }
    }

    #[tokio::test]
    async fn finds_reads_and_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("public");
        std::fs::create_dir_all(root.join("blog")).unwrap();
        std::fs::write(root.join("blog/index.html"), "blog").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        let s = site(&root);
        let Disk::File(f) = lookup(&s, "https://www.example.com/blog/").await else {
            panic!("blog/index.html not found");
        };
        assert_eq!(f.size, 4);
        assert_eq!(f.sha256, <[u8; 32]>::from(Sha256::digest(b"blog")));
        assert_eq!(
            lookup(&s, "https://www.example.com/gone.css").await,
            Disk::Missing
        );
        assert_eq!(
            lookup(&s, "https://www.example.com/leak.txt").await,
            Disk::Missing
        );
        assert_eq!(lookup(&s, "https://other.test/x").await, Disk::Unmapped);
    }
}
