//! Request ids: taken from `x-request-id` when the client (or a proxy in front) sent a usable
//! one, generated otherwise, echoed on the response and recorded on the request's span.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use tracing::Span;

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken over from a client; enough for a UUID or a load balancer's trace id.
const MAX_LEN: usize = 128;

/// Removes an incoming id that would be unsafe to log or echo (too long, odd characters), so
/// that `SetRequestIdLayer` generates a fresh one instead.
pub(crate) async fn drop_unusable(mut req: Request) -> Request {
    let usable = req
        .headers()
        .get(&X_REQUEST_ID)
        .map(|v| is_usable(v.as_bytes()));
    if usable == Some(false) {
        req.headers_mut().remove(&X_REQUEST_ID);
    }
    req
}

fn is_usable(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'='))
}

/// The id of the request, as set by the request-id layer.
pub(crate) fn of(req: &Request) -> Option<&str> {
    req.headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
}

/// One span per request. The path is logged without its query string: later pages carry
/// tokens there (password reset, e-mail confirmation) that must not reach the logs.
pub(crate) fn make_span(req: &Request) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = of(req).unwrap_or("-"),
        method = %req.method(),
        route,
        path = req.uri().path(),
    )
}

#[cfg(test)]
mod tests {
    use super::is_usable;

    #[test]
    fn accepts_uuids_and_trace_ids() {
        assert!(is_usable(b"0b0f6c1e-3f3a-4c57-9d2e-1d2a7e6b9c10"));
        assert!(is_usable(b"Root=1-67891233-abcdef012345678912345678"));
    }

    #[test]
    fn rejects_empty_long_and_odd_ids() {
        assert!(!is_usable(b""));
        assert!(!is_usable(&[b'a'; 129]));
        assert!(!is_usable(b"<script>"));
        assert!(!is_usable("受付".as_bytes()));
    }
}
