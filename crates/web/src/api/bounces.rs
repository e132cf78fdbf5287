//! `POST /mail/bounces`: the MTA pipes each delivery status notification (DSN) that reaches the
//! VERP return path `bounce+<mail id>@…` here, and the mail it names becomes 不達.
//!
//! Machine to machine: the caller is the mail server's pipe (e.g. a Postfix transport running
//! `curl --data-binary @- -H 'Authorization: Bearer …'`), authenticated by a shared bearer token
//! and never by a browser cookie, so CSRF does not apply and the route has no CSRF check.

use std::sync::Arc;

use axum::Json;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde::Serialize;
use subtle::ConstantTimeEq;
use teikyo_mail::bounce::{BounceError, BounceOutcome};

use super::ApiError;
use crate::state::AppState;

/// The route, behind the bearer-token check. The check runs as a layer so that a request without
/// the token is refused before its body is read.
/// `POST /mail/bounces`, behind the bearer token.
pub(crate) fn handler(token: &str) -> MethodRouter<AppState> {
    let token: Arc<[u8]> = Arc::from(token.as_bytes());
    post(receive).route_layer(axum::middleware::from_fn_with_state(token, require_token))
}

async fn require_token(State(token): State<Arc<[u8]>>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| bearer(v.as_bytes()));
    // Constant time, so the comparison does not reveal how much of a guess was right. (The
    // length can still differ in time; it is not secret enough to matter.)
    let ok = given.is_some_and(|g| bool::from(g.ct_eq(&token)));
    if ok {
        next.run(req).await
    } else {
        let message = if given.is_none() {
            "認証トークンがありません。Authorization ヘッダーに「Bearer トークン」を付けて送信してください。"
        } else {
            "認証トークンが正しくありません。設定されたトークンをご確認ください。"
        };
        ApiError::unauthorized(message).into_response()
    }
}

/// The token of `Bearer <token>`; the scheme name is case-insensitive (RFC 7235 §2.1).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

#[derive(Debug, Serialize)]
struct Outcomes {
    outcomes: Vec<OutcomeJson>,
}

#[derive(Debug, Serialize)]
struct OutcomeJson {
    result: &'static str,
    mail_id: Option<i64>,
    message: String,
}

impl OutcomeJson {
    fn of(outcome: &BounceOutcome) -> Self {
        let (result, mail_id) = match outcome {
            BounceOutcome::Bounced { mail_id, .. } => ("bounced", Some(mail_id.0)),
            BounceOutcome::AlreadyBounced { mail_id, .. } => ("already_bounced", Some(mail_id.0)),
            BounceOutcome::Ignored { mail_id, .. } => ("ignored", Some(mail_id.0)),
            BounceOutcome::Unmatched { mail_id, .. } => ("unmatched", mail_id.map(|m| m.0)),
        };
        Self {
            result,
            mail_id,
            message: outcome.to_string(),
        }
    }
}

/// Any content type: MTAs pipe the raw message as whatever their HTTP client defaults to.
async fn receive(State(state): State<AppState>, body: Bytes) -> Result<Json<Outcomes>, ApiError> {
    let outcomes = match teikyo_mail::bounce::process(state.store(), &body).await {
        Ok(outcomes) => outcomes,
        // Auto-replies and other mail reach the bounce address too. Answering with an error
        // would make the MTA bounce them back to their senders (backscatter): accept and say why.
        Err(e @ (BounceError::NotDsn | BounceError::NoRecipients)) => {
            tracing::info!(
                code = e.code(),
                "bounce address: message is not a delivery report"
            );
            return Ok(Json(Outcomes {
                outcomes: vec![OutcomeJson {
                    result: "ignored",
                    mail_id: None,
                    message: e.to_string(),
                }],
            }));
        }
        Err(e) => return Err(from_bounce_error(e)),
    };
    outcomes.iter().for_each(audit);
    Ok(Json(Outcomes {
        outcomes: outcomes.iter().map(OutcomeJson::of).collect(),
    }))
}

/// There is no audit table yet; until then state changes go to the log under target `audit`.
fn audit(outcome: &BounceOutcome) {
    if let BounceOutcome::Bounced {
        mail_id,
        previous_status,
        reply,
        ..
    } = outcome
    {
        tracing::info!(
            target: "audit",
            action = "mail.bounced",
            source = "POST /mail/bounces",
            mail_id = mail_id.0,
            from_status = previous_status.id(),
            to_status = "bounced",
            %reply,
            "mail marked 不達 by a bounce report"
        );
    }
}

fn from_bounce_error(err: BounceError) -> ApiError {
    match err {
        BounceError::Store(_) => {
            tracing::error!(code = err.code(), error = %err, "bounce could not be recorded");
            // The MTA should keep the message and try again; the database detail stays in our log.
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                err.code(),
                "メールの記録を更新できませんでした。しばらくしてから再送してください。",
            )
        }
        BounceError::Unreadable(_) | BounceError::NotDsn | BounceError::NoRecipients => {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                err.code(),
                err.to_string(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_tokens_are_read_with_any_scheme_case() {
        assert_eq!(bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
        assert_eq!(bearer(b"Bearer"), None);
        assert_eq!(bearer(b"Bearerabc"), None);
    }
}
