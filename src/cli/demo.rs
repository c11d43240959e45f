//! `edgeflush demo`: the real daemon against an in-process simulator, on a
//! demo site in a temporary folder, narrating what the API sees. The
//! simulator also plays the CDN edge in front of a static origin over the
//! demo root, so a deploy shows a page stale at the edge, then purged,
//! confirmed and verified fresh. `--once` exits 0 after the first confirmed
//! batch has been checked at the edge (tests and CI use it).

use super::demo_edge::{report, tally, visit};
use super::{Cli, CmdResult, Failure};
use crate::queue::{BatchState, PurgeState};
use crate::simulator::{self, SimOptions};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const VHOST: &str = "demo.edgeflush.test";

fn write_demo_site(root: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(root.join("css"))?;
    std::fs::create_dir_all(root.join("blog"))?;
    std::fs::write(root.join("index.html"), "<h1>Hello from the origin</h1>\n")?;
    std::fs::write(
        root.join("css/site.css"),
        "body { font-family: sans-serif }\n",
    )?;
    std::fs::write(root.join("blog/index.html"), "<h1>Blog</h1>\n")?;
    Ok(())
}

/// The first start of a watcher only indexes the root; changes after that
/// are purged. Waits for that first round.
async fn wait_indexed(running: &crate::daemon::Running) -> CmdResult {
    let started = Instant::now();
    loop {
        if let Ok(s) = running.shared.watch_control.status("demo") {
            if s.rounds >= 1 {
                outln!(
                    "watcher: {} files indexed under {}",
                    s.indexed_files,
                    s.root.unwrap_or_default()
                );
                return Ok(());
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(Failure::failed(
                "the demo site's watcher did not start within 30 s",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn demo_config(
    dir: &Path,
    api: &str,
    token: &str,
    admin_port: u16,
    edge: &str,
    origin: &str,
) -> String {
    let d = dir.display();
    format!(
        r#"# Written by `edgeflush demo`.
[cloakfusion]
base_url = "{api}"
token = "{token}"
max_urls_per_flush = 100

[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:{admin_port}"
shutdown_timeout = "3s"

[store]
path = "{d}/edgeflush.db"

[batch]
linger = "500ms"
max_delay = "5s"

[status]
initial_interval = "250ms"
max_interval = "2s"

[watch]
settle = "300ms"

[[site]]
name = "demo"
vhost = "{VHOST}"
base_urls = ["https://{VHOST}"]
root = "{d}/public"
also_purge = ["/"]

[site.verify]
enabled = true
via = "http://{edge}"
origin = "{origin}"
sample = "all"
"#
    )
}

pub async fn run(cli: &Cli, once: bool) -> CmdResult {
    super::init_logging(cli.log_level.as_deref().unwrap_or("warn"), false);
    let dir = std::env::temp_dir().join(format!("edgeflush-demo-{}", std::process::id()));
    let root = dir.join("public");
    write_demo_site(&root)
        .map_err(|e| Failure::failed(format!("demo folder {}: {e}", dir.display())))?;

    let sim = simulator::start(SimOptions {
        listen: "127.0.0.1:0".into(),
        edge_listen: Some("127.0.0.1:0".into()),
        vhosts: vec![VHOST.into()],
        flush_delay: "1s".into(),
        ..SimOptions::default()
    })
    .await
    .map_err(|e| Failure::failed(format!("simulator: {e}")))?;
    let edge = sim
        .edge_addr()
        .ok_or_else(|| Failure::failed("the simulator's edge did not start"))?;
    let origin = simulator::serve_dir(root.clone(), "127.0.0.1:0")
        .map_err(|e| Failure::failed(format!("demo origin: {e}")))?;
    sim.state().upsert_vhost("demo", VHOST, &origin.url());
    let port = free_port().map_err(|e| Failure::failed(format!("no free port: {e}")))?;
    let cfg_path = dir.join("edgeflush.toml");
    std::fs::write(
        &cfg_path,
        demo_config(
            &dir,
            &sim.base_url(),
            &sim.token(),
            port,
            &edge.to_string(),
            &origin.url(),
        ),
    )
    .map_err(|e| Failure::failed(format!("{}: {e}", cfg_path.display())))?;
    let settings =
        crate::config::load_file(&cfg_path).map_err(|e| Failure::failed(e.to_string()))?;
    let running = crate::daemon::start(Arc::new(settings))
        .await
        .map_err(|e| Failure::failed(e.to_string()))?;
    super::local_cmds::cancel_on_signals(running.cancel.clone());

    outln!("edgeflush demo");
    outln!("  simulated Cloakfusion API  {}", sim.base_url());
    outln!("  simulated CDN edge         http://{edge} (Host: {VHOST})");
    outln!("  origin (static files)      {}", origin.url());
    outln!("  daemon admin API           http://{}", running.admin_addr);
    outln!("  demo site root             {}", root.display());
    outln!("  config                     {}", cfg_path.display());
    outln!();
    outln!("Purge by hand from another terminal:");
    outln!(
        "  cargo run --release -- --config {} purge --site demo /index.html",
        cfg_path.display()
    );
    outln!(
        "  cargo run --release -- --config {} status",
        cfg_path.display()
    );
    outln!("  curl -si -H 'Host: {VHOST}' http://{edge}/");
    outln!();

    outln!(
        "Write, change or delete files under {} to see them purged.",
        root.display()
    );
    outln!();
    wait_indexed(&running).await?;
    // A visitor fills the edge's cache with the current page.
    outln!("{}", visit(edge, VHOST, "/").await);
    // A deploy: two files change on disk; the watcher sees it.
    std::fs::write(
        root.join("index.html"),
        "<h1>Hello again: a new release</h1>\n",
    )
    .and_then(|()| std::fs::write(root.join("css/site.css"), "body { font-family: serif }\n"))
    .map_err(|e| Failure::failed(format!("demo deploy: {e}")))?;
    outln!("deploy: index.html and css/site.css rewritten in the demo root");
    outln!(
        "{}  <- stale: the edge still has the old page",
        visit(edge, VHOST, "/").await
    );

    let result = narrate(&running, &sim, once).await;
    if result.is_ok() && once {
        outln!(
            "{}  <- fresh: the new release",
            visit(edge, VHOST, "/").await
        );
    }
    running.cancel.cancel();
    let stopped = running.wait().await;
    origin.stop().await;
    sim.stop().await;
    if once {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result?;
    stopped.map_err(|e| Failure::failed(e.to_string()))
}

/// Prints what the API receives and how batches progress, until cancelled
/// (or, with `once`, until the first batch is confirmed).
async fn narrate(
    running: &crate::daemon::Running,
    sim: &simulator::SimHandle,
    once: bool,
) -> CmdResult {
    let started = Instant::now();
    let mut seen_requests = 0usize;
    let mut batch_states: HashMap<i64, BatchState> = HashMap::new();
    let metrics = &running.shared.metrics;
    let mut verdicts = tally(metrics, "demo");
    // With --once: the size of the first confirmed batch, whose verdicts end the demo.
    let mut awaiting: Option<u64> = None;
    loop {
        if running.cancel.is_cancelled() {
            return Ok(());
        }
        verdicts = report(metrics, "demo", verdicts);
        if let Some(n) = awaiting {
            if verdicts.0 + verdicts.1 + verdicts.2 >= n {
                return summary(running).await;
            }
        }
        let reqs = sim.state().requests();
        for r in reqs.iter().skip(seen_requests) {
            let what = match Some(&r.body) {
                Some(b) if b.get("urls").is_some() => {
                    format!("{} URL(s)", b["urls"].as_array().map_or(0, |a| a.len()))
                }
                Some(b) if b.get("filenames").is_some() => {
                    format!("filenames {}", b["filenames"].as_str().unwrap_or(""))
                }
                _ => String::new(),
            };
            outln!("  api <- {} {} {what} -> {}", r.method, r.path, r.status);
        }
        seen_requests = reqs.len();
        let batches = running
            .shared
            .store
            .recent_batches(50)
            .await
            .map_err(|e| Failure::failed(e.to_string()))?;
        for b in batches.iter().rev() {
            if batch_states.get(&b.id) == Some(&b.state) {
                continue;
            }
            batch_states.insert(b.id, b.state);
            match b.state {
                BatchState::Sending => {
                    outln!("batch {}: {} URLs for {} sending", b.id, b.size, b.vhost)
                }
                BatchState::Flushed => outln!(
                    "batch {}: flush accepted by the API (id {})",
                    b.id,
                    b.api_id.as_deref().unwrap_or("-")
                ),
                BatchState::Done => {
                    let ms = b.finished_at.unwrap_or(0) - b.created_at;
                    outln!(
                        "batch {}: confirmed through flushstatus, {:.1}s after it was sent",
                        b.id,
                        ms as f64 / 1000.0
                    );
                    if once && awaiting.is_none() {
                        awaiting = Some(b.size);
                    }
                }
            }
        }
        if once && started.elapsed() > Duration::from_secs(60) {
            return Err(Failure::failed(
                "no batch confirmed and checked at the edge within 60 s",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn summary(running: &crate::daemon::Running) -> CmdResult {
    let counts = running
        .shared
        .store
        .counts()
        .await
        .map_err(|e| Failure::failed(e.to_string()))?;
    outln!(
        "queue: {} confirmed, {} failed",
        counts[&PurgeState::Confirmed],
        counts[&PurgeState::Failed]
    );
    Ok(())
}
