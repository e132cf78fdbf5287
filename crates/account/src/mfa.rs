//! The second factor: TOTP (RFC 6238, 6 digits, 30 s, SHA-1 — what every authenticator app
//! reads) with ten single-use recovery codes.
//!
//! A code works once: the newest accepted 30-second step is stored and only a later step is
//! accepted (`MfaRepo::accept_step`), so a code read over a shoulder or replayed from a proxy log
//! is useless. One step of clock drift either way is tolerated. Wrong codes count towards the
//! same lockout as wrong passwords (see `login`), so the six digits cannot be guessed.
//!
//! Who must have one is the web layer's decision (`web.staff_mfa`): prefecture and operator
//! staff by default, facility users when they choose to.

use chrono::{DateTime, Utc};
use rand::RngCore;
use teikyo_domain::text::nfkc;
use teikyo_store::{AuditEvent, Store, StoreError, User, UserId};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::password::verify_password;
use crate::token::hash_token;

/// Shown in the authenticator app above the code.
pub const ISSUER: &str = "Teikyo";
/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
const STEP_SECONDS: u64 = 30;
/// Letters and digits that cannot be mistaken for each other when copied from paper.
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const RECOVERY_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error(
        "確認コードが正しくありません。認証アプリに表示されている6桁の数字を、表示が切り替わる前に入力してください。"
    )]
    WrongCode,
    #[error("二段階認証はすでに設定されています。設定し直す場合は、いったん解除してください。")]
    AlreadyEnabled,
    #[error("二段階認証の設定を始めてから、もう一度お試しください。")]
    NotStarted,
    #[error("パスワードが正しくありません。")]
    WrongPassword,
    #[error(
        "パスワードを続けて間違えたため、{}までお試しいただけません。",
        crate::login::tokyo(*.0)
    )]
    Locked(DateTime<Utc>),
    #[error("二段階認証の設定を読み取れませんでした。管理者にお問い合わせください。")]
    Corrupt(String),
    #[error("二段階認証の処理に失敗しました。しばらくしてからお試しください。")]
    Store(#[from] StoreError),
}

impl MfaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongCode => "account.mfa.wrong_code",
            Self::AlreadyEnabled => "account.mfa.already_enabled",
            Self::NotStarted => "account.mfa.not_started",
            Self::WrongPassword => "account.mfa.wrong_password",
            Self::Locked(_) => "account.mfa.locked",
            Self::Corrupt(_) => "account.mfa.corrupt",
            Self::Store(_) => "account.store",
        }
    }
}

/// What the enrolment page shows: the secret for typing in, and the URI the QR code carries.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
}

/// Written by hand: the secret must not reach a log line.
impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { <redacted> }")
    }
}

/// How the second factor was satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Totp,
    /// A recovery code was used; this many remain.
    RecoveryCode {
        left: u64,
    },
}

fn totp(secret_base32: &str, login_id: &str) -> Result<TOTP, MfaError> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| MfaError::Corrupt(format!("{e:?}")))?;
    // The account name is the user name: it has no ':' (LoginId's alphabet).
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_owned()),
        login_id.to_owned(),
    )
    .map_err(|e| MfaError::Corrupt(e.to_string()))
}

fn unix(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

/// The code an authenticator shows at `now` (tests and the demo's help text use it).
pub fn code_at(secret_base32: &str, now: DateTime<Utc>) -> Result<String, MfaError> {
    Ok(totp(secret_base32, "x")?.generate(unix(now)))
}

/// What people type: 全角 digits from a Japanese input method, spaces and hyphens.
fn typed_code(input: &str) -> String {
    nfkc(input)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The step (of the three around `now`) whose code `code` is, if any, oldest first.
fn matching_step(t: &TOTP, code: &str, now: DateTime<Utc>) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = unix(now) / STEP_SECONDS;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| t.check(code, step * STEP_SECONDS))
        .and_then(|step| i64::try_from(step).ok())
}

/// Starts an enrolment with a fresh 160-bit secret (RFC 4226's recommendation). Restarting
/// replaces an unconfirmed secret; a confirmed one must be removed first.
pub async fn begin(store: &Store, user: &User) -> Result<Enrolment, MfaError> {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    let secret = match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => return Err(MfaError::Corrupt("secret encoding".into())),
    };
    if !store.mfa().begin(user.id, &secret).await? {
        return Err(MfaError::AlreadyEnabled);
    }
    enrolment(&secret, user)
}

/// The pending enrolment of `user`, to show again (a reload of the page keeps the same QR).
pub async fn pending(store: &Store, user: &User) -> Result<Option<Enrolment>, MfaError> {
    match store.mfa().totp(user.id).await? {
        Some(t) if t.enabled_at.is_none() => enrolment(&t.secret, user).map(Some),
        _ => Ok(None),
    }
}

fn enrolment(secret: &str, user: &User) -> Result<Enrolment, MfaError> {
    let t = totp(secret, user.login_id.as_str())?;
    Ok(Enrolment {
        secret_base32: secret.to_owned(),
        otpauth_url: t.get_url(),
    })
}

