//! Users, their memberships, single-use tokens, sessions and the audit trail.
//!
//! Secrets never reach this layer in the clear: passwords arrive as argon2id hashes, tokens and
//! session ids as hashes of the random values the user holds.

use crate::entity::{app_user, audit_event, auth_token, membership, session};
use crate::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use teikyo_domain::account::{Access, Area, LoginId, Membership, StaffLevel};
use teikyo_domain::{MunicipalityCode, PrefectureCode, Program};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// ユーザ基礎情報 (DOMAIN §3.10) of a new user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub login_id: LoginId,
    pub email: String,
    pub family_name: String,
    pub given_name: String,
    pub phone: Option<String>,
    pub extension: Option<String>,
    pub fax: Option<String>,
    pub department: Option<String>,
}

/// Why an account is on the 棚卸し list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryReason {
    FacilityAbolished,
    Inactive,
}

impl InventoryReason {
    pub fn label(self) -> &'static str {
        match self {
            Self::FacilityAbolished => "施設が廃止済み",
            Self::Inactive => "長期間ログインなし",
        }
    }
}

/// The editable part of ユーザ基礎情報.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub family_name: String,
    pub given_name: String,
    pub phone: Option<String>,
    pub extension: Option<String>,
    pub fax: Option<String>,
    pub department: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub login_id: LoginId,
    pub email: String,
    pub family_name: String,
    pub given_name: String,
    pub phone: Option<String>,
    pub extension: Option<String>,
    pub fax: Option<String>,
    pub department: Option<String>,
    pub password_hash: Option<String>,
    pub active: bool,
    pub failed_logins: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When the second factor (TOTP) was confirmed; `None` while the user has none.
    pub mfa_enabled_at: Option<DateTime<Utc>>,
}

impl User {
    /// Locked out by too many wrong passwords, as of `now`.
    pub fn locked_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }
}

/// After this many wrong passwords in a row the account is locked for [`LOCKOUT`].
pub const MAX_FAILED_LOGINS: u32 = 10;
/// Long enough to stop guessing, short enough that a clerk who mistyped can try again the same
/// morning; the message says until when.
pub const LOCKOUT: Duration = Duration::minutes(15);

/// Rows whose lock (if any) has ended by `now`.
fn unlocked(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(app_user::Column::LockedUntil.is_null())
        .add(app_user::Column::LockedUntil.lte(now))
}

fn max_failed() -> i32 {
    i32::try_from(MAX_FAILED_LOGINS).unwrap_or(i32::MAX)
}

pub struct UserRepo<'a> {
    conn: &'a DatabaseConnection,
}

