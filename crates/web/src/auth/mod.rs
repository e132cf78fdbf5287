//! Who is asking, and may they: the session behind the cookie, CSRF on every state change, and
//! the per-route [`Rule`] checked before any handler runs.
//!
//! Every routed page gets one [`guard`] layer with its rule (see `crate::routes`): it resumes
//! the session, checks the CSRF token of a POST, then the rule. A handler therefore never sees a
//! request its rule refuses; resource-level checks (this facility, that prefecture) are the
//! handler's, through the [`Principal`]'s `Access`.

pub(crate) mod cookies;
pub use cookies::session_cookie_name;
pub(crate) mod csrf;
pub(crate) mod limit;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use teikyo_domain::account::Access;
use teikyo_store::User;

use crate::config::MfaPolicy;
use crate::error::WebError;
use crate::state::AppState;
use cookies::Names;
use csrf::CsrfToken;

/// Who may use a route. Every route has exactly one (the authorisation matrix test walks them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Probes and static files: no session, no cookies.
    Machine,
    /// A machine API with its own bearer token: no session, no CSRF cookie.
    Bearer,
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Prefecture staff (any level, any area) or the operator; the handler narrows to scope.
    Staff,
    /// The national operator only.
    Operator,
}

impl Rule {
    fn allows(self, who: Option<&Principal>) -> Verdict {
        match (self, who) {
            (Self::Machine | Self::Bearer | Self::Public, _) => Verdict::Allow,
            (_, None) => Verdict::SignIn,
            (Self::SignedIn, Some(_)) => Verdict::Allow,
            (Self::Staff, Some(p)) if p.is_staff() => Verdict::Allow,
            (Self::Operator, Some(p)) if p.access.is_operator() => Verdict::Allow,
            (Self::Staff | Self::Operator, Some(_)) => Verdict::Forbid,
        }
    }
}

enum Verdict {
    Allow,
    SignIn,
    Forbid,
    /// Signed in, but the policy requires a second factor this user has not set up.
    SetUpMfa,
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    pub(crate) user: User,
    pub(crate) access: Access,
}

impl Principal {
    /// Prefecture staff of some prefecture, or the operator.
    pub(crate) fn is_staff(&self) -> bool {
        self.access
            .staff_prefectures()
            .is_none_or(|list| !list.is_empty())
    }

    /// Whether the policy requires a second factor of this user.
    pub(crate) fn mfa_required(&self, policy: MfaPolicy) -> bool {
        if self.is_staff() {
            policy.staff
        } else {
            policy.facility
        }
    }

    /// Required but not set up yet: only the set-up pages and logout are open.
    pub(crate) fn must_set_up_mfa(&self, policy: MfaPolicy) -> bool {
        self.user.mfa_enabled_at.is_none() && self.mfa_required(policy)
    }
}

/// The session id the request came with, when it opened a session (for logout and rotation).
#[derive(Debug, Clone)]
pub(crate) struct SessionId(pub(crate) String);

/// The rule of one route, with what the guard needs.
#[derive(Clone)]
pub(crate) struct Guarded {
    pub(crate) state: AppState,
    pub(crate) rule: Rule,
    /// Open to a signed-in user who must still set up the second factor (its own pages,
    /// logout).
    pub(crate) before_mfa: bool,
}

