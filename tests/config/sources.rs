//! Where the configuration comes from: `--config` before or after the
//! subcommand, `EDGEFLUSH_CONFIG`, `EDGEFLUSH__SECTION__KEY` over the file,
//! and relative secret files under `$CREDENTIALS_DIRECTORY`.

use crate::common::sim;
use crate::run::{Fixture, api_config, bin, run};

const DEAD_API: &str = "http://127.0.0.1:9/api/v1";

fn good(fx: &Fixture) -> String {
    api_config(fx, DEAD_API, "t0k", "").display().to_string()
}

#[tokio::test]
async fn config_flag_goes_before_or_after_the_subcommand() {
    let fx = Fixture::new();
    let p = good(&fx);
    let orders: [&[&str]; 4] = [
        &["--config", &p, "map", "--site", "www", "index.html"],
        &["map", "--config", &p, "--site", "www", "index.html"],
        &["map", "--site", "www", "index.html", "--config", &p],
        &[
            "map",
            "--site",
            "www",
            "--json",
            "index.html",
            "--config",
            &p,
        ],
    ];
    for args in orders {
        let mut c = bin();
        c.args(args);
        let out = run(c).await;
        out.expect_code(0)
            .says("https://www.example.com/index.html");
    }
    // Nested subcommands too: a broken file is read whatever the position.
    let bad = fx.file("bad.toml", "[cloakfusion]\ntimeout = \"soon\"\n");
    let bad = bad.display().to_string();
    for args in [
        &["--config", &bad, "vhosts", "list"][..],
        &["vhosts", "--config", &bad, "list"],
        &["vhosts", "list", "--config", &bad],
        &["check", "--config", &bad],
    ] {
        let mut c = bin();
        c.args(args);
        run(c)
            .await
            .expect_code(2)
            .says(&format!("{bad}: cloakfusion.timeout: "));
    }
}

#[tokio::test]
async fn edgeflush_config_names_the_file_and_the_flag_wins() {
    let fx = Fixture::new();
    let p = good(&fx);
    let bad = fx.file("bad.toml", "[batch]\nlinger = \"soon\"\n");

    let mut c = bin();
    c.env("EDGEFLUSH_CONFIG", &p).arg("check");
    run(c).await.expect_code(0).says(&format!("{p} is valid"));

    let mut c = bin();
    c.env("EDGEFLUSH_CONFIG", &bad).arg("check");
    run(c)
        .await
        .expect_code(2)
        .says(&format!("{}: batch.linger: ", bad.display()));

    let mut c = bin();
    c.env("EDGEFLUSH_CONFIG", &bad)
        .args(["--config", &p, "check"]);
    run(c).await.expect_code(0).says(&format!("{p} is valid"));
}

#[tokio::test]
async fn environment_overrides_the_file() {
    let fx = Fixture::new();
    api_config(&fx, DEAD_API, "t0k", "\n[batch]\nlinger = \"soon\"");

    // The file alone is broken...
    let mut c = fx.cmd();
    c.arg("check");
    run(c).await.expect_code(2).says("batch.linger");
    // ...an environment value replaces the broken one...
    let mut c = fx.cmd();
    c.env("EDGEFLUSH__BATCH__LINGER", "2s").arg("check");
    run(c).await.expect_code(0);
    // ...and a broken environment value is blamed on its variable.
    let mut c = fx.cmd();
    c.env("EDGEFLUSH__BATCH__LINGER", "later").arg("check");
    let out = run(c).await;
    out.expect_code(2);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].contains(
            "environment EDGEFLUSH__BATCH__LINGER: batch.linger: invalid duration \"later\""
        ),
        "{}",
        fails[0]
    );

    let mut c = fx.cmd();
    c.env("EDGEFLUSH__BATCH__LINGER", "2s")
        .env("EDGEFLUSH__CLOAKFUSION__MAX_URLS_PER_FLUSH", "many")
        .arg("check");
    let out = run(c).await;
    out.expect_code(2);
    assert_eq!(out.fail_lines().len(), 1, "{}", out.stdout);
    out.says(
        "environment EDGEFLUSH__CLOAKFUSION__MAX_URLS_PER_FLUSH: cloakfusion.max_urls_per_flush: ",
    )
    .says("expected an integer");
}

