//! `vhosts list` and `vhosts apply` (dry run, real run, idempotent second
//! run), checked against the simulator's state and request log.

use crate::common::{VHOST, sim};
use crate::run::{Fixture, Out, api_config, run};
use edgeflush::simulator::SimHandle;
use serde_json::Value;

async fn cmd(fx: &Fixture, args: &[&str]) -> Out {
    let mut c = fx.cmd();
    c.args(args);
    run(c).await
}

/// `www` updates the seeded vhost and sets properties, `blog` is created,
/// `edge` declares no origin and is skipped.
fn declared(fx: &Fixture, sim: &SimHandle) {
    api_config(
        fx,
        &sim.base_url(),
        &sim.token(),
        r#"origin_url = "http://origin.example.com/"
display_name = "WWW"

[site.properties]
ttl = 600
gzip = true

[[site]]
name = "blog"
vhost = "blog.example.com"
origin_url = "http://blog-origin.example.com/"

[site.properties]
ttl = 60
ssl = true

[[site]]
name = "edge"
vhost = "edge.example.com"
"#,
    );
}

fn posts(sim: &SimHandle) -> Vec<String> {
    sim.state()
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn list_shows_vhosts_and_properties() {
    let sim = sim().await;
    sim.state()
        .upsert_vhost("Blog", "blog.example.com", "http://blog-origin/");
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), &sim.token(), "");

    let out = cmd(&fx, &["vhosts", "list"]).await;
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    for h in ["ID", "DOMAIN", "NAME", "ORIGIN", "TTL"] {
        assert!(lines[0].contains(h), "{}", lines[0]);
    }
    assert!(lines[1].contains(VHOST) && lines[1].contains("http://127.0.0.1:1/"));
    assert!(lines[2].contains("blog.example.com") && lines[2].contains("Blog"));

    let out = cmd(&fx, &["vhosts", "list", "--json"]).await;
    out.expect_code(0);
    let v = out.json();
    let domains: Vec<&str> = v["vhosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["domain_name"].as_str().unwrap())
        .collect();
    assert_eq!(domains, [VHOST, "blog.example.com"]);
    assert!(v["properties"].is_array(), "{v:#}");
}

#[tokio::test]
async fn apply_dry_run_prints_the_difference_and_changes_nothing() {
    let sim = sim().await;
    let fx = Fixture::new();
    declared(&fx, &sim);
    let before = sim.state().vhosts();

    let out = cmd(&fx, &["vhosts", "apply", "--dry-run"]).await;
    out.expect_code(0)
        .says("www www.example.com: would change")
        .says("name: \"www.example.com\" -> \"WWW\"")
        .says("origin_url: http://127.0.0.1:1/ -> http://origin.example.com/")
        .says("set properties (ttl 600)")
        .says("blog blog.example.com: would change")
        .says("create vhost blog.example.com -> http://blog-origin.example.com/")
        .says("edge edge.example.com: skip\n    no origin_url in the config");

    let out = cmd(&fx, &["vhosts", "apply", "--dry-run", "--json"]).await;
    out.expect_code(0);
    let plan = out.json();
    let actions: Vec<&str> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["would change", "would change", "skip"]);

    assert_eq!(posts(&sim), Vec::<String>::new(), "a dry run sent a change");
    assert_eq!(sim.state().vhosts(), before);
    assert!(sim.state().properties().is_empty());
}

#[tokio::test]
async fn apply_creates_and_updates_then_reports_unchanged() {
    let sim = sim().await;
    let fx = Fixture::new();
    declared(&fx, &sim);

    let out = cmd(&fx, &["vhosts", "apply"]).await;
    out.expect_code(0)
        .says("www www.example.com: changed")
        .says("blog blog.example.com: changed");
    assert!(!posts(&sim).is_empty());

    let vhosts = sim.state().vhosts();
    assert_eq!(vhosts.len(), 2, "{vhosts:?}");
    let www = vhosts.iter().find(|v| v.domain_name == VHOST).unwrap();
    assert_eq!(
        (www.name.as_str(), www.origin_url.as_str()),
        ("WWW", "http://origin.example.com/")
    );
    let blog = vhosts
        .iter()
        .find(|v| v.domain_name == "blog.example.com")
        .unwrap();
    assert_eq!(blog.origin_url, "http://blog-origin.example.com/");
    assert_eq!(blog.name, "blog", "display_name defaults to the site name");
    let props = sim.state().properties();
    let of = |id: u64| props.iter().find(|p| p.vhost_id == id).unwrap();
    assert_eq!((of(www.id).ttl, of(www.id).gzip), (600, true));
    assert_eq!((of(blog.id).ttl, of(blog.id).ssl), (60, true));
    assert!(!vhosts.iter().any(|v| v.domain_name == "edge.example.com"));

    sim.state().clear_requests();
    let out = cmd(&fx, &["vhosts", "apply", "--json"]).await;
    out.expect_code(0);
    let plan = out.json();
    for p in plan.as_array().unwrap().iter().take(2) {
        assert_eq!(p["action"], "unchanged", "{plan:#}");
        assert_eq!(p["changes"], Value::Array(vec![]), "{plan:#}");
    }
    assert_eq!(posts(&sim), Vec::<String>::new(), "second run sent changes");
    let out = cmd(&fx, &["vhosts", "apply"]).await;
    out.expect_code(0)
        .says("www www.example.com: unchanged")
        .says("blog blog.example.com: unchanged");
}

#[tokio::test]
async fn api_failure_exits_1() {
    let sim = sim().await;
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), "not-the-token", "");
    for args in [&["vhosts", "list"][..], &["vhosts", "apply", "--dry-run"]] {
        cmd(&fx, args)
            .await
            .expect_code(1)
            .says("API: authentication refused (401)")
            .never_shows("not-the-token");
    }
}
