//! Publication (DOMAIN §4.5–§4.6, DESIGN principle 4): residents read only published documents.
//! At 確認完了 a document is built per facility from the master record and the confirmed
//! answers; whether it may be shown is decided here, in one place, with the reasons a facility
//! can read when it is hidden.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::facility::{FacilityRecord, FacilityStatus};
use crate::forms::{Answers, Catalogue, Item, ItemKind, ItemSet, Scope, Value};
use crate::hours::WeeklyHours;
use crate::opening::Closure;

/// The code-list flag that keeps a facility out of the residents' side (外来区分 9
/// 「その他一般外来を行わない」, DOMAIN §4.6 rule 1). Data, not code: the list says which codes.
pub const NOT_PUBLISHED_FLAG: &str = "not_published";

/// One section as residents see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedSection {
    pub id: String,
    /// 「1.(1)」.
    pub number: String,
    pub title: String,
    /// 最終確認日: the last 確認完了 of a report containing this section.
    pub confirmed_on: NaiveDate,
    /// The 確認完了 since which the content is unchanged (on or before `confirmed_on`).
    pub changed_on: NaiveDate,
    /// Only what is shown: items hidden by their conditions are left out, as on the form.
    pub answers: Answers,
}

/// What is published for one facility: immutable once written (a change writes a new one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedDocument {
    pub facility: FacilityRecord,
    pub item_set: String,
    pub confirmed_at: DateTime<Utc>,
    pub sections: Vec<PublishedSection>,
    /// 臨時休診 declared for the facility that have not ended (applied by open-now; a change
    /// publishes the facility again, so every node and the change feed see it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
}

impl PublishedDocument {
    /// Builds the document of a 確認完了 on `confirmed_on` (Japan date of `confirmed_at`).
    /// `previous` is the facility's last published document: a section whose content did not
    /// change keeps its `changed_on`.
    pub fn build(
        facility: &FacilityRecord,
        set: &ItemSet,
        answers: &Answers,
        confirmed_at: DateTime<Utc>,
        confirmed_on: NaiveDate,
        previous: Option<&PublishedDocument>,
    ) -> Self {
        let scope = Scope::top(answers);
        let sections = set
            .sections
            .iter()
            .map(|s| {
                let shown = Answers(
                    s.items
                        .iter()
                        .filter(|i| scope.shows(i))
                        .filter_map(|i| Some((i.id.clone(), shown_value(scope, i, answers)?)))
                        .collect(),
                );
                let changed_on = previous
                    .and_then(|p| p.sections.iter().find(|ps| ps.id == s.id))
                    .filter(|ps| ps.answers == shown)
                    .map_or(confirmed_on, |ps| ps.changed_on);
                PublishedSection {
                    id: s.id.clone(),
                    number: s.number.clone(),
                    title: s.title.clone(),
                    confirmed_on,
                    changed_on,
                    answers: shown,
                }
            })
            .collect();
        Self {
            facility: facility.clone(),
            item_set: set.id.clone(),
            confirmed_at,
            sections,
            closures: Vec::new(),
        }
    }

    /// Every section's answers as one (full item ids are unique across sections).
    pub fn answers(&self) -> Answers {
        let mut all = Answers::default();
        for s in &self.sections {
            all.merge(s.answers.clone());
        }
        all
    }

    pub fn section(&self, id: &str) -> Option<&PublishedSection> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The answer to a full item id, from whichever section holds it.
    pub fn value(&self, id: &str) -> Option<&Value> {
        self.sections.iter().find_map(|s| s.answers.get(id))
    }

    /// The weekly hours tables open-now reads: one per 診療科目 row (病院・診療所・歯科), the
    /// 開店時間 (薬局) or the 就業時間 (助産所) — every top-level hours item and every hours
    /// member of a group row, except the 薬局's 開店時間外 相談 hours.
    pub fn hours_tables(&self) -> Vec<&WeeklyHours> {
        self.department_hours(None)
    }

    /// Every group row of every section (診療科目 × 診療時間, 外国語, …).
    fn group_rows(&self) -> impl Iterator<Item = &Answers> {
        self.sections
            .iter()
            .flat_map(|s| s.answers.0.values())
            .filter_map(|v| match v {
                Value::Group(rows) => Some(rows.iter()),
                _ => None,
            })
            .flatten()
    }

    /// The tables of the rows whose 診療科目 is `department` (all tables when `None`).
    pub fn department_hours(&self, department: Option<&str>) -> Vec<&WeeklyHours> {
        let mut out: Vec<&WeeklyHours> = Vec::new();
        if department.is_none() {
            out.extend(self.sections.iter().flat_map(|s| &s.answers.0).filter_map(
                |(id, v)| match v {
                    Value::Hours(h) if !is_consultation(id.as_str()) => Some(h),
                    _ => None,
                },
            ));
        }
        for row in self.group_rows() {
            if department.is_some() && department != row_department(row) {
                continue;
            }
            out.extend(row.0.values().filter_map(|v| match v {
                Value::Hours(h) => Some(h),
                _ => None,
            }));
        }
        out
    }

