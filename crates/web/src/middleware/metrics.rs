//! Prometheus metrics: requests and latency by route template, and the job queue.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

use crate::AppState;

/// The HTTP metrics of this process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by method, route template and status"),
            &["method", "route", "status"],
        )
        .expect("the request counter definition is constant and valid");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by method and route template")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["method", "route"],
        )
        .expect("the latency histogram definition is constant and valid");
        // Registration only fails for duplicate names, which a fresh registry cannot have.
        let _ = registry.register(Box::new(requests.clone()));
        let _ = registry.register(Box::new(latency.clone()));
        Self { registry, requests, latency }
    }
}

/// Counts every request and its latency under its route template (never the raw path, which
/// may carry identifiers).
pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    state.metrics.requests.with_label_values(&[method.as_str(), route.as_str(), status.as_str()]).inc();
    state
        .metrics
        .latency
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` in the Prometheus text format.
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    let mut buffer = Vec::new();
    if let Err(error) = TextEncoder::new().encode(&state.metrics.registry.gather(), &mut buffer) {
        tracing::error!(error = %error, "could not encode metrics");
    }
    let mut text = String::from_utf8(buffer).unwrap_or_default();
    match state.db.job_counts().await {
        Ok(counts) => {
            text.push_str("# HELP jobs Jobs in the queue by state.\n# TYPE jobs gauge\n");
            for (status, n) in
                [("queued", counts.queued), ("running", counts.running), ("done", counts.done), ("dead", counts.dead)]
            {
                text.push_str(&format!("jobs{{status=\"{status}\"}} {n}\n"));
            }
        }
        Err(error) => tracing::error!(error = %error, "could not count jobs for metrics"),
    }
    match store::consumers::states(&state.db).await {
        Ok(consumers) => {
            text.push_str(
                "# HELP event_consumers_parked Event consumers stopped after failing on an event (1) or running (0).\n\
                 # TYPE event_consumers_parked gauge\n",
            );
            for consumer in consumers {
                text.push_str(&format!(
                    "event_consumers_parked{{consumer=\"{}\"}} {}\n",
                    consumer.name,
                    u8::from(consumer.is_parked())
                ));
            }
        }
        Err(error) => tracing::error!(error = %error, "could not read the event consumers for metrics"),
    }
    let stats = &state.job_stats;
    for (name, help, value) in [
        ("jobs_completed_total", "Jobs finished by this process.", stats.completed.load(Ordering::Relaxed)),
        (
            "jobs_failed_attempts_total",
            "Job attempts that failed in this process.",
            stats.failed_attempts.load(Ordering::Relaxed),
        ),
        (
            "jobs_dead_lettered_total",
            "Jobs dead-lettered by this process.",
            stats.dead_lettered.load(Ordering::Relaxed),
        ),
        (
            "jobs_stale_outcomes_total",
            "Job outcomes refused because the worker's claim had run out and the job was claimed again.",
            stats.stale_outcomes.load(Ordering::Relaxed),
        ),
    ] {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"));
    }
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
