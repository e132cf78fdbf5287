//! Who else may act (issue: accounts, scope 6): a facility's admin invites colleagues by mail; a
//! prefecture's admin (and the operator) adds the prefecture's staff and its delegates
//! (医師会・薬剤師会・代行業者, for listed facilities); each can take those rights away again.
//!
//! An invitation makes a new account with a generated login ID and mails the password-setup
//! link (利用者追加のお知らせ). A person who already has an account — the chain (法人) clerk who
//! reports for several clinics — is added by login ID *and* the address registered with it, so
//! that a typo cannot hand a facility to a stranger; they then see every facility on their home
//! screen and switch there. Whether the inviter may do it is the caller's check (`Access`);
//! this module checks the invitation itself and records it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::RngCore;
use teikyo_domain::account::{Area, FacilityScope, LoginId, Membership, StaffLevel};
use teikyo_domain::registration::FieldError;
use teikyo_domain::{FacilityCode, MunicipalityCode, PrefectureCode, Program};
use teikyo_mail::MailTemplates;
use teikyo_mail::catalogue::Invitation;
use teikyo_store::{
    AuditEvent, MembershipOf, NewUser, Store, StoreError, TokenPurpose, User, UserId,
};

use crate::recovery::{LOGIN_PATH, SETUP_LINK_PREFIX};
use crate::review::SETUP_VALID;
use crate::token::new_token;
use teikyo_domain::text::is_email;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("入力内容をご確認ください。")]
    Invalid(Vec<FieldError>),
    #[error(
        "このユーザ名とメールアドレスの組み合わせは登録されていません。ユーザ名と、その方が登録しているメールアドレスをご確認ください。"
    )]
    ExistingMismatch,
    #[error("この方はすでに同じ役割で登録されています。")]
    AlreadyMember,
    #[error("メールを作成できませんでした: {0}")]
    Mail(String),
    #[error("登録の処理に失敗しました。しばらくしてからお試しください。")]
    Store(#[from] StoreError),
}

impl TeamError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "account.team.invalid",
            Self::ExistingMismatch => "account.team.existing_mismatch",
            Self::AlreadyMember => "account.team.already_member",
            Self::Mail(_) => "account.team.mail",
            Self::Store(_) => "account.store",
        }
    }
}

/// The invitation form as posted; every role's fields, the unused ones empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct InviteForm {
    pub email: String,
    pub family_name: String,
    pub given_name: String,
    pub department: String,
    /// Adds the role to this existing account instead (its registered address must match).
    pub existing_login_id: String,
    /// Facility colleague: `"yes"` for a facility admin.
    pub admin: String,
    /// Prefecture staff: `admin` | `reviewer` | `read_only`.
    pub level: String,
    /// Prefecture staff limited to a 保健所 area: municipality codes separated by spaces,
    /// commas or 、 (empty: the whole prefecture).
    pub municipalities: String,
    /// Delegate: the facilities' 機関コード, separated likewise.
    pub facility_codes: String,
}

/// A checked invitation: who, and the account to add to if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub email: String,
    pub family_name: String,
    pub given_name: String,
    pub department: Option<String>,
    pub existing: Option<LoginId>,
}

fn field(field: &'static str, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.to_owned(),
    }
}