    /// Every opening-hours table with the 診療科目 of its row (`None` for the facility's own
    /// table: 開店時間, 就業時間, or a table outside the 診療科目 rows).
    pub fn tables_by_department(&self) -> Vec<(Option<&str>, &WeeklyHours)> {
        let mut out: Vec<(Option<&str>, &WeeklyHours)> = self
            .sections
            .iter()
            .flat_map(|s| &s.answers.0)
            .filter_map(|(id, v)| match v {
                Value::Hours(h) if !is_consultation(id.as_str()) => Some((None, h)),
                _ => None,
            })
            .collect();
        for row in self.group_rows() {
            let department = row_department(row);
            out.extend(row.0.values().filter_map(|v| match v {
                Value::Hours(h) => Some((department, h)),
                _ => None,
            }));
        }
        out
    }

    /// The 診療科目 codes of the group rows (`basic.departments.department`).
    pub fn departments(&self) -> Vec<&str> {
        self.group_rows().filter_map(row_department).collect()
    }
}

/// A group row's 診療科目 code, if it is a 診療科目 row.
fn row_department(row: &Answers) -> Option<&str> {
    row.0.iter().find_map(|(k, v)| match v {
        Value::Choice(c) if k.as_str().ends_with(".department") => Some(c.as_str()),
        _ => None,
    })
}

/// 開店時間外で相談できる時間 is not opening hours.
fn is_consultation(id: &str) -> bool {
    id.ends_with(".consultation_hours")
}

/// A shown item's value with hidden group members left out of each row.
fn shown_value(scope: Scope<'_>, item: &Item, answers: &Answers) -> Option<Value> {
    let value = answers.0.get(&item.id)?;
    match (&item.kind, value) {
        (ItemKind::Group { items, .. }, Value::Group(rows)) => Some(Value::Group(
            rows.iter()
                .map(|row| {
                    let in_row = scope.in_row(row);
                    Answers(
                        items
                            .iter()
                            .filter(|m| in_row.shows(m))
                            .filter_map(|m| Some((m.id.clone(), row.0.get(&m.id)?.clone())))
                            .collect(),
                    )
                })
                .collect(),
        )),
        _ => Some(value.clone()),
    }
}

/// Why a facility is not on the residents' side (DOMAIN §4.6). Shown to the facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum HiddenReason {
    /// No report has been confirmed yet.
    NeverConfirmed,
    /// 外来区分 (or another answer) carries the `not_published` flag.
    NoGeneralOutpatient {
        item: String,
        label: String,
    },
    NotYetOpen {
        opens_on: NaiveDate,
    },
    Suspended {
        since: NaiveDate,
    },
    Abolished {
        since: NaiveDate,
    },
}

impl HiddenReason {
    /// Stable, for logs, the audit trail and the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NeverConfirmed => "publication.never_confirmed",
            Self::NoGeneralOutpatient { .. } => "publication.not_published_answer",
            Self::NotYetOpen { .. } => "publication.not_yet_open",
            Self::Suspended { .. } => "publication.suspended",
            Self::Abolished { .. } => "publication.abolished",
        }
    }

    /// What the facility reads on its home page.
    pub fn message(&self) -> String {
        match self {
            Self::NeverConfirmed => "都道府県による確認が完了した報告がまだないため、住民向けの検索には表示されていません。報告後、都道府県の確認が完了すると公表されます。".into(),
            Self::NoGeneralOutpatient { label, .. } => format!(
                "「{label}」をご報告いただいているため、住民向けの検索には表示されません。"
            ),
            Self::NotYetOpen { opens_on } => format!(
                "開設日（{}）より前のため、まだ公表されていません。開設日から表示されます。",
                crate::text::date_ja(*opens_on)
            ),
            Self::Suspended { since } => format!(
                "休止日（{}）を迎えたため、住民向けの検索には表示されていません。",
                crate::text::date_ja(*since)
            ),
            Self::Abolished { since } => format!(
                "廃止日（{}）を迎えたため、住民向けの検索には表示されていません。",
                crate::text::date_ja(*since)
            ),
        }
    }
}

/// Published, or hidden with every reason that applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Visibility {
    Visible,
    Hidden(Vec<HiddenReason>),
}

impl Visibility {
    pub fn is_visible(&self) -> bool {
        matches!(self, Self::Visible)
    }
}