impl<'a> UserRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { conn: store.conn() }
    }

    /// Fails with [`StoreError::Duplicate`] when the login ID is taken.
    pub async fn create(&self, new: &NewUser) -> Result<UserId, StoreError> {
        let now = Utc::now();
        let res = app_user::Entity::insert(app_user::ActiveModel {
            login_id: Set(new.login_id.as_str().to_owned()),
            email: Set(new.email.clone()),
            family_name: Set(new.family_name.clone()),
            given_name: Set(new.given_name.clone()),
            phone: Set(new.phone.clone()),
            extension: Set(new.extension.clone()),
            fax: Set(new.fax.clone()),
            department: Set(new.department.clone()),
            password_hash: Set(None),
            status: Set("active".into()),
            failed_logins: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(self.conn)
        .await
        .map_err(|e| crate::facility::duplicate_or(e, "app_user"))?;
        Ok(UserId(res.last_insert_id))
    }

    pub async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        app_user::Entity::find_by_id(id.0)
            .one(self.conn)
            .await?
            .map(user_from)
            .transpose()
    }

    pub async fn find_by_login_id(&self, login_id: &LoginId) -> Result<Option<User>, StoreError> {
        app_user::Entity::find()
            .filter(app_user::Column::LoginId.eq(login_id.as_str()))
            .one(self.conn)
            .await?
            .map(user_from)
            .transpose()
    }

    /// Users registered with this address, in any ASCII letter case (「ユーザ名をお忘れですか？」;
    /// `lower()` is ASCII-only on SQLite, so both sides fold ASCII only).
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<User>, StoreError> {
        app_user::Entity::find()
            .filter(
                Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(
                    app_user::Column::Email,
                )))
                .eq(email.trim().to_ascii_lowercase()),
            )
            .order_by_asc(app_user::Column::Id)
            .all(self.conn)
            .await?
            .into_iter()
            .map(user_from)
            .collect()
    }

    /// Stores a new password hash. The lockout is lifted too (a locked-out clerk resets the
    /// password to get in) — except for a user with a second factor: there the lock also guards
    /// the codes, and someone holding only the mailbox must not get fresh guesses by resetting.
    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<(), StoreError> {
        app_user::Entity::update_many()
            .col_expr(app_user::Column::PasswordHash, Some(hash.to_owned()).into())
            .col_expr(app_user::Column::UpdatedAt, Utc::now().into())
            .filter(app_user::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        app_user::Entity::update_many()
            .col_expr(app_user::Column::FailedLogins, 0.into())
            .col_expr(
                app_user::Column::LockedUntil,
                Option::<DateTime<Utc>>::None.into(),
            )
            .filter(app_user::Column::Id.eq(id.0))
            .filter(app_user::Column::TotpEnabledAt.is_null())
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// A reserved check that succeeded without being a login (the password asked again before a
    /// sensitive change): the count starts again, unless a parallel guess locked the account.
    pub async fn release_login_attempts(
        &self,
        id: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = app_user::Entity::update_many()
            .col_expr(app_user::Column::FailedLogins, 0.into())
            .col_expr(app_user::Column::UpdatedAt, now.into())
            .filter(app_user::Column::Id.eq(id.0))
            .filter(unlocked(now))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Reserves one password check before it runs: counts it as a failure in advance, in one
    /// conditional UPDATE, so that parallel guesses share the same [`MAX_FAILED_LOGINS`] — the
    /// 11th concurrent guess is refused before its password is even looked at. `false`: locked, or
    /// the remaining attempts are all in flight.
    pub async fn reserve_login_attempt(
        &self,
        id: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = app_user::Entity::update_many()
            .col_expr(
                app_user::Column::FailedLogins,
                Expr::col(app_user::Column::FailedLogins).add(1),
            )
            .col_expr(app_user::Column::UpdatedAt, now.into())
            .filter(app_user::Column::Id.eq(id.0))
            .filter(app_user::Column::FailedLogins.lt(max_failed()))
            .filter(unlocked(now))
            .exec(self.conn)
            .await?;
        if res.rows_affected == 0 {
            // At the limit but never locked (attempts reserved and then abandoned, e.g. code
            // steps never finished): lock now, so the refusal ends and the message says when.
            self.record_failed_login(id, now).await?;
        }
        Ok(res.rows_affected == 1)
    }

    /// The reserved check failed: once [`MAX_FAILED_LOGINS`] failures are counted the account
    /// locks until `now + LOCKOUT` and the count starts again. Returns the lock's end if locked.
    pub async fn record_failed_login(
        &self,
        id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        app_user::Entity::update_many()
            .col_expr(app_user::Column::LockedUntil, Some(now + LOCKOUT).into())
            .col_expr(app_user::Column::FailedLogins, 0.into())
            .col_expr(app_user::Column::UpdatedAt, now.into())
            .filter(app_user::Column::Id.eq(id.0))
            .filter(app_user::Column::FailedLogins.gte(max_failed()))
            .filter(unlocked(now))
            .exec(self.conn)
            .await?;
        Ok(self.get(id).await?.and_then(|u| u.locked_at(now)))
    }

    /// The reserved check succeeded: the count starts again — unless a parallel guess locked the
    /// account meanwhile, in which case the login is refused too (`false`).
    pub async fn record_login(&self, id: UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let res = app_user::Entity::update_many()
            .col_expr(app_user::Column::FailedLogins, 0.into())
            .col_expr(app_user::Column::LastLoginAt, Some(now).into())
            .col_expr(app_user::Column::UpdatedAt, now.into())
            .filter(app_user::Column::Id.eq(id.0))
            .filter(unlocked(now))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// ユーザ基礎情報 (DOMAIN §3.10) except the user name, which never changes, and the address,
    /// which changes only through [`Self::set_email`] after a confirmation.
    pub async fn update_profile(&self, id: UserId, p: &Profile) -> Result<(), StoreError> {
        app_user::Entity::update_many()
            .col_expr(app_user::Column::FamilyName, p.family_name.clone().into())
            .col_expr(app_user::Column::GivenName, p.given_name.clone().into())
            .col_expr(app_user::Column::Phone, p.phone.clone().into())
            .col_expr(app_user::Column::Extension, p.extension.clone().into())
            .col_expr(app_user::Column::Fax, p.fax.clone().into())
            .col_expr(app_user::Column::Department, p.department.clone().into())
            .col_expr(app_user::Column::UpdatedAt, Utc::now().into())
            .filter(app_user::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    pub async fn set_email(&self, id: UserId, email: &str) -> Result<(), StoreError> {
        app_user::Entity::update_many()
            .col_expr(app_user::Column::Email, email.into())
            .col_expr(app_user::Column::UpdatedAt, Utc::now().into())
            .filter(app_user::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Support tools: stop or resume a user (利用停止).
    pub async fn set_active(&self, id: UserId, active: bool) -> Result<(), StoreError> {
        app_user::Entity::update_many()
            .col_expr(
                app_user::Column::Status,
                if active { "active" } else { "disabled" }.into(),
            )
            .col_expr(app_user::Column::UpdatedAt, Utc::now().into())
            .filter(app_user::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    pub async fn add_membership(&self, user: UserId, m: &Membership) -> Result<(), StoreError> {
        let now = Utc::now();
        let rows: Vec<membership::ActiveModel> = membership_rows(user, m, now);
        membership::Entity::insert_many(rows)
            .exec_without_returning(self.conn)
            .await?;
        Ok(())
    }

    /// Adds a 制度 to the user's membership of a facility (issuance, case ②: an existing account
    /// without the right). Returns whether a membership of that facility was there to extend.
    pub async fn grant_program(
        &self,
        user: UserId,
        facility_id: i64,
        program: Program,
    ) -> Result<bool, StoreError> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.0))
            .filter(membership::Column::Kind.eq("facility"))
            .filter(membership::Column::FacilityId.eq(facility_id))
            .all(self.conn)
            .await?;
        let Some(row) = rows.first() else {
            return Ok(false);
        };
        let mut programs: Vec<&str> = row
            .programs
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter(|p| !p.is_empty())
            .collect();
        if !programs.contains(&program.id()) {
            programs.push(program.id());
        }
        membership::Entity::update_many()
            .col_expr(
                membership::Column::Programs,
                Expr::value(programs.join(",")),
            )
            .filter(membership::Column::Id.eq(row.id))
            .exec(self.conn)
            .await?;
        Ok(true)
    }

    /// Everything the user may act for.
    pub async fn access(&self, user: UserId) -> Result<Access, StoreError> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user.0))
            .order_by_asc(membership::Column::Id)
            .all(self.conn)
            .await?;
        memberships_from(rows).map(|memberships| Access { memberships })
    }

    /// 棚卸し (account inventory): active users whose every facility is 廃止, and active users
    /// who have not logged in since `idle_since` (or never, and were created before it). At
    /// most `limit`, oldest activity first.
    pub async fn inventory(
        &self,
        idle_since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(User, InventoryReason)>, StoreError> {
        use crate::entity::facility;
        let rows: Vec<(i64, Option<i64>)> = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .column(membership::Column::FacilityId)
            .filter(membership::Column::Kind.eq("facility"))
            .into_tuple()
            .all(self.conn)
            .await?;
        let abolished: std::collections::HashSet<i64> = facility::Entity::find()
            .select_only()
            .column(facility::Column::Id)
            .filter(facility::Column::AbolishedOn.is_not_null())
            .into_tuple::<i64>()
            .all(self.conn)
            .await?
            .into_iter()
            .collect();
        let mut by_user: std::collections::BTreeMap<i64, (usize, usize)> = Default::default();
        for (user, facility) in rows {
            let e = by_user.entry(user).or_default();
            e.0 += 1;
            if facility.is_some_and(|f| abolished.contains(&f)) {
                e.1 += 1;
            }
        }
        let closed: Vec<i64> = by_user
            .into_iter()
            .filter(|(_, (all, gone))| *all > 0 && all == gone)
            .map(|(u, _)| u)
            .collect();
        let idle = sea_orm::Condition::any()
            .add(app_user::Column::LastLoginAt.lt(idle_since))
            .add(
                sea_orm::Condition::all()
                    .add(app_user::Column::LastLoginAt.is_null())
                    .add(app_user::Column::CreatedAt.lt(idle_since)),
            );
        let users = app_user::Entity::find()
            .filter(app_user::Column::Status.eq("active"))
            .filter(
                sea_orm::Condition::any()
                    .add(app_user::Column::Id.is_in(closed.clone()))
                    .add(idle),
            )
            .order_by_asc(app_user::Column::LastLoginAt)
            .order_by_asc(app_user::Column::Id)
            .limit(limit)
            .all(self.conn)
            .await?;
        users
            .into_iter()
            .map(|m| {
                let reason = if closed.contains(&m.id) {
                    InventoryReason::FacilityAbolished
                } else {
                    InventoryReason::Inactive
                };
                user_from(m).map(|u| (u, reason))
            })
            .collect()
    }

    /// Users acting for a facility (「その施設に既に利用者がいるか」 hints, support tools).
    pub async fn of_facility(&self, facility_id: i64) -> Result<Vec<User>, StoreError> {
        let ids: Vec<i64> = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .filter(membership::Column::Kind.eq("facility"))
            .filter(membership::Column::FacilityId.eq(facility_id))
            .into_tuple()
            .all(self.conn)
            .await?;
        app_user::Entity::find()
            .filter(app_user::Column::Id.is_in(ids))
            .order_by_asc(app_user::Column::Id)
            .all(self.conn)
            .await?
            .into_iter()
            .map(user_from)
            .collect()
    }
}

/// Which membership rows to remove: a facility's user, or a prefecture's staff member or
/// delegate (all of that prefecture's rows of the kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipOf {
    Facility(i64),
    PrefectureStaff(PrefectureCode),
    Delegate(PrefectureCode),
}

impl<'a> UserRepo<'a> {
    /// A prefecture's staff and delegates, with all their memberships, by login ID.
    pub async fn staff_of(
        &self,
        prefecture: PrefectureCode,
    ) -> Result<Vec<(User, Vec<Membership>)>, StoreError> {
        let ids: Vec<i64> = membership::Entity::find()
            .select_only()
            .column(membership::Column::UserId)
            .distinct()
            .filter(membership::Column::Kind.is_in(["prefecture", "delegate"]))
            .filter(membership::Column::PrefectureCode.eq(prefecture.to_string()))
            .into_tuple()
            .all(self.conn)
            .await?;
        let users = app_user::Entity::find()
            .filter(app_user::Column::Id.is_in(ids))
            .order_by_asc(app_user::Column::LoginId)
            .all(self.conn)
            .await?;
        let users: Vec<User> = users.into_iter().map(user_from).collect::<Result<_, _>>()?;
        let mut memberships = self
            .memberships_of(&users.iter().map(|u| u.id).collect::<Vec<_>>())
            .await?;
        Ok(users
            .into_iter()
            .map(|u| {
                let m = memberships.remove(&u.id).unwrap_or_default();
                (u, m)
            })
            .collect())
    }

    /// The memberships of many users in one query (lists of staff or colleagues).
    pub async fn memberships_of(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::BTreeMap<UserId, Vec<Membership>>, StoreError> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.is_in(users.iter().map(|u| u.0)))
            .order_by_asc(membership::Column::Id)
            .all(self.conn)
            .await?;
        let mut by_user: std::collections::BTreeMap<UserId, Vec<membership::Model>> =
            std::collections::BTreeMap::new();
        for r in rows {
            by_user.entry(UserId(r.user_id)).or_default().push(r);
        }
        by_user
            .into_iter()
            .map(|(u, rows)| memberships_from(rows).map(|m| (u, m)))
            .collect()
    }

    /// Removes a membership; returns how many rows went. The user's sessions are the caller's
    /// to end.
    pub async fn remove_membership(
        &self,
        user: UserId,
        which: MembershipOf,
    ) -> Result<u64, StoreError> {
        let q = membership::Entity::delete_many().filter(membership::Column::UserId.eq(user.0));
        let q = match which {
            MembershipOf::Facility(id) => q
                .filter(membership::Column::Kind.eq("facility"))
                .filter(membership::Column::FacilityId.eq(id)),
            MembershipOf::PrefectureStaff(p) => q
                .filter(membership::Column::Kind.eq("prefecture"))
                .filter(membership::Column::PrefectureCode.eq(p.to_string())),
            MembershipOf::Delegate(p) => q
                .filter(membership::Column::Kind.eq("delegate"))
                .filter(membership::Column::PrefectureCode.eq(p.to_string())),
        };
        Ok(q.exec(self.conn).await?.rows_affected)
    }
}

fn membership_rows(
    user: UserId,
    m: &Membership,
    now: DateTime<Utc>,
) -> Vec<membership::ActiveModel> {
    let row = |kind: &str| membership::ActiveModel {
        user_id: Set(user.0),
        kind: Set(kind.to_owned()),
        facility_id: Set(None),
        prefecture_code: Set(None),
        level: Set(None),
        municipalities: Set(None),
        programs: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    match m {
        Membership::Facility {
            facility_id,
            admin,
            programs,
        } => {
            let mut r = row("facility");
            r.facility_id = Set(Some(*facility_id));
            r.level = Set(Some(if *admin { "admin" } else { "member" }.to_owned()));
            r.programs = Set(Some(
                programs
                    .iter()
                    .map(|p| p.id())
                    .collect::<Vec<_>>()
                    .join(","),
            ));
            vec![r]
        }
        Membership::Prefecture {
            prefecture,
            level,
            area,
        } => {
            let mut r = row("prefecture");
            r.prefecture_code = Set(Some(prefecture.to_string()));
            r.level = Set(Some(level.id().to_owned()));
            r.municipalities = Set(match area {
                Area::Whole => None,
                Area::Municipalities(list) => Some(
                    serde_json::Value::from(list.iter().map(|c| c.to_string()).collect::<Vec<_>>())
                        .to_string(),
                ),
            });
            vec![r]
        }
        // One row per facility, so that "who acts for facility F" is an index lookup.
        Membership::Delegate {
            prefecture,
            facility_ids,
        } => facility_ids
            .iter()
            .map(|id| {
                let mut r = row("delegate");
                r.prefecture_code = Set(Some(prefecture.to_string()));
                r.facility_id = Set(Some(*id));
                r
            })
            .collect(),
        Membership::Operator => vec![row("operator")],
    }
}

fn memberships_from(rows: Vec<membership::Model>) -> Result<Vec<Membership>, StoreError> {
    let corrupt = |column: &'static str, message: String| StoreError::Corrupt {
        table: "membership",
        column,
        message,
    };
    let prefecture = |r: &membership::Model| {
        r.prefecture_code
            .as_deref()
            .and_then(|c| PrefectureCode::parse(c).ok())
            .ok_or_else(|| corrupt("prefecture_code", format!("{:?}", r.prefecture_code)))
    };
    let mut out: Vec<Membership> = Vec::new();
    for r in &rows {
        match r.kind.as_str() {
            "facility" => out.push(Membership::Facility {
                facility_id: r
                    .facility_id
                    .ok_or_else(|| corrupt("facility_id", "missing".into()))?,
                admin: r.level.as_deref() == Some("admin"),
                programs: r
                    .programs
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| Program::parse(p).ok_or_else(|| corrupt("programs", p.to_owned())))
                    .collect::<Result<_, _>>()?,
            }),
            "prefecture" => {
                let level = r
                    .level
                    .as_deref()
                    .and_then(StaffLevel::parse)
                    .ok_or_else(|| corrupt("level", format!("{:?}", r.level)))?;
                let area = match &r.municipalities {
                    None => Area::Whole,
                    Some(json) => {
                        let codes: Vec<String> = serde_json::from_str(json)
                            .map_err(|e| corrupt("municipalities", e.to_string()))?;
                        Area::Municipalities(
                            codes
                                .iter()
                                .map(|c| MunicipalityCode::parse(c))
                                .collect::<Result<_, _>>()
                                .map_err(|e| corrupt("municipalities", e.to_string()))?,
                        )
                    }
                };
                out.push(Membership::Prefecture {
                    prefecture: prefecture(r)?,
                    level,
                    area,
                });
            }
            "delegate" => {
                let pref = prefecture(r)?;
                let id = r
                    .facility_id
                    .ok_or_else(|| corrupt("facility_id", "missing".into()))?;
                // Rows of one prefecture's delegation fold back into one membership.
                match out.iter_mut().find_map(|m| match m {
                    Membership::Delegate {
                        prefecture,
                        facility_ids,
                    } if *prefecture == pref => Some(facility_ids),
                    _ => None,
                }) {
                    Some(ids) => ids.push(id),
                    None => out.push(Membership::Delegate {
                        prefecture: pref,
                        facility_ids: vec![id],
                    }),
                }
            }
            "operator" => out.push(Membership::Operator),
            other => return Err(corrupt("kind", other.to_owned())),
        }
    }
    Ok(out)
}

fn user_from(m: app_user::Model) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(m.id),
        login_id: LoginId::parse(&m.login_id).map_err(|e| StoreError::Corrupt {
            table: "app_user",
            column: "login_id",
            message: e.to_string(),
        })?,
        email: m.email,
        family_name: m.family_name,
        given_name: m.given_name,
        phone: m.phone,
        extension: m.extension,
        fax: m.fax,
        department: m.department,
        password_hash: m.password_hash,
        active: m.status == "active",
        failed_logins: u32::try_from(m.failed_logins).unwrap_or(0),
        locked_until: m.locked_until,
        last_login_at: m.last_login_at,
        created_at: m.created_at,
        mfa_enabled_at: m.totp_enabled_at,
    })
}