/// The per-route middleware: session → CSRF → rule.
pub(crate) async fn guard(State(g): State<Guarded>, req: Request, next: Next) -> Response {
    match g.rule {
        Rule::Machine | Rule::Bearer => return next.run(req).await,
        _ => {}
    }
    let config = g.state.config();
    let names = Names::of(config);
    let mut set_cookies = Vec::new();

    // The session.
    let session = cookies::get(req.headers(), names.session);
    let principal = match &session {
        Some(plain) => match load(&g.state, plain).await {
            Ok(found) => found,
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    if principal.is_none() && session.is_some() {
        // Ended or unknown: drop it, so the browser stops presenting it.
        set_cookies.push(names.session_removal());
    }
    let session = session.filter(|_| principal.is_some());

    // The CSRF secret; a browser without one gets one now (its first POST cannot be valid
    // anyway, as it never saw a form).
    let secret = cookies::get(req.headers(), names.csrf).filter(|s| csrf_secret_ok(s));
    let secret = match secret {
        Some(s) => s,
        None => {
            let fresh = teikyo_account::new_token_of(32).plain;
            set_cookies.push(names.csrf_cookie(&fresh));
            if is_unsafe(req.method()) {
                return with_cookies(csrf_refused(), set_cookies);
            }
            fresh
        }
    };
    let token = csrf::token(&secret, session.as_deref());
    let mut req = req;
    if is_unsafe(req.method()) {
        req = match csrf::check(req, &token, config.body_limit_bytes).await {
            Ok(req) => req,
            Err(csrf::Refusal) => return with_cookies(csrf_refused(), set_cookies),
        };
    }

    let mut verdict = g.rule.allows(principal.as_ref());
    if matches!(verdict, Verdict::Allow)
        && !g.before_mfa
        && g.rule != Rule::Public
        && principal
            .as_ref()
            .is_some_and(|p| p.must_set_up_mfa(config.mfa))
    {
        verdict = Verdict::SetUpMfa;
    }
    req.extensions_mut().insert(CsrfToken(token));
    if let Some(p) = principal {
        req.extensions_mut().insert(Arc::new(p));
    }
    if let Some(s) = session {
        req.extensions_mut().insert(SessionId(s));
    }
    let res = match verdict {
        Verdict::Allow => next.run(req).await,
        Verdict::SignIn => sign_in_first(&req),
        Verdict::Forbid => WebError::Forbidden.into_response(),
        // A GET goes to the set-up page; a POST cannot be replayed after it.
        Verdict::SetUpMfa => Redirect::to("/account/mfa?required=1").into_response(),
    };
    with_cookies(res, set_cookies)
}

async fn load(state: &AppState, plain: &str) -> Result<Option<Principal>, WebError> {
    let store = state.store();
    let policy = state.config().session;
    let Some(user_id) = teikyo_account::session::resume(store, plain, Utc::now(), policy).await?
    else {
        return Ok(None);
    };
    let Some(user) = store.users().get(user_id).await? else {
        return Ok(None);
    };
    if !user.active {
        return Ok(None);
    }
    let access = store.users().access(user_id).await?;
    Ok(Some(Principal { user, access }))
}

fn csrf_secret_ok(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_refused() -> Response {
    WebError::CsrfRefused.into_response()
}

fn with_cookies(mut res: Response, set: Vec<axum::http::HeaderValue>) -> Response {
    for c in set {
        cookies::append(res.headers_mut(), c);
    }
    res
}

/// Anonymous request for a page that needs a login: to the login page, and back here after
/// (S0 Q20: bookmarks of inner pages must work). A POST cannot be replayed: back to the login.
fn sign_in_first(req: &Request) -> Response {
    if req.method() != Method::GET {
        return Redirect::to("/login").into_response();
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// A `next` parameter that is safe to redirect to: a path on this site, not `//evil.example`.
pub(crate) fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2000;
    ok.then(|| next.to_owned())
}

/// The signed-in user; routes whose rule is not `Public` always have one.
pub(crate) struct SignedIn(pub(crate) Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<Principal>>()
            .cloned()
            .map(SignedIn)
            .ok_or_else(|| Redirect::to("/login").into_response())
    }
}

/// The signed-in user, if any (public pages that greet a signed-in user differently).
pub(crate) struct MaybeSignedIn(pub(crate) Option<Arc<Principal>>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeSignedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Arc<Principal>>().cloned()))
    }
}

/// The CSRF token for this request's forms.
pub(crate) struct Csrf(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Csrf {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| Csrf(t.0.clone()))
            .ok_or_else(|| {
                // Only a route without the guard layer lacks one: a wiring mistake.
                tracing::error!("form page routed without the guard layer");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/mail/log?page=2")).as_deref(),
            Some("/mail/log?page=2")
        );
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("")), None);
        assert_eq!(safe_next(None), None);
    }
}
