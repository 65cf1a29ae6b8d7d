//! The allmenning binary's library half: configuration, wiring and the command line, so that
//! tests build exactly what `main` runs.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod config;
pub mod telemetry;

pub use app::Application;
pub use config::Settings;
