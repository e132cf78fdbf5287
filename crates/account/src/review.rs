//! The prefecture's decision on an application and the issuance that follows approval
//! (DOMAIN §3.4–§3.6), in the seeds' three cases:
//!
//! 1. the facility already has an account with the right for this 制度 → nothing is issued and
//!    no mail is sent; the prefecture is told so;
//! 2. it has an account without that right → the right is added and the
//!    既存のご利用者確認依頼メール goes to that account's address;
//! 3. otherwise the facility (if new) and its user are created, the 事前確認メール goes out at
//!    once and the 利用案内メール (user name + single-use setup link) on the next business day
//!    at 9:00 in Japan (土日・祝日・年末年始 skipped; immediately in the demo).
//!
//! Unlike G-MIS there is no second queue at a national office: issuing follows the approval.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use teikyo_domain::account::{LoginId, Membership};
use teikyo_domain::registration::{Application, IssuanceOutcome};
use teikyo_domain::{FacilityNames, FacilityRecord};
use teikyo_mail::MailTemplates;
use teikyo_mail::catalogue::{
    AccountReady, ApplicationRejected, ExistingUserConfirmation, PreIssuanceCheck,
};
use teikyo_store::{
    AuditEvent, Facility, FacilityId, NewUser, Registration, Store, StoreError, TokenPurpose,
    UserId,
};

use crate::recovery::{LOGIN_PATH, SETUP_LINK_PREFIX};
use crate::registration::{APPLY_PATH, check_form};
use crate::token::new_token;

/// How long the first setup link works: long enough for a clinic that reads mail weekly.
pub const SETUP_VALID: Duration = Duration::days(14);
/// A 却下 needs a reason the applicant can act on.
pub const MAX_REASON_CHARS: usize = 1000;

/// When the 利用案内メール goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueTiming {
    /// 9:00 (Japan) on the next business day, as the seeds describe.
    NextBusinessDay,
    /// At once (the demo, and deployments that prefer it).
    Immediately,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("この申請は既に承認または却下されています。")]
    AlreadyDecided,
    #[error("却下の理由を入力してください。申請者へのメールに記載されます。")]
    ReasonMissing,
    #[error("却下の理由は{MAX_REASON_CHARS}文字以内で入力してください。")]
    ReasonTooLong,
    #[error("申請内容に不備があるため承認できません。却下して、理由をお知らせください。")]
    Invalid,
    #[error("メールを作成できませんでした: {0}")]
    Template(#[from] teikyo_mail::TemplateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReviewError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyDecided => "review.decided",
            Self::ReasonMissing => "review.reason_missing",
            Self::ReasonTooLong => "review.reason_too_long",
            Self::Invalid => "review.invalid",
            Self::Template(_) => "review.template",
            Self::Store(_) => "review.store",
        }
    }
}

/// What approval did, for the prefecture's screen.
#[derive(Debug, Clone)]
pub struct Issued {
    pub outcome: IssuanceOutcome,
    pub facility_id: FacilityId,
    /// The user created (case 3).
    pub user: Option<UserId>,
    pub login_id: Option<LoginId>,
    /// For an application without an address (paper reporting): the setup link, shown once to
    /// the prefecture to hand over. `None` when it was mailed.
    pub setup_link: Option<String>,
    pub account_mail_at: Option<DateTime<Utc>>,
}

/// What the facilities of an application look like to the reviewer (hints on the detail page).
#[derive(Debug, Clone)]
pub struct Hints {
    pub facility: Option<Facility>,
    /// How it was found: 「保険機関コード」 or 「機関コード」.
    pub matched_by: Option<&'static str>,
    /// Users of that facility and whether each may report under the application's 制度.
    pub users: Vec<(teikyo_store::User, bool)>,
}

#[derive(Clone)]
pub struct Review {
    templates: Arc<MailTemplates>,
    pub timing: IssueTiming,
}

use teikyo_domain::opening::{JAPAN as TOKYO, is_year_end};

/// 土日, 祝日 (teikyo-refdata) and 年末年始 (12/29–1/3, when offices are closed) are not business
/// days.
pub fn is_business_day(d: NaiveDate) -> bool {
    let weekend = matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    !weekend && !is_year_end(d) && !teikyo_refdata::holidays::is_holiday(d)
}

