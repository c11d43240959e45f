//! Headless Chromium as the status page's browser: load a URL, let its
//! scripts run (virtual time), and hand back the DOM as it then stands plus
//! every console message and uncaught error Chromium logged.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// Debian's `chromium`, or `$CHROMIUM`; `None` (test skipped) when absent.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

pub struct Rendered {
    pub dom: String,
    /// Lines of Chromium's log that are console messages (errors included).
    pub console: Vec<String>,
    pub log: String,
}

impl Rendered {
    /// The element whose start tag contains `attr` (e.g. `data-batch="3"`),
    /// from its start tag to the first `</tag>` after it: enough for rows
    /// and paragraphs, which the page never nests in themselves.
    pub fn element(&self, tag: &str, attr: &str) -> Option<&str> {
        let open = format!("<{tag}");
        let mut from = 0;
        while let Some(i) = self.dom[from..].find(&open) {
            let start = from + i;
            let head_end = start + self.dom[start..].find('>')?;
            if self.dom[start..head_end].contains(attr) {
                let close = format!("</{tag}>");
                let end = head_end + self.dom[head_end..].find(&close)? + close.len();
                return Some(&self.dom[start..end]);
            }
            from = head_end;
        }
        None
    }

    /// Fails with the whole log if the page wrote anything to the console:
    /// Chromium logs every console message (errors, uncaught exceptions,
    /// CSP violations) at the same level, and the page itself never logs.
    pub fn assert_quiet_console(&self) {
        assert!(
            self.console.is_empty(),
            "console messages:\n{}\n\nfull log:\n{}",
            self.console.join("\n"),
            self.log
        );
    }
}

fn args(profile: &std::path::Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// One browser at a time: the machine is small and tests run in parallel.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run(bin: &PathBuf, extra: &[String], url: &str) -> (String, String) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args(profile.path()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("chromium starts");
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("chromium finishes within 90 s")
        .expect("chromium output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "chromium failed ({}):\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

/// Loads `url` and returns the DOM after its scripts ran.
pub async fn dump_dom(bin: &PathBuf, url: &str) -> Rendered {
    let (dom, log) = run(bin, &["--dump-dom".to_string()], url).await;
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    Rendered { dom, console, log }
}

/// Saves a screenshot of `url` to `path`, for a human to look at.
pub async fn screenshot(bin: &PathBuf, url: &str, path: &std::path::Path) {
    let shot = format!("--screenshot={}", path.display());
    run(bin, &[shot, "--window-size=1200,1800".to_string()], url).await;
}
