//! File stamps and content hashes. The stamp is taken from the open file
//! before it is read: a write during the read changes ctime, so the next
//! look at the file sees a new stamp and reads it again. Hashing is spread
//! over a few threads when there are many files (a first index, a release
//! switch), since it is what a full scan spends its time on.

use crate::queue::file_index::{ContentHash, FileStamp};
use sha2::{Digest, Sha256};
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// One hashed file, by site-relative path.
#[derive(Debug)]
pub struct Hashed {
    pub path: String,
    pub result: io::Result<(FileStamp, ContentHash)>,
}

#[cfg(unix)]
pub fn stamp_of(m: &Metadata) -> FileStamp {
    use std::os::unix::fs::MetadataExt;
    FileStamp {
        size: m.len(),
        mtime_ns: m
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(m.mtime_nsec()),
        ctime_ns: m
            .ctime()
            .saturating_mul(1_000_000_000)
            .saturating_add(m.ctime_nsec()),
        inode: m.ino(),
    }
}

#[cfg(not(unix))]
pub fn stamp_of(m: &Metadata) -> FileStamp {
    let mtime_ns = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    FileStamp {
        size: m.len(),
        mtime_ns,
        ctime_ns: mtime_ns,
        inode: 0,
    }
}

/// Stamp (before reading) and SHA-256 of a file's bytes.
pub fn hash_file(path: &Path) -> io::Result<(FileStamp, ContentHash)> {
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "not a regular file",
        ));
    }
    let stamp = stamp_of(&meta);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((stamp, h.finalize().into()))
}

/// Below this many files one thread is as fast.
const PARALLEL_FROM: usize = 256;

/// Hashes `paths` (relative to `root`), on up to 4 threads.
pub fn hash_many(root: &Path, paths: Vec<String>) -> Vec<Hashed> {
    let one = |p: String| Hashed {
        result: hash_file(&root.join(&p)),
        path: p,
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if threads < 2 || paths.len() < PARALLEL_FROM {
        return paths.into_iter().map(one).collect();
    }
    let chunk = paths.len().div_ceil(threads);
    let mut chunks: Vec<Vec<String>> = Vec::with_capacity(threads);
    let mut rest = paths;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.into_iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::new();
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                // A panicking hasher loses its files' results; they are
                // neither purged nor indexed now and come back next scan.
                Err(_) => tracing::error!("a hashing thread panicked"),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_stamps() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a");
        std::fs::write(&p, "abc").unwrap();
        let (s1, h1) = hash_file(&p).unwrap();
        assert_eq!(s1.size, 3);
        assert_eq!(
            hex::encode(h1),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Same bytes written again: same hash, another ctime.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, "abc").unwrap();
        let (s2, h2) = hash_file(&p).unwrap();
        assert_eq!(h1, h2);
        assert_ne!(s1, s2);
        assert!(hash_file(&tmp.path().join("none")).is_err());
        assert_eq!(
            hash_file(tmp.path()).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn many_files_on_several_threads_keep_every_result() {
        let tmp = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..1000).map(|i| format!("f{i}")).collect();
        for n in &names {
            std::fs::write(tmp.path().join(n), n).unwrap();
        }
        let mut with_missing = names.clone();
        with_missing.push("missing".into());
        let out = hash_many(tmp.path(), with_missing);
        assert_eq!(out.len(), 1001);
        let ok = out.iter().filter(|h| h.result.is_ok()).count();
        assert_eq!(ok, 1000);
        let f7 = out.iter().find(|h| h.path == "f7").unwrap();
        assert_eq!(
            f7.result.as_ref().unwrap().1,
            <[u8; 32]>::from(Sha256::digest(b"f7"))
        );
    }
}
