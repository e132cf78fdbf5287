//! A period's mail steps on both backends: 定期報告案内 to every facility of the period, 督促 only
//! to those not 報告済, each step exactly once also when two workers run it at the same time.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use teikyo_domain::FacilityKind;
use teikyo_domain::account::Membership;
use teikyo_domain::period::{DEFAULT_REMINDER_DAYS, ReportingPeriod};
use teikyo_domain::report::{ReportKind, Transition};
use teikyo_mail::period::{PeriodMail, request};
use teikyo_store::{
    AuditEvent, FacilityId, MailFilter, NewReport, PeriodId, Store, TransitionOutcome,
    TransitionRequest,
};
use teikyo_testkit::db::{TestDb, backends};
use teikyo_testkit::web::{create_user, kanazawa_facility, test_templates};
use teikyo_worker::{Worker, WorkerConfig};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn user_of(facility: i64, program: teikyo_domain::Program) -> Membership {
    Membership::Facility {
        facility_id: facility,
        admin: false,
        programs: vec![program],
    }
}

async fn start(store: &Store, facility: i64) -> teikyo_store::Report {
    let new = NewReport {
        facility_id: FacilityId(facility),
        kind: ReportKind::Periodic,
        fiscal_year: 2026,
        item_set: "2026-clinic".into(),
        by: None,
        period_id: None,
        insurance_check: None,
        preset: Vec::new(),
    };
    store
        .reports()
        .start(&new, AuditEvent::new("report.started", None), Utc::now())
        .await
        .unwrap()
        .0
}

