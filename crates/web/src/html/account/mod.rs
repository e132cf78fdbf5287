//! Account pages: login and logout, the home screen with a button per 制度, the recovery of
//! forgotten passwords and user names, and the password links from mails (DOMAIN §3.8–§3.9).
//! The work is `teikyo_account`'s; these parse forms, call it and render.

pub(crate) mod home;
pub(crate) mod link;
pub(crate) mod login;
pub(crate) mod mfa;
pub(crate) mod profile;
pub(crate) mod recovery;

use axum::http::HeaderValue;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};

/// 303 to `to`, optionally setting cookies: after every successful POST (PRG), so that a reload
/// does not send the form again.
pub(crate) fn see_other(to: &str, cookies: &[HeaderValue]) -> Response {
    let mut res = axum::http::StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    for c in cookies {
        res.headers_mut().append(SET_COOKIE, c.clone());
    }
    res
}