/// What a single-use token is for; a token of one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordSetup,
    PasswordReset,
    EmailConfirmation,
    /// Between a correct password and the second factor: the login is not finished yet.
    MfaLogin,
}

impl TokenPurpose {
    pub fn id(self) -> &'static str {
        match self {
            Self::PasswordSetup => "password_setup",
            Self::PasswordReset => "password_reset",
            Self::EmailConfirmation => "email_confirmation",
            Self::MfaLogin => "mfa_login",
        }
    }
}

/// What opening a token's link finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenState {
    Unknown,
    /// Used before, at this time (the seeds' group-mailbox case: tell the user when).
    Used(DateTime<Utc>),
    Expired(DateTime<Utc>),
    /// A newer link of the same purpose was issued (at this time); only the newest works.
    Replaced(DateTime<Utc>),
    Valid {
        user: Option<UserId>,
        subject: Option<String>,
    },
}

pub struct TokenRepo<'a> {
    conn: &'a DatabaseConnection,
}

impl<'a> TokenRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { conn: store.conn() }
    }

    /// Stores the hash of a new token. Earlier unused tokens of the same purpose for the user
    /// are withdrawn: only the newest link works (a re-issued setup link replaces the lost one).
    ///
    /// Nothing is updated to withdraw them: a token is usable only while no newer one (by
    /// creation time, ties by hash) of the same purpose exists for the user (see `state`), so
    /// two issues racing each other still leave exactly one usable token.
    pub async fn issue(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        user: Option<UserId>,
        subject: Option<&str>,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> Result<(), StoreError> {
        auth_token::Entity::insert(auth_token::ActiveModel {
            hash: Set(hash.to_owned()),
            purpose: Set(purpose.id().to_owned()),
            user_id: Set(user.map(|u| u.0)),
            subject: Set(subject.map(str::to_owned)),
            created_at: Set(now),
            expires_at: Set(now + valid_for),
            used_at: Set(None),
        })
        .exec(self.conn)
        .await
        .map_err(|e| crate::facility::duplicate_or(e, "auth_token"))?;
        Ok(())
    }

    /// How many tokens of `purpose` were issued for `user` since `since` (limits how many reset
    /// mails one person can be sent).
    pub async fn count_issued_since(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(auth_token::Entity::find()
            .filter(auth_token::Column::UserId.eq(user.0))
            .filter(auth_token::Column::Purpose.eq(purpose.id()))
            .filter(auth_token::Column::CreatedAt.gte(since))
            .count(self.conn)
            .await?)
    }

    /// Looks at a token without using it (the GET of a link shows a confirm page).
    pub async fn state(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<TokenState, StoreError> {
        let Some(t) = auth_token::Entity::find_by_id(hash.to_owned())
            .filter(auth_token::Column::Purpose.eq(purpose.id()))
            .one(self.conn)
            .await?
        else {
            return Ok(TokenState::Unknown);
        };
        if t.used_at.is_none()
            && t.expires_at > now
            && let Some(at) = self.superseded(&t).await?
        {
            // A newer link of the same purpose was issued: only the newest works, whatever
            // order two issues finished in.
            return Ok(TokenState::Replaced(at));
        }
        Ok(match t.used_at {
            Some(at) => TokenState::Used(at),
            None if t.expires_at <= now => TokenState::Expired(t.expires_at),
            None => TokenState::Valid {
                user: t.user_id.map(UserId),
                subject: t.subject,
            },
        })
    }

    /// When a newer token (by creation time, ties by hash) of the same purpose was issued for
    /// the same user, if one was.
    async fn superseded(&self, t: &auth_token::Model) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(user) = t.user_id else {
            return Ok(None);
        };
        let newer = sea_orm::Condition::any()
            .add(auth_token::Column::CreatedAt.gt(t.created_at))
            .add(
                sea_orm::Condition::all()
                    .add(auth_token::Column::CreatedAt.eq(t.created_at))
                    .add(auth_token::Column::Hash.gt(t.hash.clone())),
            );
        Ok(auth_token::Entity::find()
            .filter(auth_token::Column::UserId.eq(user))
            .filter(auth_token::Column::Purpose.eq(t.purpose.clone()))
            .filter(newer)
            .order_by_desc(auth_token::Column::CreatedAt)
            .one(self.conn)
            .await?
            .map(|n| n.created_at))
    }

    /// Deletes tokens that expired before `before`. Kept a while after expiry so that an old link
    /// still says 「使用済み」 or 「期限切れ」 with its date (the seeds' group-mailbox case) rather
    /// than 「無効」.
    pub async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(auth_token::Entity::delete_many()
            .filter(auth_token::Column::ExpiresAt.lt(before))
            .exec(self.conn)
            .await?
            .rows_affected)
    }

    /// Uses a token: succeeds once, in one UPDATE, so that two clicks (or a mail scanner and the
    /// user) cannot both pass. Returns what [`Self::state`] saw if it could not be used.
    pub async fn consume(
        &self,
        hash: &str,
        purpose: TokenPurpose,
        now: DateTime<Utc>,
    ) -> Result<TokenState, StoreError> {
        if let Some(t) = auth_token::Entity::find_by_id(hash.to_owned())
            .one(self.conn)
            .await?
            && self.superseded(&t).await?.is_some()
        {
            return self.state(hash, purpose, now).await;
        }
        let res = auth_token::Entity::update_many()
            .col_expr(auth_token::Column::UsedAt, Some(now).into())
            .filter(auth_token::Column::Hash.eq(hash))
            .filter(auth_token::Column::Purpose.eq(purpose.id()))
            .filter(auth_token::Column::UsedAt.is_null())
            .filter(auth_token::Column::ExpiresAt.gt(now))
            .exec(self.conn)
            .await?;
        if res.rows_affected == 1 {
            let t = auth_token::Entity::find_by_id(hash.to_owned())
                .one(self.conn)
                .await?;
            return Ok(TokenState::Valid {
                user: t.as_ref().and_then(|t| t.user_id).map(UserId),
                subject: t.and_then(|t| t.subject),
            });
        }
        self.state(hash, purpose, now).await
    }
}