/// 9:00 in Japan on the first business day after `now`'s date in Japan.
pub fn next_business_morning(now: DateTime<Utc>) -> DateTime<Utc> {
    let mut d = now.with_timezone(&TOKYO).date_naive();
    loop {
        d = d.succ_opt().unwrap_or(d);
        if is_business_day(d) {
            break;
        }
    }
    let morning = d.and_hms_opt(9, 0, 0).unwrap_or_default();
    TOKYO
        .from_local_datetime(&morning)
        .single()
        .map_or(now + Duration::days(1), |t| t.with_timezone(&Utc))
}

impl Review {
    pub fn new(templates: Arc<MailTemplates>, timing: IssueTiming) -> Self {
        Self { templates, timing }
    }

    /// The facility an application is about, by 保険機関コード, else by 機関コード.
    pub async fn matching_facility(
        store: &Store,
        app: &Application,
    ) -> Result<Option<(Facility, &'static str)>, StoreError> {
        if let Some(code) = &app.insurance_code {
            let found = store.facilities().find_by_insurance_code(code).await?;
            if let Some(f) = found
                .into_iter()
                .find(|f| f.record.prefecture == app.prefecture && f.record.abolished_on.is_none())
            {
                return Ok(Some((f, "保険機関コード")));
            }
        }
        if let Some(code) = &app.facility_code
            && let Some(f) = store
                .facilities()
                .find_by_public_key(app.prefecture, app.kind, code)
                .await?
        {
            return Ok(Some((f, "機関コード")));
        }
        Ok(None)
    }

    pub async fn hints(store: &Store, reg: &Registration) -> Result<Hints, StoreError> {
        let Ok(app) = check_form(&reg.form) else {
            return Ok(Hints {
                facility: None,
                matched_by: None,
                users: Vec::new(),
            });
        };
        let Some((facility, by)) = Self::matching_facility(store, &app).await? else {
            return Ok(Hints {
                facility: None,
                matched_by: None,
                users: Vec::new(),
            });
        };
        let program = app.kind.program();
        let mut users = Vec::new();
        for u in store.users().of_facility(facility.id.0).await? {
            let access = store.users().access(u.id).await?;
            let has = access.programs_for(facility.id.0).contains(&program);
            users.push((u, has));
        }
        Ok(Hints {
            facility: Some(facility),
            matched_by: Some(by),
            users,
        })
    }

    /// 代理申請: prefecture staff file a complete application for a facility (it goes straight
    /// to 審査待ち), audited.
    pub async fn file_on_behalf(
        store: &Store,
        by: UserId,
        email: &str,
        form: &teikyo_domain::registration::ApplicationForm,
        prefecture: teikyo_domain::PrefectureCode,
        now: DateTime<Utc>,
    ) -> Result<teikyo_store::RegistrationId, StoreError> {
        let (id, number) = store
            .registrations()
            .file_on_behalf(by, email, form, prefecture, now)
            .await?;
        store
            .audit()
            .record(
                &AuditEvent::new("registration.filed_on_behalf", Some(by))
                    .on("registration", number)
                    .in_prefecture(Some(prefecture)),
                now,
            )
            .await?;
        Ok(id)
    }

