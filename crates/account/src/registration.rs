//! 新規ユーザ登録申請, steps ②–⑩ (DOMAIN §3.3): the proof-of-work captcha, the 6-digit
//! 認証コード (30 minutes, 5 attempts, at most 5 sends a minute apart), the form with the code and
//! address checks, consent, submission with its 申請番号 and the mails.
//!
//! The applicant has no account: the browser holds a random cookie whose hash is on the
//! application (`applicant_hash`). Before the address is confirmed that cookie only reaches the
//! pages about the address the same browser typed; an abandoned form of that address is handed
//! over only after the code from the mailbox has been entered (`adopt_draft`).

use std::sync::Arc;

use altcha_lib_rs::{Challenge, ChallengeOptions, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use teikyo_domain::registration::{Application, ApplicationForm, ApplicationNumber, FieldError};
use teikyo_mail::MailTemplates;
use teikyo_mail::catalogue::{ApplicationReceived, VerificationCode};
use teikyo_store::{AuditEvent, Registration, RegistrationId, Store, StoreError};

use crate::token::{NewToken, hash_token, new_token_of};

pub const CODE_VALID: Duration = Duration::minutes(30);
pub const MAX_CODE_ATTEMPTS: u32 = 5;
pub const MAX_CODE_SENDS: u32 = 5;
pub const RESEND_AFTER: Duration = Duration::seconds(60);
/// Where the mails send the applicant back to.
pub const APPLY_PATH: &str = "/apply";
pub const STATUS_PATH: &str = "/apply/status";

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error(
        "メールアドレスの形式が正しくありません。「tanto@example.jp」のように入力してください。"
    )]
    Email,
    #[error(
        "ロボットでないことの確認ができませんでした。ページを再読み込みして、もう一度お試しください。"
    )]
    Captcha,
    #[error(
        "認証コードの送信は{}回までです。しばらくしてから、最初からやり直してください。",
        MAX_CODE_SENDS
    )]
    TooManySends,
    #[error("認証コードを送信したばかりです。{0}秒ほど待ってから再送信してください。")]
    SentRecently(i64),
    #[error(
        "認証コードが正しくありません。あと{0}回入力できます。メールに記載の6桁の数字をご確認ください。"
    )]
    WrongCode(u32),
    #[error(
        "認証コードを{}回間違えたため、この認証コードは使えなくなりました。「認証コードを再送信する」から新しいコードを受け取ってください。",
        MAX_CODE_ATTEMPTS
    )]
    TooManyAttempts,
    #[error(
        "認証コードの有効期限が過ぎています。「認証コードを再送信する」から新しいコードを受け取ってください。"
    )]
    CodeExpired,
    #[error("この申請は既に送信されています。")]
    AlreadySubmitted,
    #[error("申請内容に不備があります。入力画面に戻ってご確認ください。")]
    Incomplete,
    #[error("利用規約とプライバシーポリシーへの同意が必要です。")]
    NoConsent,
    #[error("メールを作成できませんでした: {0}")]
    Template(#[from] teikyo_mail::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegistrationError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Email => "registration.email",
            Self::Captcha => "registration.captcha",
            Self::TooManySends => "registration.code.too_many_sends",
            Self::SentRecently(_) => "registration.code.sent_recently",
            Self::WrongCode(_) => "registration.code.wrong",
            Self::TooManyAttempts => "registration.code.too_many_attempts",
            Self::CodeExpired => "registration.code.expired",
            Self::AlreadySubmitted => "registration.submitted",
            Self::Incomplete => "registration.incomplete",
            Self::NoConsent => "registration.consent",
            Self::Template(_) => "registration.template",
            Self::Store(_) => "registration.store",
        }
    }
}

/// ALTCHA proof of work, self-hosted: the page carries a signed challenge, the browser finds
/// the number (about half a second on a phone), the server checks the signature and spends it.
#[derive(Clone)]
pub struct Captcha {
    key: String,
    /// Larger is slower for the browser; verification is ~1 µs regardless. At most 1,000,000
    /// (altcha-lib-rs verifies with that bound).
    pub max_number: u64,
    pub valid_for: Duration,
}

impl std::fmt::Debug for Captcha {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captcha")
            .field("key", &"<redacted>")
            .field("max_number", &self.max_number)
            .finish()
    }
}