pub struct SessionRepo<'a> {
    conn: &'a DatabaseConnection,
}

impl<'a> SessionRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { conn: store.conn() }
    }

    pub async fn create(
        &self,
        id_hash: &str,
        user: UserId,
        now: DateTime<Utc>,
        absolute: Duration,
    ) -> Result<(), StoreError> {
        session::Entity::insert(session::ActiveModel {
            id_hash: Set(id_hash.to_owned()),
            user_id: Set(user.0),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(now + absolute),
        })
        .exec(self.conn)
        .await?;
        Ok(())
    }

    /// Deletes every session that has ended by `now` (past its absolute end, or idle longer than
    /// `idle`); a session is also deleted when presented after its end, but most never are.
    pub async fn purge(&self, now: DateTime<Utc>, idle: Duration) -> Result<u64, StoreError> {
        let ended = sea_orm::Condition::any()
            .add(session::Column::ExpiresAt.lte(now))
            .add(session::Column::LastSeenAt.lte(now - idle));
        Ok(session::Entity::delete_many()
            .filter(ended)
            .exec(self.conn)
            .await?
            .rows_affected)
    }

    /// The session's user if it is neither past its absolute end nor idle longer than `idle`;
    /// marks it seen. An ended session is deleted. The mark is written at most once a minute
    /// (SQLite has one writer) and only while the session still exists and is valid, so a
    /// `revoke_all` in between wins.
    pub async fn touch(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        idle: Duration,
    ) -> Result<Option<UserId>, StoreError> {
        let Some(s) = session::Entity::find_by_id(id_hash.to_owned())
            .one(self.conn)
            .await?
        else {
            return Ok(None);
        };
        if s.expires_at <= now || s.last_seen_at + idle <= now {
            self.revoke(id_hash).await?;
            return Ok(None);
        }
        if now - s.last_seen_at < Duration::minutes(1) {
            return Ok(Some(UserId(s.user_id)));
        }
        let res = session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, now.into())
            .filter(session::Column::IdHash.eq(id_hash))
            .filter(session::Column::ExpiresAt.gt(now))
            .filter(session::Column::LastSeenAt.gt(now - idle))
            .exec(self.conn)
            .await?;
        Ok((res.rows_affected == 1).then_some(UserId(s.user_id)))
    }

    pub async fn revoke(&self, id_hash: &str) -> Result<(), StoreError> {
        session::Entity::delete_by_id(id_hash.to_owned())
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// ログアウト everywhere (and after a password change): every session of the user ends.
    pub async fn revoke_all(&self, user: UserId) -> Result<u64, StoreError> {
        let res = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(user.0))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected)
    }
}

