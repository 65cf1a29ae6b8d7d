//! The binary is self-contained: copied alone to an empty directory and started there, it
//! serves styled pages (every template, translation and stylesheet is compiled in).

use std::process::Command;

use store::testing::TestDatabase;

use crate::helpers::{server_command, start_server};

#[tokio::test]
async fn the_binary_copied_alone_to_an_empty_directory_serves_styled_pages() {
    let database = TestDatabase::create().await.expect("database");
    let empty = tempfile::tempdir().expect("tempdir");
    let binary = empty.path().join("allmenning");
    std::fs::copy(env!("CARGO_BIN_EXE_allmenning"), &binary).expect("copy the binary");
    let mut command = server_command(&binary);
    command
        .current_dir(empty.path())
        .args(["serve", "--port", "0", "--data-dir", "data"])
        .env("ALLMENNING__DATABASE__URL", &database.url);
    let (mut child, base) = start_server(command).await;

    let client = reqwest::Client::new();
    let page = client.get(format!("{base}/")).send().await.expect("front page").text().await.expect("text");
    let stylesheets: Vec<String> = page
        .split("<link rel=\"stylesheet\" href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect();
    assert_eq!(stylesheets.len(), 3, "Designsystemet's two stylesheets and ours: {stylesheets:?}");
    let mut css = String::new();
    for href in &stylesheets {
        let response = client.get(format!("{base}{href}")).send().await.expect("stylesheet");
        assert_eq!(response.status(), 200, "{href}");
        css.push_str(&response.text().await.expect("css"));
    }
    assert!(css.contains(".ds-button"), "Designsystemet's components are styled");
    assert!(css.contains("--ds-color-"), "Designsystemet's theme is there");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}