#[tokio::test]
async fn environment_points_the_api_elsewhere() {
    let sim = sim().await;
    let fx = Fixture::new();
    api_config(&fx, DEAD_API, &sim.token(), "");
    let mut c = fx.cmd();
    c.args(["check", "--online"]);
    let out = run(c).await;
    out.expect_code(1);
    assert!(
        out.fail_lines().iter().any(|l| l.contains("api token")),
        "{}",
        out.stdout
    );

    let mut c = fx.cmd();
    c.env("EDGEFLUSH__CLOAKFUSION__BASE_URL", sim.base_url())
        .args(["check", "--online"]);
    run(c)
        .await
        .expect_code(0)
        .says(&format!("accepted by {}", sim.base_url()));
}

/// `token_file = "cf-token"`: a wrong token next to the config, the right
/// one in the credentials folder; which one is read shows in `check --online`.
#[tokio::test]
async fn relative_secret_files_resolve_in_credentials_directory() {
    let sim = sim().await;
    let fx = Fixture::new();
    let creds = Fixture::new();
    fx.secret("cf-token", "wrong-token", 0o600);
    creds.secret("cf-token", &sim.token(), 0o600);
    let d = fx.dir.path().display();
    fx.config(&format!(
        "[cloakfusion]\nbase_url = \"{}\"\ntoken_file = \"cf-token\"\n\
         [server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
         [store]\npath = \"{d}/e.db\"\n",
        sim.base_url()
    ));

    let mut c = fx.cmd();
    c.args(["check", "--online"]);
    let out = run(c).await;
    out.expect_code(1).says("authentication refused");

    let mut c = fx.cmd();
    c.env("CREDENTIALS_DIRECTORY", creds.dir.path())
        .args(["check", "--online"]);
    run(c).await.expect_code(0).says("accepted by");

    // Missing there: the error names the file in the credentials folder.
    let empty = Fixture::new();
    let mut c = fx.cmd();
    c.env("CREDENTIALS_DIRECTORY", empty.dir.path())
        .arg("check");
    run(c).await.expect_code(2).says(&format!(
        "cloakfusion.token: cannot read secret file {}",
        empty.path("cf-token").display()
    ));

    // An absolute path is taken as it is.
    fx.secret("right-token", &sim.token(), 0o600);
    let text = std::fs::read_to_string(fx.path("edgeflush.toml")).unwrap();
    fx.config(&text.replace(
        "\"cf-token\"",
        &format!("\"{}\"", fx.path("right-token").display()),
    ));
    let mut c = fx.cmd();
    c.env("CREDENTIALS_DIRECTORY", empty.dir.path())
        .args(["check", "--online"]);
    run(c).await.expect_code(0);
}

#[tokio::test]
async fn flags_override_everything_and_are_blamed_by_name() {
    let fx = Fixture::new();
    api_config(&fx, DEAD_API, "t0k", "\n[log]\nformat = \"json\"");
    let mut c = fx.cmd();
    c.env("EDGEFLUSH__LOG__FORMAT", "json")
        .args(["--log-format", "yaml", "check"]);
    let out = run(c).await;
    out.expect_code(2);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(
        fails[0].contains("command line: log.format: \"yaml\": expected \"text\" or \"json\""),
        "{}",
        fails[0]
    );

    let mut c = fx.cmd();
    c.args(["run", "--listen", "nowhere", "--store", "/tmp/x.db"]);
    run(c)
        .await
        .expect_code(2)
        .says("command line: server.listen: invalid listen address \"nowhere\"");
}
