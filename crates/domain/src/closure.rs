//! 臨時休診 as people declare it (issue 7 §4): a facility for itself, or prefecture staff for
//! many facilities at once (臨時休診一括処理, e.g. after a disaster). What residents see is
//! `opening::Closure`; this module checks what was typed and says which facilities a batch
//! reaches.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::{FacilityCode, FacilityKind, MunicipalityCode};
use crate::opening::Closure;
use crate::text::nfkc;

/// The reason is shown on result lines: one short sentence.
pub const REASON_MAX_CHARS: usize = 60;
/// Longest closure: a year. Longer than that is a 休止, reported through the facility's data.
pub const MAX_DAYS: i64 = 366;
/// How far ahead a closure may start.
pub const AHEAD_DAYS: i64 = 366;
/// 機関コード in one 一括処理 by list.
pub const MAX_CODES: usize = 5_000;

/// The field a problem belongs to, for the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureField {
    From,
    To,
    Reason,
    Codes,
}

impl ClosureField {
    /// The form field's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::From => "from",
            Self::To => "to",
            Self::Reason => "reason",
            Self::Codes => "codes",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosureError {
    MissingDate(ClosureField),
    BadDate(ClosureField),
    Reversed,
    /// Ends before today: residents would never see it.
    Past,
    TooFarAhead,
    TooLong,
    MissingReason,
    ReasonTooLong(usize),
    /// A 一括処理 by list with no code in it.
    NoCodes,
    /// (line, as typed)
    BadCode(usize, String),
    TooManyCodes(usize),
}

impl ClosureError {
    /// Stable code (logs, tests, the API).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingDate(_) => "closure.date_missing",
            Self::BadDate(_) => "closure.date_invalid",
            Self::Reversed => "closure.reversed",
            Self::Past => "closure.past",
            Self::TooFarAhead => "closure.too_far_ahead",
            Self::TooLong => "closure.too_long",
            Self::MissingReason => "closure.reason_missing",
            Self::ReasonTooLong(_) => "closure.reason_too_long",
            Self::NoCodes => "closure.codes_missing",
            Self::BadCode(..) => "closure.code_invalid",
            Self::TooManyCodes(_) => "closure.too_many_codes",
        }
    }

    pub fn field(&self) -> ClosureField {
        match self {
            Self::MissingDate(f) | Self::BadDate(f) => *f,
            Self::Reversed | Self::Past | Self::TooLong => ClosureField::To,
            Self::TooFarAhead => ClosureField::From,
            Self::MissingReason | Self::ReasonTooLong(_) => ClosureField::Reason,
            Self::NoCodes | Self::BadCode(..) | Self::TooManyCodes(_) => ClosureField::Codes,
        }
    }
}

fn date_label(f: ClosureField) -> &'static str {
    match f {
        ClosureField::From => "休診開始日",
        _ => "休診終了日",
    }
}

impl fmt::Display for ClosureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingDate(field) => write!(f, "{}を入力してください。", date_label(*field)),
            Self::BadDate(field) => write!(
                f,
                "{}は日付（例: 2027-01-07）で入力してください。",
                date_label(*field)
            ),
            Self::Reversed => {
                f.write_str("休診終了日は休診開始日と同じ日か、それより後にしてください。")
            }
            Self::Past => {
                f.write_str("休診終了日が過ぎています。今日以降の日付を入力してください。")
            }
            Self::TooFarAhead => {
                write!(f, "休診開始日は今日から{AHEAD_DAYS}日以内にしてください。")
            }
            Self::TooLong => write!(
                f,
                "臨時休診は{MAX_DAYS}日以内で登録してください。それより長く休む場合は、休止の届出と施設情報の報告をお願いします。"
            ),
            Self::MissingReason => {
                f.write_str("理由を入力してください（例: 院長不在のため、台風による停電のため）。")
            }
            Self::ReasonTooLong(n) => write!(
                f,
                "理由は{REASON_MAX_CHARS}文字以内で入力してください（現在{n}文字）。"
            ),
            Self::NoCodes => f.write_str("機関コードを1行に1つずつ入力してください。"),
            Self::BadCode(line, typed) => write!(
                f,
                "{line}行目「{typed}」は機関コード（10桁の数字）ではありません。"
            ),
            Self::TooManyCodes(n) => write!(
                f,
                "機関コードは一度に{MAX_CODES}件までです（{n}件あります）。分けて登録してください。"
            ),
        }
    }
}

impl std::error::Error for ClosureError {}