/// DOMAIN §4.6, in one place: `record` is the master as it is now (its dates change by 随時報告
/// and by the calendar), `confirmed` the last confirmed document, `today` a Japan date.
pub fn visibility(
    record: &FacilityRecord,
    confirmed: Option<&PublishedDocument>,
    catalogue: &Catalogue,
    today: NaiveDate,
) -> Visibility {
    let mut reasons = Vec::new();
    match confirmed {
        None => reasons.push(HiddenReason::NeverConfirmed),
        Some(doc) => reasons.extend(flagged_answers(doc, catalogue)),
    }
    match record.status_on(today) {
        FacilityStatus::Open => {}
        FacilityStatus::NotYetOpen => {
            if let Some(opens_on) = record.opened_on {
                reasons.push(HiddenReason::NotYetOpen { opens_on });
            }
        }
        FacilityStatus::Suspended => {
            if let Some(since) = record.suspended_on {
                reasons.push(HiddenReason::Suspended { since });
            }
        }
        FacilityStatus::Abolished => {
            if let Some(since) = record.abolished_on {
                reasons.push(HiddenReason::Abolished { since });
            }
        }
    }
    if reasons.is_empty() {
        Visibility::Visible
    } else {
        Visibility::Hidden(reasons)
    }
}

/// Chosen codes whose list flags them `not_published`.
fn flagged_answers(doc: &PublishedDocument, catalogue: &Catalogue) -> Vec<HiddenReason> {
    let Some(set) = catalogue.item_sets.get(&doc.item_set) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in set.items() {
        let ItemKind::Choice { codes } = &item.kind else {
            continue;
        };
        let Some(Value::Choice(chosen)) = doc.value(item.id.as_str()) else {
            continue;
        };
        let flagged = catalogue.code_lists.get(codes).and_then(|list| {
            list.codes
                .iter()
                .find(|c| &c.code == chosen && c.flags.iter().any(|f| f == NOT_PUBLISHED_FLAG))
        });
        if let Some(code) = flagged {
            out.push(HiddenReason::NoGeneralOutpatient {
                item: item.label.clone(),
                label: format!("{}：{}", item.label, code.label),
            });
        }
    }
    out
}

