//! Broken configurations: each refused by `check` with exit code 2 and a
//! line naming the file, the key and what was expected; several problems
//! reported together, by `check` and by any other command.

use crate::run::{Fixture, Out, run};

const TOKEN: &str = "tok-7f3a9c-never-print-me";

/// An offline config: `cloakfusion` lines go into that section, `rest` is
/// appended after the server and store sections.
fn write(fx: &Fixture, cloakfusion: &str, rest: &str) {
    let d = fx.dir.path().display();
    fx.config(&format!(
        r#"[cloakfusion]
base_url = "http://127.0.0.1:9/api/v1"
{cloakfusion}

[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"

[store]
path = "{d}/edgeflush.db"

{rest}
"#
    ));
}

async fn check(fx: &Fixture) -> Out {
    let mut c = fx.cmd();
    c.arg("check");
    run(c).await
}

/// Exactly one FAIL line, naming the config file and `key`; returns it.
fn one_failure(out: &Out, fx: &Fixture, key: &str) -> String {
    out.expect_code(2);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    let line = fails[0].to_string();
    let file = fx.path("edgeflush.toml").display().to_string();
    assert!(line.contains(&file), "file not named: {line}");
    assert!(
        line.contains(&format!(": {key}: ")),
        "key not named: {line}"
    );
    line
}

#[tokio::test]
async fn valid_config_passes_every_item() {
    let fx = Fixture::new();
    fx.secret("token", TOKEN, 0o600);
    write(
        &fx,
        "token_file = \"token\"",
        "[[site]]\nname = \"www\"\nvhost = \"www.example.com\"",
    );
    let out = check(&fx).await;
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    // config, secrets, store, admin listener; no webhook listener without hooks.
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(lines.iter().all(|l| l.starts_with("ok")), "{}", out.stdout);
    assert!(!out.stdout.contains("server.listen "), "{}", out.stdout);
    out.says(&format!("{} is valid", fx.path("edgeflush.toml").display()))
        .says("API token set")
        .never_shows(TOKEN);

    let mut c = fx.cmd();
    c.args(["check", "--json"]);
    let out = run(c).await;
    out.expect_code(0);
    let items = out.json();
    let names: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["check"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["config", "secrets", "store", "server.admin_listen"]);
    assert!(items.as_array().unwrap().iter().all(|i| i["ok"] == true));
}

#[tokio::test]
async fn unknown_key_names_the_key_and_the_choices() {
    let fx = Fixture::new();
    write(&fx, "tokn = \"abc\"", "");
    let line = one_failure(&check(&fx).await, &fx, "cloakfusion.tokn");
    assert!(line.contains("unknown field `tokn`"), "{line}");
    assert!(line.contains("`token_file`"), "choices not listed: {line}");

    write(&fx, "", "[servre]\nlisten = \"127.0.0.1:0\"");
    let line = one_failure(&check(&fx).await, &fx, "servre");
    assert!(line.contains("unknown section"), "{line}");
    assert!(line.contains("cloakfusion, server"), "{line}");

    write(
        &fx,
        "",
        "[[site]]\nname = \"www\"\nvhost = \"www.example.com\"\nroots = \"/srv\"",
    );
    let line = one_failure(&check(&fx).await, &fx, "site[0].roots");
    assert!(line.contains("unknown field `roots`"), "{line}");
    assert!(line.contains("`root`"), "{line}");
}

#[tokio::test]
async fn bad_duration_says_what_is_expected() {
    let fx = Fixture::new();
    write(&fx, "timeout = \"ten seconds\"", "");
    let line = one_failure(&check(&fx).await, &fx, "cloakfusion.timeout");
    assert!(line.contains("invalid duration \"ten seconds\""), "{line}");
    assert!(line.contains("expected e.g. \"10s\""), "{line}");

    write(&fx, "", "[status]\nmax_interval = \"5 fortnights\"");
    let line = one_failure(&check(&fx).await, &fx, "status.max_interval");
    assert!(line.contains("\"5 fortnights\""), "{line}");

    write(&fx, "", "[batch]\nlinger = 5");
    let line = one_failure(&check(&fx).await, &fx, "batch.linger");
    assert!(line.contains("expected e.g."), "{line}");
}

#[tokio::test]
async fn bad_admission_settings_name_their_keys() {
    let fx = Fixture::new();
    let server = |extra: &str| {
        format!(
            "[cloakfusion]\nbase_url = \"http://127.0.0.1:9/api/v1\"\n\n[server]\n\
             listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n{extra}\n\n\
             [store]\npath = \"{}/edgeflush.db\"\n",
            fx.dir.path().display()
        )
    };
    fx.config(&server("max_concurrent_requests = 0"));
    let line = one_failure(&check(&fx).await, &fx, "server.max_concurrent_requests");
    assert!(line.contains("at least 1"), "{line}");
    fx.config(&server("busy_wait = \"soon\""));
    let line = one_failure(&check(&fx).await, &fx, "server.busy_wait");
    assert!(line.contains("expected e.g."), "{line}");
}

#[tokio::test]
async fn bad_verify_settings_name_their_keys() {
    let fx = Fixture::new();
    let site =
        "[[site]]\nname = \"www\"\nvhost = \"www.example.com\"\n[site.verify]\nenabled = true\n";
    write(&fx, "", &format!("{site}via = \"the edge\""));
    let line = one_failure(&check(&fx).await, &fx, "site[0].verify.via");
    assert!(line.contains("IP:PORT"), "{line}");
    write(&fx, "", &format!("{site}sample = \"some\""));
    let line = one_failure(&check(&fx).await, &fx, "site[0].verify.sample");
    assert!(line.contains("\"all\""), "{line}");
    write(&fx, "", &format!("{site}samples = 3"));
    let line = one_failure(&check(&fx).await, &fx, "site[0].verify.samples");
    assert!(line.contains("unknown field `samples`"), "{line}");
}

#[tokio::test]
async fn token_and_token_file_together_are_refused() {
    let fx = Fixture::new();
    fx.secret("token", TOKEN, 0o600);
    write(
        &fx,
        &format!("token = \"{TOKEN}\"\ntoken_file = \"token\""),
        "",
    );
    let out = check(&fx).await;
    let line = one_failure(&out, &fx, "cloakfusion.token");
    assert!(
        line.contains("both `token` and `token_file` are set; use one"),
        "{line}"
    );
    out.never_shows(TOKEN);

    // The same rule for every other secret.
    write(
        &fx,
        "token_file = \"token\"",
        &format!(
            "[[site]]\nname = \"www\"\nvhost = \"www.example.com\"\n\n[[hook]]\nname = \"gh\"\n\
             provider = \"github\"\npath = \"/hooks/gh\"\nsecret = \"{TOKEN}\"\nsecret_file = \"token\"\nsites = [\"www\"]"
        ),
    );
    let out = check(&fx).await;
    let line = one_failure(&out, &fx, "hook[0].secret");
    assert!(line.contains("both `secret` and `secret_file`"), "{line}");
    out.never_shows(TOKEN);
}

#[tokio::test]
async fn secret_file_readable_by_others_is_refused() {
    let fx = Fixture::new();
    write(&fx, "token_file = \"token\"", "");
    let token = fx.path("token");
    for mode in [0o644, 0o640, 0o604, 0o660] {
        fx.secret("token", TOKEN, mode);
        let out = check(&fx).await;
        let line = one_failure(&out, &fx, "cloakfusion.token");
        assert!(
            line.contains(&format!(
                "secret file {} is readable by group or others",
                token.display()
            )),
            "{line}"
        );
        assert!(line.contains(&format!("mode {mode:o}")), "{line}");
        assert!(line.contains("chmod 600"), "{line}");
        out.never_shows(TOKEN);
    }
    for mode in [0o600, 0o400] {
        fx.secret("token", TOKEN, mode);
        check(&fx).await.expect_code(0);
    }
}

#[tokio::test]
async fn unreadable_and_empty_secret_files_are_named() {
    let fx = Fixture::new();
    write(&fx, "token_file = \"missing-token\"", "");
    let line = one_failure(&check(&fx).await, &fx, "cloakfusion.token");
    assert!(
        line.contains(&format!(
            "cannot read secret file {}",
            fx.path("missing-token").display()
        )),
        "{line}"
    );

    fx.secret("token", "  \n", 0o600);
    write(&fx, "token_file = \"token\"", "");
    let line = one_failure(&check(&fx).await, &fx, "cloakfusion.token");
    assert!(line.contains("is empty"), "{line}");
}

/// Nine problems in four sections, two of them next to an unknown key of the
/// same section: every one must be listed, not just the first.
fn nine_problems(fx: &Fixture) -> Vec<&'static str> {
    fx.secret("token", TOKEN, 0o600);
    let d = fx.dir.path().display();
    fx.config(&format!(
        r#"[cloakfusion]
base_url = "http://127.0.0.1:9/api/v1"
colour = "blue"
token = "{TOKEN}"
token_file = "token"
timeout = "ten seconds"

[server]
listen = "nope"
admin_listen = "127.0.0.1:0"

[store]
path = "{d}/edgeflush.db"

[batch]
linger = "2 parsecs"

[log]
format = "xml"

[[site]]
name = "www"
vhost = "www.example.com"
pretty_urls = "maybe"

[[hook]]
name = "gh"
provider = "githib"
path = "/hooks/gh"
secret_file = "token"
sites = ["nope"]
"#
    ));
    vec![
        "cloakfusion.colour",
        "cloakfusion.token",
        "cloakfusion.timeout",
        "server.listen",
        "batch.linger",
        "log.format",
        "site[0].pretty_urls",
        "hook[0].provider",
        "hook[0].sites",
    ]
}