fn items(s: &str) -> Vec<String> {
    teikyo_domain::text::nfkc(s)
        .split(|c: char| c.is_whitespace() || c == ',' || c == '、')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

impl InviteForm {
    /// The person part, shared by every role.
    pub fn invitee(&self, errors: &mut Vec<FieldError>) -> Option<Invitee> {
        let email = self.email.trim().to_owned();
        if !is_email(&email) {
            errors.push(field(
                "email",
                "メールアドレスを正しく入力してください（例：tanto@clinic.example.jp）。",
            ));
        }
        let existing = match self.existing_login_id.trim() {
            "" => None,
            typed => match LoginId::parse(typed) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push(field(
                        "existing_login_id",
                        "ユーザ名を正しく入力してください。新しくアカウントを作る場合は空欄にしてください。",
                    ));
                    None
                }
            },
        };
        let family_name = self.family_name.trim().to_owned();
        let given_name = self.given_name.trim().to_owned();
        if existing.is_none() && family_name.is_empty() {
            errors.push(field("family_name", "姓を入力してください。"));
        }
        if existing.is_none() && given_name.is_empty() {
            errors.push(field("given_name", "名を入力してください。"));
        }
        if family_name.chars().count() > 40 || given_name.chars().count() > 40 {
            errors.push(field(
                "family_name",
                "姓・名は40文字以内で入力してください。",
            ));
        }
        let department = Some(self.department.trim().to_owned()).filter(|d| !d.is_empty());
        errors.is_empty().then_some(Invitee {
            email,
            family_name,
            given_name,
            department,
            existing,
        })
    }

    /// A facility colleague: admin or not, with the facility's 制度.
    pub fn facility_member(
        &self,
        facility_id: i64,
        programs: Vec<Program>,
    ) -> Result<(Invitee, Membership), TeamError> {
        let mut errors = Vec::new();
        let invitee = self.invitee(&mut errors);
        match invitee {
            Some(i) => Ok((
                i,
                Membership::Facility {
                    facility_id,
                    admin: self.admin == "yes",
                    programs,
                },
            )),
            None => Err(TeamError::Invalid(errors)),
        }
    }

    /// Prefecture staff: level and area, the area's municipalities checked to lie in the
    /// prefecture.
    pub fn prefecture_staff(
        &self,
        prefecture: PrefectureCode,
    ) -> Result<(Invitee, Membership), TeamError> {
        let mut errors = Vec::new();
        let invitee = self.invitee(&mut errors);
        let level = StaffLevel::parse(&self.level);
        if level.is_none() {
            errors.push(field("level", "権限を選んでください。"));
        }
        let mut codes = Vec::new();
        for typed in items(&self.municipalities) {
            match MunicipalityCode::parse(&typed) {
                Ok(c) if c.prefecture() == prefecture => codes.push(c),
                _ => errors.push(field(
                    "municipalities",
                    &format!(
                        "「{typed}」は{}の市区町村コードではありません。",
                        prefecture.name()
                    ),
                )),
            }
        }
        match (invitee, level) {
            (Some(i), Some(level)) if errors.is_empty() => Ok((
                i,
                Membership::Prefecture {
                    prefecture,
                    level,
                    area: if codes.is_empty() {
                        Area::Whole
                    } else {
                        Area::Municipalities(codes)
                    },
                },
            )),
            _ => Err(TeamError::Invalid(errors)),
        }
    }

    /// A delegate for the listed facilities, each found by 機関コード in the prefecture.
    pub async fn delegate(
        &self,
        store: &Store,
        prefecture: PrefectureCode,
    ) -> Result<(Invitee, Membership), TeamError> {
        let mut errors = Vec::new();
        let invitee = self.invitee(&mut errors);
        let mut ids = Vec::new();
        let typed = items(&self.facility_codes);
        if typed.is_empty() {
            errors.push(field(
                "facility_codes",
                "代行する医療機関・薬局の機関コードを入力してください。",
            ));
        }
        for t in typed {
            let found = match FacilityCode::parse(&t) {
                Ok(code) => store.facilities().find_by_facility_code(&code).await?,
                Err(_) => Vec::new(),
            };
            match found
                .into_iter()
                .find(|f| f.record.prefecture == prefecture)
            {
                Some(f) => ids.push(f.id.0),
                None => errors.push(field(
                    "facility_codes",
                    &format!(
                        "機関コード「{t}」の施設は{}にありません。",
                        prefecture.name()
                    ),
                )),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        match invitee {
            Some(i) if errors.is_empty() => Ok((
                i,
                Membership::Delegate {
                    prefecture,
                    facility_ids: ids,
                },
            )),
            _ => Err(TeamError::Invalid(errors)),
        }
    }
}

/// What the invitation says about the role, and where it is audited.
#[derive(Debug, Clone)]
pub struct Role {
    /// 「兼六クリニック」, 「石川県」.
    pub organisation: String,
    /// 「医療機関の利用者（管理者）」.
    pub label: String,
    pub prefecture: Option<PrefectureCode>,
    pub facility: Option<i64>,
}

/// The result of an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invited {
    pub user: UserId,
    pub login_id: LoginId,
    /// A new account (with a setup link) rather than a role added to an existing one.
    pub new_account: bool,
}

