//! The client's logs never carry the token, even when a server echoes it
//! back. In a test binary of its own: tracing caches per-callsite interest
//! process-wide, and a thread-local subscriber set while other tests run in
//! parallel threads may miss events (seen as a flaky CI failure).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::config;
use edgeflush::cloakfusion::Client;

/// Collects every log line (all levels, all crates) of the current thread.
#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_never_logged_even_when_echoed() {
    use crate::common::{canned, canned_server};
    let secret = "echoed-secret-0815";
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let body = format!(r#"{{"detail": "Invalid token {secret}."}}"#);
    let (base, _) = canned_server(vec![canned(401, &body)]).await;
    let c = Client::new(config(&base, secret)).unwrap();
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    assert!(e.to_string().contains("[redacted]"), "{e}");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("cloakfusion call failed"), "{text}");
    assert!(!text.contains(secret), "{text}");
}
