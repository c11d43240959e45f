//! The real `edgeflush` binary as a child process, on free loopback ports,
//! with its own temporary folder (config, store, logs), pointed at a
//! simulator. Killed on drop; its log is printed when a test fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_edgeflush");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Builds a config file: the API section pointed at the simulator, one site
/// `www` for `www.example.com`, short timings so tests run fast. `extra` is
/// appended verbatim (more sections, or keys of a trailing section).
#[derive(Clone)]
pub struct DaemonConfig {
    pub api: String,
    pub token: String,
    pub cloakfusion_extra: String,
    pub server_extra: String,
    pub site_extra: String,
    pub extra: String,
    pub batch: String,
    pub status: String,
    /// Extra environment for the daemon process (NOTIFY_SOCKET, ...).
    pub env: Vec<(String, String)>,
    /// cloakfusion.timeout.
    pub timeout: String,
    /// `[store] url = ...` (PostgreSQL) instead of a SQLite file in the
    /// daemon's folder.
    pub store: Option<String>,
    /// cloakfusion.max_requests_per_minute (0: unlimited).
    pub max_requests_per_minute: u32,
    /// Files (path under `public/`, content) written before the first
    /// start, so the watcher's first round indexes them without purging.
    pub files: Vec<(String, String)>,
}

impl DaemonConfig {
    pub fn new(api: &str, token: &str) -> Self {
        DaemonConfig {
            api: api.into(),
            token: token.into(),
            cloakfusion_extra: String::new(),
            server_extra: String::new(),
            site_extra: String::new(),
            extra: String::new(),
            batch: "linger = \"200ms\"\nmax_delay = \"2s\"".into(),
            status: "initial_interval = \"100ms\"\nmax_interval = \"500ms\"".into(),
            env: Vec::new(),
            timeout: "2s".into(),
            store: None,
            max_requests_per_minute: 0,
            files: Vec::new(),
        }
    }

    pub fn render(&self, dir: &Path, admin_port: u16, webhook_port: u16) -> String {
        format!(
            r#"[cloakfusion]
base_url = "{api}"
token_file = "{dir}/token"
timeout = "{timeout}"
max_requests_per_minute = {rpm}
auth_retry = "500ms"
max_backoff = "2s"
{cf}

[server]
listen = "127.0.0.1:{webhook_port}"
admin_listen = "127.0.0.1:{admin_port}"
shutdown_timeout = "5s"
{server}

[store]
{store}

[batch]
{batch}

[status]
{status}

[log]
level = "edgeflush=debug,info"

[[site]]
name = "www"
vhost = "www.example.com"
root = "{dir}/public"
{site}

{extra}
"#,
            api = self.api,
            dir = dir.display(),
            cf = self.cloakfusion_extra,
            timeout = self.timeout,
            server = self.server_extra,
            batch = self.batch,
            status = self.status,
            site = self.site_extra,
            extra = self.extra,
            rpm = self.max_requests_per_minute,
            store = match &self.store {
                Some(url) => format!("url = \"{url}\""),
                None => format!("path = \"{}/edgeflush.db\"", dir.display()),
            },
        )
    }
}

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub admin_port: u16,
    pub webhook_port: u16,
    child: Option<Child>,
    starts: u32,
    env: Vec<(String, String)>,
}

impl Daemon {
    /// Writes the config and token and starts the binary; waits for /healthz.
    pub fn start(cfg: &DaemonConfig) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("public")).unwrap();
        for (rel, body) in &cfg.files {
            let p = dir.path().join("public").join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        let token = dir.path().join("token");
        std::fs::write(&token, &cfg.token).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        let admin_port = free_port();
        let webhook_port = free_port();
        std::fs::write(
            dir.path().join("edgeflush.toml"),
            cfg.render(dir.path(), admin_port, webhook_port),
        )
        .unwrap();
        let mut d = Daemon {
            dir,
            admin_port,
            webhook_port,
            child: None,
            starts: 0,
            env: cfg.env.clone(),
        };
        d.spawn();
        d
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("edgeflush.toml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("daemon-{}.log", self.starts))
    }

    /// A command of the binary with this daemon's config.
    pub fn cli(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config").arg(self.config_path());
        c.env_remove("EDGEFLUSH_CONFIG");
        c
    }

    pub fn spawn(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = self
            .cli()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_healthy();
    }

    /// Until the admin port and, with hooks, the webhook port (bound just
    /// after it) take connections.
    fn wait_healthy(&mut self) {
        let hooks =
            std::fs::read_to_string(self.config_path()).is_ok_and(|c| c.contains("[[hook]]"));
        let listening = |port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("daemon exited early ({status}):\n{}", self.logs());
            }
            if listening(self.admin_port) && (!hooks || listening(self.webhook_port)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("daemon not listening after 20 s:\n{}", self.logs());
    }

    pub fn hook_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.webhook_port)
    }

    pub fn admin(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for i in 1..=self.starts {
            let p = self.dir.path().join(format!("daemon-{i}.log"));
            let mut s = String::new();
            if let Ok(mut f) = std::fs::File::open(&p) {
                let _ = f.read_to_string(&mut s);
            }
            out.push_str(&format!("--- run {i} ---\n{s}"));
        }
        out
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a signal by name ("HUP", "TERM") without waiting.
    pub fn signal(&self, name: &str) {
        let pid = self.pid().expect("running");
        Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status.
    pub fn sigterm(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("daemon ignored SIGTERM for 20 s:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub async fn purge(&self, body: serde_json::Value) -> serde_json::Value {
        let r = reqwest::Client::new()
            .post(self.admin("/api/purge"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "purge answered {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = reqwest::get(self.admin(path)).await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn status(&self) -> serde_json::Value {
        self.get_json("/api/status?limit=1000").await.1
    }

    pub async fn queue(&self, state: &str) -> u64 {
        self.status().await["queue"][state].as_u64().unwrap_or(0)
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(self.admin("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Polls `/metrics` until the samples of `name` matching `labels` sum to
    /// at least `n`; returns that scrape, or panics with the log after 30 s.
    pub async fn wait_metric(&self, name: &str, labels: &[(&str, &str)], n: f64) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = self.metrics().await;
            if metric(&m, name, labels) >= n {
                return m;
            }
            if Instant::now() > deadline {
                panic!("{name}{labels:?} never reached {n}:\n{m}\n{}", self.logs());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls until `cond` holds on the status document, or panics with the
    /// daemon's log after `timeout`.
    pub async fn wait_for<F>(&self, what: &str, timeout: Duration, mut cond: F) -> serde_json::Value
    where
        F: FnMut(&serde_json::Value) -> bool,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.status().await;
            if cond(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last status:\n{s:#}\nlogs:\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("daemon logs:\n{}", self.logs());
        }
    }
}

/// Sums a metric's samples whose label set contains every `label=value` given.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.starts_with(name)
                && l[name.len()..].starts_with(['{', ' '])
                && labels
                    .iter()
                    .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