/// A date as typed: the date picker's 2027-01-07, or 2027/1/7 with 全角 digits.
fn parse_date(typed: &str, field: ClosureField) -> Result<NaiveDate, ClosureError> {
    let folded = nfkc(typed.trim());
    if folded.is_empty() {
        return Err(ClosureError::MissingDate(field));
    }
    NaiveDate::parse_from_str(&folded, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&folded, "%Y/%m/%d"))
        .map_err(|_| ClosureError::BadDate(field))
}

/// Checks a declaration as typed and gives the closure, or every problem at once.
pub fn check(
    from: &str,
    to: &str,
    reason: &str,
    today: NaiveDate,
) -> Result<Closure, Vec<ClosureError>> {
    let mut errors = Vec::new();
    let from = parse_date(from, ClosureField::From).map_err(|e| errors.push(e));
    let to = parse_date(to, ClosureField::To).map_err(|e| errors.push(e));
    // One line: 「台風による停電のため」, not a letter.
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = reason.chars().count();
    if chars == 0 {
        errors.push(ClosureError::MissingReason);
    } else if chars > REASON_MAX_CHARS {
        errors.push(ClosureError::ReasonTooLong(chars));
    }
    if let (Ok(from), Ok(to)) = (from, to) {
        if to < from {
            errors.push(ClosureError::Reversed);
        } else if to < today {
            errors.push(ClosureError::Past);
        } else if (to - from).num_days() + 1 > MAX_DAYS {
            errors.push(ClosureError::TooLong);
        }
        if (from - today).num_days() > AHEAD_DAYS {
            errors.push(ClosureError::TooFarAhead);
        }
        if errors.is_empty() {
            return Ok(Closure { from, to, reason });
        }
    }
    Err(errors)
}

/// Reads a list of 機関コード as pasted from Excel: one per line (or separated by commas, tabs
/// or spaces), 全角 digits and hyphens accepted, duplicates dropped, order kept.
pub fn parse_codes(text: &str) -> Result<Vec<FacilityCode>, Vec<ClosureError>> {
    let mut codes: Vec<FacilityCode> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let folded = nfkc(line);
        for word in folded
            .split(|c: char| c == ',' || c == '、' || c == '\t' || c.is_whitespace())
            .filter(|w| !w.is_empty())
        {
            match FacilityCode::parse(word) {
                Ok(c) if !codes.contains(&c) => codes.push(c),
                Ok(_) => {}
                Err(_) => errors.push(ClosureError::BadCode(i + 1, word.to_owned())),
            }
        }
    }
    if codes.is_empty() && errors.is_empty() {
        errors.push(ClosureError::NoCodes);
    }
    if codes.len() > MAX_CODES {
        errors.push(ClosureError::TooManyCodes(codes.len()));
    }
    if errors.is_empty() {
        Ok(codes)
    } else {
        Err(errors)
    }
}

/// Which facilities of one prefecture a 臨時休診一括処理 reaches. Stored with the batch as
/// chosen; the facilities it resolved to are stored as its closures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum ClosureTarget {
    /// Every facility of these kinds in these municipalities (empty: the whole prefecture).
    Area {
        kinds: Vec<FacilityKind>,
        municipalities: Vec<MunicipalityCode>,
    },
    /// These 機関コード (of the chosen kinds: a code is unique within prefecture and kind).
    Codes {
        kinds: Vec<FacilityKind>,
        codes: Vec<FacilityCode>,
    },
}

impl ClosureTarget {
    pub fn kinds(&self) -> &[FacilityKind] {
        match self {
            Self::Area { kinds, .. } | Self::Codes { kinds, .. } => kinds,
        }
    }

    /// Whether every facility it reaches lies in `area` (`None`: the whole prefecture). A list
    /// of codes is resolved within the area, so it always is.
    pub fn within(&self, area: Option<&[MunicipalityCode]>) -> bool {
        match (self, area) {
            (_, None) | (Self::Codes { .. }, _) => true,
            (Self::Area { municipalities, .. }, Some(area)) => {
                !municipalities.is_empty() && municipalities.iter().all(|m| area.contains(m))
            }
        }
    }
}

/// Where a 臨時休診一括処理 stands, for its list and page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// Declared; the facilities are being published again (進捗 shown).
    Applying,
    /// Shown to residents, starting later.
    Scheduled,
    /// Shown to residents, in force today.
    InForce,
    /// Its last day has passed: it expired by itself.
    Ended,
    /// Withdrawn by staff (facilities published again without it).
    Withdrawn,
}

