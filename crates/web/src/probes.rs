//! Endpoints for machines: liveness, readiness, metrics. Plain text, never the HTML error pages.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use crate::middleware::error_pages::Verbatim;
use crate::state::AppState;

/// A load balancer waits a few seconds at most; answer before it gives up.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up and serving. Says nothing about the database, on purpose: a database
/// outage must not make an orchestrator restart every app node.
pub(crate) async fn healthz() -> Response {
    plain(StatusCode::OK, "ok\n".to_owned())
}

/// Ready to serve traffic: the database answers.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(PING_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => plain(StatusCode::OK, "ready\n".to_owned()),
        Ok(Err(err)) => {
            tracing::warn!(code = err.code(), error = %err, "readiness: database ping failed");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: database ping failed ({})\n", err.code()),
            )
        }
        Err(_) => {
            tracing::warn!(timeout = ?PING_TIMEOUT, "readiness: database ping timed out");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "not ready: database did not answer within {} s\n",
                    PING_TIMEOUT.as_secs()
                ),
            )
        }
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let handle = state.metrics();
    // No background task drains the histograms; rendering is the natural moment to do it.
    handle.run_upkeep();
    let mut res = (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response();
    res.extensions_mut().insert(Verbatim);
    res
}

fn plain(status: StatusCode, body: String) -> Response {
    let mut res = (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response();
    res.extensions_mut().insert(Verbatim);
    res
}
