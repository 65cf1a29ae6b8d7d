//! The binary as a user runs it.

use std::process::{Command, Stdio};

/// The binary, with no configuration from the environment the tests run in.
pub(crate) fn allmenning() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_allmenning"));
    command.env_remove("ALLMENNING_CONFIG").env("RUST_LOG", "warn").stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("ALLMENNING__") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn version_and_help_answer() {
    let version = allmenning().arg("--version").output().expect("runs");
    assert!(version.status.success());
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("allmenning {}", env!("CARGO_PKG_VERSION")));
    let help = allmenning().arg("--help").output().expect("runs");
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "demo", "migrate", "config", "backup", "restore", "health"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn a_bad_configuration_exits_with_code_2_and_one_line() {
    let output = allmenning().arg("config").env("ALLMENNING__SERVER__BIND", "nowhere").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("server.bind"), "{stderr}");

    let scheme = allmenning().arg("migrate").env("ALLMENNING__DATABASE__URL", "oracle://x").output().expect("runs");
    assert_eq!(scheme.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&scheme.stderr).contains("unsupported scheme"));
}

#[test]
fn config_prints_the_effective_configuration_without_secrets() {
    let output = allmenning()
        .arg("config")
        .env("ALLMENNING__DATABASE__URL", "postgres://app:topphemmelig@db/allmenning")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("[database]") && text.contains("[redacted]"), "{text}");
    assert!(!text.contains("topphemmelig"), "{text}");
}

#[test]
fn a_taken_port_fails_cleanly_and_creates_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let output =
        allmenning().args(["serve", "--port", &port.to_string(), "--data-dir"]).arg(&data_dir).output().expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(!data_dir.exists(), "nothing may be created when the port is taken");
}

#[test]
fn an_unreachable_database_fails_cleanly_and_creates_nothing() {
    // Port 1 on loopback refuses connections at once.
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let output = allmenning()
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(&data_dir)
        .env("ALLMENNING__DATABASE__URL", "postgres://nobody:secret-pw@127.0.0.1:1/none")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(!stderr.contains("secret-pw"), "the password must not be printed: {stderr}");
    assert!(!data_dir.exists());
}

#[test]
fn migrate_creates_and_migrates_the_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("m/allmenning.db").display());
    let output = allmenning().arg("migrate").env("ALLMENNING__DATABASE__URL", &url).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("14 of 14 migrations applied"));
    assert!(dir.path().join("m/allmenning.db").exists());
}

#[test]
fn consumers_are_listed_and_an_unknown_one_is_not_resumed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("allmenning.db").display());
    let list = allmenning().args(["consumers", "list"]).env("ALLMENNING__DATABASE__URL", &url).output().expect("runs");
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    assert!(String::from_utf8_lossy(&list.stdout).contains("no event consumers yet"));
    let resume = allmenning()
        .args(["consumers", "resume", "nobody"])
        .env("ALLMENNING__DATABASE__URL", &url)
        .output()
        .expect("runs");
    assert_eq!(resume.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&resume.stderr).contains("no parked consumer is named \"nobody\""));
}

#[test]
fn id_tells_what_a_number_is() {
    let valid = allmenning().args(["id", "20914695016"]).output().expect("runs");
    assert_eq!(valid.status.code(), Some(0));
    let text = String::from_utf8_lossy(&valid.stdout);
    assert!(
        text.contains("valid fødselsnummer") && text.contains("synthetic") && text.contains("born 1946-11-20"),
        "{text}"
    );

    let invalid = allmenning().args(["id", "20914695017"]).output().expect("runs");
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stdout).contains("control digit 2 (digit 11) is wrong"));

    let matrikkel = allmenning().args(["id", "4601-12/345"]).output().expect("runs");
    assert_eq!(matrikkel.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&matrikkel.stdout).contains("4601-12/345/0/0"));

    // It needs no configuration, even a broken one.
    let broken_config =
        allmenning().args(["id", "974760673"]).env("ALLMENNING__SERVER__BIND", "x").output().expect("runs");
    assert_eq!(broken_config.status.code(), Some(0));
}

fn simulate_three_days(data_dir: &std::path::Path) -> std::process::Output {
    allmenning().args(["registers", "simulate", "--days", "3", "--data-dir"]).arg(data_dir).output().expect("runs")
}

#[test]
fn the_simulator_refuses_empty_registers_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = simulate_three_days(dir.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the registers are empty"));
}

#[test]
fn the_simulator_never_touches_a_production_database() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    // A production server starts once on the directory, which marks its database.
    let mut server = allmenning()
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout")).read_line(&mut line).expect("a line");
    server.kill().expect("stopped");
    server.wait().expect("waited");
    assert!(line.contains("listening"), "{line}");

    let output = simulate_three_days(dir.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("set up for production"), "{stderr}");
}

#[test]
fn demo_refuses_an_unknown_kommunenummer_and_says_where_to_look() {
    let output = allmenning().args(["demo", "--kommune", "9999"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("9999 is not a municipality") && stderr.contains("ssb.no/klass"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_for_a_ready_server_and_fails_without_one() {
    use allmenning::config::Mode;
    let server = crate::helpers::spawn_app(crate::helpers::test_settings(Mode::Production).await).await;
    let url = server.url("/readyz");
    let ready = tokio::task::spawn_blocking(move || allmenning().args(["health", "--url", &url]).output())
        .await
        .expect("join")
        .expect("runs");
    assert_eq!(ready.status.code(), Some(0), "{}", String::from_utf8_lossy(&ready.stdout));
    assert!(String::from_utf8_lossy(&ready.stdout).contains("ready"));
    let url = server.url("/no-such-page");
    let missing = tokio::task::spawn_blocking(move || allmenning().args(["health", "--url", &url]).output())
        .await
        .expect("join")
        .expect("runs");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("HTTP 404"));
    let address = server.address;
    server.stop().await;

    // Nobody listens there any more; without --url it asks server.bind.
    let gone = allmenning().arg("health").env("ALLMENNING__SERVER__BIND", address.to_string()).output().expect("runs");
    assert_eq!(gone.status.code(), Some(1));
    let text = String::from_utf8_lossy(&gone.stdout);
    assert!(text.contains(&format!("http://{address}/readyz")) && text.contains("no answer"), "{text}");
    let not_found = allmenning().args(["health", "--url", "https://example.invalid/"]).output().expect("runs");
    assert_eq!(not_found.status.code(), Some(1));
}