impl Captcha {
    /// With a key shared by every app node (config), or a random one for a single node.
    pub fn new(key: Option<&str>) -> Self {
        let key = match key.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => k.to_owned(),
            None => new_token_of(32).plain,
        };
        Self {
            key,
            max_number: 50_000,
            valid_for: Duration::minutes(20),
        }
    }

    pub fn challenge(&self, now: DateTime<Utc>) -> Result<Challenge, RegistrationError> {
        altcha_lib_rs::create_challenge(ChallengeOptions {
            hmac_key: &self.key,
            max_number: Some(self.max_number.min(1_000_000)),
            expires: Some(now + self.valid_for),
            ..Default::default()
        })
        .map_err(|_| RegistrationError::Captcha)
    }

    /// Checks a solution (standard base64 of the JSON payload) and spends it. Every failure is
    /// the same error: the library's messages contain the expected signature and must never
    /// reach the client.
    pub async fn verify(
        &self,
        store: &Store,
        payload_b64: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RegistrationError> {
        let bytes = STANDARD
            .decode(payload_b64.trim())
            .map_err(|_| RegistrationError::Captcha)?;
        let payload: Payload =
            serde_json::from_slice(&bytes).map_err(|_| RegistrationError::Captcha)?;
        // A salt without an expiry never expires: only our own challenges carry one.
        let expires = salt_expiry(&payload.salt).ok_or(RegistrationError::Captcha)?;
        altcha_lib_rs::verify_solution(&payload, &self.key, true)
            .map_err(|_| RegistrationError::Captcha)?;
        if !store
            .registrations()
            .spend_captcha(&payload.signature, expires, now)
            .await?
        {
            return Err(RegistrationError::Captcha);
        }
        Ok(())
    }
}

fn salt_expiry(salt: &str) -> Option<DateTime<Utc>> {
    let (_, params) = salt.split_once('?')?;
    let secs = params
        .split('&')
        .find_map(|kv| kv.strip_prefix("expires="))?
        .parse::<i64>()
        .ok()?;
    DateTime::from_timestamp(secs, 0)
}

/// Salted by the application, so equal codes of two applications hash differently.
fn code_hash(id: RegistrationId, code: &str) -> String {
    hash_token(&format!("teikyo-code\0{}\0{code}", id.0))
}

/// The registration service: what the web pages call.
#[derive(Clone)]
pub struct Registrations {
    pub captcha: Captcha,
    /// The prefecture's side: decisions and issuance.
    pub review: crate::review::Review,
    templates: Arc<MailTemplates>,
}

impl Registrations {
    /// Issues the 利用案内メール on the next business day; see [`Self::with_timing`].
    pub fn new(captcha: Captcha, templates: Arc<MailTemplates>) -> Self {
        Self {
            captcha,
            review: crate::review::Review::new(
                templates.clone(),
                crate::review::IssueTiming::NextBusinessDay,
            ),
            templates,
        }
    }

    /// The mail templates (for the account pages' own mails: address changes).
    pub fn templates(&self) -> &Arc<MailTemplates> {
        &self.templates
    }

    pub fn with_timing(mut self, timing: crate::review::IssueTiming) -> Self {
        self.review.timing = timing;
        self
    }

    /// ②: the address and the captcha. Returns the new application and the cookie value for
    /// this browser.
    pub async fn start(
        &self,
        store: &Store,
        email: &str,
        captcha: &str,
        now: DateTime<Utc>,
    ) -> Result<(RegistrationId, NewToken), RegistrationError> {
        let email = email.trim();
        if !teikyo_domain::text::is_email(email) {
            return Err(RegistrationError::Email);
        }
        self.captcha.verify(store, captcha, now).await?;
        let regs = store.registrations();
        let id = regs.create(email, now).await?;
        let browser = new_token_of(32);
        regs.confirm_pending_browser(id, &browser.hash, now).await?;
        Ok((id, browser))
    }

    /// The application this browser's cookie names.
    pub async fn for_browser(
        &self,
        store: &Store,
        cookie: &str,
    ) -> Result<Option<Registration>, StoreError> {
        if cookie.len() != 32 || !cookie.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        store
            .registrations()
            .by_applicant(&hash_token(cookie))
            .await
    }

