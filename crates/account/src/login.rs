//! Login by user name and password, with the lockout of the store, and setting a password.
//!
//! Every failure that does not depend on the password reads the same (「ユーザ名またはパスワードが
//! 正しくありません。」) and costs the same argon2 work and one audit write, so that neither the
//! page nor its timing tells whether a user name exists. The lock message is the exception: the
//! issue asks that it says until when. argon2 runs on the blocking pool, not on the async
//! workers. Not yet: a count of failures per unknown name (today only known names lock), and a
//! limit on concurrent argon2 runs; both belong with the rate limits of the web layer.

use crate::mfa::Verified;
use crate::password::{burn_time, hash_password, verify_password};
use crate::token::{NewToken, hash_token, new_token};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use teikyo_domain::account::{AccountError, LoginId, check_password};
use teikyo_store::{AuditEvent, Store, StoreError, TokenPurpose, TokenState, UserId};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(
        "ユーザ名またはパスワードが正しくありません。全角・半角や大文字・小文字の違いは区別しません。"
    )]
    Invalid,
    #[error(
        "パスワードを続けて間違えたため、{}までログインできません。時間をおいてお試しいただくか、「パスワードをお忘れですか？」から再設定してください。",
        tokyo(*until)
    )]
    Locked { until: DateTime<Utc> },
    #[error(
        "このユーザ名は現在ご利用いただけません。ご利用を再開するには、管理者にお問い合わせください。"
    )]
    Disabled,
    #[error(transparent)]
    Password(#[from] AccountError),
    #[error("パスワードを保存できませんでした。しばらくしてからお試しください。")]
    Hashing(String),
    /// The step between password and second factor took too long, or was finished elsewhere.
    #[error(
        "ログインの途中で時間が経ったため、最初からやり直してください。ユーザ名とパスワードをもう一度入力してください。"
    )]
    SecondFactorExpired,
    #[error(transparent)]
    Mfa(#[from] crate::mfa::MfaError),
    #[error("ログインの処理に失敗しました。しばらくしてからお試しください。")]
    Store(#[from] StoreError),
}

impl LoginError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "account.login.invalid",
            Self::Locked { .. } => "account.login.locked",
            Self::Disabled => "account.login.disabled",
            Self::Password(e) => e.code(),
            Self::Hashing(_) => "account.hashing",
            Self::SecondFactorExpired => "account.login.second_factor_expired",
            Self::Mfa(e) => e.code(),
            Self::Store(_) => "account.store",
        }
    }
}

/// 「11月21日 18時35分」 in Japan time.
pub(crate) fn tokyo(t: DateTime<Utc>) -> String {
    let jst = FixedOffset::east_opt(9 * 3600).map(|o| t.with_timezone(&o));
    match jst {
        Some(t) => t.format("%-m月%-d日 %-H時%M分").to_string(),
        None => t.to_rfc3339(),
    }
}

/// What a correct password leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Signed in: start a session.
    Done { user: UserId },
    /// The user has a second factor: the login finishes with [`second_factor`], which the
    /// browser proves it started by presenting `pending` (a single-use token, valid for
    /// [`SECOND_FACTOR_VALID`]).
    SecondFactor { user: UserId, pending: NewToken },
}

impl LoginOutcome {
    /// Whose password it was.
    pub fn user(&self) -> UserId {
        match self {
            Self::Done { user } | Self::SecondFactor { user, .. } => *user,
        }
    }
}

/// Time to open the authenticator app and type a code.
pub const SECOND_FACTOR_VALID: Duration = Duration::minutes(10);

fn event(actor: Option<UserId>, action: &str, login_id: &str) -> AuditEvent {
    AuditEvent::new(action, actor).on("login_id", login_id)
}