#[tokio::test]
async fn check_lists_every_problem_at_once() {
    let fx = Fixture::new();
    let keys = nine_problems(&fx);
    let out = check(&fx).await;
    out.expect_code(2).never_shows(TOKEN);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), keys.len(), "{}", out.stdout);
    let file = fx.path("edgeflush.toml").display().to_string();
    for k in &keys {
        assert!(
            fails.iter().any(|l| l.contains(&format!("{file}: {k}: "))),
            "{k} not reported:\n{}",
            out.stdout
        );
    }
    // What was expected, for a few of them.
    out.says("expected \"text\" or \"json\"")
        .says("expected one of: github, gitlab")
        .says("unknown site \"nope\"")
        .says("expected a boolean");

    let mut c = fx.cmd();
    c.args(["check", "--json"]);
    let out = run(c).await;
    out.expect_code(2);
    let items = out.json();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), keys.len(), "{}", out.stdout);
    assert!(
        items
            .iter()
            .all(|i| i["ok"] == false && i["check"] == "config")
    );
}

#[tokio::test]
async fn every_command_refuses_a_broken_config_listing_all_problems() {
    let fx = Fixture::new();
    let keys = nine_problems(&fx);
    for args in [
        &["vhosts", "list"][..],
        &["map", "--site", "www", "index.html"],
        &["run"],
    ] {
        let mut c = fx.cmd();
        c.args(args);
        let out = run(c).await;
        out.expect_code(2).never_shows(TOKEN);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        out.says("invalid configuration (9 problems):");
        for k in &keys {
            out.says(&format!(": {k}: "));
        }
    }
}

#[tokio::test]
async fn missing_token_fails_check_and_api_commands() {
    let fx = Fixture::new();
    write(&fx, "", "");
    let out = check(&fx).await;
    out.expect_code(1);
    let fails = out.fail_lines();
    assert_eq!(fails.len(), 1, "{}", out.stdout);
    assert!(fails[0].contains("secrets") && fails[0].contains("API token NOT set"));

    let mut c = fx.cmd();
    c.args(["vhosts", "list"]);
    run(c)
        .await
        .expect_code(2)
        .says("cloakfusion.token (or cloakfusion.token_file) is not set");
}

#[tokio::test]
async fn a_named_config_file_must_exist() {
    let fx = Fixture::new();
    let missing = fx.path("nope.toml");
    let mut c = crate::run::bin();
    c.arg("--config").arg(&missing).arg("check");
    let out = run(c).await;
    out.expect_code(2).says(&format!(
        "{}: -: configuration file not found",
        missing.display()
    ));

    let mut c = crate::run::bin();
    c.env("EDGEFLUSH_CONFIG", &missing)
        .args(["map", "--site", "www", "x"]);
    run(c)
        .await
        .expect_code(2)
        .says("configuration file not found");
}
