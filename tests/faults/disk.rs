//! The store's disk fills up: the store lives on a small tmpfs mounted for
//! the test, a filler file takes the remaining space, purges are sent until
//! one is refused, then the space is freed. Refused purges must get 503,
//! every purge answered 202 must end flushed and confirmed, and the daemon
//! must take work again once there is room, without a restart.
//!
//! Read-only is not simulated: Linux refuses to remount a filesystem
//! read-only while a process holds files open for writing (EBUSY), which the
//! running daemon always does; the lock test in `tests/webhooks/errors.rs`
//! covers a store that cannot write for another reason.

use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use serde_json::json;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A tmpfs mounted on a temporary folder; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` when mounting is not allowed here (not root, no privileges).
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros to `path` until the filesystem is full.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    let mut written = 0;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    let _ = f.sync_all();
    written
}

async fn purge(d: &Daemon, paths: &[String]) -> u16 {
    reqwest::Client::new()
        .post(d.admin("/api/purge"))
        .json(&json!({"site": "www", "paths": paths}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn full_disk_answers_503_and_recovers_when_space_returns() {
    let Some(fs) = Tmpfs::mount("4M") else {
        eprintln!("[disk] SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let sim = sim().await;
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.extra = "[traffic]\nenabled = false".into();
    let db: PathBuf = fs.path().join("edgeflush.db");
    cfg.env = vec![("EDGEFLUSH__STORE__PATH".into(), db.display().to_string())];
    let d = Daemon::start(&cfg);
    assert!(db.exists(), "the store is on the tmpfs");

    // Work in flight while the disk fills: the sink must survive store
    // writes failing under it (marking batches flushed, confirmed).
    sim.state().set_faults(edgeflush::simulator::Faults {
        latency_ms: 50,
        ..Default::default()
    });
    let mut acked: Vec<String> = (0..500).map(|k| format!("disk/before/{k}.css")).collect();
    assert_eq!(purge(&d, &acked).await, 202);
    let filler = fs.path().join("filler");
    let filled = fill(&filler);
    let mut refused = 0;
    let mut batch = 0;
    // Purges of fresh URLs until the store refuses several in a row (the
    // WAL may still hold reusable pages at first).
    while refused < 3 {
        assert!(batch < 500, "the full disk never refused a purge");
        let paths: Vec<String> = (0..50).map(|k| format!("disk/{batch}/{k}.css")).collect();
        batch += 1;
        match purge(&d, &paths).await {
            202 => {
                acked.extend(paths);
                refused = 0;
            }
            503 => refused += 1,
            s => panic!("purge answered {s} on a full disk"),
        }
    }
    let acked_full = acked.len();
    let readyz = d.get_json("/readyz").await;
    assert_eq!(readyz.0, 503, "readiness names the store: {:?}", readyz.1);

    std::fs::remove_file(&filler).unwrap();
    // The daemon is still up and takes work again.
    let after: Vec<String> = (0..50).map(|k| format!("disk/after/{k}.css")).collect();
    let mut status = 0;
    for _ in 0..50 {
        status = purge(&d, &after).await;
        if status == 202 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 202, "no recovery once space returned");
    acked.extend(after);
    let n = acked.len() as u64;
    d.wait_for(
        "every acknowledged URL confirmed",
        Duration::from_secs(60),
        |s| s["queue"]["confirmed"].as_u64() == Some(n),
    )
    .await;
    // /readyz probes the store itself (the status page shows the last probe).
    let mut ready = 0;
    for _ in 0..100 {
        ready = d.get_json("/readyz").await.0;
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "not ready again after space returned");
    let flushed: HashSet<String> = sim.state().flushed_urls().into_iter().collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|p| !flushed.contains(&format!("https://www.example.com/{p}")))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but never flushed: {missing:?}"
    );
    eprintln!(
        "[disk] 4 MiB tmpfs, {filled} filler bytes: {acked_full} URLs acknowledged before the first refusals, {batch} purges tried; readyz while full: {readyz:?}; {n} URLs confirmed after space returned"
    );
}
