//! Secrets never reach stdout or stderr: not in config errors, not when the
//! API refuses the token, not in the most verbose logs.

use crate::run::{Fixture, Out, api_config, run};
use edgeflush::simulator::{SimHandle, SimOptions, start};

const TOKEN: &str = "tok-5c21e0-never-print-me";
const HOOK: &str = "hook-88d1b7-never-print-me";
const ADMIN: &str = "adm-0a4f6e-never-print-me";
const DB_PASSWORD: &str = "pw-91be2c-never-print-me";

fn shows_none(out: &Out) {
    for s in [TOKEN, HOOK, ADMIN, DB_PASSWORD] {
        out.never_shows(s);
    }
}

async fn sim_with_token(token: &str) -> SimHandle {
    start(SimOptions {
        listen: "127.0.0.1:0".into(),
        token: token.into(),
        vhosts: vec!["www.example.com".into()],
        flush_delay: "100ms".into(),
        ..SimOptions::default()
    })
    .await
    .unwrap()
}

/// Secrets placed where each kind of configuration error is reported.
#[tokio::test]
async fn config_errors_never_show_secrets() {
    let cases = [
        format!("[cloakfusion]\ntoken = \"{TOKEN}\"\ntoken_file = \"t\""),
        format!("[cloakfusion]\ntoken = [\"{TOKEN}\"]"),
        format!("[cloakfusion]\ntokn = \"{TOKEN}\""),
        format!("[server]\nadmin_token = [\"{ADMIN}\"]"),
        format!("[server]\nadmin_token = \"{ADMIN}\"\nadmin_token_file = \"a\""),
        format!("[store]\nurl = \"mysql://edge:{DB_PASSWORD}@db/edge\""),
        format!("[store]\nurl = \"postgres://edge:{DB_PASSWORD}@db/edge\"\npath = \"/tmp/x.db\""),
        format!(
            "[[hook]]\nname = \"gh\"\nprovider = \"github\"\npath = \"/h\"\nsecrets = \"{HOOK}\""
        ),
        format!(
            "[[hook]]\nname = \"gh\"\nprovider = \"nope\"\npath = \"h\"\nsecret = \"{HOOK}\"\nsecret_file = \"x\""
        ),
    ];
    for case in cases {
        let fx = Fixture::new();
        fx.config(&case);
        for args in [&["check"][..], &["check", "--json"], &["vhosts", "list"]] {
            let mut c = fx.cmd();
            c.args(args);
            let out = run(c).await;
            assert!(
                out.code == Some(2) || out.code == Some(1),
                "{case}: {args:?} exited {:?}",
                out.code
            );
            shows_none(&out);
        }
    }
}

/// Errors do quote plain bad values, so the test above would catch a secret
/// quoted the same way: it does not pass merely because nothing is quoted.
#[tokio::test]
async fn plain_bad_values_are_shown() {
    let fx = Fixture::new();
    fx.config("[batch]\nlinger = \"fortnight-42\"");
    let mut c = fx.cmd();
    c.arg("check");
    run(c).await.expect_code(2).says("fortnight-42");
}

#[tokio::test]
async fn refused_token_is_never_printed_even_at_trace_level() {
    let sim = sim_with_token("the-right-one").await;
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), TOKEN, "");
    let runs: [(&[&str], i32); 5] = [
        (&["check", "--online"], 1),
        (&["--log-level", "trace", "check", "--online"], 1),
        (&["--log-level", "trace", "vhosts", "list"], 1),
        (
            &["--log-level", "trace", "flush", "https://www.example.com/a"],
            1,
        ),
        (
            &["--log-level", "trace", "--log-format", "json", "traffic"],
            1,
        ),
    ];
    for (args, code) in runs {
        let mut c = fx.cmd();
        c.args(args);
        let out = run(c).await;
        out.expect_code(code);
        shows_none(&out);
        out.says("authentication refused (401)");
    }
    let fails = {
        let mut c = fx.cmd();
        c.args(["check", "--online"]);
        run(c).await
    };
    assert!(
        fails.fail_lines().iter().any(|l| l.contains("api token")),
        "{}",
        fails.stdout
    );
}

#[tokio::test]
async fn accepted_token_is_never_printed_even_at_trace_level() {
    let sim = sim_with_token(TOKEN).await;
    let fx = Fixture::new();
    api_config(&fx, &sim.base_url(), TOKEN, "");
    for args in [
        &["--log-level", "trace", "vhosts", "list", "--json"][..],
        &[
            "--log-level",
            "trace",
            "flush",
            "--wait",
            "https://www.example.com/a",
        ],
        &["--log-level", "trace", "check", "--online"],
    ] {
        let mut c = fx.cmd();
        c.args(args);
        let out = run(c).await;
        out.expect_code(0);
        shows_none(&out);
        // Trace level really was on: the HTTP stack logged something.
        assert!(out.stderr.contains("TRACE"), "{args:?}: no trace lines");
    }
}
