//! The command line: definitions and dispatch. Commands print for humans by
//! default and JSON with `--json`; exit codes are 0 ok, 1 failure, 2 usage or
//! configuration.

/// `println!` that does not panic when stdout is closed early
/// (`edgeflush status | head`).
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod api_cmds;
mod check;
mod demo;
mod demo_edge;
mod local_cmds;
mod output;
mod traffic_history;

use crate::config::{self, ConfigSource, Settings};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "edgeflush",
    version,
    about = "Keeps a Cloakfusion CDN fresh: deploys and file changes become confirmed purges"
)]
pub struct Cli {
    /// Configuration file [default: $EDGEFLUSH_CONFIG, else /etc/edgeflush/edgeflush.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log filter (overrides log.level), e.g. "debug" or "edgeflush=debug".
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log format: text or json (overrides log.format).
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon.
    Run(RunArgs),
    /// Validate the configuration (and, with --online, the token and vhosts).
    Check {
        #[arg(long)]
        online: bool,
    },
    /// List vhosts, or make those declared in the config exist.
    #[command(subcommand)]
    Vhosts(VhostsCmd),
    /// Flush URLs now, straight through the API (not through the queue).
    Flush {
        #[arg(required = true)]
        urls: Vec<String>,
        /// Poll flushstatus until every URL is done.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this long.
        #[arg(long, default_value = "10m")]
        wait_timeout: String,
    },
    /// Ask flushstatus about a vhost's objects.
    FlushStatus {
        #[arg(long)]
        vhost: String,
        /// Regular expression over URL paths, e.g. '^/blog/'.
        #[arg(long)]
        regex: String,
    },
    /// Traffic figures of one or every vhost, live from the API, or with
    /// --history the snapshots the running daemon stored.
    Traffic {
        /// One vhost (its domain name); every vhost when absent.
        #[arg(long)]
        vhost: Option<String>,
        /// The stored series, read from the daemon's admin API.
        #[arg(long)]
        history: bool,
        /// With --history: only snapshots since then (Unix seconds, RFC 3339, or a duration back such as "6h").
        #[arg(long, requires = "history")]
        since: Option<String>,
        /// With --history: at most this many snapshots (the newest).
        #[arg(long, requires = "history", default_value_t = 1000)]
        limit: usize,
    },
    /// Show the URLs a site-relative path maps to, and the rule behind each.
    Map {
        #[arg(long)]
        site: String,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Queue a purge through the running daemon's admin API.
    Purge {
        #[arg(long)]
        site: String,
        /// Site-relative paths, URL paths (/blog/) or absolute URLs.
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// The running daemon's queue, recent batches and dead letters.
    Status {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Serve a simulator of the Cloakfusion API on loopback.
    Simulate(crate::simulator::SimOptions),
    /// The daemon against an in-process simulator, on a temporary demo site.
    Demo {
        /// Exit 0 after the first confirmed purge.
        #[arg(long)]
        once: bool,
    },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Override server.listen.
    #[arg(long)]
    pub listen: Option<String>,
    /// Override server.admin_listen.
    #[arg(long)]
    pub admin_listen: Option<String>,
    /// Override store.path.
    #[arg(long)]
    pub store: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum VhostsCmd {
    /// List the account's vhosts and their properties.
    List,
    /// Create or update the vhosts and properties declared in the config.
    Apply {
        /// Print the difference only.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A failure with its exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

pub type CmdResult = Result<(), Failure>;

/// The global flags that override configuration keys, as (key, value) pairs.
pub fn flag_overrides(cli: &Cli) -> Vec<(String, String)> {
    let mut overrides = Vec::new();
    if let Some(l) = &cli.log_level {
        overrides.push(("log.level".into(), l.clone()));
    }
    if let Some(f) = &cli.log_format {
        overrides.push(("log.format".into(), f.clone()));
    }
    overrides
}

pub fn load_settings(cli: &Cli, extra: &[(String, String)]) -> Result<Settings, Failure> {
    let src = ConfigSource::resolve(cli.config.clone());
    let mut overrides = extra.to_vec();
    overrides.extend(flag_overrides(cli));
    config::load(&src, &overrides).map_err(|e| Failure::usage(e.to_string()))
}

pub fn init_logging(level: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    // No colour codes in the journal or a log file.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if json {
        b.json().flatten_event(true).try_init()
    } else {
        b.try_init()
    };
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))
}

pub fn main_with(cli: Cli) -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(f) => return report(f),
    };
    match rt.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => report(f),
    }
}

fn report(f: Failure) -> ExitCode {
    if !f.message.is_empty() {
        eprintln!("edgeflush: {}", f.message.trim_end());
    }
    ExitCode::from(f.code)
}

async fn dispatch(cli: Cli) -> CmdResult {
    match &cli.command {
        Command::Simulate(opts) => {
            init_logging(cli.log_level.as_deref().unwrap_or("info"), false);
            local_cmds::simulate(opts.clone()).await
        }
        Command::Demo { once } => demo::run(&cli, *once).await,
        Command::Check { online } => check::run(&cli, *online).await,
        Command::Run(args) => {
            let mut o = Vec::new();
            if let Some(v) = &args.listen {
                o.push(("server.listen".to_string(), v.clone()));
            }
            if let Some(v) = &args.admin_listen {
                o.push(("server.admin_listen".to_string(), v.clone()));
            }
            if let Some(v) = &args.store {
                o.push(("store.path".to_string(), v.clone()));
            }
            let settings = load_settings(&cli, &o)?;
            init_logging(
                &settings.log.level,
                settings.log.format == config::LogFormat::Json,
            );
            // A reload reads the same layers again, flags included.
            let src = ConfigSource::resolve(cli.config.clone());
            o.extend(flag_overrides(&cli));
            local_cmds::run_daemon(src, o, settings).await
        }
        _ => {
            let settings = load_settings(&cli, &[])?;
            init_logging(
                &settings.log.level,
                settings.log.format == config::LogFormat::Json,
            );
            match &cli.command {
                Command::Vhosts(VhostsCmd::List) => api_cmds::vhosts_list(&cli, &settings).await,
                Command::Vhosts(VhostsCmd::Apply { dry_run }) => {
                    api_cmds::vhosts_apply(&cli, &settings, *dry_run).await
                }
                Command::Flush {
                    urls,
                    wait,
                    wait_timeout,
                } => api_cmds::flush(&cli, &settings, urls, *wait, wait_timeout).await,
                Command::FlushStatus { vhost, regex } => {
                    api_cmds::flush_status(&cli, &settings, vhost, regex).await
                }
                Command::Traffic {
                    vhost,
                    history: true,
                    since,
                    limit,
                } => {
                    let q = traffic_history::HistoryQuery {
                        vhost: vhost.as_deref(),
                        since: since.as_deref(),
                        limit: *limit,
                    };
                    traffic_history::traffic_history(&cli, &settings, q).await
                }
                Command::Traffic { vhost, .. } => {
                    api_cmds::traffic(&cli, &settings, vhost.as_deref()).await
                }
                Command::Map { site, paths } => local_cmds::map(&cli, &settings, site, paths),
                Command::Purge { site, targets } => {
                    local_cmds::purge(&cli, &settings, site, targets).await
                }
                Command::Status { limit } => local_cmds::status(&cli, &settings, *limit).await,
                _ => Err(Failure::usage("unreachable command")),
            }
        }
    }
}
