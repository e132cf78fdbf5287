//! Headers that make the browser refuse what the pages never need: framing, sniffing, scripts or
//! styles from elsewhere. A route that needs more (the map's tiles) overrides them itself.

use axum::http::HeaderValue;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::Response;

const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                   base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// [`CSP`] with images also allowed from `origin` (the map's tiles); the rest unchanged.
pub(crate) fn csp_with_images_from(origin: &str) -> String {
    CSP.replacen(
        "img-src 'self' data:",
        &format!("img-src 'self' data: {origin}"),
        1,
    )
}

pub(crate) async fn add<B>(mut res: Response<B>) -> Response<B> {
    let headers = res.headers_mut();
    for (name, value) in [
        (CONTENT_SECURITY_POLICY, CSP),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (X_FRAME_OPTIONS, "DENY"),
        (REFERRER_POLICY, "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    res
}
