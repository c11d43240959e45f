//! Commands that run something here (the daemon, the simulator) or talk to
//! the running daemon's admin API (purge, status), plus `map`.

use super::output::{json, table};
use super::{Cli, CmdResult, Failure};
use crate::config::Settings;
use crate::mapping::MapOutcome;
use serde_json::{Value, json as j};
use tokio_util::sync::CancellationToken;

/// Cancels `token` on SIGTERM or SIGINT.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
        token.cancel();
    });
}

pub async fn run_daemon(
    src: crate::config::ConfigSource,
    overrides: Vec<(String, String)>,
    settings: Settings,
) -> CmdResult {
    crate::daemon::supervise(src, overrides, settings)
        .await
        .map_err(|e| Failure::failed(e.to_string()))
}

pub async fn simulate(opts: crate::simulator::SimOptions) -> CmdResult {
    let token = CancellationToken::new();
    cancel_on_signals(token.clone());
    crate::simulator::run(opts, token)
        .await
        .map_err(|e| Failure::failed(format!("simulator: {e}")))
}

pub fn map(cli: &Cli, settings: &Settings, site: &str, paths: &[String]) -> CmdResult {
    let s = settings
        .site(site)
        .ok_or_else(|| Failure::usage(format!("unknown site {site:?}")))?;
    let mut out = Vec::new();
    let mut failed = false;
    for p in paths {
        match s.map.map_relative(p) {
            Ok(MapOutcome::Urls(urls)) => {
                for u in urls {
                    out.push(j!({"path": p, "url": u.url, "rule": u.rule}));
                }
            }
            Ok(MapOutcome::Excluded { glob }) => out.push(j!({"path": p, "excluded_by": glob})),
            Err(e) => {
                failed = true;
                out.push(j!({"path": p, "error": e.to_string()}));
            }
        }
    }
    for u in s.map.also_purge_urls() {
        out.push(j!({"path": "*", "url": u.url, "rule": u.rule}));
    }
    if cli.json {
        json(&out)?;
    } else {
        let rows: Vec<Vec<String>> = out
            .iter()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
                if !v["error"].is_null() {
                    vec![s("path"), format!("refused: {}", s("error")), String::new()]
                } else if !v["excluded_by"].is_null() {
                    vec![s("path"), "(excluded)".into(), s("excluded_by")]
                } else {
                    vec![s("path"), s("url"), s("rule")]
                }
            })
            .collect();
        table(&["PATH", "URL", "RULE"], &rows);
    }
    if failed {
        Err(Failure::failed(""))
    } else {
        Ok(())
    }
}

/// The admin API's base URL: the configured admin address, with a wildcard
/// bind address replaced by loopback.
pub(super) fn admin_base(settings: &Settings) -> String {
    let mut a = settings.server.admin_listen;
    if a.ip().is_unspecified() {
        a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{a}")
}

fn admin_request(settings: &Settings, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    let rb = rb.timeout(std::time::Duration::from_secs(30));
    match &settings.server.admin_token {
        Some(t) => rb.bearer_auth(t.expose()),
        None => rb,
    }
}

pub(super) async fn admin_call(
    settings: &Settings,
    rb: reqwest::RequestBuilder,
) -> Result<Value, Failure> {
    let base = admin_base(settings);
    let resp = admin_request(settings, rb).send().await.map_err(|e| {
        Failure::failed(format!(
            "cannot reach the daemon's admin API at {base} (is `edgeflush run` running?): {}",
            e.without_url()
        ))
    })?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let why = body["error"].as_str().unwrap_or("");
        return Err(Failure::failed(format!(
            "admin API answered {status}: {why}"
        )));
    }
    Ok(body)
}

pub async fn purge(cli: &Cli, settings: &Settings, site: &str, targets: &[String]) -> CmdResult {
    let (urls, paths): (Vec<String>, Vec<String>) = targets
        .iter()
        .cloned()
        .partition(|t| t.starts_with('/') || t.starts_with("http://") || t.starts_with("https://"));
    let http = reqwest::Client::new();
    let body = j!({"site": site, "paths": paths, "urls": urls, "note": "edgeflush purge"});
    let v = admin_call(
        settings,
        http.post(format!("{}/api/purge", admin_base(settings)))
            .json(&body),
    )
    .await?;
    let refused = v["refused"].as_array().map_or(0, Vec::len);
    if cli.json {
        json(&v)?;
    } else {
        outln!(
            "queued {} URL(s) for site {} ({} already pending)",
            v["queued"],
            site,
            v["coalesced"]
        );
        for r in v["refused"].as_array().into_iter().flatten() {
            outln!("  refused: {}", r.as_str().unwrap_or(""));
        }
    }
    // Like `map`: a target that was not queued is a failure scripts must see.
    if refused > 0 {
        return Err(Failure::failed(format!(
            "{refused} target(s) refused, not queued"
        )));
    }
    Ok(())
}

pub async fn status(cli: &Cli, settings: &Settings, limit: usize) -> CmdResult {
    let http = reqwest::Client::new();
    let url = format!("{}/api/status?limit={limit}", admin_base(settings));
    let v = admin_call(settings, http.get(url)).await?;
    if cli.json {
        return json(&v);
    }
    outln!("queue:");
    for (k, n) in v["queue"].as_object().into_iter().flatten() {
        outln!("  {k:<12} {n}");
    }
    let rows: Vec<Vec<String>> = v["batches"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            vec![
                b["id"].to_string(),
                b["vhost"].as_str().unwrap_or("").into(),
                b["state"].as_str().unwrap_or("").into(),
                b["size"].to_string(),
                b["attempts"].to_string(),
                b["error"].as_str().unwrap_or("").into(),
            ]
        })
        .collect();
    outln!("\nrecent batches:");
    table(
        &["ID", "VHOST", "STATE", "URLS", "RETRIES", "LAST ERROR"],
        &rows,
    );
    let dead: Vec<Vec<String>> = v["dead_letters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            vec![
                p["url"].as_str().unwrap_or("").into(),
                p["error"].as_str().unwrap_or("").into(),
            ]
        })
        .collect();
    if !dead.is_empty() {
        outln!("\ndead letters:");
        table(&["URL", "REASON"], &dead);
    }
    Ok(())
}
