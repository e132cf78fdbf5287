use anyhow::ensure;
use chrono::{NaiveDate, Utc};
use teikyo_domain::account::Membership;
use teikyo_domain::period::{DEFAULT_REMINDER_DAYS, ReportingPeriod};
use teikyo_domain::report::{ReportKind, ReportStatus, Transition};
use teikyo_domain::{FacilityKind, PrefectureCode, Program};
use teikyo_store::{
    AuditEvent, FacilityId, NewReport, NewUser, Store, TransitionOutcome, TransitionRequest,
};

use crate::fixtures::facility;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn period() -> ReportingPeriod {
    ReportingPeriod {
        prefecture: PrefectureCode::parse("17").unwrap(),
        fiscal_year: 2026,
        facility_kinds: vec![FacilityKind::Hospital, FacilityKind::Clinic],
        reference_date: day(2027, 1, 1),
        opens_on: day(2027, 1, 7),
        closes_on: day(2027, 3, 31),
        extended_to: None,
        closed: false,
        reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
        message: None,
    }
}

async fn user(store: &Store, login: &str, memberships: &[Membership]) -> anyhow::Result<()> {
    let id = store
        .users()
        .create(&NewUser {
            login_id: teikyo_domain::account::LoginId::parse(login)?,
            email: format!("{login}@clinic.example.jp"),
            family_name: "試験".into(),
            given_name: "太郎".into(),
            phone: None,
            extension: None,
            fax: None,
            department: None,
        })
        .await?;
    for m in memberships {
        store.users().add_membership(id, m).await?;
    }
    Ok(())
}

fn member(facility: FacilityId, programs: Vec<Program>) -> Membership {
    Membership::Facility {
        facility_id: facility.0,
        admin: false,
        programs,
    }
}

async fn periodic(store: &Store, f: FacilityId, submit: bool) -> anyhow::Result<()> {
    let new = NewReport {
        facility_id: f,
        kind: ReportKind::Periodic,
        fiscal_year: 2026,
        item_set: "2026-clinic".into(),
        by: None,
        period_id: None,
        insurance_check: None,
        preset: Vec::new(),
    };
    let (r, _) = store
        .reports()
        .start(&new, AuditEvent::new("report.started", None), Utc::now())
        .await?;
    if submit {
        let out = store
            .reports()
            .transition(
                &TransitionRequest {
                    report: r.id,
                    expected_version: r.version,
                    transition: Transition::Submit,
                    by: None,
                    proxy: false,
                    comment: None,
                    required_sections: &[],
                    facility_dates: None,
                    follow_up: Vec::new(),
                },
                &AuditEvent::new("report.submitted", None),
                Utc::now(),
            )
            .await?;
        ensure!(matches!(out, TransitionOutcome::Done { .. }), "{out:?}");
    }
    Ok(())
}

/// A period's addressees: the facilities of its prefecture and kinds that are not 廃止, with
/// their 定期報告's status and the active users holding the kind's 制度; the 督促's are those not
/// 報告済.
pub async fn a_periods_addressees_follow_kinds_reports_and_programs(
    store: Store,
) -> anyhow::Result<()> {
    let p = period();
    store
        .periods()
        .create(&p, None, AuditEvent::new("period.opened", None), Utc::now())
        .await?;
    let facilities = store.facilities();
    let none = facilities
        .insert(&facility(FacilityKind::Clinic, 1))
        .await?;
    let drafting = facilities
        .insert(&facility(FacilityKind::Hospital, 2))
        .await?;
    let reported = facilities
        .insert(&facility(FacilityKind::Clinic, 3))
        .await?;
    let pharmacy = facilities
        .insert(&facility(FacilityKind::Pharmacy, 4))
        .await?;
    let mut closed = facility(FacilityKind::Clinic, 5);
    closed.abolished_on = Some(day(2026, 12, 31));
    let closed = facilities.insert(&closed).await?;
    let medical = || vec![Program::MedicalFunction];
    user(&store, "none01", &[member(none, medical())]).await?;
    // A user from another survey, without the 制度: not told.
    user(&store, "other01", &[member(none, vec![])]).await?;
    // Two facilities' clerk: one address per facility.
    user(
        &store,
        "chain01",
        &[member(drafting, medical()), member(reported, medical())],
    )
    .await?;
    user(
        &store,
        "pharm01",
        &[member(pharmacy, vec![Program::PharmacyFunction])],
    )
    .await?;
    user(&store, "closed01", &[member(closed, medical())]).await?;
    periodic(&store, drafting, false).await?;
    periodic(&store, reported, true).await?;

    let all = store
        .periods()
        .addressees(&p, day(2027, 1, 7), false)
        .await?;
    let seen: Vec<_> = all
        .iter()
        .map(|a| (a.facility_id, a.status, a.emails.clone()))
        .collect();
    ensure!(
        seen == vec![
            (
                none,
                ReportStatus::NotReported,
                vec!["none01@clinic.example.jp".to_owned()]
            ),
            (
                drafting,
                ReportStatus::InProgress,
                vec!["chain01@clinic.example.jp".to_owned()]
            ),
            (
                reported,
                ReportStatus::Submitted,
                vec!["chain01@clinic.example.jp".to_owned()]
            ),
        ],
        "{seen:?}"
    );
    let pending: Vec<_> = store
        .periods()
        .addressees(&p, day(2027, 3, 17), true)
        .await?
        .into_iter()
        .map(|a| a.facility_id)
        .collect();
    ensure!(pending == vec![none, drafting], "{pending:?}");
    Ok(())
}

/// A mail step is claimed once: a second claim (a second worker's transaction, also one racing
/// the first) is refused and the first's count stays.
pub async fn a_period_step_is_claimed_once(store: Store) -> anyhow::Result<()> {
    let id = store
        .periods()
        .create(
            &period(),
            None,
            AuditEvent::new("period.opened", None),
            Utc::now(),
        )
        .await?;
    let claim = |mails| {
        let store = store.clone();
        async move {
            let tx = store.begin().await?;
            let won = tx
                .claim_period_step(id, "opened", mails, Utc::now())
                .await?;
            if won {
                tx.commit().await?;
            }
            anyhow::Ok(won)
        }
    };
    let (a, b) = tokio::join!(claim(3), claim(4));
    ensure!(a? ^ b?, "exactly one claim wins");
    ensure!(!claim(5).await?, "a later claim loses too");
    let steps = store.periods().sent_steps(id).await?;
    ensure!(steps.len() == 1 && steps[0].step == "opened", "{steps:?}");
    ensure!(steps[0].mails == 3 || steps[0].mails == 4, "{steps:?}");
    Ok(())
}