/// Adds `membership` for the invitee — a new account, or the existing one named — and mails
/// 利用者追加のお知らせ. The grant, its audit event and the setup token are written first and
/// the mail is queued after them, not in one transaction (a known gap): a
/// failure between leaves a granted role without its mail, never a mail without its grant.
pub async fn invite(
    store: &Store,
    templates: &Arc<MailTemplates>,
    by: &User,
    invitee: &Invitee,
    membership: &Membership,
    role: &Role,
    now: DateTime<Utc>,
) -> Result<Invited, TeamError> {
    let (user, new_account) = match &invitee.existing {
        Some(login_id) => {
            let Some(u) = store.users().find_by_login_id(login_id).await? else {
                return Err(TeamError::ExistingMismatch);
            };
            if !u.email.trim().eq_ignore_ascii_case(invitee.email.trim()) {
                return Err(TeamError::ExistingMismatch);
            }
            let have = store.users().access(u.id).await?.memberships;
            // Staff and operator accounts are never joined to by invitation (a facility role
            // on them would bring them into reach of facility-level support); the same answer
            // as a mismatch, so the form tells nothing about the account.
            if have
                .iter()
                .any(|m| matches!(m, Membership::Prefecture { .. } | Membership::Operator))
            {
                return Err(TeamError::ExistingMismatch);
            }
            if already_has(&have, membership) {
                return Err(TeamError::AlreadyMember);
            }
            (u, false)
        }
        None => {
            let id = create_user(store, invitee).await?;
            let Some(u) = store.users().get(id).await? else {
                return Err(TeamError::Store(StoreError::Corrupt {
                    table: "app_user",
                    column: "id",
                    message: "created user not found".into(),
                }));
            };
            (u, true)
        }
    };
    store.users().add_membership(user.id, membership).await?;
    // Recorded before the mail: whatever happens next, the grant is in the trail.
    let mut event = AuditEvent::new("account.invited", Some(by.id))
        .on("user", user.id)
        .in_prefecture(role.prefecture)
        .about_facility(role.facility);
    event.detail = Some(serde_json::json!({
        "role": role.label,
        "organisation": role.organisation,
        "membership": membership,
        "new_account": new_account,
    }));
    store.audit().record(&event, now).await?;
    let setup_url = if new_account {
        let token = new_token();
        store
            .tokens()
            .issue(
                &token.hash,
                TokenPurpose::PasswordSetup,
                Some(user.id),
                None,
                now,
                SETUP_VALID,
            )
            .await?;
        Some(templates.link(&format!("{SETUP_LINK_PREFIX}{}", token.plain)))
    } else {
        None
    };
    let mail = templates
        .compose(
            &user.email,
            &Invitation {
                name: format!("{} {}", user.family_name, user.given_name),
                organisation: role.organisation.clone(),
                role: role.label.clone(),
                invited_by: format!("{} {}", by.family_name, by.given_name),
                login_id: user.login_id.as_str().to_owned(),
                setup_url,
                setup_expires_hours: u32::try_from(SETUP_VALID.num_hours()).unwrap_or(336),
                login_url: templates.link(LOGIN_PATH),
            },
            Some(("user", &user.id.to_string())),
            role.facility,
        )
        .map_err(|e| TeamError::Mail(e.to_string()))?;
    let tx = store.begin().await?;
    tx.queue_mail(&mail).await?;
    tx.commit().await?;
    Ok(Invited {
        user: user.id,
        login_id: user.login_id,
        new_account,
    })
}

fn already_has(have: &[Membership], new: &Membership) -> bool {
    have.iter().any(|m| match (m, new) {
        (
            Membership::Facility { facility_id: a, .. },
            Membership::Facility { facility_id: b, .. },
        ) => a == b,
        (
            Membership::Prefecture { prefecture: a, .. },
            Membership::Prefecture { prefecture: b, .. },
        ) => a == b,
        (
            Membership::Delegate {
                prefecture: a,
                facility_ids: fa,
            },
            Membership::Delegate {
                prefecture: b,
                facility_ids: fb,
            },
        ) => a == b && fb.iter().all(|id| fa.contains(id)),
        (Membership::Operator, Membership::Operator) => true,
        _ => false,
    })
}

/// A user with a generated login ID (retried on the rare collision); `user` fills in the rest.
pub(crate) async fn create_with_generated_id(
    store: &Store,
    user: impl Fn(LoginId) -> NewUser,
) -> Result<(UserId, LoginId), StoreError> {
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let Some(login_id) = LoginId::generate(&bytes) else {
            continue;
        };
        match store.users().create(&user(login_id.clone())).await {
            Ok(id) => return Ok((id, login_id)),
            Err(StoreError::Duplicate(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Duplicate(
        "no free login id after 8 tries".into(),
    ))
}

async fn create_user(store: &Store, who: &Invitee) -> Result<UserId, StoreError> {
    let (id, _) = create_with_generated_id(store, |login_id| NewUser {
        login_id,
        email: who.email.clone(),
        family_name: who.family_name.clone(),
        given_name: who.given_name.clone(),
        phone: None,
        extension: None,
        fax: None,
        department: who.department.clone(),
    })
    .await?;
    Ok(id)
}

/// Takes a role away: the rows go and the user's sessions end (what they may reach changed).
pub async fn remove(
    store: &Store,
    by: UserId,
    user: UserId,
    which: MembershipOf,
    scope: Option<&FacilityScope>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let prefecture = match which {
        MembershipOf::PrefectureStaff(p) | MembershipOf::Delegate(p) => Some(p),
        MembershipOf::Facility(_) => scope.map(|s| s.prefecture),
    };
    let n = store.users().remove_membership(user, which).await?;
    if n == 0 {
        return Ok(false);
    }
    store.sessions().revoke_all(user).await?;
    let mut event = AuditEvent::new("account.membership_removed", Some(by))
        .on("user", user)
        .in_prefecture(prefecture)
        .about_facility(scope.map(|s| s.id));
    event.detail = Some(serde_json::json!({ "removed": format!("{which:?}") }));
    store.audit().record(&event, now).await?;
    Ok(true)
}
