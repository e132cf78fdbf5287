//! 「パスワードをお忘れですか？」 and 「ユーザ名をお忘れですか？」 (DOMAIN §3.8, §3.9).
//!
//! The request only queues a job holding what was typed, whatever it was: the page, the time it
//! takes and the rows written are the same for a known user name, an unknown one, a mistyped
//! address. The job (in the worker) looks the user up and, only if it finds one, issues a token
//! and queues the mail to the registered address. Nothing is ever mailed to an address the
//! requester typed unless it is the registered one.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use serde_json::json;
use teikyo_domain::account::LoginId;
use teikyo_domain::{FacilityCode, InsuranceCode};
use teikyo_mail::MailTemplates;
use teikyo_mail::catalogue::{LoginIdReminder, PasswordChanged, PasswordReset};
use teikyo_store::{AuditEvent, NewJob, Store, StoreError, TokenPurpose, User, UserId};
use teikyo_worker::{Handler, HandlerResult, JobContext, JobError};

use crate::token::new_token;

pub const RESET_REQUEST_JOB: &str = "account.password_reset_request";
pub const LOGIN_ID_REQUEST_JOB: &str = "account.login_id_request";

/// How long a reset link works. Short: it is a credential in a mailbox.
pub const RESET_VALID: Duration = Duration::minutes(60);
/// At most this many reset mails per user per hour, so that nobody can flood a mailbox with
/// requests for someone else's user name.
pub const RESET_MAILS_PER_HOUR: u64 = 5;

/// Longest input kept from a form field; more is not a user name or an address.
const MAX_TYPED: usize = 254;

/// Paths of the pages the mails link to (routed by the web layer).
pub const RESET_LINK_PREFIX: &str = "/r/";
pub const SETUP_LINK_PREFIX: &str = "/s/";
pub const LOGIN_PATH: &str = "/login";
pub const FORGOT_PASSWORD_PATH: &str = "/password/forgot";

fn clip(s: &str) -> String {
    s.trim().chars().take(MAX_TYPED).collect()
}

/// Queues a reset request for a typed user name or registered e-mail address.
pub async fn request_password_reset(store: &Store, typed: &str) -> Result<(), StoreError> {
    let job = NewJob::new(RESET_REQUEST_JOB, json!({ "typed": clip(typed) }));
    store.jobs().enqueue(&job).await?;
    Ok(())
}

/// Queues a 「ユーザ名をお忘れですか？」 request: a 医療機関コード (10 digits) or 機関コード, and
/// the e-mail address the requester believes is registered.
pub async fn request_login_ids(
    store: &Store,
    facility_code: &str,
    email: &str,
) -> Result<(), StoreError> {
    let job = NewJob::new(
        LOGIN_ID_REQUEST_JOB,
        json!({ "code": clip(facility_code), "email": clip(email) }),
    );
    store.jobs().enqueue(&job).await?;
    Ok(())
}

/// The worker side of both requests.
#[derive(Clone)]
pub struct Recovery {
    templates: Arc<MailTemplates>,
}

impl Recovery {
    pub fn new(templates: Arc<MailTemplates>) -> Self {
        Self { templates }
    }

    /// The two job handlers, to register with the worker.
    pub fn handlers(&self) -> Vec<Arc<dyn Handler>> {
        vec![
            Arc::new(ResetHandler(self.clone())),
            Arc::new(LoginIdHandler(self.clone())),
        ]
    }

    /// Users a typed reset request names: by user name, or — the seeds' most common trouble
    /// being a mistyped ID (S0 Q3) — by the registered address.
    async fn users_named(&self, store: &Store, typed: &str) -> Result<Vec<User>, StoreError> {
        if let Ok(id) = LoginId::parse(typed)
            && let Some(user) = store.users().find_by_login_id(&id).await?
        {
            return Ok(vec![user]);
        }
        if typed.contains('@') {
            return store.users().find_by_email(typed).await;
        }
        Ok(Vec::new())
    }

