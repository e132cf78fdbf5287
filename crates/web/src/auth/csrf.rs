//! CSRF protection for every state-changing request, logged in or not (the login form too).
//!
//! Each browser gets a random secret in an HttpOnly cookie. Forms carry a token derived from it
//! and from the session id (so the token changes at login and logout); a POST whose token does
//! not match is refused before the handler runs. Another site can make the browser send the
//! cookie, but cannot read it or the page, so it cannot know the token. Forms post
//! `application/x-www-form-urlencoded` with the field [`FIELD`]; scripts may send the header
//! `x-csrf-token` instead.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The form field every POST form carries (templates: `{{ csrf }}`).
pub(crate) const FIELD: &str = "_csrf";
const HEADER: &str = "x-csrf-token";

/// The token forms of this request must carry. Handlers get it with the `Csrf` extractor.
#[derive(Debug, Clone)]
pub(crate) struct CsrfToken(pub(crate) String);

/// The token for a browser secret and (if logged in) its session id.
pub(crate) fn token(secret: &str, session: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(b"teikyo-csrf\0");
    h.update(secret.as_bytes());
    h.update(b"\0");
    h.update(session.unwrap_or("").as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether the request carries `expected`; returns the request rebuilt (the body had to be
/// read to find the form field).
pub(crate) async fn check(
    req: Request,
    expected: &str,
    body_limit: usize,
) -> Result<Request, Refusal> {
    if let Some(given) = header_token(req.headers()) {
        return if same(&given, expected) {
            Ok(req)
        } else {
            Err(Refusal)
        };
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Refusal);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, body_limit).await.map_err(|_| Refusal)?;
    let given = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned());
    match given {
        Some(given) if same(&given, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(Refusal),
    }
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The token was missing or wrong.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_the_secret_and_the_session() {
        let a = token("secret-a", None);
        assert_eq!(a.len(), 32);
        assert_eq!(a, token("secret-a", None));
        assert_ne!(a, token("secret-b", None));
        assert_ne!(a, token("secret-a", Some("session")));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[..31]));
    }
}