    /// 却下, with the reason the applicant is mailed (if there is an address).
    pub async fn reject(
        &self,
        store: &Store,
        reg: &Registration,
        reviewer: UserId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ReviewError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ReviewError::ReasonMissing);
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ReviewError::ReasonTooLong);
        }
        if !store
            .registrations()
            .decide(reg.id, reviewer, false, Some(reason), now)
            .await?
        {
            return Err(ReviewError::AlreadyDecided);
        }
        if !reg.email.is_empty() {
            let mail = self.templates.compose(
                &reg.email,
                &ApplicationRejected {
                    application_number: reg.number.map(|n| n.to_string()).unwrap_or_default(),
                    facility_name: reg.form.facility_name.clone(),
                    prefecture_name: reg
                        .prefecture
                        .map(|p| p.name().to_owned())
                        .unwrap_or_default(),
                    reason: reason.to_owned(),
                    apply_url: self.templates.link(APPLY_PATH),
                },
                Some(("registration", &reg.id.0.to_string())),
                None,
            )?;
            let tx = store.begin().await?;
            tx.queue_mail(&mail).await?;
            tx.commit().await?;
        }
        audit(store, reviewer, "registration.rejected", reg, None, now).await?;
        Ok(())
    }

    /// 承認, then issuance (see the module documentation).
    pub async fn approve(
        &self,
        store: &Store,
        reg: &Registration,
        reviewer: UserId,
        now: DateTime<Utc>,
    ) -> Result<Issued, ReviewError> {
        let app = check_form(&reg.form).map_err(|_| ReviewError::Invalid)?;
        if !store
            .registrations()
            .decide(reg.id, reviewer, true, None, now)
            .await?
        {
            return Err(ReviewError::AlreadyDecided);
        }
        let program = app.kind.program();
        let matched = Self::matching_facility(store, &app).await?.map(|(f, _)| f);
        let number = reg.number.map(|n| n.to_string()).unwrap_or_default();
        let mut issued = None;
        if let Some(f) = &matched {
            let users: Vec<_> = store
                .users()
                .of_facility(f.id.0)
                .await?
                .into_iter()
                .filter(|u| u.active)
                .collect();
            let mut permitted = false;
            for u in &users {
                if store
                    .users()
                    .access(u.id)
                    .await?
                    .programs_for(f.id.0)
                    .contains(&program)
                {
                    permitted = true;
                }
            }
            if permitted {
                issued = Some(Issued {
                    outcome: IssuanceOutcome::AlreadyPermitted,
                    facility_id: f.id,
                    user: None,
                    login_id: None,
                    setup_link: None,
                    account_mail_at: None,
                });
            } else if !users.is_empty() {
                let mut mails = Vec::new();
                for u in &users {
                    // Outside the mail transaction: SQLite has one writer at a time.
                    store.users().grant_program(u.id, f.id.0, program).await?;
                    if u.email.is_empty() {
                        continue;
                    }
                    mails.push(self.templates.compose(
                        &u.email,
                        &ExistingUserConfirmation {
                            application_number: number.clone(),
                            facility_name: f.record.names.official.clone(),
                            address: f.record.address.clone(),
                            login_id: u.login_id.as_str().to_owned(),
                            login_url: self.templates.link(LOGIN_PATH),
                        },
                        Some(("registration", &reg.id.0.to_string())),
                        Some(f.id.0),
                    )?);
                }
                let tx = store.begin().await?;
                for mail in &mails {
                    tx.queue_mail(mail).await?;
                }
                tx.commit().await?;
                issued = Some(Issued {
                    outcome: IssuanceOutcome::PermissionAdded,
                    facility_id: f.id,
                    user: None,
                    login_id: users.first().map(|u| u.login_id.clone()),
                    setup_link: None,
                    account_mail_at: None,
                });
            }
        }
        let issued = match issued {
            Some(i) => i,
            None => self.new_account(store, reg, &app, matched, now).await?,
        };
        store
            .registrations()
            .record_issuance(
                reg.id,
                issued.outcome,
                Some(issued.facility_id.0),
                issued.user,
                now,
            )
            .await?;
        audit(
            store,
            reviewer,
            "registration.approved",
            reg,
            Some(issued.facility_id.0),
            now,
        )
        .await?;
        Ok(issued)
    }

    /// Case 3: the facility (if new), the user, the setup token and the two mails.
    async fn new_account(
        &self,
        store: &Store,
        reg: &Registration,
        app: &Application,
        facility: Option<Facility>,
        now: DateTime<Utc>,
    ) -> Result<Issued, ReviewError> {
        let facility_id = match facility {
            Some(f) => f.id,
            None => store.facilities().insert(&facility_record(app)).await?,
        };
        let user = create_user(store, reg, app).await?;
        store
            .users()
            .add_membership(
                user.0,
                &Membership::Facility {
                    facility_id: facility_id.0,
                    admin: true,
                    programs: vec![app.kind.program()],
                },
            )
            .await?;
        let token = new_token();
        store
            .tokens()
            .issue(
                &token.hash,
                TokenPurpose::PasswordSetup,
                Some(user.0),
                None,
                now,
                SETUP_VALID,
            )
            .await?;
        let setup_url = self
            .templates
            .link(&format!("{SETUP_LINK_PREFIX}{}", token.plain));
        if reg.email.is_empty() {
            return Ok(Issued {
                outcome: IssuanceOutcome::NewAccount,
                facility_id,
                user: Some(user.0),
                login_id: Some(user.1),
                setup_link: Some(setup_url),
                account_mail_at: None,
            });
        }
        let send_at = match self.timing {
            IssueTiming::NextBusinessDay => Some(next_business_morning(now)),
            IssueTiming::Immediately => None,
        };
        let related = reg.id.0.to_string();
        let check = self.templates.compose(
            &reg.email,
            &PreIssuanceCheck {
                application_number: reg.number.map(|n| n.to_string()).unwrap_or_default(),
                facility_name: app.facility_name.clone(),
            },
            Some(("registration", &related)),
            Some(facility_id.0),
        )?;
        let ready = self.templates.compose(
            &reg.email,
            &AccountReady {
                facility_name: app.facility_name.clone(),
                login_id: user.1.as_str().to_owned(),
                setup_url,
                setup_expires_hours: u32::try_from(SETUP_VALID.num_hours()).unwrap_or(336),
                filed_by_prefecture: reg.filed_by.is_some(),
                login_url: self.templates.link(LOGIN_PATH),
            },
            Some(("user", &user.0.to_string())),
            Some(facility_id.0),
        )?;
        let tx = store.begin().await?;
        tx.queue_mail(&check).await?;
        tx.queue_mail_at(&ready, send_at).await?;
        tx.commit().await?;
        Ok(Issued {
            outcome: IssuanceOutcome::NewAccount,
            facility_id,
            user: Some(user.0),
            login_id: Some(user.1),
            setup_link: None,
            account_mail_at: Some(send_at.unwrap_or(now)),
        })
    }
}

