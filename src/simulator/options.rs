//! Start options of the simulator: what `edgeflush simulate` takes on its
//! command line and what tests pass to `simulator::start`.

use std::fmt;
use std::time::Duration;

use super::SimError;
pub use super::faults::{EntryKey, FaultToken, Faults, FlushResponse, RetryAfter, Timestamps};

/// Well-known default token: it guards nothing, so it may be shown in logs.
pub const DEFAULT_TOKEN: &str = "sim-token";

/// How the simulator is started. `clap::Args` so the CLI can flatten it into
/// `edgeflush simulate` / `edgeflush demo`.
#[derive(clap::Args, Clone)]
pub struct SimOptions {
    /// Address to listen on; tests pass "127.0.0.1:0".
    #[arg(long, default_value = "127.0.0.1:8471")]
    pub listen: String,
    /// API token the simulator accepts (`Authorization: Token <token>`).
    #[arg(
        long,
        env = "EDGEFLUSH_SIM_TOKEN",
        default_value = DEFAULT_TOKEN,
        hide_env_values = true,
        hide_default_value = false
    )]
    pub token: String,
    /// A vhost that exists at start (name = domain, origin http://127.0.0.1:1/). Repeatable.
    #[arg(long = "vhost", value_name = "DOMAIN")]
    pub vhosts: Vec<String>,
    /// JSON file: {"vhosts":[{name,domain_name,origin_url}], "properties":[{vhost,ttl,...}]}.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<std::path::PathBuf>,
    /// How long after its flush a URL reports done (humantime, e.g. "1s", "250ms").
    #[arg(long, default_value = "1s")]
    pub flush_delay: String,
    /// A JSON `Faults` object (partial) applied at start.
    #[arg(long, value_name = "JSON")]
    pub faults: Option<String>,
    /// Serve every list as pages of `--page-size` items.
    #[arg(long)]
    pub pages: bool,
    /// Items per page when `--pages` is on.
    #[arg(long, value_name = "N")]
    pub page_size: Option<usize>,
    /// Largest accepted flush batch (413 beyond it).
    #[arg(long = "max-urls", value_name = "N")]
    pub max_urls: Option<usize>,
    /// Share (0..1) of API requests answered with a random 5xx.
    #[arg(long, value_name = "RATE")]
    pub fail_rate: Option<f64>,
    /// Extra latency of every API answer (humantime, e.g. "50ms").
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// Requests per minute before answering 429.
    #[arg(long, value_name = "N")]
    pub throttle_per_minute: Option<u32>,
    /// Also serve every vhost's domain as a caching CDN edge on this
    /// address (routed by the Host header; filled from the vhost's origin_url).
    #[arg(long, value_name = "ADDR")]
    pub edge_listen: Option<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            listen: "127.0.0.1:8471".to_string(),
            token: DEFAULT_TOKEN.to_string(),
            vhosts: Vec::new(),
            seed: None,
            flush_delay: "1s".to_string(),
            faults: None,
            pages: false,
            page_size: None,
            max_urls: None,
            fail_rate: None,
            latency: None,
            throttle_per_minute: None,
            edge_listen: None,
        }
    }
}

/// Hand-written so the token never reaches a log line through `{:?}`.
impl fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimOptions")
            .field("listen", &self.listen)
            .field("token", &"[redacted]")
            .field("vhosts", &self.vhosts)
            .field("seed", &self.seed)
            .field("flush_delay", &self.flush_delay)
            .field("faults", &self.faults)
            .field("pages", &self.pages)
            .field("page_size", &self.page_size)
            .field("max_urls", &self.max_urls)
            .field("fail_rate", &self.fail_rate)
            .field("latency", &self.latency)
            .field("throttle_per_minute", &self.throttle_per_minute)
            .field("edge_listen", &self.edge_listen)
            .finish()
    }
}

impl SimOptions {
    pub(crate) fn flush_delay(&self) -> Result<Duration, SimError> {
        humantime::parse_duration(self.flush_delay.trim()).map_err(|e| SimError::Option {
            option: "flush-delay",
            reason: e.to_string(),
        })
    }

    /// The start faults: `--faults` first, then the convenience flags on top.
    pub(crate) fn initial_faults(&self) -> Result<Faults, SimError> {
        let mut faults = match &self.faults {
            Some(text) => Faults::default().merged(text)?,
            None => Faults::default(),
        };
        if self.pages {
            faults.pages = true;
        }
        if let Some(n) = self.page_size {
            faults.page_size = n;
        }
        if let Some(n) = self.max_urls {
            faults.max_urls_per_flush = n;
        }
        if let Some(r) = self.fail_rate {
            faults.fail_rate = r;
        }
        if let Some(l) = &self.latency {
            let d = humantime::parse_duration(l.trim()).map_err(|e| SimError::Option {
                option: "latency",
                reason: e.to_string(),
            })?;
            faults.latency_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        }
        if let Some(n) = self.throttle_per_minute {
            faults.throttle_per_minute = n;
        }
        faults.validate()?;
        Ok(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_serialized_or_debugged() {
        let o = SimOptions {
            token: "hunter2".into(),
            ..SimOptions::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }

    #[test]
    fn convenience_flags_override_json() {
        let o = SimOptions {
            faults: Some(r#"{"max_urls_per_flush": 5, "pages": false}"#.into()),
            max_urls: Some(3),
            pages: true,
            latency: Some("20ms".into()),
            ..SimOptions::default()
        };
        let f = o.initial_faults().unwrap();
        assert_eq!(f.max_urls_per_flush, 3);
        assert!(f.pages);
        assert_eq!(f.latency_ms, 20);
        assert_eq!(o.flush_delay().unwrap(), Duration::from_secs(1));
    }

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        sim: SimOptions,
    }

    #[test]
    fn flattens_into_a_cli() {
        use clap::{CommandFactory, Parser};
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "x",
            "--vhost",
            "a.test",
            "--vhost",
            "b.test",
            "--max-urls",
            "3",
            "--pages",
        ])
        .unwrap();
        assert_eq!(cli.sim.vhosts, ["a.test", "b.test"]);
        assert_eq!((cli.sim.max_urls, cli.sim.pages), (Some(3), true));
        assert_eq!(cli.sim.listen, SimOptions::default().listen);
        assert_eq!(cli.sim.flush_delay, "1s");
    }
}
