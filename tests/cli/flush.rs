//! `flush URL...`: straight through the API, split on 413, refusals and
//! failures exit 1, `--wait` polls flushstatus until every URL is done.

use crate::common::{sim, sim_with};
use crate::run::{Fixture, Out, api_config, run};
use edgeflush::simulator::{Faults, SimHandle};

async fn flush(fx: &Fixture, args: &[&str]) -> Out {
    let mut c = fx.cmd();
    c.arg("flush").args(args);
    run(c).await
}

fn urls(paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .map(|p| format!("https://www.example.com{p}"))
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Flush requests as (status answered, number of URLs sent).
fn flush_calls(sim: &SimHandle) -> Vec<(u16, usize)> {
    sim.state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flush/"))
        .map(|r| (r.status, r.body["urls"].as_array().map_or(0, Vec::len)))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn setup(faults: Faults) -> (SimHandle, Fixture) {
    let sim = sim_with(faults).await;
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), &sim.token(), "");
    (sim, fx)
}

#[tokio::test]
async fn flush_wait_is_accepted_then_done() {
    let (sim, fx) = setup(Faults::default()).await;
    let u = urls(&["/", "/a.css", "/blog/"]);
    let mut args = vec!["--wait"];
    args.extend(strs(&u));
    let out = flush(&fx, &args).await;
    out.expect_code(0)
        .says("accepted: 3 URL(s) (id ")
        .says("all 3 URL(s) purged");
    assert_eq!(sorted(sim.state().flushed_urls()), sorted(u.clone()));
    assert_eq!(flush_calls(&sim), [(201, 3)]);
    let status_calls = sim
        .state()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/flushstatus/"))
        .count();
    assert!(status_calls >= 1);

    let mut args = vec!["--wait", "--json"];
    args.extend(strs(&u));
    let out = flush(&fx, &args).await;
    out.expect_code(0);
    let v = out.json();
    assert_eq!(v["flush"][0]["accepted"], true, "{v:#}");
    let states = v["status"].as_object().unwrap();
    assert_eq!(states.len(), 3, "{v:#}");
    assert!(states.values().all(|s| s == "done"), "{v:#}");
}

#[tokio::test]
async fn flush_without_wait_returns_once_accepted() {
    let (sim, fx) = setup(Faults {
        stuck_url_regex: Some(".".into()),
        ..Faults::default()
    })
    .await;
    let u = urls(&["/x"]);
    let out = flush(&fx, &["--json", &u[0]]).await;
    out.expect_code(0);
    let v = out.json();
    assert_eq!(v[0]["accepted"], true, "{v:#}");
    assert_eq!(v[0]["urls"][0], u[0].as_str());
    assert_eq!(sim.state().flushed_urls(), u);
}

#[tokio::test]
async fn oversized_flush_is_split_on_413() {
    let (sim, fx) = setup(Faults {
        max_urls_per_flush: 2,
        ..Faults::default()
    })
    .await;
    let u = urls(&["/1", "/2", "/3", "/4", "/5"]);
    let mut args = vec!["--wait", "--json"];
    args.extend(strs(&u));
    let out = flush(&fx, &args).await;
    out.expect_code(0);
    let v = out.json();
    let chunks = v["flush"].as_array().unwrap();
    assert!(chunks.len() >= 3, "{v:#}");
    for c in chunks {
        assert_eq!(c["accepted"], true, "{v:#}");
        assert!(c["urls"].as_array().unwrap().len() <= 2, "{v:#}");
    }
    assert_eq!(v["status"].as_object().unwrap().len(), 5, "{v:#}");
    // Every URL flushed exactly once; 413s seen and never more than 2 accepted.
    assert_eq!(sorted(sim.state().flushed_urls()), sorted(u));
    let calls = flush_calls(&sim);
    assert!(calls.iter().any(|(s, _)| *s == 413), "{calls:?}");
    assert!(
        calls.iter().filter(|(s, _)| *s < 300).all(|(_, n)| *n <= 2),
        "{calls:?}"
    );
}

#[tokio::test]
async fn refused_url_exits_1() {
    let (sim, fx) = setup(Faults {
        reject_url_regex: Some("/bad$".into()),
        ..Faults::default()
    })
    .await;
    let u = urls(&["/ok", "/bad"]);
    let out = flush(&fx, &["--wait", &u[0], &u[1]]).await;
    out.expect_code(1)
        .says("refused: 2 URL(s)")
        .says("Invalid URL: https://www.example.com/bad")
        .says("edgeflush: some URLs were not accepted");
    assert!(!out.stdout.contains("purged"), "{}", out.stdout);

    let out = flush(&fx, &["--json", &u[1]]).await;
    out.expect_code(1);
    let v = out.json();
    assert_eq!(v[0]["accepted"], false, "{v:#}");
    assert!(v[0]["error"].as_str().unwrap().contains("Invalid URL"));

    // A host the account has no vhost for.
    flush(&fx, &["https://elsewhere.example.org/x"])
        .await
        .expect_code(1)
        .says("Unknown vhost: elsewhere.example.org");
    assert!(sim.state().flushed_urls().is_empty());
}

#[tokio::test]
async fn failed_or_unconfirmed_purges_exit_1() {
    let (_sim, fx) = setup(Faults {
        fail_url_regex: Some("/broken$".into()),
        stuck_url_regex: Some("/stuck$".into()),
        ..Faults::default()
    })
    .await;
    let u = urls(&["/fine", "/broken"]);
    flush(&fx, &["--wait", &u[0], &u[1]])
        .await
        .expect_code(1)
        .says("1 URL(s) reported failed by the API");

    let u = urls(&["/stuck"]);
    flush(&fx, &["--wait", "--wait-timeout", "1s", &u[0]])
        .await
        .expect_code(1)
        .says("not all URLs done after 1s");
}

/// Regression: a URL named twice counted twice toward "all done" and the
/// wait ran into its timeout.
#[tokio::test]
async fn url_given_twice_is_waited_for_once() {
    let (_sim, fx) = setup(Faults::default()).await;
    let u = urls(&["/twice"]);
    flush(&fx, &["--wait", "--wait-timeout", "20s", &u[0], &u[0]])
        .await
        .expect_code(0)
        .says("all 1 URL(s) purged");
}

#[tokio::test]
async fn bad_arguments_exit_2_and_send_nothing() {
    let sim = sim().await;
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), &sim.token(), "");
    let u = urls(&["/a"]);
    for (args, says) in [
        (vec![], "required"),
        (vec!["not-a-url"], "not an absolute http(s) URL: not-a-url"),
        (
            vec!["--wait", "--wait-timeout", "soonish", &u[0]],
            "--wait-timeout",
        ),
        (vec!["--frobnicate", &u[0]], "--frobnicate"),
    ] {
        flush(&fx, &args).await.expect_code(2).says(says);
    }
    assert!(sim.state().requests().is_empty());
}