pub async fn login(
    store: &Store,
    typed_login_id: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, LoginError> {
    let Ok(login_id) = LoginId::parse(typed_login_id) else {
        burn_time(password).await;
        return Err(LoginError::Invalid);
    };
    let audit = store.audit();
    let audit = &audit;
    let note = |actor: Option<UserId>, action: &'static str| {
        let e = event(actor, action, login_id.as_str());
        async move { audit.record(&e, now).await }
    };
    let users = store.users();
    let Some(user) = users.find_by_login_id(&login_id).await? else {
        // The same argon2 work and a write, like a known user's failure: neither the answer nor
        // its timing tells whether the name exists.
        burn_time(password).await;
        note(None, "account.login_unknown").await?;
        return Err(LoginError::Invalid);
    };
    // Counted before the check, so parallel guesses share the ten attempts.
    if !users.reserve_login_attempt(user.id, now).await? {
        burn_time(password).await;
        note(Some(user.id), "account.login_refused_locked").await?;
        return Err(
            match users.get(user.id).await?.and_then(|u| u.locked_at(now)) {
                Some(until) => LoginError::Locked { until },
                None => LoginError::Invalid,
            },
        );
    }
    let matches = match &user.password_hash {
        Some(hash) => verify_password(hash.clone(), password.to_owned()).await,
        None => {
            burn_time(password).await;
            false
        }
    };
    if !matches {
        let lock = users.record_failed_login(user.id, now).await?;
        let action = if lock.is_some() {
            "account.locked"
        } else {
            "account.login_failed"
        };
        note(Some(user.id), action).await?;
        return Err(match lock {
            Some(until) => LoginError::Locked { until },
            None => LoginError::Invalid,
        });
    }
    if !user.active {
        note(Some(user.id), "account.login_disabled").await?;
        return Err(LoginError::Disabled);
    }
    if user.mfa_enabled_at.is_some() {
        // The reserved attempt stays counted until the second factor succeeds: a stolen
        // password gives no more code guesses than the lockout allows.
        let pending = start_second_factor(store, user.id, now).await?;
        note(Some(user.id), "account.login_password_ok").await?;
        return Ok(LoginOutcome::SecondFactor {
            user: user.id,
            pending,
        });
    }
    finish(store, user.id, now).await?;
    note(Some(user.id), "account.login").await?;
    Ok(LoginOutcome::Done { user: user.id })
}

/// Opens the code step for `user`: after a correct password, and after a password set from a
/// mailed link (the mailbox alone must not bypass the second factor).
pub async fn start_second_factor(
    store: &Store,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<NewToken, StoreError> {
    let pending = new_token();
    store
        .tokens()
        .issue(
            &pending.hash,
            TokenPurpose::MfaLogin,
            Some(user),
            None,
            now,
            SECOND_FACTOR_VALID,
        )
        .await?;
    Ok(pending)
}

async fn finish(store: &Store, user: UserId, now: DateTime<Utc>) -> Result<(), LoginError> {
    let users = store.users();
    if !users.record_login(user, now).await? {
        // A parallel wrong guess locked the account while this check ran.
        let until = users
            .get(user)
            .await?
            .and_then(|u| u.locked_at(now))
            .unwrap_or(now);
        return Err(LoginError::Locked { until });
    }
    Ok(())
}

/// The user a pending second-factor step belongs to, if it is still open (the GET of the code
/// page).
pub async fn pending_second_factor(
    store: &Store,
    pending_plain: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserId>, LoginError> {
    if !crate::token::is_plausible_token(pending_plain) {
        return Ok(None);
    }
    Ok(
        match store
            .tokens()
            .state(&hash_token(pending_plain), TokenPurpose::MfaLogin, now)
            .await?
        {
            TokenState::Valid { user, .. } => user,
            _ => None,
        },
    )
}

/// The second step of a login: a code from the authenticator app or a recovery code. Wrong
/// codes count towards the same lockout as wrong passwords.
pub async fn second_factor(
    store: &Store,
    pending_plain: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(UserId, Verified), LoginError> {
    let Some(user_id) = pending_second_factor(store, pending_plain, now).await? else {
        return Err(LoginError::SecondFactorExpired);
    };
    let users = store.users();
    let Some(user) = users.get(user_id).await? else {
        return Err(LoginError::SecondFactorExpired);
    };
    let login_id = user.login_id.as_str().to_owned();
    let note = |action: &'static str| {
        let e = event(Some(user_id), action, &login_id);
        async move { store.audit().record(&e, now).await }
    };
    if !user.active {
        note("account.login_disabled").await?;
        return Err(LoginError::Disabled);
    }
    if !users.reserve_login_attempt(user_id, now).await? {
        note("account.login_refused_locked").await?;
        return Err(
            match users.get(user_id).await?.and_then(|u| u.locked_at(now)) {
                Some(until) => LoginError::Locked { until },
                None => LoginError::Mfa(crate::mfa::MfaError::WrongCode),
            },
        );
    }
    let verified = match crate::mfa::verify(store, &user, code, now).await {
        Ok(v) => v,
        Err(crate::mfa::MfaError::WrongCode) => {
            let lock = users.record_failed_login(user_id, now).await?;
            note(if lock.is_some() {
                "account.locked"
            } else {
                "account.mfa_failed"
            })
            .await?;
            return Err(match lock {
                Some(until) => LoginError::Locked { until },
                None => LoginError::Mfa(crate::mfa::MfaError::WrongCode),
            });
        }
        // The second factor was removed meanwhile (support, or the user elsewhere): start again.
        Err(crate::mfa::MfaError::NotStarted) => return Err(LoginError::SecondFactorExpired),
        Err(e) => return Err(e.into()),
    };
    // Single use: a second submission of the same step (another tab) must start again.
    match store
        .tokens()
        .consume(&hash_token(pending_plain), TokenPurpose::MfaLogin, now)
        .await?
    {
        TokenState::Valid { .. } => {}
        _ => return Err(LoginError::SecondFactorExpired),
    }
    finish(store, user_id, now).await?;
    note("account.login").await?;
    Ok((user_id, verified))
}

/// Sets a new password (first setting or reset): checks the seed's rule, stores the hash, ends
/// every session of the user (someone else may have known the old one), and audits it.
pub async fn set_password(
    store: &Store,
    user: UserId,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), LoginError> {
    check_password(password)?;
    let hash = hash_password(password.to_owned()).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        LoginError::Hashing(e)
    })?;
    // Sessions end first: if storing the hash then fails, the worst case is a new login.
    store.sessions().revoke_all(user).await?;
    store.users().set_password_hash(user, &hash).await?;
    store
        .audit()
        .record(
            &AuditEvent::new("account.password_set", Some(user)).on("user", user),
            now,
        )
        .await?;
    Ok(())
}

