//! The HTTP baseline for `scripts/bench-http`: a bare axum "hello world" with no middleware,
//! no state and no database, on the same axum, hyper and tokio versions as the real server.
//! Whatever the real server does per request shows up as its distance from this one.
//!
//!   target/release/examples/hello_axum 3000   # GET / → "Hello, world!"
//!
//! The port is the first argument; 0 lets the kernel pick one. The first line on standard
//! output is `listening on http://127.0.0.1:PORT/` with the port actually bound, printed once
//! the socket accepts connections.

// The benchmark script reads the bound port from standard output.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::routing::get;

async fn hello() -> &'static str {
    "Hello, world!"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(argument) => argument.parse().with_context(|| format!("not a port number: {argument:?}"))?,
        None => anyhow::bail!("usage: hello_axum PORT"),
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let address = listener.local_addr().context("cannot read the bound address")?;
    println!("listening on http://127.0.0.1:{}/", address.port());
    let router = Router::new().route("/", get(hello));
    axum::serve(listener, router).await.context("the HTTP server failed")
}
