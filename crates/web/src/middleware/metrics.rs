//! Request counts and latencies per matched route, exported in the Prometheus text format.
//!
//! The recorder is global to the process (the `metrics` facade allows one), while tests build
//! many applications in one process: so it is installed once, behind a `OnceLock`, and every
//! `AppState` shares its handle.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

pub(crate) const REQUESTS: &str = "http_requests_total";
pub(crate) const DURATION: &str = "http_request_duration_seconds";

/// From a 1 ms page to the 30 s timeout.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus handle, installing the recorder on first call.
///
/// If another recorder was installed first (by an embedding program), metrics recorded through
/// the facade go there, and this handle renders an empty page; that is logged once.
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE.get_or_init(install).clone()
}

fn install() -> PrometheusHandle {
    match builder().and_then(PrometheusBuilder::install_recorder) {
        Ok(handle) => {
            describe();
            handle
        }
        Err(err) => {
            tracing::warn!(error = %err, "metrics recorder not installed; /metrics will be empty");
            PrometheusBuilder::new().build_recorder().handle()
        }
    }
}

fn builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(DURATION.into()), DURATION_BUCKETS)
}

fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route and status."
    );
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "Time until the response head was ready, by method, route and status."
    );
}

/// Labels stay bounded: the route is the matched pattern (`/static/{file}`), never the raw path,
/// and unknown methods are folded into `OTHER`.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(req.method());
    let res = next.run(req).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(DURATION, &labels).record(start.elapsed().as_secs_f64());
    res
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