/// Why a password link did not set a password.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The seeds' group-mailbox case: say when, and offer a new link.
    #[error("このリンクは{}に使用済みです。新しいリンクをお受け取りのうえ、もう一度お手続きください。", tokyo(*.0))]
    Used(DateTime<Utc>),
    #[error("このリンクの有効期限（{}）が過ぎています。新しいリンクをお受け取りのうえ、もう一度お手続きください。", tokyo(*.0))]
    Expired(DateTime<Utc>),
    /// 「再送信」 or a re-issue made a newer link: say so, so the user looks for the newest mail.
    #[error("{}に新しいリンクをお送りしたため、このリンクは使えなくなりました。最も新しいメールのリンクを開いてください。", tokyo(*.0))]
    Replaced(DateTime<Utc>),
    #[error(
        "このリンクは無効です。メールに記載のリンクを、途中で切れていないかご確認のうえ開いてください。"
    )]
    Unknown,
    #[error(transparent)]
    Login(#[from] LoginError),
}

impl LinkError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Used(_) => "account.link.used",
            Self::Expired(_) => "account.link.expired",
            Self::Replaced(_) => "account.link.replaced",
            Self::Unknown => "account.link.unknown",
            Self::Login(e) => e.code(),
        }
    }
}

/// The POST of a password setup or reset link: the rule is checked before the link is used, so
/// a password that breaks it does not burn the link; then the token is consumed (once) and the
/// password set.
pub async fn set_password_with_token(
    store: &Store,
    plain_token: &str,
    purpose: TokenPurpose,
    password: &str,
    now: DateTime<Utc>,
) -> Result<UserId, LinkError> {
    check_password(password).map_err(LoginError::from)?;
    let hash = crate::token::hash_token(plain_token);
    match store
        .tokens()
        .consume(&hash, purpose, now)
        .await
        .map_err(LoginError::from)?
    {
        TokenState::Valid {
            user: Some(user), ..
        } => {
            set_password(store, user, password, now).await?;
            Ok(user)
        }
        TokenState::Valid { user: None, .. } | TokenState::Unknown => Err(LinkError::Unknown),
        TokenState::Used(at) => Err(LinkError::Used(at)),
        TokenState::Expired(at) => Err(LinkError::Expired(at)),
        TokenState::Replaced(at) => Err(LinkError::Replaced(at)),
    }
}

/// The GET of a password setup or reset link: whose link it is, or why it cannot be used. Does
/// not use the link (mail scanners open links too; S0 Q3).
pub async fn inspect_link(
    store: &Store,
    plain_token: &str,
    purpose: TokenPurpose,
    now: DateTime<Utc>,
) -> Result<UserId, LinkError> {
    let hash = crate::token::hash_token(plain_token);
    match store
        .tokens()
        .state(&hash, purpose, now)
        .await
        .map_err(LoginError::from)?
    {
        TokenState::Valid {
            user: Some(user), ..
        } => Ok(user),
        TokenState::Valid { user: None, .. } | TokenState::Unknown => Err(LinkError::Unknown),
        TokenState::Used(at) => Err(LinkError::Used(at)),
        TokenState::Expired(at) => Err(LinkError::Expired(at)),
        TokenState::Replaced(at) => Err(LinkError::Replaced(at)),
    }
}
