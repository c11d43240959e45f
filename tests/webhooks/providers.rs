//! One signed push per provider, from the fixtures, ends as confirmed
//! flushes of exactly the changed files; Bitbucket (no file lists) purges
//! the site's files from its root.

use super::{daemon_with, deliver, fixtures, hook_toml, wait_confirmed};
use crate::common::sim;
use edgeflush::sources::webhook::Provider;

fn flushed_sorted(sim: &edgeflush::simulator::SimHandle) -> Vec<String> {
    let mut v = sim.state().flushed_urls();
    v.sort();
    v
}

async fn push_flushes(provider: Provider, name: &str, file: &str, event: &str, want: &[&str]) {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml(name, provider.as_str(), ""));
    let body = fixtures::read(&dir, file);
    let (status, v) = deliver(&d, name, provider, event, "delivery-1", body).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["sites"][0]["site"], "www", "{v}");
    wait_confirmed(&d, want.len() as u64).await;
    let want: Vec<String> = want
        .iter()
        .map(|p| format!("https://www.example.com/{p}"))
        .collect();
    assert_eq!(flushed_sorted(&sim), want);
}

#[tokio::test]
async fn github_push() {
    push_flushes(
        Provider::Github,
        "gh",
        "github/push.with-new-branch.payload.json",
        "push",
        &["README.md"],
    )
    .await;
}

#[tokio::test]
async fn gitea_push() {
    push_flushes(
        Provider::Gitea,
        "gitea",
        "gitea/push.go-playground-push-event.json",
        "push",
        &["example"],
    )
    .await;
}

#[tokio::test]
async fn forgejo_push_over_several_commits() {
    push_flushes(
        Provider::Forgejo,
        "fj",
        "forgejo/push.woodpecker-HookPushMulti.json",
        "push",
        &["aa", "aaa"],
    )
    .await;
}

#[tokio::test]
async fn gitlab_push_with_token() {
    push_flushes(
        Provider::Gitlab,
        "gl",
        "gitlab/push.woodpecker-HookPush.json",
        "Push Hook",
        &["cmd/cli/main.go"],
    )
    .await;
}

#[tokio::test]
async fn gitlab_partial_push_purges_the_site() {
    // total_commits_count (4) > commits listed (2): the change set is partial.
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gl", "gitlab", ""));
    for f in ["index.html", "css/site.css"] {
        let p = d.dir.path().join("public").join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }
    let body = fixtures::read(&dir, "gitlab/push.go-gitlab-push.json");
    let (status, v) = deliver(&d, "gl", Provider::Gitlab, "Push Hook", "uuid-1", body).await;
    assert_eq!(status, 202, "{v}");
    assert!(
        v["notes"][0].as_str().unwrap().contains("incomplete"),
        "{v}"
    );
    // The two listed files, plus every file of the root (index.html also
    // purges "/").
    wait_confirmed(&d, 5).await;
    let got = flushed_sorted(&sim);
    for u in [
        "/",
        "/index.html",
        "/css/site.css",
        "/CHANGELOG",
        "/app/controller/application.rb",
    ] {
        assert!(
            got.contains(&format!("https://www.example.com{u}")),
            "{u} missing from {got:?}"
        );
    }
}

#[tokio::test]
async fn bitbucket_push_has_no_file_list_and_purges_the_site() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    for (provider, file, event) in [
        (
            Provider::Bitbucket,
            "bitbucket/repo_push.go-playground-repo-push.json",
            "repo:push",
        ),
        (
            Provider::BitbucketServer,
            "bitbucket-server/repo_refs_changed.woodpecker-HookPush.json",
            "repo:refs_changed",
        ),
    ] {
        let sim = sim().await;
        let d = daemon_with(&sim, &hook_toml("bb", provider.as_str(), ""));
        std::fs::write(d.dir.path().join("public/app.js"), "x").unwrap();
        let body = fixtures::read(&dir, file);
        let (status, v) = deliver(&d, "bb", provider, event, "req-1", body).await;
        assert_eq!(status, 202, "{provider}: {v}");
        wait_confirmed(&d, 1).await;
        assert_eq!(
            flushed_sorted(&sim),
            vec!["https://www.example.com/app.js".to_string()]
        );
    }
}

#[tokio::test]
async fn bitbucket_with_on_incomplete_ignore_queues_nothing() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(
        &sim,
        &hook_toml("bb", "bitbucket", "on_incomplete = \"ignore\""),
    );
    std::fs::write(d.dir.path().join("public/app.js"), "x").unwrap();
    let body = fixtures::read(&dir, "bitbucket/repo_push.go-playground-repo-push.json");
    let (status, v) = deliver(&d, "bb", Provider::Bitbucket, "repo:push", "req-1", body).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["sites"].as_array().map_or(0, |a| a.len()), 0, "{v}");
    assert!(v["notes"][0].as_str().unwrap().contains("ignored"), "{v}");
    assert_eq!(d.queue("pending").await, 0);
}

#[tokio::test]
async fn standard_webhooks_generic_purge() {
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("ci", "standard", ""));
    let body = serde_json::to_vec(
        &serde_json::json!({"site": "www", "paths": ["a.css"], "urls": ["/b/"]}),
    )
    .unwrap();
    let (status, v) = deliver(&d, "ci", Provider::Standard, "", "msg_1", body.clone()).await;
    assert_eq!(status, 202, "{v}");
    wait_confirmed(&d, 2).await;
    assert_eq!(
        flushed_sorted(&sim),
        vec![
            "https://www.example.com/a.css",
            "https://www.example.com/b/"
        ]
    );
    // The same webhook-id again is a redelivery.
    let (status, v) = deliver(&d, "ci", Provider::Standard, "", "msg_1", body).await;
    assert_eq!((status, v["duplicate"].as_bool()), (200, Some(true)), "{v}");
}

#[tokio::test]
async fn github_form_encoded_body() {
    let Some(dir) = fixtures::require() else {
        return;
    };
    let sim = sim().await;
    let d = daemon_with(&sim, &hook_toml("gh", "github", ""));
    let json = fixtures::read(&dir, "github/push.with-new-branch.payload.json");
    let form = format!(
        "payload={}",
        percent_encoding::utf8_percent_encode(
            std::str::from_utf8(&json).unwrap(),
            percent_encoding::NON_ALPHANUMERIC
        )
    )
    .into_bytes();
    let mut h = fixtures::delivery_headers(
        Provider::Github,
        super::SECRET,
        "push",
        "form-1",
        &form,
        std::time::SystemTime::now(),
    );
    h.retain(|(k, _)| k != "content-type");
    h.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    let (status, v) = super::post(&d, "/hooks/gh", &h, form).await;
    assert_eq!(status, 202, "{v}");
    wait_confirmed(&d, 1).await;
}
