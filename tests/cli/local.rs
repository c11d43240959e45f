//! `map`: which URLs a site-relative path purges and the rule behind each,
//! without the API or a daemon.

use crate::run::{Fixture, Out, api_config, run};

async fn map(fx: &Fixture, args: &[&str]) -> Out {
    let mut c = fx.cmd();
    c.args(["map", "--site", "www"]).args(args);
    run(c).await
}

fn site(fx: &Fixture) {
    api_config(
        fx,
        "http://127.0.0.1:9/api/v1",
        "t",
        r#"also_purge = ["/sitemap.xml"]
exclude = ["drafts/**"]

[[site.rule]]
glob = "posts/*.md"
urls = ["/blog/{stem}/"]
keep_default = false
"#,
    );
}

/// (path, url, rule) rows of the table, header dropped.
fn rows(out: &Out) -> Vec<Vec<String>> {
    out.stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn map_shows_urls_and_rules() {
    let fx = Fixture::new();
    site(&fx);
    let out = map(&fx, &["index.html", "posts/hello.md"]).await;
    out.expect_code(0);
    assert!(out.stdout.starts_with("PATH"), "{}", out.stdout);
    let r = rows(&out);
    let has = |p: &str, u: &str| r.iter().any(|row| row[0] == p && row[1] == u);
    assert!(
        has("index.html", "https://www.example.com/index.html"),
        "{r:?}"
    );
    assert!(has("index.html", "https://www.example.com/"), "{r:?}");
    assert!(
        has("posts/hello.md", "https://www.example.com/blog/hello/"),
        "{r:?}"
    );
    assert!(
        !has("posts/hello.md", "https://www.example.com/posts/hello.md"),
        "{r:?}"
    );
    assert!(has("*", "https://www.example.com/sitemap.xml"), "{r:?}");

    let out = map(&fx, &["--json", "index.html", "drafts/x.md"]).await;
    out.expect_code(0);
    let v = out.json();
    let items = v.as_array().unwrap();
    let rule_of = |u: &str| {
        items
            .iter()
            .find(|i| i["url"] == u)
            .map(|i| i["rule"].as_str().unwrap().to_string())
    };
    assert_eq!(
        rule_of("https://www.example.com/index.html").as_deref(),
        Some("file")
    );
    assert_eq!(
        rule_of("https://www.example.com/").as_deref(),
        Some("index")
    );
    assert!(
        items
            .iter()
            .any(|i| i["path"] == "drafts/x.md" && i["excluded_by"] == "drafts/**"),
        "{v:#}"
    );
}

#[tokio::test]
async fn map_refuses_paths_out_of_the_root() {
    let fx = Fixture::new();
    site(&fx);
    let out = map(&fx, &["index.html", "../x"]).await;
    out.expect_code(1)
        .says("refused: path \"../x\" climbs out of the site root")
        .says("https://www.example.com/index.html");

    let out = map(&fx, &["--json", "../x"]).await;
    out.expect_code(1);
    let v = out.json();
    assert!(
        v[0]["error"].as_str().unwrap().contains("climbs out"),
        "{v:#}"
    );
}

#[tokio::test]
async fn map_of_unknown_site_is_a_usage_error() {
    let fx = Fixture::new();
    site(&fx);
    let mut c = fx.cmd();
    c.args(["map", "--site", "nope", "index.html"]);
    run(c).await.expect_code(2).says("unknown site \"nope\"");
}