async fn submit(store: &Store, report: &teikyo_store::Report) {
    let out = store
        .reports()
        .transition(
            &TransitionRequest {
                report: report.id,
                expected_version: report.version,
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
        .await
        .unwrap();
    assert!(matches!(out, TransitionOutcome::Done { .. }), "{out:?}");
}

/// Mails of `template` per address (queued, not delivered: these workers only send steps).
async fn queued(store: &Store, template: &str) -> BTreeMap<String, usize> {
    let filter = MailFilter {
        template: Some(template.to_owned()),
        ..Default::default()
    };
    let mut out = BTreeMap::new();
    for m in store.mails().list(&filter, 1000, 0).await.unwrap() {
        *out.entry(m.to).or_insert(0) += 1;
    }
    out
}

/// Two workers, each with a job asking for `on`'s step, run at the same time.
async fn two_workers_on(store: &Store, on: NaiveDate) {
    let handler = Arc::new(PeriodMail::new(test_templates()));
    let workers: Vec<Worker> = ["period-a", "period-b"]
        .iter()
        .map(|id| {
            Worker::new(store.clone(), *id, WorkerConfig::default()).with_handler(handler.clone())
        })
        .collect();
    request(store, Some(on)).await.unwrap();
    request(store, Some(on)).await.unwrap();
    let runs: Vec<_> = workers
        .into_iter()
        .map(|w| tokio::spawn(async move { w.run_until_idle().await }))
        .collect();
    for r in runs {
        for outcome in r.await.unwrap().unwrap() {
            assert_eq!(outcome.status, teikyo_store::JobStatus::Done, "{outcome:?}");
        }
    }
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .map(|(login, n)| (format!("{login}@test.example.jp"), *n))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reminders_go_once_per_step_to_facilities_not_reported() {
    use teikyo_domain::Program::{MedicalFunction as Medical, PharmacyFunction as Pharmacy};
    for backend in backends() {
        let db = TestDb::new(backend).await.unwrap();
        let store = &db.store;
        let a = kanazawa_facility(
            store,
            FacilityKind::Clinic,
            "未報告クリニック",
            "ミ",
            "1710000001",
        )
        .await;
        let b = kanazawa_facility(
            store,
            FacilityKind::Hospital,
            "報告中病院",
            "ホ",
            "1710000002",
        )
        .await;
        let c = kanazawa_facility(
            store,
            FacilityKind::Clinic,
            "報告済クリニック",
            "ホ",
            "1710000003",
        )
        .await;
        let d = kanazawa_facility(
            store,
            FacilityKind::Pharmacy,
            "対象外薬局",
            "タ",
            "4710000004",
        )
        .await;
        create_user(store, "clerka1", &[user_of(a, Medical)]).await;
        create_user(store, "clerka2", &[user_of(a, Medical)]).await;
        create_user(store, "clerkb", &[user_of(b, Medical)]).await;
        create_user(store, "clerkc", &[user_of(c, Medical)]).await;
        create_user(store, "clerkd", &[user_of(d, Pharmacy)]).await;
        let b_report = start(store, b).await;
        let c_report = start(store, c).await;
        submit(store, &c_report).await;
        let period = ReportingPeriod {
            prefecture: teikyo_domain::PrefectureCode::parse("17").unwrap(),
            fiscal_year: 2026,
            facility_kinds: vec![FacilityKind::Hospital, FacilityKind::Clinic],
            reference_date: day(2027, 1, 1),
            opens_on: day(2027, 1, 7),
            closes_on: day(2027, 3, 31),
            extended_to: None,
            closed: false,
            reminder_days: DEFAULT_REMINDER_DAYS.to_vec(),
            message: Some("問い合わせ先: 石川県医療対策課（076-000-0000）".into()),
        };
        let id: PeriodId = store
            .periods()
            .create(
                &period,
                None,
                AuditEvent::new("period.opened", None),
                Utc::now(),
            )
            .await
            .unwrap();

        // Before the opening nothing is due.
        two_workers_on(store, day(2027, 1, 6)).await;
        assert!(queued(store, "periodic_report_notice").await.is_empty());

        // 定期報告案内: every facility of the period's kinds, whatever its report's state.
        two_workers_on(store, day(2027, 1, 7)).await;
        let notices = counts(&[("clerka1", 1), ("clerka2", 1), ("clerkb", 1), ("clerkc", 1)]);
        assert_eq!(queued(store, "periodic_report_notice").await, notices);

        // 督促 two weeks before the deadline: A (未報告) and B (報告中), once each.
        two_workers_on(store, day(2027, 3, 17)).await;
        let first = counts(&[("clerka1", 1), ("clerka2", 1), ("clerkb", 1)]);
        assert_eq!(queued(store, "periodic_report_reminder").await, first);
        let mail = store
            .mails()
            .list(
                &MailFilter {
                    to: Some("clerkb@".into()),
                    template: Some("periodic_report_reminder".into()),
                    ..Default::default()
                },
                1,
                0,
            )
            .await
            .unwrap()
            .remove(0);
        assert!(mail.body_text.contains("報告中病院"), "{}", mail.body_text);
        assert!(
            mail.body_text.contains("現在の状況: 報告中"),
            "{}",
            mail.body_text
        );
        assert!(
            mail.body_text.contains("2027年3月31日"),
            "{}",
            mail.body_text
        );
        assert!(
            mail.body_text.contains(&format!("/facility/{b}/report")),
            "{}",
            mail.body_text
        );
        assert_eq!(mail.facility_id, Some(b));
        // The prefecture's own words ride on both kinds of mail.
        let notice = store
            .mails()
            .list(
                &MailFilter {
                    to: Some("clerkb@".into()),
                    template: Some("periodic_report_notice".into()),
                    ..Default::default()
                },
                1,
                0,
            )
            .await
            .unwrap()
            .remove(0);
        for body in [&mail.body_text, &notice.body_text] {
            assert!(
                body.contains(
                    "【石川県からのお知らせ】\n問い合わせ先: 石川県医療対策課（076-000-0000）"
                ),
                "{body}"
            );
        }

        // The same day again (the next look ten minutes later): nothing more.
        two_workers_on(store, day(2027, 3, 18)).await;
        assert_eq!(queued(store, "periodic_report_reminder").await, first);

        // B reports; the next step (3 days before) goes to A only, once.
        submit(store, &b_report).await;
        two_workers_on(store, day(2027, 3, 28)).await;
        let second = counts(&[("clerka1", 2), ("clerka2", 2), ("clerkb", 1)]);
        assert_eq!(queued(store, "periodic_report_reminder").await, second);
        assert_eq!(queued(store, "periodic_report_notice").await, notices);

        let steps: Vec<(String, i32)> = store
            .periods()
            .sent_steps(id)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.step, s.mails))
            .collect();
        assert_eq!(
            steps,
            vec![
                ("opened".to_owned(), 4),
                ("reminder:-14:2027-03-31".to_owned(), 3),
                ("reminder:-3:2027-03-31".to_owned(), 2),
            ]
        );
        if backend == teikyo_store::Backend::Postgres {
            println!("PostgreSQL: passed");
        }
        db.cleanup().await.unwrap();
    }
}