/// The first code from the app confirms the enrolment; returns the recovery codes, shown once.
/// The password is asked again: a session left open must not be enough to tie the account to
/// someone else's phone.
pub async fn confirm(
    store: &Store,
    user: &User,
    password: &str,
    input: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, MfaError> {
    let Some(state) = store.mfa().totp(user.id).await? else {
        return Err(MfaError::NotStarted);
    };
    if state.enabled_at.is_some() {
        return Err(MfaError::AlreadyEnabled);
    }
    check_password_again(store, user, password, now).await?;
    let t = totp(&state.secret, user.login_id.as_str())?;
    let Some(step) = matching_step(&t, &typed_code(input), now) else {
        return Err(MfaError::WrongCode);
    };
    if !store.mfa().accept_step(user.id, step).await? {
        return Err(MfaError::WrongCode);
    }
    let (codes, hashes) = new_recovery_codes();
    if !store.mfa().enable(user.id, &hashes, now).await? {
        return Err(MfaError::AlreadyEnabled);
    }
    audit(store, user.id, "account.mfa_enabled", now).await?;
    Ok(codes)
}

/// The second step of a login (or any re-check): a current TOTP code, or an unused recovery
/// code. Does not touch the lockout counter; the caller does.
pub async fn verify(
    store: &Store,
    user: &User,
    input: &str,
    now: DateTime<Utc>,
) -> Result<Verified, MfaError> {
    let Some(state) = store
        .mfa()
        .totp(user.id)
        .await?
        .filter(|s| s.enabled_at.is_some())
    else {
        return Err(MfaError::NotStarted);
    };
    let typed = typed_code(input);
    if typed.len() == RECOVERY_LEN {
        if store
            .mfa()
            .use_recovery_code(user.id, &hash_token(&typed), now)
            .await?
        {
            let left = store.mfa().recovery_codes_left(user.id).await?;
            audit(store, user.id, "account.mfa_recovery_code_used", now).await?;
            return Ok(Verified::RecoveryCode { left });
        }
        return Err(MfaError::WrongCode);
    }
    let t = totp(&state.secret, user.login_id.as_str())?;
    match matching_step(&t, &typed, now) {
        Some(step) if store.mfa().accept_step(user.id, step).await? => Ok(Verified::Totp),
        _ => Err(MfaError::WrongCode),
    }
}

/// Removes the user's own second factor; the password is asked again, so a session left open
/// on a shared PC cannot do it.
pub async fn disable(
    store: &Store,
    user: &User,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), MfaError> {
    check_password_again(store, user, password, now).await?;
    store.mfa().disable(user.id).await?;
    audit(store, user.id, "account.mfa_disabled", now).await?;
    Ok(())
}

/// New recovery codes (the old ones stop working), after the password is asked again.
pub async fn renew_recovery_codes(
    store: &Store,
    user: &User,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, MfaError> {
    check_password_again(store, user, password, now).await?;
    if user.mfa_enabled_at.is_none() {
        return Err(MfaError::NotStarted);
    }
    let (codes, hashes) = new_recovery_codes();
    store
        .mfa()
        .replace_recovery_codes(user.id, &hashes, now)
        .await?;
    audit(store, user.id, "account.mfa_recovery_codes_renewed", now).await?;
    Ok(codes)
}

/// The password asked again, under the same lockout as the login: a stolen session cannot
/// guess it at leisure.
async fn check_password_again(
    store: &Store,
    user: &User,
    password: &str,
    now: DateTime<Utc>,
) -> Result<(), MfaError> {
    let users = store.users();
    if !users.reserve_login_attempt(user.id, now).await? {
        let until = users.get(user.id).await?.and_then(|u| u.locked_at(now));
        return Err(MfaError::Locked(until.unwrap_or(now)));
    }
    let ok = match &user.password_hash {
        Some(hash) => verify_password(hash.clone(), password.to_owned()).await,
        None => false,
    };
    if ok {
        users.release_login_attempts(user.id, now).await?;
        return Ok(());
    }
    match users.record_failed_login(user.id, now).await? {
        Some(until) => Err(MfaError::Locked(until)),
        None => Err(MfaError::WrongPassword),
    }
}

async fn audit(
    store: &Store,
    user: UserId,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .audit()
        .record(&AuditEvent::new(action, Some(user)).on("user", user), now)
        .await
}

/// Ten codes shown as `abcde-fghjk` (~49 bits each), and the hashes that are stored.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let mut rng = rand::rng();
    let limit = 256 - 256 % RECOVERY_ALPHABET.len();
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut hashes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let mut raw = String::with_capacity(RECOVERY_LEN);
        while raw.len() < RECOVERY_LEN {
            let mut byte = [0u8; 1];
            rng.fill_bytes(&mut byte);
            if usize::from(byte[0]) < limit {
                raw.push(char::from(
                    RECOVERY_ALPHABET[usize::from(byte[0]) % RECOVERY_ALPHABET.len()],
                ));
            }
        }
        hashes.push(hash_token(&raw));
        codes.push(format!("{}-{}", &raw[..5], &raw[5..]));
    }
    (codes, hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rfc_6238_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s → 94287082; six digits are its last six.
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        let at = Utc.timestamp_opt(59, 0).single().unwrap();
        assert_eq!(code_at(&secret, at).unwrap(), "287082");
    }

    #[test]
    fn typed_codes_are_folded() {
        assert_eq!(typed_code("１２３ ４５６"), "123456");
        assert_eq!(typed_code(" ABCDE-FGHJK "), "abcdefghjk");
    }

    #[test]
    fn steps_around_now_match_and_others_do_not() {
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let t = totp(secret, "u").unwrap();
        let now = Utc.timestamp_opt(1_800_000_000, 0).single().unwrap();
        let step = 1_800_000_000 / 30;
        for delta in [-1i64, 0, 1] {
            let at = now + chrono::Duration::seconds(30 * delta);
            let code = code_at(secret, at).unwrap();
            assert_eq!(matching_step(&t, &code, now), Some(step + delta));
        }
        let far = code_at(secret, now + chrono::Duration::seconds(90)).unwrap();
        assert_eq!(matching_step(&t, &far, now), None);
        assert_eq!(matching_step(&t, "12345", now), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes[0].len(), RECOVERY_LEN + 1);
        assert_eq!(hashes[0], hash_token(&typed_code(&codes[0])));
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), RECOVERY_CODES);
    }
}