    /// Issues a reset token and queues the mail; returns how many mails were queued.
    pub async fn reset(
        &self,
        store: &Store,
        typed: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, RecoveryError> {
        let users = self.users_named(store, typed).await?;
        let mut sent = 0;
        for user in users.iter().filter(|u| u.active) {
            let recent = store
                .tokens()
                .count_issued_since(
                    user.id,
                    TokenPurpose::PasswordReset,
                    now - Duration::hours(1),
                )
                .await?;
            if recent >= RESET_MAILS_PER_HOUR {
                audit(
                    store,
                    Some(user.id),
                    "account.password_reset_throttled",
                    now,
                )
                .await?;
                continue;
            }
            let token = new_token();
            store
                .tokens()
                .issue(
                    &token.hash,
                    TokenPurpose::PasswordReset,
                    Some(user.id),
                    None,
                    now,
                    RESET_VALID,
                )
                .await?;
            let content = PasswordReset {
                login_id: user.login_id.as_str().to_owned(),
                reset_url: self
                    .templates
                    .link(&format!("{RESET_LINK_PREFIX}{}", token.plain)),
                expires_minutes: u32::try_from(RESET_VALID.num_minutes()).unwrap_or(60),
            };
            let user_ref = user.id.to_string();
            let mail = self.templates.compose(
                &user.email,
                &content,
                Some(("user", user_ref.as_str())),
                None,
            )?;
            let tx = store.begin().await?;
            tx.queue_mail(&mail).await?;
            tx.commit().await?;
            audit(store, Some(user.id), "account.password_reset_mailed", now).await?;
            sent += 1;
        }
        if users.is_empty() {
            audit(store, None, "account.password_reset_unknown", now).await?;
        }
        Ok(sent)
    }

    /// Mails the user names registered with `email` for the facility `code` names, to that
    /// address only; returns how many mails were queued (0 or 1).
    pub async fn login_ids(
        &self,
        store: &Store,
        code: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, RecoveryError> {
        // Both are 10 digits and people mix them up (DOMAIN §3.3): look the code up as either.
        let mut facilities = Vec::new();
        if let Ok(code) = InsuranceCode::parse(code) {
            facilities.extend(store.facilities().find_by_insurance_code(&code).await?);
        }
        if let Ok(code) = FacilityCode::parse(code) {
            facilities.extend(store.facilities().find_by_facility_code(&code).await?);
        }
        facilities.dedup_by_key(|f| f.id);
        let wanted = email.trim().to_ascii_lowercase();
        for facility in &facilities {
            let users: Vec<User> = store
                .users()
                .of_facility(facility.id.0)
                .await?
                .into_iter()
                .filter(|u| u.active && u.email.to_ascii_lowercase() == wanted)
                .collect();
            let Some(first) = users.first() else {
                continue;
            };
            let content = LoginIdReminder {
                facility_name: facility.record.names.official.clone(),
                login_ids: users
                    .iter()
                    .map(|u| u.login_id.as_str().to_owned())
                    .collect(),
                login_url: self.templates.link(LOGIN_PATH),
                reset_url: self.templates.link(FORGOT_PASSWORD_PATH),
            };
            let mail = self.templates.compose(
                &first.email,
                &content,
                Some(("facility", &facility.id.0.to_string())),
                Some(facility.id.0),
            )?;
            let tx = store.begin().await?;
            tx.queue_mail(&mail).await?;
            tx.commit().await?;
            audit(store, Some(first.id), "account.login_id_mailed", now).await?;
            return Ok(1);
        }
        audit(store, None, "account.login_id_unmatched", now).await?;
        Ok(0)
    }
}

/// パスワード設定のお知らせ (§3.13): after a password was set from a link, the registered
/// address is told when — in a group mailbox a colleague may have done it, and if nobody did,
/// the mail says what to do. Nothing is sent to a user without an address.
pub async fn notify_password_changed(
    store: &Store,
    templates: &MailTemplates,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), RecoveryError> {
    let Some(u) = store.users().get(user).await? else {
        return Ok(());
    };
    if u.email.trim().is_empty() {
        return Ok(());
    }
    let mail = templates.compose(
        &u.email,
        &PasswordChanged {
            login_id: u.login_id.as_str().to_owned(),
            changed_at: crate::login::tokyo(now),
            reset_url: templates.link(FORGOT_PASSWORD_PATH),
        },
        Some(("user", &user.to_string())),
        None,
    )?;
    let tx = store.begin().await?;
    tx.queue_mail(&mail).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mail template failed: {0}")]
    Template(#[from] teikyo_mail::TemplateError),
}

impl From<RecoveryError> for JobError {
    fn from(e: RecoveryError) -> Self {
        match e {
            // The database may come back; a template that fails will fail again.
            RecoveryError::Store(e) => JobError::Retry(e.to_string()),
            RecoveryError::Template(e) => JobError::Permanent(e.to_string()),
        }
    }
}

async fn audit(
    store: &Store,
    user: Option<UserId>,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .audit()
        .record(
            &match user {
                Some(u) => AuditEvent::new(action, None).on("user", u),
                None => AuditEvent::new(action, None),
            },
            now,
        )
        .await
}

struct ResetHandler(Recovery);
struct LoginIdHandler(Recovery);

impl Handler for ResetHandler {
    fn kind(&self) -> &'static str {
        RESET_REQUEST_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let typed = ctx.job.payload["typed"].as_str().unwrap_or_default();
            let sent = self.0.reset(ctx.store, typed, Utc::now()).await?;
            Ok(Some(json!({ "mails": sent })))
        })
    }
}

impl Handler for LoginIdHandler {
    fn kind(&self) -> &'static str {
        LOGIN_ID_REQUEST_JOB
    }

    fn run<'a>(&'a self, ctx: JobContext<'a>) -> BoxFuture<'a, HandlerResult> {
        Box::pin(async move {
            let code = ctx.job.payload["code"].as_str().unwrap_or_default();
            let email = ctx.job.payload["email"].as_str().unwrap_or_default();
            let sent = self.0.login_ids(ctx.store, code, email, Utc::now()).await?;
            Ok(Some(json!({ "mails": sent })))
        })
    }
}
