//! 429 handling and client-side budgets: Retry-After as seconds, as an HTTP
//! date and missing; no request leaves before the pause ends (checked on the
//! simulator's own request log); per-minute budgets hold requests back.

use std::time::{Duration, Instant};

use edgeflush::cloakfusion::{ApiError, Client};
use edgeflush::simulator::{Faults, RetryAfter};

use crate::common::{VHOST, client_for, config, sim, sim_with};

/// Sends one throttled request, then one more, and checks the second left
/// only after the pause the first answer asked for.
async fn throttled_then_waits(how: RetryAfter, secs: u64) -> Duration {
    let sim = sim_with(Faults {
        throttle_next: 1,
        retry_after: how,
        retry_after_secs: secs,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let e = c.list_vhosts().await.unwrap_err();
    let ApiError::Throttled {
        retry_after,
        detail,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(detail.contains("throttled"), "{detail}");
    assert!(e.is_retryable());
    let wait = retry_after.expect("a wait is always known");
    assert_eq!(e.retry_after(), Some(wait));
    let until = c.throttled_until().expect("the client pauses itself");
    assert!(until > Instant::now());

    // Another clone shares the pause; its request waits, then succeeds.
    let other = c.clone();
    assert_eq!(other.list_vhosts().await.unwrap().len(), 1);
    assert_eq!(c.throttled_until(), None);
    let reqs = sim.state().requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!((reqs[0].status, reqs[1].status), (429, 200));
    let gap = reqs[1].at_ms - reqs[0].at_ms;
    assert!(
        u128::from(gap) >= wait.as_millis(),
        "second request {gap} ms after the 429, pause was {wait:?}"
    );
    wait
}

#[tokio::test]
async fn retry_after_seconds() {
    assert_eq!(
        throttled_then_waits(RetryAfter::Seconds, 1).await,
        Duration::from_secs(1)
    );
}

#[tokio::test]
async fn retry_after_http_date() {
    // An HTTP date has whole seconds only: the wait is within (1 s, 2 s].
    let wait = throttled_then_waits(RetryAfter::Date, 2).await;
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
}

#[tokio::test]
async fn retry_after_missing_uses_detail_text() {
    assert_eq!(
        throttled_then_waits(RetryAfter::None, 1).await,
        Duration::from_secs(1)
    );
}

#[tokio::test]
async fn retry_after_missing_with_html_body() {
    let sim = sim_with(Faults {
        throttle_next: 1,
        retry_after: RetryAfter::None,
        retry_after_secs: 2,
        html_errors: true,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let e = c.flush(&[format!("https://{VHOST}/a")]).await.unwrap_err();
    // The detail survives inside the HTML page and still gives the wait.
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)), "{e:?}");
    assert!(sim.state().flushed_urls().is_empty());
}

#[tokio::test]
async fn server_side_rate_limit_is_reported_not_retried() {
    let sim = sim_with(Faults {
        throttle_per_minute: 2,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    c.list_vhosts().await.unwrap();
    c.list_vhosts().await.unwrap();
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e.kind(), "throttled");
    let wait = e.retry_after().unwrap();
    assert!(wait > Duration::from_secs(50), "{wait:?}");
    // One 429, no internal retry.
    assert_eq!(sim.state().requests().len(), 3);
    assert!(c.throttled_until().unwrap() > Instant::now() + Duration::from_secs(30));
}

#[tokio::test]
async fn request_budget_holds_requests_back() {
    let sim = sim().await;
    let mut cfg = config(&sim.base_url(), &sim.token());
    // 6 per minute: a burst of one, then one every ten seconds.
    cfg.max_requests_per_minute = 6;
    let c = Client::new(cfg).unwrap();
    assert_eq!(c.throttled_until(), None);
    c.list_vhosts().await.unwrap();
    let until = c.throttled_until().expect("budget spent");
    assert!(until > Instant::now() + Duration::from_secs(5));
    let held = tokio::time::timeout(Duration::from_millis(300), c.list_vhosts()).await;
    assert!(held.is_err(), "second request should still be waiting");
    assert_eq!(sim.state().requests().len(), 1);
}

#[tokio::test]
async fn url_budget_counts_urls() {
    let sim = sim().await;
    let mut cfg = config(&sim.base_url(), &sim.token());
    // 60 URLs per minute: a burst of ten URLs, then one per second.
    cfg.max_urls_per_minute = 60;
    let c = Client::new(cfg).unwrap();
    let batch: Vec<String> = (0..10).map(|i| format!("https://{VHOST}/{i}")).collect();
    c.flush(&batch).await.unwrap();
    // Requests are not limited, so other calls still go out at once...
    c.list_vhosts().await.unwrap();
    assert_eq!(c.throttled_until(), None);
    // ...but a flush of ten more URLs waits for the bucket to refill.
    let held = tokio::time::timeout(Duration::from_millis(300), c.flush(&batch)).await;
    assert!(held.is_err(), "flush should still be waiting");
    assert_eq!(sim.state().requests().len(), 2);
}
