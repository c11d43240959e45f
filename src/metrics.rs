//! Every Prometheus metric of edgeflush, declared once, on an owned registry,
//! with help text. Labels are bounded (site, vhost, outcome, state, kind),
//! never a URL or a path.

use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub build_info: IntGaugeVec,
    pub urls_enqueued: IntCounterVec,
    pub urls_coalesced: IntCounterVec,
    pub paths_refused: IntCounterVec,
    pub queue_size: IntGaugeVec,
    pub flush_requests: IntCounterVec,
    pub urls_flushed: IntCounterVec,
    pub flush_duration: HistogramVec,
    pub throttled: IntCounterVec,
    pub retries: IntCounterVec,
    pub status_polls: IntCounterVec,
    pub purge_completion: HistogramVec,
    pub dead_letters: IntCounterVec,
    pub unconfirmed: IntCounterVec,
    pub api_errors: IntCounterVec,
    pub last_confirmed: Gauge,
    pub config_reload_failures: IntCounter,
    pub auth_failing: GaugeVec,
    pub webhook_requests: IntCounterVec,
    pub webhook_duration: HistogramVec,
    pub requests_busy: IntCounterVec,
    pub traffic: GaugeVec,
    pub last_traffic_snapshot: Gauge,
    pub traffic_snapshot_failures: IntCounterVec,
    pub verify_urls: IntCounterVec,
    pub verify_fresh: HistogramVec,
    pub verify_reflushes: IntCounterVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c =
        IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| panic!("{name}: {e}"));
    r.register(Box::new(c.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    c
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    r.register(Box::new(h.clone()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    h
}

impl Metrics {
    /// Builds the registry. Names are static and unique, so a failure here is
    /// a programming error caught by the unit test below, hence the panics.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Metrics {
        let r = Registry::new();
        let build_info = IntGaugeVec::new(
            Opts::new(
                "edgeflush_build_info",
                "Always 1; the labels carry the version.",
            ),
            &["version"],
        )
        .unwrap_or_else(|e| panic!("build_info: {e}"));
        r.register(Box::new(build_info.clone()))
            .unwrap_or_else(|e| panic!("build_info: {e}"));
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let queue_size = IntGaugeVec::new(
            Opts::new(
                "edgeflush_queue_purges",
                "Purges in the store by state, read from the store.",
            ),
            &["state"],
        )
        .unwrap_or_else(|e| panic!("queue: {e}"));
        r.register(Box::new(queue_size.clone()))
            .unwrap_or_else(|e| panic!("queue: {e}"));
        let last_confirmed = Gauge::new(
            "edgeflush_last_confirmed_purge_timestamp_seconds",
            "Unix time of the last purge the API confirmed.",
        )
        .unwrap_or_else(|e| panic!("last_confirmed: {e}"));
        r.register(Box::new(last_confirmed.clone()))
            .unwrap_or_else(|e| panic!("last_confirmed: {e}"));
        let config_reload_failures = IntCounter::new(
            "edgeflush_config_reload_failures_total",
            "Reloads refused because the new configuration was invalid.",
        )
        .unwrap_or_else(|e| panic!("reload: {e}"));
        r.register(Box::new(config_reload_failures.clone()))
            .unwrap_or_else(|e| panic!("reload: {e}"));
        let auth_failing = GaugeVec::new(
            Opts::new(
                "edgeflush_api_auth_failing",
                "1 while the API refuses the token (401/403).",
            ),
            &["endpoint"],
        )
        .unwrap_or_else(|e| panic!("auth: {e}"));
        r.register(Box::new(auth_failing.clone()))
            .unwrap_or_else(|e| panic!("auth: {e}"));
        let traffic = GaugeVec::new(
            Opts::new(
                "edgeflush_traffic",
                "Traffic figures of the last snapshot: every numeric leaf of the API's answer, by vhost and field (its dotted path).",
            ),
            &["vhost", "field"],
        )
        .unwrap_or_else(|e| panic!("traffic: {e}"));
        r.register(Box::new(traffic.clone()))
            .unwrap_or_else(|e| panic!("traffic: {e}"));
        let last_traffic_snapshot = Gauge::new(
            "edgeflush_last_traffic_snapshot_timestamp_seconds",
            "Unix time of the last traffic snapshot stored (any vhost).",
        )
        .unwrap_or_else(|e| panic!("last_traffic: {e}"));
        r.register(Box::new(last_traffic_snapshot.clone()))
            .unwrap_or_else(|e| panic!("last_traffic: {e}"));
        let secs = vec![
            0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
        ];
        Metrics {
            urls_enqueued: counter(
                &r,
                "edgeflush_urls_enqueued_total",
                "URLs added to the queue, by site and source.",
                &["site", "source"],
            ),
            urls_coalesced: counter(
                &r,
                "edgeflush_urls_coalesced_total",
                "URLs not added because the same URL was already pending.",
                &["site", "source"],
            ),
            paths_refused: counter(
                &r,
                "edgeflush_paths_refused_total",
                "Changed paths refused by the mapping (outside the root, invalid).",
                &["site", "reason"],
            ),
            flush_requests: counter(
                &r,
                "edgeflush_flush_requests_total",
                "Flush calls to the API, by vhost and outcome.",
                &["vhost", "outcome"],
            ),
            urls_flushed: counter(
                &r,
                "edgeflush_urls_flushed_total",
                "URLs in flush calls the API accepted.",
                &["vhost"],
            ),
            flush_duration: histogram(
                &r,
                "edgeflush_flush_request_duration_seconds",
                "Duration of flush calls.",
                &["vhost"],
                vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
            ),
            throttled: counter(
                &r,
                "edgeflush_api_throttled_total",
                "429 answers from the API, by endpoint.",
                &["endpoint"],
            ),
            retries: counter(
                &r,
                "edgeflush_flush_retries_total",
                "Flush batches scheduled for another attempt, by reason.",
                &["vhost", "reason"],
            ),
            status_polls: counter(
                &r,
                "edgeflush_flushstatus_polls_total",
                "flushstatus calls, by vhost and outcome.",
                &["vhost", "outcome"],
            ),
            purge_completion: histogram(
                &r,
                "edgeflush_purge_completion_seconds",
                "Time from enqueue to confirmed by flushstatus, per vhost.",
                &["vhost"],
                secs.clone(),
            ),
            dead_letters: counter(
                &r,
                "edgeflush_dead_letters_total",
                "Purges given up (dead letters), by vhost and reason.",
                &["vhost", "reason"],
            ),
            unconfirmed: counter(
                &r,
                "edgeflush_purges_unconfirmed_total",
                "Purges not confirmed within status.timeout.",
                &["vhost"],
            ),
            api_errors: counter(
                &r,
                "edgeflush_api_errors_total",
                "API call errors by endpoint and kind.",
                &["endpoint", "kind"],
            ),
            webhook_requests: counter(
                &r,
                "edgeflush_webhook_requests_total",
                "Webhook requests by hook and outcome (queued, duplicate, ignored, ping, bad_signature, malformed, ...).",
                &["hook", "provider", "outcome"],
            ),
            webhook_duration: histogram(
                &r,
                "edgeflush_webhook_request_duration_seconds",
                "Time to verify, parse and durably enqueue a webhook.",
                &["hook"],
                vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0],
            ),
            requests_busy: counter(
                &r,
                "edgeflush_requests_busy_total",
                "Webhook deliveries and admin purges answered 503 because server.max_concurrent_requests were in progress for longer than server.busy_wait, by listener (webhook, admin).",
                &["listener"],
            ),
            traffic_snapshot_failures: counter(
                &r,
                "edgeflush_traffic_snapshot_failures_total",
                "Traffic snapshots not taken or not stored, by vhost.",
                &["vhost"],
            ),
            verify_urls: counter(
                &r,
                "edgeflush_verify_urls_total",
                "Confirmed URLs checked at the edge, by site and outcome (fresh, stale, unknown; skipped when the verifier was full).",
                &["site", "outcome"],
            ),
            verify_fresh: histogram(
                &r,
                "edgeflush_verify_fresh_seconds",
                "Time from enqueue to the edge verified serving the new content, per vhost.",
                &["vhost"],
                secs,
            ),
            verify_reflushes: counter(
                &r,
                "edgeflush_verify_reflushes_total",
                "URLs flushed again because the edge still served stale content after a confirmed purge.",
                &["site"],
            ),
            registry: r,
            build_info,
            queue_size,
            last_confirmed,
            config_reload_failures,
            auth_failing,
            traffic,
            last_traffic_snapshot,
        }
    }

    /// The text exposition format for `/metrics`.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let enc = TextEncoder::new();
        if enc.encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn registers_and_renders() {
        let m = super::Metrics::new();
        m.urls_enqueued.with_label_values(&["www", "manual"]).inc();
        let text = m.render();
        assert!(text.contains("edgeflush_urls_enqueued_total{site=\"www\",source=\"manual\"} 1"));
        assert!(text.contains("# HELP edgeflush_build_info"));
    }
}