/// A facility the master does not know yet, from the application. Its kana and the rest of its
/// master data come with its first report (新規報告).
fn facility_record(app: &Application) -> FacilityRecord {
    let municipality_name =
        teikyo_refdata::municipalities::get(app.municipality).map_or("", |m| m.name);
    FacilityRecord {
        kind: app.kind,
        prefecture: app.prefecture,
        municipality: app.municipality,
        facility_code: app.facility_code.clone(),
        insurance_codes: app.insurance_code.iter().cloned().collect(),
        names: FacilityNames {
            official: app.facility_name.clone(),
            official_kana: String::new(),
            short: None,
            short_kana: None,
            english: None,
        },
        postal_code: Some(app.postal_code),
        address: app.address(municipality_name),
        coordinates: None,
        homepage: None,
        opened_on: None,
        suspended_on: None,
        abolished_on: None,
    }
}

/// The applicant's user, with a generated login ID.
async fn create_user(
    store: &Store,
    reg: &Registration,
    app: &Application,
) -> Result<(UserId, LoginId), ReviewError> {
    Ok(
        crate::team::create_with_generated_id(store, |login_id| NewUser {
            login_id,
            email: reg.email.clone(),
            family_name: app.family_name.clone(),
            given_name: app.given_name.clone(),
            phone: Some(app.department_phone.clone()),
            extension: None,
            fax: None,
            department: Some(app.department.clone()),
        })
        .await?,
    )
}

async fn audit(
    store: &Store,
    reviewer: UserId,
    action: &str,
    reg: &Registration,
    facility_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .audit()
        .record(
            &AuditEvent::new(action, Some(reviewer))
                .on(
                    "registration",
                    reg.number
                        .map_or_else(|| reg.id.0.to_string(), |n| n.to_string()),
                )
                .in_prefecture(reg.prefecture)
                .about_facility(facility_id),
            now,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_next_business_morning_skips_weekends_holidays_and_the_new_year() {
        // Friday 2026-11-20 15:00 JST → Monday 2026-11-23 is 勤労感謝の日 → Tuesday 24th 9:00.
        assert_eq!(
            next_business_morning(at("2026-11-20T06:00:00Z")),
            at("2026-11-24T00:00:00Z")
        );
        // Late evening UTC is already the next day in Japan.
        assert_eq!(
            next_business_morning(at("2026-11-24T20:00:00Z")),
            at("2026-11-26T00:00:00Z")
        );
        // 12/28 → 年末年始 → 1/4 (Monday 2027-01-04).
        assert_eq!(
            next_business_morning(at("2026-12-28T03:00:00Z")),
            at("2027-01-04T00:00:00Z")
        );
        assert!(!is_business_day(
            NaiveDate::from_ymd_opt(2027, 1, 2).unwrap()
        ));
        assert!(is_business_day(
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        ));
    }
}
