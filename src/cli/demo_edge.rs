//! The edge half of `edgeflush demo`: asks the simulated CDN edge for a
//! page the way a visitor would, and follows the daemon's verdicts on
//! confirmed purges, so the demo shows a page stale at the edge after a
//! deploy and fresh after its purge.

use crate::metrics::Metrics;
use std::net::SocketAddr;
use std::time::Duration;

/// One visitor request through the edge, as a line for the narration.
pub async fn visit(edge: SocketAddr, host: &str, path: &str) -> String {
    let r = reqwest::Client::new()
        .get(format!("http://{edge}{path}"))
        .header("Host", host)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status().as_u16();
            let cache = r
                .headers()
                .get("x-cache")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string();
            let age = r
                .headers()
                .get("age")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("0")
                .to_string();
            let body = r.text().await.unwrap_or_default();
            format!(
                "edge: GET https://{host}{path} -> {status} {cache} (Age {age}s): {}",
                body.trim()
            )
        }
        Err(e) => format!("edge: GET https://{host}{path} failed: {e}"),
    }
}

/// Verification outcomes of one site so far: (fresh, stale, unknown).
pub fn tally(metrics: &Metrics, site: &str) -> (u64, u64, u64) {
    let n = |o: &str| metrics.verify_urls.with_label_values(&[site, o]).get();
    (n("fresh"), n("stale"), n("unknown"))
}

/// Prints the verdicts that came in since `seen`; returns the new tally.
pub fn report(metrics: &Metrics, site: &str, seen: (u64, u64, u64)) -> (u64, u64, u64) {
    let now = tally(metrics, site);
    if now != seen {
        outln!(
            "verify: {} URL(s) fresh at the edge, {} stale (flushed again), {} unknown",
            now.0,
            now.1,
            now.2
        );
    }
    now
}
