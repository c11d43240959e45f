//! contrib/: the Grafana dashboard and the alert rules name only metrics the
//! code declares, and every dashboard query is valid PromQL (checked by
//! promtool, as the alert rules are in .ci/run).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Declared on branches merged in parallel (traffic snapshots, file
/// watching); allowed whether or not this tree declares them yet.
const ELSEWHERE: &[&str] = &[
    "edgeflush_traffic",
    "edgeflush_last_traffic_snapshot_timestamp_seconds",
    "edgeflush_traffic_snapshot_failures_total",
    "edgeflush_watch_events_total",
    "edgeflush_watch_rescans_total",
    "edgeflush_watch_event_to_enqueue_seconds",
    "edgeflush_watch_watches",
    "edgeflush_watch_inotify_max_user_watches",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `edgeflush_*` names quoted in the sources: what the code registers.
fn declared() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for piece in text.split('"').skip(1).step_by(2) {
                    if piece.starts_with("edgeflush_") && !piece.contains(['{', ' ']) {
                        out.insert(piece.to_string());
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&root().join("src"), &mut out);
    out
}

/// Metric names used in a PromQL expression, histogram suffixes removed.
fn used(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in expr.match_indices("edgeflush_") {
        if i > 0 && expr[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let name: String = expr[i..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        out.insert(base.to_string());
    }
    out
}

fn dashboard_exprs() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("contrib/grafana/edgeflush.json")).unwrap();
    let d: Value = serde_json::from_str(&text).expect("dashboard is JSON");
    assert_eq!(d["uid"], "edgeflush");
    let mut ids = BTreeSet::new();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_i64().unwrap()), "duplicate panel id");
        for t in p["targets"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap().to_string();
            out.push((title, t["expr"].as_str().unwrap().to_string()));
        }
    }
    out
}

#[test]
fn dashboard_and_alerts_use_declared_metrics() {
    let declared = declared();
    assert!(declared.contains("edgeflush_purge_completion_seconds"));
    let known = |m: &String| declared.contains(m) || ELSEWHERE.contains(&m.as_str());
    let exprs = dashboard_exprs();
    assert!(exprs.len() > 20, "{} queries", exprs.len());
    let mut seen = BTreeSet::new();
    for (title, expr) in &exprs {
        for m in used(expr) {
            assert!(known(&m), "panel {title:?} uses undeclared {m}");
            seen.insert(m);
        }
    }
    for key in [
        "edgeflush_purge_completion_seconds",
        "edgeflush_queue_purges",
        "edgeflush_dead_letters_total",
        "edgeflush_api_auth_failing",
        "edgeflush_traffic",
    ] {
        assert!(seen.contains(key), "dashboard lacks {key}");
    }
    let alerts = std::fs::read_to_string(root().join("contrib/prometheus/alerts.yml")).unwrap();
    let in_alerts = used(&alerts);
    for m in &in_alerts {
        assert!(known(m), "alerts.yml uses undeclared {m}");
    }
    for key in [
        "edgeflush_api_auth_failing",
        "edgeflush_dead_letters_total",
        "edgeflush_webhook_requests_total",
        "edgeflush_last_traffic_snapshot_timestamp_seconds",
        "edgeflush_queue_purges",
    ] {
        assert!(in_alerts.contains(key), "alerts.yml lacks {key}");
    }
}

#[test]
fn dashboard_queries_are_valid_promql() {
    let Some(promtool) = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    else {
        println!("skipped: promtool not installed");
        return;
    };
    // Each query as a recording rule, Grafana's variables filled in.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (_, expr)) in dashboard_exprs().iter().enumerate() {
        let e = expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*")
            .replace("$vhost", ".*")
            .replace("$field", ".*");
        assert!(!e.contains('$'), "unknown variable in {expr}");
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: {}\n",
            serde_json::to_string(&e).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard.yml");
    std::fs::write(&file, &rules).unwrap();
    let out = std::process::Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
