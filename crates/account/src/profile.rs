//! ユーザ基礎情報 (DOMAIN §3.10): 姓, 名, 電話, 内線, Fax, 担当部署 are edited directly; the
//! address changes only when the new address confirms it (a single-use link mailed there), and
//! the old address is then told — the seeds' mail problems all start with an address nobody
//! reads. The prefecture can change an address on request (support tools); that is told to the
//! old address too.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use teikyo_mail::MailTemplates;
use teikyo_mail::catalogue::{EmailChangeConfirmation, EmailChanged};
use teikyo_store::{AuditEvent, Profile, Store, StoreError, TokenPurpose, TokenState, UserId};

use crate::token::{hash_token, new_token};
use teikyo_domain::text::is_email;

pub const EMAIL_CONFIRM_VALID: Duration = Duration::hours(24);
pub const EMAIL_LINK_PREFIX: &str = "/e/";
const MAX_FIELD: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}を入力してください。")]
    Required(&'static str),
    #[error("{0}は{MAX_FIELD}文字以内で入力してください。")]
    TooLong(&'static str),
    #[error(
        "メールアドレスの形式が正しくありません。「tanto@example.jp」のように入力してください。"
    )]
    Email,
    #[error("現在と同じメールアドレスです。")]
    SameEmail,
    #[error("このリンクは{}に使用済みです。", crate::login::tokyo(*.0))]
    Used(DateTime<Utc>),
    #[error(
        "このリンクの有効期限が過ぎています。お手数ですが、もう一度メールアドレスの変更をお申し込みください。"
    )]
    Expired,
    #[error(
        "このリンクは無効です。メールに記載のリンクを、途中で切れていないかご確認のうえ開いてください。"
    )]
    Unknown,
    #[error("メールを作成できませんでした: {0}")]
    Template(#[from] teikyo_mail::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProfileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Required(_) => "profile.required",
            Self::TooLong(_) => "profile.too_long",
            Self::Email => "profile.email",
            Self::SameEmail => "profile.same_email",
            Self::Used(_) => "profile.link.used",
            Self::Expired => "profile.link.expired",
            Self::Unknown => "profile.link.unknown",
            Self::Template(_) => "profile.template",
            Self::Store(_) => "profile.store",
        }
    }
}

fn clean(v: &str, label: &'static str, required: bool) -> Result<Option<String>, ProfileError> {
    let v = v.trim();
    if v.is_empty() {
        return if required {
            Err(ProfileError::Required(label))
        } else {
            Ok(None)
        };
    }
    if v.chars().count() > MAX_FIELD || v.chars().any(char::is_control) {
        return Err(ProfileError::TooLong(label));
    }
    Ok(Some(v.to_owned()))
}

/// The form as typed (and as posted: the field names are the form's).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ProfileForm {
    pub family_name: String,
    pub given_name: String,
    pub phone: String,
    pub extension: String,
    pub fax: String,
    pub department: String,
}

impl ProfileForm {
    /// The form filled with what is stored.
    pub fn of(u: &teikyo_store::User) -> Self {
        Self {
            family_name: u.family_name.clone(),
            given_name: u.given_name.clone(),
            phone: u.phone.clone().unwrap_or_default(),
            extension: u.extension.clone().unwrap_or_default(),
            fax: u.fax.clone().unwrap_or_default(),
            department: u.department.clone().unwrap_or_default(),
        }
    }
}

/// Checks and saves the editable fields; every problem is returned, by field name.
pub async fn update(
    store: &Store,
    user: UserId,
    f: &ProfileForm,
    now: DateTime<Utc>,
) -> Result<Result<(), Vec<(&'static str, String)>>, StoreError> {
    let mut errors = Vec::new();
    let mut take =
        |name: &'static str, label: &'static str, v: &str, req: bool| match clean(v, label, req) {
            Ok(v) => v,
            Err(e) => {
                errors.push((name, e.to_string()));
                None
            }
        };
    let profile = Profile {
        family_name: take("family_name", "姓", &f.family_name, true).unwrap_or_default(),
        given_name: take("given_name", "名", &f.given_name, true).unwrap_or_default(),
        phone: take("phone", "電話", &f.phone, false),
        extension: take("extension", "内線", &f.extension, false),
        fax: take("fax", "Fax", &f.fax, false),
        department: take("department", "担当部署", &f.department, false),
    };
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    store.users().update_profile(user, &profile).await?;
    audit(store, Some(user), user, "account.profile_updated", now).await?;
    Ok(Ok(()))
}