    /// ③/④: sends a new 6-digit code (the previous one stops working).
    pub async fn send_code(
        &self,
        store: &Store,
        reg: &Registration,
        now: DateTime<Utc>,
    ) -> Result<(), RegistrationError> {
        if reg.submitted_at.is_some() {
            return Err(RegistrationError::AlreadySubmitted);
        }
        if reg.codes_sent >= MAX_CODE_SENDS {
            return Err(RegistrationError::TooManySends);
        }
        if let Some(at) = reg.code_sent_at {
            let wait = (at + RESEND_AFTER - now).num_seconds();
            if wait > 0 {
                return Err(RegistrationError::SentRecently(wait));
            }
        }
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
        store
            .registrations()
            .set_code(reg.id, &code_hash(reg.id, &code), now + CODE_VALID, now)
            .await?;
        let mail = self.templates.compose(
            &reg.email,
            &VerificationCode {
                code,
                expires_minutes: u32::try_from(CODE_VALID.num_minutes()).unwrap_or(30),
                entry_url: self.templates.link(APPLY_PATH),
            },
            Some(("registration", &reg.id.0.to_string())),
            None,
        )?;
        let tx = store.begin().await?;
        tx.queue_mail(&mail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// ⑤: checks a typed code. On success the address is confirmed and an abandoned form of the
    /// same address is resumed; returns whether one was.
    pub async fn check_code(
        &self,
        store: &Store,
        reg: &Registration,
        typed: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, RegistrationError> {
        let regs = store.registrations();
        let attempts = regs.count_code_attempt(reg.id).await?;
        if attempts > MAX_CODE_ATTEMPTS {
            return Err(RegistrationError::TooManyAttempts);
        }
        let Some(hash) = &reg.code_hash else {
            return Err(RegistrationError::CodeExpired);
        };
        if reg.code_expires_at.is_none_or(|at| at <= now) {
            return Err(RegistrationError::CodeExpired);
        }
        let typed: String = teikyo_domain::text::nfkc(typed)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if typed.len() != 6 || code_hash(reg.id, &typed) != *hash {
            let left = MAX_CODE_ATTEMPTS.saturating_sub(attempts);
            return Err(if left == 0 {
                RegistrationError::TooManyAttempts
            } else {
                RegistrationError::WrongCode(left)
            });
        }
        regs.confirm_email(reg.id, reg_browser(reg), now).await?;
        let resumed = regs.adopt_draft(reg.id, &reg.email, now).await?;
        Ok(resumed)
    }

    /// ⑥: saves the form as typed (nothing is lost) and checks it, including the address
    /// against the postal code.
    pub async fn save_form(
        &self,
        store: &Store,
        reg: &Registration,
        form: &ApplicationForm,
        now: DateTime<Utc>,
    ) -> Result<Result<Application, Vec<FieldError>>, RegistrationError> {
        let checked = check_form(form);
        let prefecture = teikyo_domain::PrefectureCode::parse(&form.prefecture).ok();
        if !store
            .registrations()
            .save_form(reg.id, form, prefecture, now)
            .await?
        {
            return Err(RegistrationError::AlreadySubmitted);
        }
        Ok(checked)
    }

    /// ⑧ 申請する: the form must pass and consent be given. Queues ⑩ the 申請完了メール.
    pub async fn submit(
        &self,
        store: &Store,
        reg: &Registration,
        now: DateTime<Utc>,
    ) -> Result<ApplicationNumber, RegistrationError> {
        if reg.submitted_at.is_some() {
            return Err(RegistrationError::AlreadySubmitted);
        }
        let app = check_form(&reg.form).map_err(|_| RegistrationError::Incomplete)?;
        if reg.consented_at.is_none() {
            return Err(RegistrationError::NoConsent);
        }
        let number = store
            .registrations()
            .submit(reg.id, now)
            .await?
            .ok_or(RegistrationError::AlreadySubmitted)?;
        let mail = self.templates.compose(
            &reg.email,
            &ApplicationReceived {
                application_number: number.to_string(),
                facility_name: app.facility_name.clone(),
                prefecture_name: app.prefecture.name().to_owned(),
                status_url: self.templates.link(STATUS_PATH),
            },
            Some(("registration", &reg.id.0.to_string())),
            None,
        )?;
        let tx = store.begin().await?;
        tx.queue_mail(&mail).await?;
        tx.commit().await?;
        store
            .audit()
            .record(
                &AuditEvent::new("registration.submitted", None)
                    .on("registration", number)
                    .in_prefecture(Some(app.prefecture)),
                now,
            )
            .await?;
        Ok(number)
    }
}

/// The applicant hash already on the row (set at ②).
fn reg_browser(reg: &Registration) -> &str {
    reg.applicant_hash.as_deref().unwrap_or_default()
}

/// The form's own checks, then the address against the postal code (teikyo-refdata).
pub fn check_form(form: &ApplicationForm) -> Result<Application, Vec<FieldError>> {
    let app = form.validate()?;
    let Some(m) = teikyo_refdata::municipalities::get(app.municipality) else {
        return Err(vec![FieldError::new(
            "municipality",
            "市区町村が市区町村の一覧にありません。一覧から選んでください。",
        )]);
    };
    let address = app.address(m.name);
    match teikyo_refdata::address::check(app.postal_code, &address) {
        Ok(_) => Ok(app),
        Err(mismatch) => {
            let field = match mismatch.part {
                teikyo_refdata::address::AddressPart::PostalCode => "postal_code",
                teikyo_refdata::address::AddressPart::Prefecture => "prefecture",
                teikyo_refdata::address::AddressPart::Municipality => "municipality",
                teikyo_refdata::address::AddressPart::Town => "town",
            };
            Err(vec![FieldError::new(
                field,
                format!("{}{}", mismatch.message(), mismatch.detail),
            )])
        }
    }
}
