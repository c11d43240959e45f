//! Commands that talk to the Cloakfusion API directly: vhosts, flush,
//! flush-status, traffic.

use super::output::{json, numeric_leaves, table};
use super::{Cli, CmdResult, Failure};
use crate::cloakfusion::{Client, FlushState, PropertiesSpec, VhostSpec, path_regex};
use crate::config::Settings;
use crate::daemon;
use serde_json::json as j;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};

fn client(settings: &Settings) -> Result<Client, Failure> {
    daemon::client(settings).map_err(|e| match e {
        daemon::DaemonError::NoToken => Failure::usage(
            "cloakfusion.token (or cloakfusion.token_file) is not set in the configuration",
        ),
        other => Failure::failed(other.to_string()),
    })
}

fn api(e: crate::cloakfusion::ApiError) -> Failure {
    Failure::failed(format!("API: {e}"))
}

pub async fn vhosts_list(cli: &Cli, settings: &Settings) -> CmdResult {
    let c = client(settings)?;
    let vhosts = c.list_vhosts().await.map_err(api)?;
    let props = c.list_properties().await.map_err(api)?;
    if cli.json {
        return json(&j!({"vhosts": vhosts, "properties": props}));
    }
    let rows: Vec<Vec<String>> = vhosts
        .iter()
        .map(|v| {
            let p = props
                .iter()
                .find(|p| p.vhost == v.domain_name || p.vhost == v.id);
            vec![
                v.id.clone(),
                v.domain_name.clone(),
                v.name.clone(),
                v.origin_url.clone(),
                p.and_then(|p| p.ttl)
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&["ID", "DOMAIN", "NAME", "ORIGIN", "TTL"], &rows);
    Ok(())
}

pub async fn vhosts_apply(cli: &Cli, settings: &Settings, dry_run: bool) -> CmdResult {
    let c = client(settings)?;
    let vhosts = c.list_vhosts().await.map_err(api)?;
    let props = c.list_properties().await.map_err(api)?;
    let mut plan = Vec::new();
    for site in &settings.sites {
        let Some(origin) = &site.origin_url else {
            plan.push(
                j!({"site": site.name(), "vhost": site.vhost(), "action": "skip", "why": "no origin_url in the config"}),
            );
            continue;
        };
        let want = VhostSpec {
            domain_name: site.vhost().to_string(),
            name: site.display_name.clone(),
            origin_url: origin.clone(),
        };
        let have = vhosts.iter().find(|v| v.domain_name == want.domain_name);
        let mut changes = Vec::new();
        match have {
            None => changes.push(format!(
                "create vhost {} -> {}",
                want.domain_name, want.origin_url
            )),
            Some(h) => {
                if h.name != want.name {
                    changes.push(format!("name: {:?} -> {:?}", h.name, want.name));
                }
                if h.origin_url != want.origin_url {
                    changes.push(format!(
                        "origin_url: {} -> {}",
                        h.origin_url, want.origin_url
                    ));
                }
            }
        }
        let vhost_changed = !changes.is_empty();
        if vhost_changed && !dry_run {
            c.upsert_vhost(&want).await.map_err(api)?;
        }
        let mut props_changed = false;
        if let Some(p) = &site.properties {
            let cur = props
                .iter()
                .find(|x| x.vhost == want.domain_name || have.is_some_and(|h| h.id == x.vhost));
            let diffs = super::check::property_diff(p, cur);
            props_changed = !diffs.is_empty();
            changes.extend(diffs);
            if props_changed && !dry_run {
                let spec = PropertiesSpec {
                    vhost: want.domain_name.clone(),
                    ttl: p.ttl,
                    cname: p.cname.clone(),
                    gzip: p.gzip,
                    ssl: p.ssl,
                    override_hostheader: p.override_hostheader,
                    host_header: p.host_header.clone(),
                };
                c.set_properties(&spec).await.map_err(api)?;
            }
        }
        let action = match (vhost_changed || props_changed, dry_run) {
            (false, _) => "unchanged",
            (true, true) => "would change",
            (true, false) => "changed",
        };
        plan.push(j!({"site": site.name(), "vhost": want.domain_name, "action": action, "changes": changes}));
    }
    if cli.json {
        return json(&plan);
    }
    for p in &plan {
        outln!(
            "{} {}: {}",
            p["site"].as_str().unwrap_or(""),
            p["vhost"].as_str().unwrap_or(""),
            p["action"].as_str().unwrap_or("")
        );
        if let Some(w) = p["why"].as_str() {
            outln!("    {w}");
        }
        for ch in p["changes"].as_array().into_iter().flatten() {
            outln!("    {}", ch.as_str().unwrap_or(""));
        }
    }
    Ok(())
}

/// The vhost a URL belongs to: the site whose base URL prefixes it, else its host.
fn vhost_of(settings: &Settings, url: &str) -> Option<(String, String)> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let path = parsed.path().to_string();
    for s in &settings.sites {
        if s.map
            .base_urls()
            .iter()
            .any(|b| url.starts_with(b.trim_end_matches('/')))
        {
            return Some((s.vhost().to_string(), path));
        }
    }
    Some((parsed.host_str()?.to_string(), path))
}

pub async fn flush(
    cli: &Cli,
    settings: &Settings,
    urls: &[String],
    wait: bool,
    wait_timeout: &str,
) -> CmdResult {
    // A set per vhost: a URL named twice is one object for flushstatus.
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in urls {
        let Some((vhost, path)) = vhost_of(settings, u) else {
            return Err(Failure::usage(format!("not an absolute http(s) URL: {u}")));
        };
        groups.entry(vhost).or_default().insert(path);
    }
    let timeout = crate::config::units::parse_duration(wait_timeout)
        .map_err(|e| Failure::usage(format!("--wait-timeout: {e}")))?;
    let c = client(settings)?;
    let mut failed = false;
    let mut report = Vec::new();
    for (chunk, res) in c.flush_split(urls).await {
        match res {
            Ok(r) => report.push(j!({"urls": chunk, "accepted": true, "id": r.id})),
            Err(e) => {
                failed = true;
                report.push(j!({"urls": chunk, "accepted": false, "error": e.to_string()}));
            }
        }
    }
    if !cli.json {
        for r in &report {
            let n = r["urls"].as_array().map_or(0, |a| a.len());
            match r["accepted"].as_bool() {
                Some(true) => outln!(
                    "accepted: {n} URL(s){}",
                    r["id"]
                        .as_str()
                        .map(|i| format!(" (id {i})"))
                        .unwrap_or_default()
                ),
                _ => outln!("refused: {n} URL(s): {}", r["error"].as_str().unwrap_or("")),
            }
        }
    }
    if failed {
        if cli.json {
            json(&report)?;
        }
        return Err(Failure::failed("some URLs were not accepted"));
    }
    if !wait {
        return if cli.json { json(&report) } else { Ok(()) };
    }
    let done = wait_done(&c, settings, &groups, timeout, cli.json).await?;
    if cli.json {
        json(&j!({"flush": report, "status": done}))?;
    }
    Ok(())
}

/// Polls flushstatus (1 s, 2 s, 4 s ... 30 s) with a progress line until every
/// path is done, one failed, or the timeout passes.
async fn wait_done(
    c: &Client,
    settings: &Settings,
    groups: &BTreeMap<String, BTreeSet<String>>,
    timeout: Duration,
    quiet: bool,
) -> Result<BTreeMap<String, String>, Failure> {
    let total: usize = groups.values().map(|v| v.len()).sum();
    let start = Instant::now();
    let mut polls = 0u32;
    let mut states: BTreeMap<String, String> = BTreeMap::new();
    loop {
        for (vhost, paths) in groups {
            let paths: Vec<String> = paths.iter().cloned().collect();
            for re in path_regex(&paths, settings.status.max_regex_len) {
                let entries = c
                    .flush_status(&re, std::slice::from_ref(vhost))
                    .await
                    .map_err(api)?;
                for e in entries {
                    let word = match e.state {
                        FlushState::Done => "done",
                        FlushState::Failed => "failed",
                        FlushState::Pending => "pending",
                    };
                    states.insert(format!("{vhost}{}", e.path), word.to_string());
                }
            }
        }
        let done = states.values().filter(|s| *s == "done").count();
        let failed = states.values().filter(|s| *s == "failed").count();
        if !quiet {
            eprint!(
                "\rwaiting: {done}/{total} done, {failed} failed, {:.0?} elapsed   ",
                start.elapsed()
            );
            let _ = std::io::stderr().flush();
        }
        if failed > 0 {
            eprintln!();
            return Err(Failure::failed(format!(
                "{failed} URL(s) reported failed by the API"
            )));
        }
        if done >= total {
            if !quiet {
                eprintln!();
                outln!("all {total} URL(s) purged");
            }
            return Ok(states);
        }
        if start.elapsed() > timeout {
            eprintln!();
            return Err(Failure::failed(format!(
                "not all URLs done after {timeout:?}"
            )));
        }
        tokio::time::sleep(crate::sink::backoff::poll_interval(
            Duration::from_secs(1),
            Duration::from_secs(30),
            polls,
        ))
        .await;
        polls += 1;
    }
}

pub async fn flush_status(cli: &Cli, settings: &Settings, vhost: &str, regex: &str) -> CmdResult {
    regex::Regex::new(regex).map_err(|e| Failure::usage(format!("--regex: {e}")))?;
    let c = client(settings)?;
    let entries = c
        .flush_status(regex, &[vhost.to_string()])
        .await
        .map_err(api)?;
    if cli.json {
        let secs = |t: Option<std::time::SystemTime>| {
            t.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        };
        let out: Vec<_> = entries
            .iter()
            .map(|e| {
                j!({"url": e.url, "path": e.path, "vhost": e.vhost, "status": e.raw_status,
                    "state": format!("{:?}", e.state).to_lowercase(),
                    "requested_at": secs(e.requested_at), "completed_at": secs(e.completed_at)})
            })
            .collect();
        return json(&out);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.url.clone().unwrap_or_else(|| e.path.clone()),
                e.raw_status.clone(),
            ]
        })
        .collect();
    table(&["OBJECT", "STATUS"], &rows);
    Ok(())
}

pub async fn traffic(cli: &Cli, settings: &Settings, vhost: Option<&str>) -> CmdResult {
    let c = client(settings)?;
    let v = c.traffic(vhost, None).await.map_err(api)?;
    if cli.json {
        return json(&v);
    }
    let mut leaves = Vec::new();
    match &v {
        // Every vhost's figures: name each block by its vhost, not its index.
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let label = item["vhost"]
                    .as_str()
                    .or_else(|| item["domain_name"].as_str())
                    .map_or_else(|| i.to_string(), str::to_string);
                numeric_leaves(item, &label, &mut leaves);
            }
        }
        _ => numeric_leaves(&v, "", &mut leaves),
    }
    let rows: Vec<Vec<String>> = leaves
        .into_iter()
        .map(|(k, n)| vec![k, n.to_string()])
        .collect();
    table(&["FIGURE", "VALUE"], &rows);
    Ok(())
}
