//! Prefecture support tools (DOMAIN §3.7, §3.13): what the helpdesk does when a facility calls —
//! re-issue the lost setup link (the old one stops working), change the address on request
//! (both addresses are told; `profile::change_email`), stop or resume an account — and the
//! operator's 棚卸し. Every action is audited with who did it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use teikyo_domain::account::FacilityScope;
use teikyo_mail::MailTemplates;
use teikyo_mail::catalogue::AccountReady;
use teikyo_store::{AuditEvent, Store, StoreError, TokenPurpose, UserId};

use crate::recovery::{LOGIN_PATH, SETUP_LINK_PREFIX};
use crate::review::SETUP_VALID;
use crate::token::new_token;

/// Recorded in the scope of the facility the user belongs to (`scope`), so that the
/// prefecture's staff find their own support actions at 「操作の記録」.
async fn audit(
    store: &Store,
    by: UserId,
    scope: Option<&FacilityScope>,
    user: UserId,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .audit()
        .record(
            &AuditEvent::new(action, Some(by))
                .on("user", user)
                .in_prefecture(scope.map(|s| s.prefecture))
                .about_facility(scope.map(|s| s.id)),
            now,
        )
        .await
}

/// A new 利用案内メール with a new setup link to the user's current address; the previous
/// link stops working. Returns the link when the user has no address (to hand over on paper).
pub async fn reissue_setup_link(
    store: &Store,
    templates: &Arc<MailTemplates>,
    user: UserId,
    facility_name: &str,
    by: UserId,
    scope: Option<&FacilityScope>,
    now: DateTime<Utc>,
) -> Result<Option<String>, crate::review::ReviewError> {
    let Some(u) = store.users().get(user).await? else {
        return Ok(None);
    };
    let token = new_token();
    store
        .tokens()
        .issue(
            &token.hash,
            TokenPurpose::PasswordSetup,
            Some(user),
            None,
            now,
            SETUP_VALID,
        )
        .await?;
    let setup_url = templates.link(&format!("{SETUP_LINK_PREFIX}{}", token.plain));
    audit(store, by, scope, user, "account.setup_link_reissued", now).await?;
    if u.email.is_empty() {
        return Ok(Some(setup_url));
    }
    let mail = templates.compose(
        &u.email,
        &AccountReady {
            facility_name: facility_name.to_owned(),
            login_id: u.login_id.as_str().to_owned(),
            setup_url,
            setup_expires_hours: u32::try_from(SETUP_VALID.num_hours()).unwrap_or(336),
            filed_by_prefecture: false,
            login_url: templates.link(LOGIN_PATH),
        },
        Some(("user", &user.to_string())),
        None,
    )?;
    let tx = store.begin().await?;
    tx.queue_mail(&mail).await?;
    tx.commit().await?;
    Ok(None)
}

/// 利用停止 / 再開. Stopping ends every session of the user at once.
pub async fn set_active(
    store: &Store,
    user: UserId,
    active: bool,
    by: UserId,
    scope: Option<&FacilityScope>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.users().set_active(user, active).await?;
    if !active {
        store.sessions().revoke_all(user).await?;
    }
    let action = if active {
        "account.reactivated"
    } else {
        "account.deactivated"
    };
    audit(store, by, scope, user, action, now).await
}

/// The user lost both the authenticator app and the recovery codes: support (the operator, or
/// the prefecture's staff for its facilities' users) removes the second factor after checking
/// who is calling; where it is required the user sets it up again at the next login.
pub async fn reset_mfa(
    store: &Store,
    user: UserId,
    by: UserId,
    scope: Option<&FacilityScope>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store.mfa().disable(user).await?;
    audit(store, by, scope, user, "account.mfa_reset", now).await
}
