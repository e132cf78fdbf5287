//! The two cookies: the session id and the CSRF secret. Both HttpOnly and SameSite=Lax; with
//! `secure_cookies` (the default) also Secure and `__Host-` prefixed, so that no other site or
//! subdomain can plant one.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

use crate::config::WebConfig;

const SESSION: &str = "teikyo_session";
const CSRF: &str = "teikyo_csrf";

/// The cookie names for a configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Names {
    pub(crate) session: &'static str,
    pub(crate) csrf: &'static str,
    /// The applicant's browser during 新規ユーザ登録申請 (no account yet).
    pub(crate) apply: &'static str,
    /// Between password and second factor: the pending login (a single-use token).
    pub(crate) login: &'static str,
    secure: bool,
}

impl Names {
    pub(crate) fn of(config: &WebConfig) -> Self {
        if config.secure_cookies {
            Self {
                session: "__Host-teikyo_session",
                csrf: "__Host-teikyo_csrf",
                apply: "__Host-teikyo_apply",
                login: "__Host-teikyo_login",
                secure: true,
            }
        } else {
            Self {
                session: SESSION,
                csrf: CSRF,
                apply: "teikyo_apply",
                login: "teikyo_login",
                secure: false,
            }
        }
    }

    fn build(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .build()
    }

    /// A session cookie. No Max-Age: it ends with the browser, and the server ends it sooner.
    pub(crate) fn session_cookie(&self, plain: &str) -> HeaderValue {
        header(&self.build(self.session, plain.to_owned()))
    }

    pub(crate) fn apply_cookie(&self, plain: &str) -> HeaderValue {
        header(&self.build(self.apply, plain.to_owned()))
    }

    pub(crate) fn login_cookie(&self, plain: &str) -> HeaderValue {
        header(&self.build(self.login, plain.to_owned()))
    }

    pub(crate) fn login_removal(&self) -> HeaderValue {
        let mut c = self.build(self.login, String::new());
        c.make_removal();
        header(&c)
    }

    pub(crate) fn csrf_cookie(&self, plain: &str) -> HeaderValue {
        header(&self.build(self.csrf, plain.to_owned()))
    }

    /// Tells the browser to drop the session cookie.
    pub(crate) fn session_removal(&self) -> HeaderValue {
        let mut c = self.build(self.session, String::new());
        c.make_removal();
        header(&c)
    }
}

/// The name of the session cookie under `config` (tests sign in by setting it).
pub fn session_cookie_name(config: &WebConfig) -> &'static str {
    Names::of(config).session
}

fn header(c: &Cookie<'_>) -> HeaderValue {
    // A cookie we built from our own ASCII tokens is always a valid header value.
    HeaderValue::from_str(&c.encoded().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The value of cookie `name` in the request, if it is there exactly once (two cookies of one
/// name mean one was planted: use neither).
pub(crate) fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for value in headers.get_all(COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse_encoded(text.to_owned()).flatten() {
            if c.name() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(c.value().to_owned());
            }
        }
    }
    found
}

pub(crate) fn append(headers: &mut HeaderMap, value: HeaderValue) {
    if !value.is_empty() {
        headers.append(SET_COOKIE, value);
    }
}
