//! Failures against the simulator: auth (401/403), proxy HTML pages, hangs,
//! refused and reset connections; each typed, with the right retryability
//! and never showing the token.

use std::time::Duration;

use edgeflush::cloakfusion::{ApiError, Client, VhostSpec};
use edgeflush::simulator::Faults;

use crate::common::{VHOST, client_for, config, sim, sim_with};

#[tokio::test]
async fn wrong_token_is_auth_401_or_403() {
    let sim = sim().await;
    let c = client_for(&sim);
    assert!(c.list_vhosts().await.is_ok());
    for status in [401u16, 403] {
        sim.state().set_faults(Faults {
            token: Some("rotated-key".into()),
            auth_status: status,
            ..Faults::default()
        });
        let e = c.list_vhosts().await.unwrap_err();
        assert_eq!(
            e,
            ApiError::Auth {
                status,
                detail: "Invalid token.".into()
            }
        );
        assert!(!e.is_retryable());
        assert_eq!(e.kind(), "auth");
    }
    let reqs = sim.state().requests();
    assert!(reqs[0].authorized && !reqs[1].authorized);
    sim.state().set_faults(Faults::default());
    assert!(c.list_vhosts().await.is_ok());
}

#[tokio::test]
async fn token_never_shown_in_debug_display_or_errors() {
    let secret = "very-secret-token-4711";
    let sim = sim().await;
    let c = Client::new(config(&sim.base_url(), secret)).unwrap();
    let mut texts = vec![
        format!("{c:?}"),
        format!("{:?}", config("http://h", secret)),
    ];
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e.kind(), "auth");
    texts.push(format!("{e} {e:?}"));
    sim.state().set_faults(Faults {
        token: Some(secret.into()),
        html_errors: true,
        fail_next: 1,
        ..Faults::default()
    });
    let e = c.list_vhosts().await.unwrap_err();
    texts.push(format!("{e} {e:?}"));
    let refused = Client::new(config("http://127.0.0.1:1/api/v1", secret)).unwrap();
    let e = refused.list_vhosts().await.unwrap_err();
    texts.push(format!("{e} {e:?}"));
    for t in &texts {
        assert!(!t.contains(secret), "token leaked: {t}");
    }
}

#[tokio::test]
async fn proxy_html_pages_are_server_errors() {
    let sim = sim_with(Faults {
        fail_next: 1,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Server {
            status: 503,
            snippet: "503 Service Unavailable 503 Service Unavailable nginx".into()
        }
    );
    assert!(e.is_retryable());
    for status in [500u16, 502, 504] {
        sim.state().set_faults(Faults {
            fail_next: 1,
            fail_status: status,
            ..Faults::default()
        });
        let e = c.flush(&[format!("https://{VHOST}/a")]).await.unwrap_err();
        assert!(
            matches!(e, ApiError::Server { status: s, .. } if s == status),
            "{e:?}"
        );
    }
    assert!(sim.state().flushed_urls().is_empty());
}

#[tokio::test]
async fn html_error_bodies_keep_their_type() {
    let sim = sim_with(Faults {
        html_errors: true,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let bad = VhostSpec {
        domain_name: String::new(),
        name: "x".into(),
        origin_url: "https://o/".into(),
    };
    let e = c.upsert_vhost(&bad).await.unwrap_err();
    let ApiError::Rejected { status, detail, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 400);
    assert!(detail.contains("domain_name"), "{detail}");
    assert!(!detail.contains('<'), "{detail}");

    sim.state().set_faults(Faults {
        html_errors: true,
        max_urls_per_flush: 1,
        too_many_as_400: true,
        ..Faults::default()
    });
    let e = c
        .flush(&[format!("https://{VHOST}/a"), format!("https://{VHOST}/b")])
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::TooLarge { status: 400, .. }), "{e:?}");

    sim.state().set_faults(Faults {
        html_errors: true,
        token: Some("other".into()),
        ..Faults::default()
    });
    let e = c.list_vhosts().await.unwrap_err();
    assert!(matches!(e, ApiError::Auth { status: 401, .. }), "{e:?}");
    let e = c.traffic(Some("nope.example.com"), None).await.unwrap_err();
    assert!(matches!(e, ApiError::Auth { .. }), "{e:?}");
}

#[tokio::test]
async fn hang_times_out_and_is_retryable() {
    let sim = sim_with(Faults {
        hang_next: 1,
        ..Faults::default()
    })
    .await;
    let mut cfg = config(&sim.base_url(), &sim.token());
    cfg.timeout = Duration::from_millis(300);
    let c = Client::new(cfg).unwrap();
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e, ApiError::Timeout);
    assert!(e.is_retryable());
    // The next request is answered normally.
    assert_eq!(c.list_vhosts().await.unwrap().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_transport_and_retryable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::new(config(&format!("http://127.0.0.1:{port}/api/v1"), "t")).unwrap();
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e.kind(), "transport", "{e:?}");
    assert!(e.is_retryable());
    assert!(e.to_string().to_lowercase().contains("refused"), "{e}");
}

#[tokio::test]
async fn reset_connection_is_transport_and_retryable() {
    let sim = sim_with(Faults {
        reset_next: 1,
        ..Faults::default()
    })
    .await;
    let c = client_for(&sim);
    let e = c.list_vhosts().await.unwrap_err();
    assert_eq!(e.kind(), "transport", "{e:?}");
    assert!(e.is_retryable());
    assert!(c.list_vhosts().await.is_ok());
}
