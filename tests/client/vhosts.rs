//! Vhosts, vhost properties and traffic against the simulator: arrays and
//! pages, ids as numbers or strings, property vhost as domain or id.

use std::time::{Duration, SystemTime};

use edgeflush::cloakfusion::{ApiError, Client, PropertiesSpec, VhostSpec};
use edgeflush::simulator::Faults;

use crate::common::{VHOST, client_for, config, sim, sim_with};

fn spec(domain: &str) -> VhostSpec {
    VhostSpec {
        domain_name: domain.into(),
        name: format!("Site {domain}"),
        origin_url: "https://origin.example.com:8443/shop/".into(),
    }
}

fn props(vhost: &str, ttl: u64) -> PropertiesSpec {
    PropertiesSpec {
        vhost: vhost.into(),
        ttl,
        cname: Some("foo.cdn.warpcache.com".into()),
        gzip: Some(true),
        ssl: None,
        override_hostheader: Some(false),
        host_header: None,
    }
}

#[tokio::test]
async fn upsert_creates_then_updates_and_lists() {
    let sim = sim().await;
    let c = client_for(&sim);
    let first = c.upsert_vhost(&spec("shop.example.com")).await.unwrap();
    assert!(first.created);
    assert_eq!(first.value.domain_name, "shop.example.com");
    assert_eq!(
        first.value.origin_url,
        "https://origin.example.com:8443/shop/"
    );
    let mut changed = spec("shop.example.com");
    changed.name = "Renamed".into();
    let second = c.upsert_vhost(&changed).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.value.id, first.value.id);
    assert_eq!(second.value.name, "Renamed");

    let list = c.list_vhosts().await.unwrap();
    let names: Vec<&str> = list.iter().map(|v| v.domain_name.as_str()).collect();
    assert_eq!(names, vec![VHOST, "shop.example.com"]);
    assert!(list.iter().all(|v| v.id.parse::<u64>().is_ok()));
}

#[tokio::test]
async fn lists_follow_pages_with_string_ids() {
    let sim = sim().await;
    let c = client_for(&sim);
    for i in 0..4 {
        c.upsert_vhost(&spec(&format!("s{i}.example.com")))
            .await
            .unwrap();
    }
    sim.state().set_faults(Faults {
        pages: true,
        page_size: 2,
        ids_as_strings: true,
        ..Faults::default()
    });
    sim.state().clear_requests();
    let list = c.list_vhosts().await.unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[4].domain_name, "s3.example.com");
    let reqs = sim.state().requests();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert!(reqs.iter().all(|r| r.method == "GET" && r.status == 200));
    assert!(reqs[1].query.contains("page=2"));
    assert!(reqs[2].query.contains("page=3"));
    // format=json exactly once on every page, as the client never asks for HTML.
    for r in &reqs {
        assert_eq!(r.query.matches("format=json").count(), 1, "{}", r.query);
        assert!(!r.query.contains("format=api"));
    }
}

#[tokio::test]
async fn properties_set_and_list_by_domain_and_by_id() {
    let sim = sim().await;
    let c = client_for(&sim);
    let set = c.set_properties(&props(VHOST, 3600)).await.unwrap();
    assert_eq!(set.vhost, VHOST);
    assert_eq!(set.ttl, Some(3600));
    assert_eq!(set.gzip, Some(true));
    assert_eq!(set.cname.as_deref(), Some("foo.cdn.warpcache.com"));
    let body = &sim.state().requests()[0].body;
    assert_eq!(body["vhost"], VHOST);
    assert!(
        body.get("ssl").is_none(),
        "unset options are not sent: {body}"
    );

    let vhost_id = c.list_vhosts().await.unwrap()[0].id.clone();
    let again = c.set_properties(&props(&vhost_id, 60)).await.unwrap();
    assert_eq!(again.ttl, Some(60));

    let list = c.list_properties().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].vhost, VHOST);
    assert_eq!(list[0].ssl, Some(false));

    sim.state().set_faults(Faults {
        property_vhost_as_id: true,
        pages: true,
        page_size: 1,
        ..Faults::default()
    });
    let list = c.list_properties().await.unwrap();
    assert_eq!(list[0].vhost, vhost_id);
    sim.state().set_faults(Faults {
        property_vhost_as_id: true,
        ids_as_strings: true,
        ..Faults::default()
    });
    assert_eq!(c.list_properties().await.unwrap()[0].vhost, vhost_id);
}

#[tokio::test]
async fn base_url_with_and_without_trailing_slash() {
    let sim = sim().await;
    for base in [sim.base_url(), format!("{}/", sim.base_url())] {
        let c = Client::new(config(&base, &sim.token())).unwrap();
        assert_eq!(c.list_vhosts().await.unwrap().len(), 1, "{base}");
    }
    let paths: Vec<String> = sim.state().requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/api/v1/vhosts/", "/api/v1/vhosts/"]);
}

#[tokio::test]
async fn properties_path_is_configurable() {
    let sim = sim().await;
    let mut cfg = config(&sim.base_url(), &sim.token());
    cfg.properties_path = "/nothing-here/".into();
    let c = Client::new(cfg.clone()).unwrap();
    assert_eq!(c.list_properties().await.unwrap_err(), ApiError::NotFound);
    // A path that exists but not for GET: 405 is a typed, final rejection.
    cfg.properties_path = "flush/".into();
    let c = Client::new(cfg).unwrap();
    let e = c.list_properties().await.unwrap_err();
    assert!(matches!(e, ApiError::Rejected { status: 405, .. }), "{e:?}");
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn field_errors_on_upsert() {
    let sim = sim().await;
    let c = client_for(&sim);
    let bad = VhostSpec {
        domain_name: "not a domain".into(),
        name: String::new(),
        origin_url: "ftp://x/".into(),
    };
    let e = c.upsert_vhost(&bad).await.unwrap_err();
    let ApiError::Rejected { status, fields, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 400);
    assert_eq!(
        fields.keys().collect::<Vec<_>>(),
        vec!["domain_name", "name", "origin_url"]
    );
    assert!(e.rejected_urls().is_empty());
}

#[tokio::test]
async fn traffic_for_one_vhost_all_and_a_window() {
    let sim = sim().await;
    let c = client_for(&sim);
    let one = c.traffic(Some(VHOST), None).await.unwrap();
    assert_eq!(one["vhost"], VHOST);
    assert!(one["requests"].is_u64());
    let all = c.traffic(None, None).await.unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(1));
    let to = SystemTime::now();
    let from = to - Duration::from_secs(3600);
    let w = c.traffic(Some(VHOST), Some((from, to))).await.unwrap();
    let expected_from = humantime::format_rfc3339_seconds(from).to_string();
    assert_eq!(w["from"], expected_from.as_str());
    let last = sim.state().requests().pop().unwrap();
    assert!(
        last.query.contains("vhost=www.example.com"),
        "{}",
        last.query
    );
    assert!(last.query.contains("from=") && last.query.contains("to="));
    let e = c.traffic(Some("nope.example.com"), None).await.unwrap_err();
    assert_eq!(e, ApiError::NotFound);
}

#[tokio::test]
async fn nested_traffic_is_kept_raw() {
    let sim = sim_with(Faults {
        traffic_nested: true,
        ..Faults::default()
    })
    .await;
    let v = client_for(&sim).traffic(Some(VHOST), None).await.unwrap();
    assert!(v["cache"]["hits"].is_u64(), "{v}");
}
