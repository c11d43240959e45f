//! The real release binary (`edgeflush run`) as a child process, as an
//! operator would run it: its own config, store and log in a temporary folder,
//! admin API on a free loopback port. Also reads what only the kernel knows
//! about it: peak resident memory (VmHWM) and CPU time.

use super::BenchError;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the bench config sets; everything else is the product's default.
pub struct Tuning {
    pub max_urls_per_flush: usize,
    pub linger: &'static str,
    pub max_delay: &'static str,
}

pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    pub admin: String,
}

fn free_port() -> Result<u16, BenchError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn config(dir: &std::path::Path, api: &str, admin_port: u16, t: &Tuning) -> String {
    format!(
        r#"[cloakfusion]
base_url = "{api}"
token_file = "{dir}/token"
max_urls_per_flush = {max}
max_requests_per_minute = 0

[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:{admin_port}"

[store]
path = "{dir}/edgeflush.db"

[batch]
linger = "{linger}"
max_delay = "{max_delay}"

[log]
level = "info"

[[site]]
name = "www"
vhost = "www.example.com"
root = "{dir}/public"
"#,
        dir = dir.display(),
        max = t.max_urls_per_flush,
        linger = t.linger,
        max_delay = t.max_delay,
    )
}

impl Daemon {
    /// Writes config and token, starts `bin --config .. run`, and returns
    /// once the admin API answers /healthz.
    pub async fn start(
        bin: &str,
        api: &str,
        token: &str,
        t: &Tuning,
    ) -> Result<Daemon, BenchError> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("public"))?;
        let token_path = dir.path().join("token");
        std::fs::write(&token_path, token)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600))?;
        let admin_port = free_port()?;
        let cfg = dir.path().join("edgeflush.toml");
        std::fs::write(&cfg, config(dir.path(), api, admin_port, t))?;
        let log = std::fs::File::create(dir.path().join("daemon.log"))?;
        let child = Command::new(bin)
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .env_remove("EDGEFLUSH_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| BenchError::Spawn {
                bin: bin.to_string(),
                source: e,
            })?;
        let mut d = Daemon {
            child,
            dir,
            admin: format!("http://127.0.0.1:{admin_port}"),
        };
        d.wait_healthy().await?;
        Ok(d)
    }

    async fn wait_healthy(&mut self) -> Result<(), BenchError> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            self.check_alive()?;
            let r = http.get(format!("{}/healthz", self.admin)).send().await;
            if r.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(self.died("not healthy after 20 s"))
    }

    /// An error if the daemon has exited (with the tail of its log).
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait()? {
            Some(status) => Err(self.died(&format!("exited: {status}"))),
            None => Ok(()),
        }
    }

    pub fn died(&self, what: &str) -> BenchError {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        BenchError::Daemon {
            what: what.to_string(),
            log_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon.log")
    }

    fn proc_file(&self, name: &str) -> Result<String, BenchError> {
        Ok(std::fs::read_to_string(format!(
            "/proc/{}/{name}",
            self.child.id()
        ))?)
    }

    /// Peak resident set size so far, in KiB (VmHWM of /proc/<pid>/status).
    pub fn peak_rss_kib(&self) -> Result<u64, BenchError> {
        let status = self.proc_file("status")?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| BenchError::Proc("no VmHWM in /proc/<pid>/status".into()))
    }

    /// User + system CPU seconds of every thread so far.
    pub fn cpu_seconds(&self, ticks_per_second: f64) -> Result<f64, BenchError> {
        cpu_seconds(&self.proc_file("stat")?, ticks_per_second)
    }
}

/// User + system CPU seconds from the text of a /proc/<pid>/stat file.
pub fn cpu_seconds(stat: &str, ticks_per_second: f64) -> Result<f64, BenchError> {
    // Fields after the parenthesised command name, which may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| BenchError::Proc("unreadable /proc/<pid>/stat".into()))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => Ok((u + s) / ticks_per_second),
        _ => Err(BenchError::Proc(
            "no utime/stime in /proc/<pid>/stat".into(),
        )),
    }
}

/// CPU seconds of this bench process (the simulator and the HTTP client).
pub fn own_cpu_seconds(ticks_per_second: f64) -> Result<f64, BenchError> {
    cpu_seconds(
        &std::fs::read_to_string("/proc/self/stat")?,
        ticks_per_second,
    )
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clock ticks per second for /proc/<pid>/stat (`getconf CLK_TCK`, else 100).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
