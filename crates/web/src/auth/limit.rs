//! Rate limits per client IP on the forms that guess or send something: login, the
//! 「お忘れですか？」 requests, and the application's address, code and send steps. One shared
//! bucket per IP across those routes (a guesser cannot multiply it by switching forms): a burst
//! of 30, then one request every 2 seconds. Together with the per-account lockout (store) and
//! the per-application code limits (registration) this bounds guessing from one place; a
//! hospital's staff behind one NAT logging in at 9:00 stay well inside it.
//!
//! The limit is checked after CSRF (a forged request does not use up a clinic's allowance) and
//! answered 429 with the Japanese 「操作が多すぎます」 page.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::Request;
use governor::middleware::NoOpMiddleware;
use tower_governor::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

/// The peer's IP. A request without one (only in-process tests) counts as loopback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerIp;

impl KeyExtractor for PeerIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip()))
    }
}

pub(crate) type Config = Arc<GovernorConfig<PeerIp, NoOpMiddleware>>;

pub(crate) const BURST: u32 = 30;
pub(crate) const REFILL_MILLIS: u64 = 2_000;

pub(crate) fn config() -> Option<Config> {
    GovernorConfigBuilder::default()
        .key_extractor(PeerIp)
        .per_millisecond(REFILL_MILLIS)
        .burst_size(BURST)
        .finish()
        .map(Arc::new)
}

/// 429 with the Japanese page (drawn by the error-page middleware).
pub(crate) fn too_many(e: GovernorError) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let GovernorError::TooManyRequests { wait_time, .. } = e {
        tracing::warn!(wait_time, "rate limit reached");
    }
    crate::error::WebError::TooManyRequests.into_response()
}