/// Mails a confirmation link to the new address; nothing changes until it is used.
pub async fn request_email_change(
    store: &Store,
    templates: &Arc<MailTemplates>,
    user: UserId,
    new_email: &str,
    now: DateTime<Utc>,
) -> Result<(), ProfileError> {
    let new_email = new_email.trim();
    if !is_email(new_email) {
        return Err(ProfileError::Email);
    }
    let Some(u) = store.users().get(user).await? else {
        return Err(ProfileError::Unknown);
    };
    if u.email.eq_ignore_ascii_case(new_email) {
        return Err(ProfileError::SameEmail);
    }
    let token = new_token();
    store
        .tokens()
        .issue(
            &token.hash,
            TokenPurpose::EmailConfirmation,
            Some(user),
            Some(new_email),
            now,
            EMAIL_CONFIRM_VALID,
        )
        .await?;
    let mail = templates.compose(
        new_email,
        &EmailChangeConfirmation {
            login_id: u.login_id.as_str().to_owned(),
            confirm_url: templates.link(&format!("{EMAIL_LINK_PREFIX}{}", token.plain)),
            expires_hours: u32::try_from(EMAIL_CONFIRM_VALID.num_hours()).unwrap_or(24),
        },
        Some(("user", &user.to_string())),
        None,
    )?;
    let tx = store.begin().await?;
    tx.queue_mail(&mail).await?;
    tx.commit().await?;
    audit(
        store,
        Some(user),
        user,
        "account.email_change_requested",
        now,
    )
    .await?;
    Ok(())
}

/// What a confirmation link is about (the GET shows it; only the POST uses it).
pub async fn inspect_email_link(
    store: &Store,
    plain: &str,
    now: DateTime<Utc>,
) -> Result<(UserId, String), ProfileError> {
    match store
        .tokens()
        .state(&hash_token(plain), TokenPurpose::EmailConfirmation, now)
        .await?
    {
        TokenState::Valid {
            user: Some(u),
            subject: Some(email),
        } => Ok((u, email)),
        TokenState::Used(at) => Err(ProfileError::Used(at)),
        TokenState::Expired(_) | TokenState::Replaced(_) => Err(ProfileError::Expired),
        _ => Err(ProfileError::Unknown),
    }
}

/// Uses a confirmation link: the address changes and the old one is told.
pub async fn confirm_email_change(
    store: &Store,
    templates: &Arc<MailTemplates>,
    plain: &str,
    now: DateTime<Utc>,
) -> Result<String, ProfileError> {
    let (user, email) = match store
        .tokens()
        .consume(&hash_token(plain), TokenPurpose::EmailConfirmation, now)
        .await?
    {
        TokenState::Valid {
            user: Some(u),
            subject: Some(email),
        } => (u, email),
        TokenState::Used(at) => return Err(ProfileError::Used(at)),
        TokenState::Expired(_) | TokenState::Replaced(_) => return Err(ProfileError::Expired),
        _ => return Err(ProfileError::Unknown),
    };
    change_email(store, templates, user, &email, None, now).await?;
    Ok(email)
}

/// Sets the address and tells the old one. `by`: the prefecture staff member who changed it on
/// the facility's request (support tools); `None` when the user confirmed it.
pub async fn change_email(
    store: &Store,
    templates: &Arc<MailTemplates>,
    user: UserId,
    new_email: &str,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), ProfileError> {
    if !is_email(new_email) {
        return Err(ProfileError::Email);
    }
    let Some(u) = store.users().get(user).await? else {
        return Err(ProfileError::Unknown);
    };
    store.users().set_email(user, new_email).await?;
    if !u.email.is_empty() && !u.email.eq_ignore_ascii_case(new_email) {
        let mail = templates.compose(
            &u.email,
            &EmailChanged {
                login_id: u.login_id.as_str().to_owned(),
                new_address_masked: mask(new_email),
                changed_by_prefecture: by.is_some(),
            },
            Some(("user", &user.to_string())),
            None,
        )?;
        let tx = store.begin().await?;
        tx.queue_mail(&mail).await?;
        tx.commit().await?;
    }
    audit(store, by.or(Some(user)), user, "account.email_changed", now).await?;
    Ok(())
}

/// `tanto@clinic.example.jp` → `ta***@clinic.example.jp`: enough to recognise, not to harvest.
pub fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let shown: String = local.chars().take(2).collect();
            format!("{shown}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

async fn audit(
    store: &Store,
    actor: Option<UserId>,
    user: UserId,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .audit()
        .record(&AuditEvent::new(action, actor).on("user", user), now)
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_two_letters_and_the_domain() {
        assert_eq!(
            super::mask("tanto@clinic.example.jp"),
            "ta***@clinic.example.jp"
        );
        assert_eq!(super::mask("a@b.jp"), "a***@b.jp");
    }
}