impl BatchStatus {
    pub fn of(
        closure: &Closure,
        withdrawn: bool,
        published: bool,
        today: NaiveDate,
    ) -> BatchStatus {
        if withdrawn {
            Self::Withdrawn
        } else if closure.expired(today) {
            Self::Ended
        } else if !published {
            Self::Applying
        } else if closure.from > today {
            Self::Scheduled
        } else {
            Self::InForce
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Applying => "反映中",
            Self::Scheduled => "予定",
            Self::InForce => "休診中",
            Self::Ended => "終了",
            Self::Withdrawn => "取消済",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::Applying => "applying",
            Self::Scheduled => "scheduled",
            Self::InForce => "in_force",
            Self::Ended => "ended",
            Self::Withdrawn => "withdrawn",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn codes(errors: &[ClosureError]) -> Vec<&'static str> {
        errors.iter().map(ClosureError::code).collect()
    }

    #[test]
    fn a_declaration_is_read_as_typed() {
        let today = d("2026-11-22");
        let c = check(
            "２０２６／１１／２５",
            "2026-11-26",
            "  院長不在の\nため ",
            today,
        )
        .expect("valid");
        assert_eq!(c.from, d("2026-11-25"));
        assert_eq!(c.to, d("2026-11-26"));
        assert_eq!(c.reason, "院長不在の ため");
        // One day, today, is fine.
        assert!(check("2026-11-22", "2026-11-22", "停電のため", today).is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let today = d("2026-11-22");
        let e = check("", "11/26", "", today).expect_err("invalid");
        assert_eq!(
            codes(&e),
            [
                "closure.date_missing",
                "closure.date_invalid",
                "closure.reason_missing"
            ]
        );
        assert_eq!(e[0].field(), ClosureField::From);
        assert_eq!(e[1].field(), ClosureField::To);
        let e = check("2026-11-27", "2026-11-26", &"あ".repeat(61), today).expect_err("invalid");
        assert_eq!(codes(&e), ["closure.reason_too_long", "closure.reversed"]);
        assert!(e[0].to_string().contains("現在61文字"));
        let e = check("2026-11-01", "2026-11-21", "停電", today).expect_err("past");
        assert_eq!(codes(&e), ["closure.past"]);
        let e = check("2026-11-22", "2027-11-23", "改装", today).expect_err("long");
        assert_eq!(codes(&e), ["closure.too_long"]);
        assert!(check("2026-11-22", "2027-11-22", "改装", today).is_ok());
        let e = check("2027-12-01", "2027-12-02", "学会", today).expect_err("ahead");
        assert_eq!(codes(&e), ["closure.too_far_ahead"]);
    }

    #[test]
    fn codes_are_read_as_pasted() {
        let list = parse_codes("１３１２３４５６７８\n1312345679, 1312345679\t1312345680\n\n")
            .expect("valid");
        assert_eq!(
            list.iter().map(FacilityCode::as_str).collect::<Vec<_>>(),
            ["1312345678", "1312345679", "1312345680"]
        );
        let e = parse_codes("1312345678\n13123\nabc").expect_err("invalid");
        assert_eq!(codes(&e), ["closure.code_invalid", "closure.code_invalid"]);
        assert_eq!(
            e[0].to_string(),
            "2行目「13123」は機関コード（10桁の数字）ではありません。"
        );
        assert_eq!(
            codes(&parse_codes(" \n").expect_err("empty")),
            ["closure.codes_missing"]
        );
    }

    #[test]
    fn an_area_limited_member_of_staff_stays_in_the_area() {
        let m = |s: &str| MunicipalityCode::parse(s).expect("code");
        let area = [m("131016"), m("131024")];
        let target = |ms: Vec<MunicipalityCode>| ClosureTarget::Area {
            kinds: vec![FacilityKind::Clinic],
            municipalities: ms,
        };
        assert!(target(vec![m("131016")]).within(Some(&area)));
        assert!(!target(vec![m("131016"), m("131032")]).within(Some(&area)));
        // The whole prefecture is not within an area.
        assert!(!target(vec![]).within(Some(&area)));
        assert!(target(vec![]).within(None));
    }

    #[test]
    fn a_batch_expires_by_itself() {
        let c = Closure {
            from: d("2026-11-23"),
            to: d("2026-11-25"),
            reason: "台風".into(),
        };
        let s =
            |today: &str, withdrawn, published| BatchStatus::of(&c, withdrawn, published, d(today));
        assert_eq!(s("2026-11-22", false, false), BatchStatus::Applying);
        assert_eq!(s("2026-11-22", false, true), BatchStatus::Scheduled);
        assert_eq!(s("2026-11-23", false, true), BatchStatus::InForce);
        assert_eq!(s("2026-11-26", false, true), BatchStatus::Ended);
        assert_eq!(s("2026-11-24", true, true), BatchStatus::Withdrawn);
    }
}
