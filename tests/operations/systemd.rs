//! The daemon as a `Type=notify` service with `WatchdogSec=`: the test binds
//! the notify socket, starts the real binary with NOTIFY_SOCKET and
//! WATCHDOG_USEC, and reads what it says.

use crate::common::daemon::{Daemon, DaemonConfig};
use crate::common::sim;
use edgeflush::simulator::Faults;
use serde_json::json;
use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every datagram received, with its arrival time, collected by a thread.
fn listen(sock: UnixDatagram) -> Arc<Mutex<Vec<(Instant, String)>>> {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(n) = sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                g.lock().unwrap().push((Instant::now(), msg));
            }
        }
    });
    got
}

fn messages(got: &Arc<Mutex<Vec<(Instant, String)>>>) -> Vec<(Instant, String)> {
    got.lock().unwrap().clone()
}

async fn wait_msg(got: &Arc<Mutex<Vec<(Instant, String)>>>, needle: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some((t, _)) = messages(got).into_iter().find(|(_, m)| m.contains(needle)) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?}; got {:?}",
            messages(got)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn ready_status_watchdog_and_stopping() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let got = listen(UnixDatagram::bind(&path).unwrap());
    let mut cfg = DaemonConfig::new(&sim.base_url(), &sim.token());
    cfg.timeout = "6s".into();
    // Only the flusher may meet the hung request.
    cfg.extra = "[traffic]\nenabled = false".into();
    cfg.env = vec![
        ("NOTIFY_SOCKET".into(), path.display().to_string()),
        ("WATCHDOG_USEC".into(), "1000000".into()),
    ];
    let mut d = Daemon::start(&cfg);
    let ready = wait_msg(&got, "READY=1").await;
    assert!(
        messages(&got)
            .iter()
            .any(|(_, m)| m.contains("READY=1") && m.contains("STATUS=queue:")),
        "{:?}",
        messages(&got)
    );
    // While idle, the work loops keep feeding the watchdog (interval 1 s).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pings = |from: Instant, to: Instant| {
        messages(&got)
            .iter()
            .filter(|(t, m)| m.contains("WATCHDOG=1") && *t >= from && *t <= to)
            .count()
    };
    assert!(pings(ready, Instant::now()) >= 4, "{:?}", messages(&got));

    // A hung API call blocks the flush loop: the pings must stop, so that
    // systemd would restart a daemon that is stuck for real.
    sim.state().set_faults(Faults {
        hang_next: 1,
        ..Faults::default()
    });
    d.purge(json!({"site": "www", "paths": ["a.css"]})).await;
    let hang_start = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during = pings(hang_start + Duration::from_millis(1200), Instant::now());
    assert_eq!(
        during,
        0,
        "watchdog fed while the flusher hung: {:?}",
        messages(&got)
    );
    // After the timeout the loop turns again and so do the pings.
    d.wait_for("confirmed", Duration::from_secs(20), |s| {
        s["queue"]["confirmed"] == 1
    })
    .await;
    let after = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(pings(after, Instant::now()) >= 1);

    let status = d.sigterm();
    assert!(status.success());
    wait_msg(&got, "STOPPING=1").await;
}
