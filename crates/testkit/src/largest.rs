//! The largest synthetic hospital, stored: what the 差異表示 benchmark (`crates/web/examples/
//! diff_bench.rs`) measures and its test (`crates/web/tests/largest.rs`) checks (issue 6).
//!
//! A 病院 in 金沢市 with two 定期報告:
//! - last 年度's, on the item set that 年度 used, with every item answered at the limit the set
//!   allows (`teikyo_refdata::forms::largest::answers`), reported and 確認完了 — the state the
//!   review compares with;
//! - this 年度's, on the current item set, at the limit as well and then revised
//!   (`largest::revise`: a large share of items changed, recounted, added and withdrawn),
//!   every section 入力完了 and 報告済 — the report a reviewer opens.
//!
//! Both go through the store as the pages do (sections saved, then the 報告 and 確認完了
//! transitions), so the review reads them exactly as it reads a real facility's.

use anyhow::{Context, anyhow, bail};
use chrono::Utc;
use teikyo_domain::FacilityKind;
use teikyo_domain::forms::{Answers, Catalogue, FormsError, ItemId, ItemSet, carry_over};
use teikyo_domain::report::{ReportKind, SectionStatus, Transition, fiscal_year_of};
use teikyo_refdata::forms::largest;
use teikyo_store::{
    AuditEvent, FacilityId, NewReport, ReportId, SaveOutcome, SectionSave, Store,
    TransitionOutcome, TransitionRequest,
};

use crate::web::kanazawa_facility;

/// The hospital's name as the review queue and page show it.
pub const NAME: &str = "金沢総合医療センター";
const KANA: &str = "カナザワソウゴウイリョウセンター";

pub struct LargestHospital {
    pub facility: i64,
    /// Last 年度's report, 確認完了.
    pub confirmed: ReportId,
    /// This 年度's report, 報告済: the one to review.
    pub report: ReportId,
    pub item_set: String,
    pub previous_item_set: String,
    /// Top-level items the report answers.
    pub answered: usize,
    /// The items whose answer differs from the confirmed one (carried over to the report's item
    /// set, as the review compares them), in item-set order: what the 差異表示 must list.
    pub changes: Vec<ItemId>,
    /// Their labels, in the same order.
    pub change_labels: Vec<String>,
}

impl LargestHospital {
    /// Stores the hospital and both reports; `code` is its 機関コード (10 digits).
    pub async fn store(store: &Store, code: &str) -> anyhow::Result<Self> {
        let catalogue =
            teikyo_refdata::forms::catalogue().map_err(|e| anyhow!("{}", FormsError::list(e)))?;
        let today = Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).context("JST")?)
            .date_naive();
        let year = fiscal_year_of(today);
        let set = catalogue
            .current(FacilityKind::Hospital, year)
            .context("no hospital item set for this 年度")?;
        let previous_set = catalogue
            .current(FacilityKind::Hospital, year - 1)
            .unwrap_or(set);
        let facility = kanazawa_facility(store, FacilityKind::Hospital, NAME, KANA, code).await;

        let before = largest::answers(catalogue, previous_set);
        let confirmed = stored(store, facility, year - 1, previous_set, &before).await?;
        let confirmed = step(store, confirmed, previous_set, Transition::Submit).await?;
        let confirmed = step(store, confirmed, previous_set, Transition::Confirm).await?;

        let now = largest::revise(catalogue, set, &largest::answers(catalogue, set)).answers;
        let report = stored(store, facility, year, set, &now).await?;
        let report = step(store, report, set, Transition::Submit).await?;

        let was = carried(catalogue, previous_set, &before, set);
        let (changes, change_labels): (Vec<ItemId>, Vec<String>) = set
            .items()
            .filter(|i| was.0.get(&i.id) != now.0.get(&i.id))
            .map(|i| (i.id.clone(), i.label.clone()))
            .unzip();
        Ok(Self {
            facility,
            confirmed: confirmed.0,
            report: report.0,
            item_set: set.id.clone(),
            previous_item_set: previous_set.id.clone(),
            answered: set.items().filter(|i| now.0.contains_key(&i.id)).count(),
            changes,
            change_labels,
        })
    }
}

/// The confirmed answers as the review sees them: carried to the report's item set.
fn carried(catalogue: &Catalogue, from: &ItemSet, answers: &Answers, to: &ItemSet) -> Answers {
    if from.id == to.id {
        answers.clone()
    } else {
        carry_over(catalogue, from, answers, to).answers
    }
}

/// A 定期報告 of `year` with every section of `set` saved 入力完了 from `answers`; returns the
/// report and its version.
async fn stored(
    store: &Store,
    facility: i64,
    year: u16,
    set: &ItemSet,
    answers: &Answers,
) -> anyhow::Result<(ReportId, i64)> {
    let (report, _) = store
        .reports()
        .start(
            &NewReport {
                facility_id: FacilityId(facility),
                kind: ReportKind::Periodic,
                fiscal_year: year,
                item_set: set.id.clone(),
                by: None,
                period_id: None,
                insurance_check: None,
                preset: Vec::new(),
            },
            AuditEvent::new("report.started", None).on("facility", facility),
            Utc::now(),
        )
        .await?;
    for section in &set.sections {
        let own = answers.of_section(section);
        let saved = store
            .reports()
            .save_section(
                &SectionSave {
                    report: report.id,
                    section: &section.id,
                    expected_version: 0,
                    status: SectionStatus::Complete,
                    answers: &own,
                    by: None,
                },
                &AuditEvent::new("report.section_saved", None).on("report", report.id),
                Utc::now(),
            )
            .await?;
        if !matches!(saved, SaveOutcome::Saved { .. }) {
            bail!("section {} of report {}: {saved:?}", section.id, report.id);
        }
    }
    let version = store
        .reports()
        .get(report.id)
        .await?
        .context("the report just started")?
        .version;
    Ok((report.id, version))
}

/// 報告 or 確認完了 of a report at `version`; returns it with its new version.
async fn step(
    store: &Store,
    (report, version): (ReportId, i64),
    set: &ItemSet,
    transition: Transition,
) -> anyhow::Result<(ReportId, i64)> {
    let sections: Vec<String> = set.sections.iter().map(|s| s.id.clone()).collect();
    let outcome = store
        .reports()
        .transition(
            &TransitionRequest {
                report,
                expected_version: version,
                transition,
                by: None,
                proxy: false,
                comment: None,
                required_sections: &sections,
                facility_dates: None,
                follow_up: Vec::new(),
            },
            &AuditEvent::new("report.transition", None).on("report", report),
            Utc::now(),
        )
        .await?;
    match outcome {
        TransitionOutcome::Done {
            report: Some(r), ..
        } => Ok((r.id, r.version)),
        other => bail!("{transition:?} of report {report}: {other:?}"),
    }
}
