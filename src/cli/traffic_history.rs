//! `edgeflush traffic --history`: the snapshots the running daemon stored,
//! read from its admin API (`GET /api/traffic`), so the command needs no
//! access to the store file and works while the daemon holds it.

use super::local_cmds::{admin_base, admin_call};
use super::output::{json, table};
use super::{Cli, CmdResult};
use crate::config::Settings;
use serde_json::Value;
use std::collections::BTreeSet;

/// Most figure columns printed per vhost; `--json` has them all.
const MAX_COLUMNS: usize = 8;

pub struct HistoryQuery<'a> {
    pub vhost: Option<&'a str>,
    pub since: Option<&'a str>,
    pub limit: usize,
}

pub async fn traffic_history(cli: &Cli, settings: &Settings, q: HistoryQuery<'_>) -> CmdResult {
    let mut url = reqwest::Url::parse(&format!("{}/api/traffic", admin_base(settings)))
        .map_err(|e| super::Failure::usage(format!("admin address: {e}")))?;
    {
        let mut p = url.query_pairs_mut();
        if let Some(v) = q.vhost {
            p.append_pair("vhost", v);
        }
        if let Some(s) = q.since {
            p.append_pair("since", s);
        }
        p.append_pair("limit", &q.limit.to_string());
    }
    let v = admin_call(settings, reqwest::Client::new().get(url)).await?;
    if cli.json {
        return json(&v);
    }
    print_series(&v);
    Ok(())
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_series(v: &Value) {
    let snaps: Vec<&Value> = v["snapshots"].as_array().into_iter().flatten().collect();
    if v["enabled"] == Value::Bool(false) {
        outln!("traffic snapshots are off (traffic.enabled = false)");
    }
    if snaps.is_empty() {
        outln!("no traffic snapshot stored yet");
        return;
    }
    // Vhosts in the order the daemon lists them, then any others stored.
    let mut vhosts: Vec<String> = Vec::new();
    let listed = v["vhosts"].as_array().into_iter().flatten();
    for name in listed
        .filter_map(Value::as_str)
        .chain(snaps.iter().filter_map(|s| s["vhost"].as_str()))
    {
        if !vhosts.iter().any(|x| x == name) {
            vhosts.push(name.to_string());
        }
    }
    for vhost in vhosts {
        let own: Vec<&&Value> = snaps
            .iter()
            .filter(|s| s["vhost"].as_str() == Some(vhost.as_str()))
            .collect();
        if own.is_empty() {
            continue;
        }
        let fields: BTreeSet<&str> = own
            .iter()
            .flat_map(|s| s["figures"].as_object().into_iter().flatten())
            .map(|(k, _)| k.as_str())
            .collect();
        let shown: Vec<&str> = fields.iter().copied().take(MAX_COLUMNS).collect();
        outln!("{vhost} ({} snapshot(s))", own.len());
        let mut header = vec!["TIME"];
        header.extend(shown.iter().copied());
        let rows: Vec<Vec<String>> = own
            .iter()
            .map(|s| {
                let mut row = vec![cell(&s["taken_at"])];
                row.extend(shown.iter().map(|f| cell(&s["figures"][*f])));
                row
            })
            .collect();
        table(&header, &rows);
        if fields.len() > shown.len() {
            outln!(
                "  ({} more field(s); see --json)",
                fields.len() - shown.len()
            );
        }
        outln!();
    }
    if v["truncated"] == Value::Bool(true) {
        outln!("(older snapshots left out; raise --limit or narrow --since)");
    }
}
