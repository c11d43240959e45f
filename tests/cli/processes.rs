//! The binary as a long-running child (`simulate`, stopped by SIGTERM), the
//! self-contained `demo --once`, and clap's usage errors (exit code 2).

use crate::common::daemon::free_port;
use crate::common::{VHOST, config};
use crate::run::{Fixture, api_config, bin, run};
use edgeflush::cloakfusion::Client;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SIM_TOKEN: &str = "sim-2c7e1f-never-print-me";

async fn wait_listening(port: u16, child: &mut tokio::process::Child, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            panic!(
                "simulate exited early ({s}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "simulate not listening after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn simulate_serves_the_api_and_stops_on_sigterm() {
    let fx = Fixture::new();
    let port = free_port();
    let log_path = fx.path("sim.log");
    let mut c = bin();
    c.args(["simulate", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--vhost", VHOST, "--flush-delay", "100ms"])
        .env("EDGEFLUSH_SIM_TOKEN", SIM_TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap());
    let mut child = tokio::process::Command::from(c)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_listening(port, &mut child, &log_path).await;

    // The API, with the token given through the environment.
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let vhosts = Client::new(config(&base, SIM_TOKEN))
        .unwrap()
        .list_vhosts()
        .await
        .unwrap();
    assert_eq!(vhosts.len(), 1);
    assert_eq!(vhosts[0].domain_name, VHOST);

    // The CLI against the child simulator, end to end.
    api_config(&fx, &base, SIM_TOKEN, "");
    let url = "https://www.example.com/from-the-cli";
    let mut f = fx.cmd();
    f.args(["flush", "--wait", url]);
    run(f).await.expect_code(0).says("all 1 URL(s) purged");
    let flushed: Vec<String> = reqwest::get(format!("http://127.0.0.1:{port}/_sim/flushed"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(flushed, [url]);

    let pid = child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("simulate stops within 20 s of SIGTERM")
        .unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(
        !log.contains(SIM_TOKEN),
        "the simulator logged its token:\n{log}"
    );
    assert!(log.contains("not shown"), "{log}");
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released");
}

#[tokio::test]
async fn demo_once_confirms_a_batch_and_cleans_up() {
    let tmp = Fixture::new();
    let mut c = bin();
    c.args(["demo", "--once"]).env("TMPDIR", tmp.dir.path());
    let out = run(c).await;
    out.expect_code(0)
        .says("watcher: 3 files indexed")
        .says("deploy: index.html and css/site.css rewritten")
        .says("api <- POST /api/v1/flush/")
        .says("confirmed through flushstatus")
        .says("<h1>Hello from the origin</h1>  <- stale")
        .says("3 URL(s) fresh at the edge, 0 stale")
        .says("<h1>Hello again: a new release</h1>  <- fresh");
    let summary = out
        .stdout
        .lines()
        .find(|l| l.starts_with("queue: "))
        .unwrap_or_else(|| panic!("no queue summary:\n{}", out.stdout));
    let confirmed: u64 = summary
        .trim_start_matches("queue: ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(confirmed >= 3, "{summary}");
    assert!(summary.ends_with(", 0 failed"), "{summary}");
    let left: Vec<_> = std::fs::read_dir(tmp.dir.path()).unwrap().collect();
    assert!(left.is_empty(), "demo left files behind: {left:?}");
}

#[tokio::test]
async fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["flush-status", "--vhost", VHOST],
        &["check", "--bogus"],
        &["vhosts"],
        &["map", "--site", "www"],
    ] {
        let mut c = bin();
        c.args(args);
        let out = run(c).await;
        out.expect_code(2);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains("Usage:"), "{args:?}: {}", out.stderr);
    }
    let mut c = bin();
    c.arg("--help");
    let out = run(c).await;
    out.expect_code(0);
    for sub in [
        "run",
        "check",
        "vhosts",
        "flush",
        "flush-status",
        "traffic",
        "map",
        "purge",
        "status",
        "simulate",
        "demo",
    ] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start().starts_with(sub)),
            "{sub} missing from --help:\n{}",
            out.stdout
        );
    }
    let mut c = bin();
    c.arg("--version");
    run(c)
        .await
        .expect_code(0)
        .says(&format!("edgeflush {}", env!("CARGO_PKG_VERSION")));
}
