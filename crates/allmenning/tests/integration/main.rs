//! The binary's integration tests: configuration, the command line, the HTTP surface in
//! process and on a real socket, the OpenAPI document against the server, municipality
//! isolation, shutdown under load, and backup and restore. They run on SQLite by default and on PostgreSQL when `ALLMENNING_TEST_POSTGRES_URL`
//! is set.

mod admin;
mod archive_pages;
mod backup;
mod cases_flow;
mod cases_inquiries;
mod cli;
mod config;
mod deployment;
mod helpers;
mod http;
mod identity;
mod minside;
mod noark5;
mod openapi;
mod packaging;
mod post_api;
mod post_engine;
mod post_pages;
mod schema;
mod services_apply;
mod shutdown;
mod slow_clients;
mod tenancy;
mod tjenester;
mod workbench;
