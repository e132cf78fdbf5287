//! 新規ユーザ登録申請 rows: from the confirmed address to the prefecture's decision and the
//! issuance outcome. Every status change is a compare-and-set on the status it leaves, so two
//! reviewers pressing 承認 and 却下 at once cannot both succeed.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use teikyo_domain::PrefectureCode;
use teikyo_domain::registration::{
    ApplicationForm, ApplicationNumber, ApplicationStatus, IssuanceOutcome,
};

use crate::entity::{captcha_spent, registration};
use crate::{Store, StoreError, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistrationId(pub i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id: RegistrationId,
    pub number: Option<ApplicationNumber>,
    pub status: ApplicationStatus,
    /// Empty for a 代理申請 of a facility without e-mail (paper reporting).
    pub email: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub code_attempts: u32,
    pub codes_sent: u32,
    pub code_sent_at: Option<DateTime<Utc>>,
    /// SHA-256 of the applicant's browser cookie.
    pub applicant_hash: Option<String>,
    pub form: ApplicationForm,
    pub consented_at: Option<DateTime<Utc>>,
    pub prefecture: Option<PrefectureCode>,
    pub facility_name: Option<String>,
    pub filed_by: Option<UserId>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reject_reason: Option<String>,
    pub facility_id: Option<i64>,
    pub outcome: Option<IssuanceOutcome>,
    pub issued_user: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of the review list.
#[derive(Debug, Clone, Default)]
pub struct RegistrationFilter {
    /// `None`: every prefecture (the operator).
    pub prefectures: Option<Vec<PrefectureCode>>,
    pub status: Option<ApplicationStatus>,
}

pub struct RegistrationRepo<'a> {
    conn: &'a DatabaseConnection,
}

fn corrupt(column: &'static str, message: String) -> StoreError {
    StoreError::Corrupt {
        table: "registration",
        column,
        message,
    }
}

fn from_model(m: registration::Model) -> Result<Registration, StoreError> {
    Ok(Registration {
        id: RegistrationId(m.id),
        number: m
            .number
            .as_deref()
            .map(|n| ApplicationNumber::parse(n).ok_or_else(|| corrupt("number", n.to_owned())))
            .transpose()?,
        status: ApplicationStatus::parse(&m.status)
            .ok_or_else(|| corrupt("status", m.status.clone()))?,
        email: m.email,
        email_verified_at: m.email_verified_at,
        code_hash: m.code_hash,
        code_expires_at: m.code_expires_at,
        code_attempts: u32::try_from(m.code_attempts).unwrap_or(0),
        codes_sent: u32::try_from(m.codes_sent).unwrap_or(0),
        code_sent_at: m.code_sent_at,
        applicant_hash: m.applicant_hash,
        form: match m.form.as_deref() {
            Some(json) => serde_json::from_str(json).map_err(|e| corrupt("form", e.to_string()))?,
            None => ApplicationForm::default(),
        },
        consented_at: m.consented_at,
        prefecture: m
            .prefecture_code
            .as_deref()
            .map(|p| {
                PrefectureCode::parse(p).map_err(|e| corrupt("prefecture_code", e.to_string()))
            })
            .transpose()?,
        facility_name: m.facility_name,
        filed_by: m.filed_by_user_id.map(UserId),
        submitted_at: m.submitted_at,
        reviewed_by: m.reviewed_by_user_id.map(UserId),
        reviewed_at: m.reviewed_at,
        reject_reason: m.reject_reason,
        facility_id: m.facility_id,
        outcome: m
            .outcome
            .as_deref()
            .map(|o| IssuanceOutcome::parse(o).ok_or_else(|| corrupt("outcome", o.to_owned())))
            .transpose()?,
        issued_user: m.issued_user_id.map(UserId),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn form_json(form: &ApplicationForm) -> Result<String, StoreError> {
    serde_json::to_string(form).map_err(|e| corrupt("form", e.to_string()))
}

impl<'a> RegistrationRepo<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { conn: store.conn() }
    }

    pub async fn get(&self, id: RegistrationId) -> Result<Option<Registration>, StoreError> {
        registration::Entity::find_by_id(id.0)
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    pub async fn by_number(
        &self,
        number: ApplicationNumber,
    ) -> Result<Option<Registration>, StoreError> {
        registration::Entity::find()
            .filter(registration::Column::Number.eq(number.to_string()))
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    /// The application the applicant's browser cookie names.
    pub async fn by_applicant(&self, hash: &str) -> Result<Option<Registration>, StoreError> {
        registration::Entity::find()
            .filter(registration::Column::ApplicantHash.eq(hash))
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    /// The newest unfinished (not yet submitted) application for an address, to resume.
    pub async fn unfinished_for(&self, email: &str) -> Result<Option<Registration>, StoreError> {
        registration::Entity::find()
            .filter(
                Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(
                    registration::Column::Email,
                )))
                .eq(email.trim().to_ascii_lowercase()),
            )
            .filter(registration::Column::Status.is_in(["verifying", "draft"]))
            .order_by_desc(registration::Column::Id)
            .one(self.conn)
            .await?
            .map(from_model)
            .transpose()
    }

    /// A new application for an address (status メールアドレス確認中).
    pub async fn create(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<RegistrationId, StoreError> {
        let res = registration::Entity::insert(registration::ActiveModel {
            status: Set(ApplicationStatus::Verifying.id().to_owned()),
            email: Set(email.to_owned()),
            code_attempts: Set(0),
            codes_sent: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(self.conn)
        .await?;
        Ok(RegistrationId(res.last_insert_id))
    }

    /// Binds a new application (before its address is confirmed) to the browser that started it.
    pub async fn confirm_pending_browser(
        &self,
        id: RegistrationId,
        applicant_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        registration::Entity::update_many()
            .col_expr(
                registration::Column::ApplicantHash,
                Expr::value(applicant_hash),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .filter(registration::Column::Status.eq(ApplicationStatus::Verifying.id()))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Stores a newly sent code (its hash), resetting the attempts; counts the send.
    pub async fn set_code(
        &self,
        id: RegistrationId,
        code_hash: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        registration::Entity::update_many()
            .col_expr(registration::Column::CodeHash, Expr::value(code_hash))
            .col_expr(registration::Column::CodeExpiresAt, Expr::value(expires_at))
            .col_expr(registration::Column::CodeAttempts, Expr::value(0))
            .col_expr(
                registration::Column::CodesSent,
                Expr::col(registration::Column::CodesSent).add(1),
            )
            .col_expr(registration::Column::CodeSentAt, Expr::value(now))
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Counts a code attempt before it is checked (so parallel guesses share the limit);
    /// returns the attempts so far, including this one.
    pub async fn count_code_attempt(&self, id: RegistrationId) -> Result<u32, StoreError> {
        registration::Entity::update_many()
            .col_expr(
                registration::Column::CodeAttempts,
                Expr::col(registration::Column::CodeAttempts).add(1),
            )
            .filter(registration::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(self.get(id).await?.map_or(u32::MAX, |r| r.code_attempts))
    }

    /// The address is confirmed: the code is spent, the application moves to 入力中 (unless it
    /// was further already), and `applicant_hash` is the browser that may continue it.
    pub async fn confirm_email(
        &self,
        id: RegistrationId,
        applicant_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        registration::Entity::update_many()
            .col_expr(
                registration::Column::CodeHash,
                Expr::value(Option::<String>::None),
            )
            .col_expr(registration::Column::EmailVerifiedAt, Expr::value(now))
            .col_expr(
                registration::Column::ApplicantHash,
                Expr::value(applicant_hash),
            )
            .col_expr(
                registration::Column::Status,
                Expr::value(ApplicationStatus::Draft.id()),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .filter(registration::Column::Status.is_in(["verifying", "draft"]))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Saves the form of an application still being filled in.
    pub async fn save_form(
        &self,
        id: RegistrationId,
        form: &ApplicationForm,
        prefecture: Option<PrefectureCode>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let res = registration::Entity::update_many()
            .col_expr(registration::Column::Form, Expr::value(form_json(form)?))
            .col_expr(
                registration::Column::PrefectureCode,
                Expr::value(prefecture.map(|p| p.to_string())),
            )
            .col_expr(
                registration::Column::FacilityName,
                Expr::value(Some(form.facility_name.trim().to_owned()).filter(|s| !s.is_empty())),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .filter(registration::Column::Status.eq(ApplicationStatus::Draft.id()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    pub async fn consent(&self, id: RegistrationId, now: DateTime<Utc>) -> Result<(), StoreError> {
        registration::Entity::update_many()
            .col_expr(registration::Column::ConsentedAt, Expr::value(now))
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// 申請する: 入力中 → 審査待ち, with its 申請番号. `None` if it was not 入力中 (submitted twice).
    pub async fn submit(
        &self,
        id: RegistrationId,
        now: DateTime<Utc>,
    ) -> Result<Option<ApplicationNumber>, StoreError> {
        let number = ApplicationNumber(id.0);
        let res = registration::Entity::update_many()
            .col_expr(
                registration::Column::Number,
                Expr::value(number.to_string()),
            )
            .col_expr(
                registration::Column::Status,
                Expr::value(ApplicationStatus::Submitted.id()),
            )
            .col_expr(registration::Column::SubmittedAt, Expr::value(now))
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .filter(registration::Column::Status.eq(ApplicationStatus::Draft.id()))
            .exec(self.conn)
            .await?;
        Ok((res.rows_affected == 1).then_some(number))
    }

    /// 代理申請: a prefecture's staff member files a complete application directly.
    pub async fn file_on_behalf(
        &self,
        filed_by: UserId,
        email: &str,
        form: &ApplicationForm,
        prefecture: PrefectureCode,
        now: DateTime<Utc>,
    ) -> Result<(RegistrationId, ApplicationNumber), StoreError> {
        let res = registration::Entity::insert(registration::ActiveModel {
            status: Set(ApplicationStatus::Draft.id().to_owned()),
            email: Set(email.to_owned()),
            form: Set(Some(form_json(form)?)),
            prefecture_code: Set(Some(prefecture.to_string())),
            facility_name: Set(Some(form.facility_name.trim().to_owned())),
            filed_by_user_id: Set(Some(filed_by.0)),
            consented_at: Set(Some(now)),
            code_attempts: Set(0),
            codes_sent: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .exec(self.conn)
        .await?;
        let id = RegistrationId(res.last_insert_id);
        let number = self
            .submit(id, now)
            .await?
            .ok_or_else(|| corrupt("status", "a new proxy application was not a draft".into()))?;
        Ok((id, number))
    }

    /// 承認 or 却下, once: `false` if the application was no longer 審査待ち.
    pub async fn decide(
        &self,
        id: RegistrationId,
        reviewer: UserId,
        approve: bool,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let status = if approve {
            ApplicationStatus::Approved
        } else {
            ApplicationStatus::Rejected
        };
        let res = registration::Entity::update_many()
            .col_expr(registration::Column::Status, Expr::value(status.id()))
            .col_expr(
                registration::Column::ReviewedByUserId,
                Expr::value(reviewer.0),
            )
            .col_expr(registration::Column::ReviewedAt, Expr::value(now))
            .col_expr(
                registration::Column::RejectReason,
                Expr::value(reason.map(str::to_owned)),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .filter(registration::Column::Status.eq(ApplicationStatus::Submitted.id()))
            .exec(self.conn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// What issuance did.
    pub async fn record_issuance(
        &self,
        id: RegistrationId,
        outcome: IssuanceOutcome,
        facility_id: Option<i64>,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        registration::Entity::update_many()
            .col_expr(registration::Column::Outcome, Expr::value(outcome.id()))
            .col_expr(registration::Column::FacilityId, Expr::value(facility_id))
            .col_expr(
                registration::Column::IssuedUserId,
                Expr::value(user.map(|u| u.0)),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        Ok(())
    }

    /// Marks a solved captcha as used; `false` if it was used before (a replay). Expired entries
    /// are dropped on the way, so the table holds only live solutions.
    pub async fn spend_captcha(
        &self,
        signature: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        captcha_spent::Entity::delete_many()
            .filter(captcha_spent::Column::ExpiresAt.lt(now))
            .exec(self.conn)
            .await?;
        let res = captcha_spent::Entity::insert(captcha_spent::ActiveModel {
            signature: Set(signature.to_owned()),
            expires_at: Set(expires_at),
        })
        .exec(self.conn)
        .await;
        match res.map_err(|e| crate::facility::duplicate_or(e, "captcha_spent")) {
            Ok(_) => Ok(true),
            Err(StoreError::Duplicate(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Resuming (DOMAIN: an abandoned application continues from the verified address): the
    /// newest other unfinished application of the same address hands its form and consent to
    /// `id`, which has just confirmed the address, and is removed. Returns whether one was found.
    pub async fn adopt_draft(
        &self,
        id: RegistrationId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let older = registration::Entity::find()
            .filter(
                Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(
                    registration::Column::Email,
                )))
                .eq(email.trim().to_ascii_lowercase()),
            )
            .filter(registration::Column::Status.eq(ApplicationStatus::Draft.id()))
            .filter(registration::Column::Id.ne(id.0))
            .filter(registration::Column::Form.is_not_null())
            .order_by_desc(registration::Column::UpdatedAt)
            .one(self.conn)
            .await?;
        let Some(older) = older else {
            return Ok(false);
        };
        registration::Entity::update_many()
            .col_expr(registration::Column::Form, Expr::value(older.form.clone()))
            .col_expr(
                registration::Column::PrefectureCode,
                Expr::value(older.prefecture_code.clone()),
            )
            .col_expr(
                registration::Column::FacilityName,
                Expr::value(older.facility_name.clone()),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(now))
            .filter(registration::Column::Id.eq(id.0))
            .exec(self.conn)
            .await?;
        registration::Entity::delete_many()
            .filter(
                Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(
                    registration::Column::Email,
                )))
                .eq(email.trim().to_ascii_lowercase()),
            )
            .filter(registration::Column::Status.is_in(["verifying", "draft"]))
            .filter(registration::Column::Id.ne(id.0))
            .exec(self.conn)
            .await?;
        Ok(true)
    }

    fn filtered(&self, f: &RegistrationFilter) -> sea_orm::Select<registration::Entity> {
        let mut q =
            registration::Entity::find().filter(registration::Column::SubmittedAt.is_not_null());
        if let Some(list) = &f.prefectures {
            q = q.filter(
                registration::Column::PrefectureCode
                    .is_in(list.iter().map(|p| p.to_string()).collect::<Vec<_>>()),
            );
        }
        if let Some(s) = f.status {
            q = q.filter(registration::Column::Status.eq(s.id()));
        }
        q
    }

    /// Submitted applications (drafts are the applicant's), oldest waiting first.
    pub async fn list(
        &self,
        f: &RegistrationFilter,
        limit: u64,
        offset: u64,
    ) -> Result<Vec<Registration>, StoreError> {
        self.filtered(f)
            .order_by_asc(registration::Column::SubmittedAt)
            .order_by_asc(registration::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(self.conn)
            .await?
            .into_iter()
            .map(from_model)
            .collect()
    }

    pub async fn count(&self, f: &RegistrationFilter) -> Result<u64, StoreError> {
        Ok(self.filtered(f).count(self.conn).await?)
    }
}