/// The next day after `today` on which the date rules may change the answer (a future 開設日,
/// 休止日 or 廃止日), for the daily re-evaluation.
pub fn next_date_change(record: &FacilityRecord, today: NaiveDate) -> Option<NaiveDate> {
    [record.opened_on, record.suspended_on, record.abolished_on]
        .into_iter()
        .flatten()
        .filter(|d| *d > today)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{FacilityKind, MunicipalityCode, PrefectureCode};
    use crate::facility::FacilityNames;
    use crate::forms::{Code, CodeList, ItemId, Section};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn record() -> FacilityRecord {
        FacilityRecord {
            kind: FacilityKind::Clinic,
            prefecture: PrefectureCode::parse("17").unwrap(),
            municipality: MunicipalityCode::parse("172014").unwrap(),
            facility_code: None,
            insurance_codes: Vec::new(),
            names: FacilityNames {
                official: "兼六クリニック".into(),
                official_kana: "ケンロククリニック".into(),
                ..FacilityNames::default()
            },
            postal_code: None,
            address: "石川県金沢市兼六町1-1".into(),
            coordinates: None,
            homepage: None,
            opened_on: Some(d("2001-04-01")),
            suspended_on: None,
            abolished_on: None,
        }
    }

    fn item(id: &str, kind: ItemKind) -> Item {
        Item {
            id: ItemId(id.into()),
            label: "外来区分".into(),
            help: None,
            kind,
            required: false,
            visible_if: None,
        }
    }

    fn catalogue() -> Catalogue {
        let mut c = Catalogue::default();
        c.code_lists.insert(
            "outpatient_class".into(),
            CodeList {
                id: "outpatient_class".into(),
                name: "外来区分".into(),
                provisional: true,
                source: String::new(),
                codes: vec![
                    Code {
                        code: "1".into(),
                        label: "一般外来を行う".into(),
                        flags: Vec::new(),
                    },
                    Code {
                        code: "9".into(),
                        label: "その他一般外来を行わない".into(),
                        flags: vec![NOT_PUBLISHED_FLAG.into()],
                    },
                ],
            },
        );
        c.item_sets.insert(
            "2025-clinic".into(),
            ItemSet {
                id: "2025-clinic".into(),
                fiscal_year: 2025,
                kind: FacilityKind::Clinic,
                sections: vec![Section {
                    id: "basic".into(),
                    number: "1.(1)".into(),
                    title: "基本情報".into(),
                    bulk_complete: true,
                    low_risk: Vec::new(),
                    items: vec![
                        item(
                            "basic.outpatient_class",
                            ItemKind::Choice {
                                codes: "outpatient_class".into(),
                            },
                        ),
                        Item {
                            visible_if: Some(crate::forms::Condition {
                                item: ItemId("basic.outpatient_class".into()),
                                any_of: vec!["1".into()],
                            }),
                            ..item(
                                "basic.note",
                                ItemKind::Text {
                                    max_length: 100,
                                    multiline: false,
                                    format: None,
                                },
                            )
                        },
                    ],
                    rules: Vec::new(),
                }],
            },
        );
        c
    }

    fn answers(class: &str) -> Answers {
        let mut a = Answers::default();
        a.set("basic.outpatient_class", Value::Choice(class.into()));
        a.set("basic.note", Value::Text("駐車場あり".into()));
        a
    }

    fn doc(class: &str, previous: Option<&PublishedDocument>, on: &str) -> PublishedDocument {
        let c = catalogue();
        PublishedDocument::build(
            &record(),
            &c.item_sets["2025-clinic"],
            &answers(class),
            Utc::now(),
            d(on),
            previous,
        )
    }

    #[test]
    fn a_confirmed_open_facility_is_visible() {
        let v = visibility(
            &record(),
            Some(&doc("1", None, "2026-06-01")),
            &catalogue(),
            d("2026-11-22"),
        );
        assert_eq!(v, Visibility::Visible);
    }

    #[test]
    fn never_confirmed_is_hidden() {
        let v = visibility(&record(), None, &catalogue(), d("2026-11-22"));
        assert_eq!(v, Visibility::Hidden(vec![HiddenReason::NeverConfirmed]));
        let Visibility::Hidden(r) = v else {
            unreachable!()
        };
        assert!(r[0].message().contains("確認が完了した報告がまだない"));
    }

    #[test]
    fn outpatient_class_9_is_hidden_and_hidden_items_are_not_published() {
        let doc9 = doc("9", None, "2026-06-01");
        assert!(
            doc9.value("basic.note").is_none(),
            "hidden by its condition"
        );
        let v = visibility(&record(), Some(&doc9), &catalogue(), d("2026-11-22"));
        let Visibility::Hidden(r) = v else {
            panic!("visible")
        };
        assert_eq!(r[0].code(), "publication.not_published_answer");
        assert!(
            r[0].message().contains("その他一般外来を行わない"),
            "{}",
            r[0].message()
        );
    }

    #[test]
    fn a_future_opening_day_becomes_visible_on_that_day() {
        let mut r = record();
        r.opened_on = Some(d("2026-12-01"));
        let doc = doc("1", None, "2026-11-20");
        let before = visibility(&r, Some(&doc), &catalogue(), d("2026-11-30"));
        assert_eq!(
            before,
            Visibility::Hidden(vec![HiddenReason::NotYetOpen {
                opens_on: d("2026-12-01")
            }])
        );
        assert_eq!(next_date_change(&r, d("2026-11-30")), Some(d("2026-12-01")));
        assert!(visibility(&r, Some(&doc), &catalogue(), d("2026-12-01")).is_visible());
        assert_eq!(next_date_change(&r, d("2026-12-01")), None);
    }

    #[test]
    fn suspension_and_abolition_hide_from_their_day() {
        let doc = doc("1", None, "2026-06-01");
        let mut r = record();
        r.suspended_on = Some(d("2026-12-01"));
        assert!(visibility(&r, Some(&doc), &catalogue(), d("2026-11-30")).is_visible());
        assert_eq!(
            visibility(&r, Some(&doc), &catalogue(), d("2026-12-01")),
            Visibility::Hidden(vec![HiddenReason::Suspended {
                since: d("2026-12-01")
            }])
        );
        let mut r = record();
        r.abolished_on = Some(d("2027-03-31"));
        assert!(visibility(&r, Some(&doc), &catalogue(), d("2027-03-30")).is_visible());
        let v = visibility(&r, Some(&doc), &catalogue(), d("2027-03-31"));
        let Visibility::Hidden(reasons) = v else {
            panic!("visible")
        };
        assert_eq!(reasons[0].code(), "publication.abolished");
        assert!(reasons[0].message().contains("廃止日（2027年3月31日"));
    }

    #[test]
    fn an_unchanged_section_keeps_its_change_date() {
        let first = doc("1", None, "2025-06-01");
        let again = doc("1", Some(&first), "2026-06-01");
        let s = again.section("basic").unwrap();
        assert_eq!(
            (s.confirmed_on, s.changed_on),
            (d("2026-06-01"), d("2025-06-01"))
        );
        let changed = doc("9", Some(&again), "2026-09-01");
        let s = changed.section("basic").unwrap();
        assert_eq!(s.changed_on, d("2026-09-01"));
    }
}
