//! Slow and many clients: a request whose headers or body never finish is cut off after its
//! timeout, and connections over the limit wait to be accepted instead of piling up.

use std::time::Duration;

use allmenning::config::Mode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with_db, test_settings};

/// How long a test waits for something that must happen before it calls the server hung.
const PATIENCE: Duration = Duration::from_secs(60);

/// Everything the server sends until it closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the server closed the connection")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

async fn slow_server(mode: Mode) -> crate::helpers::Spawned {
    let mut settings = test_settings(mode).await;
    settings.settings.server.header_timeout_seconds = 1;
    settings.settings.server.body_timeout_seconds = 1;
    spawn_app_with_db(settings).await.0
}

#[tokio::test]
async fn a_request_whose_headers_never_finish_is_cut_off() {
    let app = slow_server(Mode::Production).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    stream.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1\r\n").await.expect("write");
    let answer = read_to_close(&mut stream).await;
    // Closed without an answer to the request (hyper may say 408 first).
    assert!(!answer.contains("200 OK"), "{answer}");
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408() {
    let app = slow_server(Mode::Production).await;
    let mut stream = TcpStream::connect(app.address).await.expect("connect");
    stream
        .write_all(
            b"POST /api/v1/feedback HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"message\":",
        )
        .await
        .expect("write");
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

#[tokio::test]
async fn connections_over_the_limit_wait_until_one_is_free() {
    let mut settings = test_settings(Mode::Production).await;
    settings.settings.server.max_connections = 1;
    let (app, _db) = spawn_app_with_db(settings).await;
    // The one connection allowed, idle.
    let mut first = TcpStream::connect(app.address).await.expect("connect");
    first.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.expect("write");
    let mut buffer = [0_u8; 512];
    let read = first.read(&mut buffer).await.expect("answer");
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    // A second connection is made (the operating system queues it) but not served.
    let mut second = TcpStream::connect(app.address).await.expect("connect");
    second.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.expect("write");
    let waiting = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buffer)).await;
    assert!(waiting.is_err(), "served beyond the limit");
    // The first goes away: the second is served.
    drop(first);
    let answer = read_to_close(&mut second).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