/// One security-relevant action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub actor: Option<UserId>,
    /// Stable id, e.g. `account.login_failed`, `mail.bounced`.
    pub action: String,
    pub target: Option<(String, String)>,
    /// Scope of who may read it.
    pub prefecture: Option<PrefectureCode>,
    pub facility_id: Option<i64>,
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    /// `action` by `actor` (`None`: before anyone is identified), with no target or scope yet.
    pub fn new(action: &str, actor: Option<UserId>) -> Self {
        Self {
            actor,
            action: action.to_owned(),
            target: None,
            prefecture: None,
            facility_id: None,
            detail: None,
        }
    }

    /// What the action was done to, e.g. `("user", "42")`.
    pub fn on(mut self, kind: &str, id: impl ToString) -> Self {
        self.target = Some((kind.to_owned(), id.to_string()));
        self
    }

    /// The prefecture whose staff may read it.
    pub fn in_prefecture(mut self, prefecture: Option<PrefectureCode>) -> Self {
        self.prefecture = prefecture;
        self
    }

    pub fn about_facility(mut self, facility_id: Option<i64>) -> Self {
        self.facility_id = facility_id;
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: AuditEvent,
}

pub struct AuditRepo<'a> {
    conn: &'a DatabaseConnection,
}

impl<'a> AuditRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { conn: store.conn() }
    }

    pub async fn record(&self, e: &AuditEvent, at: DateTime<Utc>) -> Result<(), StoreError> {
        insert_audit(self.conn, e, at).await
    }

    /// Newest first; `prefecture` limits to events in that prefecture's scope.
    pub async fn list(
        &self,
        prefecture: Option<PrefectureCode>,
        limit: u64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut q = audit_event::Entity::find();
        if let Some(p) = prefecture {
            q = q.filter(audit_event::Column::PrefectureCode.eq(p.to_string()));
        }
        q.order_by_desc(audit_event::Column::Id)
            .limit(limit)
            .all(self.conn)
            .await?
            .into_iter()
            .map(|m| {
                Ok(AuditRecord {
                    id: m.id,
                    at: m.at,
                    event: AuditEvent {
                        actor: m.actor_user_id.map(UserId),
                        action: m.action,
                        target: m.target_kind.zip(m.target_id),
                        prefecture: m
                            .prefecture_code
                            .as_deref()
                            .map(PrefectureCode::parse)
                            .transpose()
                            .map_err(|e| StoreError::Corrupt {
                                table: "audit_event",
                                column: "prefecture_code",
                                message: e.to_string(),
                            })?,
                        facility_id: m.facility_id,
                        detail: m
                            .detail
                            .as_deref()
                            .and_then(|d| serde_json::from_str(d).ok()),
                    },
                })
            })
            .collect()
    }
}

/// Writes one audit event on `conn`: the store's connection, or the transaction of the change
/// it records (DESIGN §2.3: the change and its audit event commit together).
pub(crate) async fn insert_audit(
    conn: &impl sea_orm::ConnectionTrait,
    e: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit_event::Entity::insert(audit_event::ActiveModel {
        at: Set(at),
        actor_user_id: Set(e.actor.map(|u| u.0)),
        action: Set(e.action.clone()),
        target_kind: Set(e.target.as_ref().map(|t| t.0.clone())),
        target_id: Set(e.target.as_ref().map(|t| t.1.clone())),
        prefecture_code: Set(e.prefecture.map(|p| p.to_string())),
        facility_id: Set(e.facility_id),
        detail: Set(e.detail.as_ref().map(|d| d.to_string())),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(())
}
