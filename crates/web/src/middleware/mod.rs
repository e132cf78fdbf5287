//! The middleware stack every request passes through, outermost first:
//! request id → tracing span → metrics → security headers → compression → error pages →
//! catch-panic → body limit → timeout → the route.

pub(crate) mod error_pages;
pub(crate) mod metrics;
mod panic;
mod request_id;
pub(crate) mod security_headers;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::WebConfig;

pub(crate) fn stack(routes: Router, config: &WebConfig) -> Router {
    let limit = config.body_limit_bytes;
    routes.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_request(request_id::drop_unusable))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(request_id::make_span)
                    .on_response(
                        DefaultOnResponse::new()
                            .level(Level::INFO)
                            .latency_unit(LatencyUnit::Millis),
                    )
                    .on_failure(DefaultOnFailure::new().latency_unit(LatencyUnit::Millis)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(axum::middleware::from_fn(metrics::track))
            .layer(axum::middleware::map_response(security_headers::add))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                limit,
                error_pages::render,
            ))
            .layer(CatchPanicLayer::custom(panic::respond))
            // Rejects by Content-Length before the handler runs; DefaultBodyLimit makes axum's
            // extractors enforce the same limit on bodies without one (chunked uploads).
            .layer(RequestBodyLimitLayer::new(limit))
            // 503 rather than 408: the client was not slow, we were.
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                config.request_timeout(),
            ))
            .layer(DefaultBodyLimit::max(limit)),
    )
}
