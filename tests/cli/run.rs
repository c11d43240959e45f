//! Runs the real `edgeflush` binary as a child with a clean environment and a
//! deadline, so a hanging command fails its test instead of the whole run,
//! and gives its exit code, stdout and stderr to assert on. Async because the
//! simulator usually lives on the test's own runtime: a blocking wait would
//! starve it. Shared by `tests/cli.rs` and `tests/config.rs`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_edgeflush");

/// Longest any one command may take (generous: two cores are shared).
pub const DEADLINE: Duration = Duration::from_secs(120);

/// The binary with an environment holding nothing that could change its
/// behaviour: no `EDGEFLUSH_*`, `RUST_LOG` or `CREDENTIALS_DIRECTORY` leaking
/// in from whoever runs the tests.
pub fn bin() -> Command {
    clean(Command::new(BIN))
}

/// Strips the variables the binary reads from a command built elsewhere
/// (e.g. `Daemon::cli()`). Call before adding a test's own variables.
pub fn clean(mut c: Command) -> Command {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("EDGEFLUSH") || k == "RUST_LOG" || k == "CREDENTIALS_DIRECTORY" {
            c.env_remove(&k);
        }
    }
    c
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Out {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Both streams, for "is it said anywhere" checks.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr ---\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panics unless `needle` appears in stdout or stderr.
    pub fn says(&self, needle: &str) -> &Self {
        assert!(
            self.all().contains(needle),
            "output lacks {needle:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics if `secret` appears anywhere in the output.
    pub fn never_shows(&self, secret: &str) -> &Self {
        assert!(
            !self.all().contains(secret),
            "a secret was printed\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Stdout lines starting with `FAIL` (the `check` checklist).
    pub fn fail_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .collect()
    }
}

/// Runs `cmd` to completion (stdin closed), killing it after `DEADLINE`.
pub async fn run(cmd: Command) -> Out {
    run_for(cmd, DEADLINE).await
}

pub async fn run_for(cmd: Command, deadline: Duration) -> Out {
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let what = format!("{cmd:?}");
    let child = cmd.spawn().expect("the edgeflush binary starts");
    let out = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{what} still running after {deadline:?}"))
        .expect("waiting for the child");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temporary folder holding a config file and its secret files.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `edgeflush.toml` and returns its path.
    pub fn config(&self, toml: &str) -> PathBuf {
        self.file("edgeflush.toml", toml)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// Writes a secret file with the given mode.
    pub fn secret(&self, name: &str, value: &str, mode: u32) -> PathBuf {
        let p = self.file(name, value);
        set_mode(&p, mode);
        p
    }

    /// The binary with `--config <this fixture's edgeflush.toml>`.
    pub fn cmd(&self) -> Command {
        let mut c = bin();
        c.arg("--config").arg(self.path("edgeflush.toml"));
        c
    }
}

pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A config for the API at `api`: token in `token` (mode 600) next to it,
/// store and ports in the fixture, one site `www` for `www.example.com`.
/// `extra` is appended verbatim.
pub fn api_config(fx: &Fixture, api: &str, token: &str, extra: &str) -> PathBuf {
    fx.secret("token", token, 0o600);
    std::fs::create_dir_all(fx.dir.path().join("public")).expect("public dir");
    let d = fx.dir.path().display();
    fx.config(&format!(
        r#"[cloakfusion]
base_url = "{api}"
token_file = "token"
timeout = "5s"
max_requests_per_minute = 0

[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"

[store]
path = "{d}/edgeflush.db"

[[site]]
name = "www"
vhost = "www.example.com"
base_urls = ["https://www.example.com"]
root = "{d}/public"
{extra}
"#
    ))
}
