//! 一括メール配信 (DOMAIN §6): prefecture staff write one mail — 件名 and 本文 with placeholders
//! such as {施設名} — to a filtered set of facilities (機関区分, 市区町村, the 定期報告's status in a
//! period). This module holds the rules that need no database: the placeholder syntax and its
//! substitution, the checks of a composed mail, the statuses a recipient can be filtered by and
//! the states of a send.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::codes::{FacilityKind, MunicipalityCode};
use crate::report::{ReportStatus, fiscal_year_label};

/// What a placeholder stands for. Written `{施設名}` (full-width braces `｛施設名｝` too: typed
/// with a Japanese input method, they are the same thing to the writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    FacilityName,
    FacilityCode,
    PrefectureName,
    FiscalYear,
    Deadline,
    ReportStatus,
    LoginUrl,
    ReportUrl,
}

impl Placeholder {
    pub const ALL: [Self; 8] = [
        Self::FacilityName,
        Self::FacilityCode,
        Self::PrefectureName,
        Self::FiscalYear,
        Self::Deadline,
        Self::ReportStatus,
        Self::LoginUrl,
        Self::ReportUrl,
    ];

    /// The name written between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Self::FacilityName => "施設名",
            Self::FacilityCode => "機関コード",
            Self::PrefectureName => "都道府県名",
            Self::FiscalYear => "年度",
            Self::Deadline => "報告期限",
            Self::ReportStatus => "報告状況",
            Self::LoginUrl => "ログインURL",
            Self::ReportUrl => "報告URL",
        }
    }

    /// What it becomes, for the list on the compose page.
    pub fn description(self) -> &'static str {
        match self {
            Self::FacilityName => "医療機関・薬局の正式名称",
            Self::FacilityCode => "都道府県が付けた10桁の機関コード（ない場合は「（なし）」）",
            Self::PrefectureName => "都道府県の名前（例: 石川県）",
            Self::FiscalYear => "報告期間の年度（例: 令和8年度）",
            Self::Deadline => "報告期間の報告期限（延長後のもの。例: 2027年3月31日（水））",
            Self::ReportStatus => {
                "その医療機関・薬局の定期報告の状況（未報告・報告中・差戻し・報告済・確認完了済）"
            }
            Self::LoginUrl => "ログイン画面のURL",
            Self::ReportUrl => "その医療機関・薬局の報告画面のURL（ログイン後に開きます）",
        }
    }

    /// Only meaningful for a chosen 報告期間.
    pub fn needs_period(self) -> bool {
        matches!(self, Self::FiscalYear | Self::Deadline | Self::ReportStatus)
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `{施設名}`.
    pub fn written(self) -> String {
        format!("{{{}}}", self.name())
    }
}

/// Longest text between braces that is read as a placeholder; anything longer (a sentence in
/// braces) is plain text.
const MAX_NAME_CHARS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(Placeholder),
}

/// A subject or body as written, split into text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailText {
    pieces: Vec<Piece>,
}

fn is_open(c: char) -> bool {
    c == '{' || c == '｛'
}

fn is_close(c: char) -> bool {
    c == '}' || c == '｝'
}

impl MailText {
    /// Reads `text`; a brace pair on one line around at most [`MAX_NAME_CHARS`] characters is a
    /// placeholder, and every one whose name is not a [`Placeholder`] is returned (each once, in
    /// order of appearance) instead of a text that would send `{施設名称}` to a thousand
    /// facilities.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let chars: Vec<char> = text.chars().collect();
        let mut pieces = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut plain = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if is_open(c) {
                let close = chars[i + 1..]
                    .iter()
                    .take(MAX_NAME_CHARS + 1)
                    .take_while(|c| **c != '\n' && !is_open(**c))
                    .position(|c| is_close(*c));
                if let Some(len) = close {
                    let inner: String = chars[i + 1..i + 1 + len].iter().collect();
                    let name = inner.trim_matches(|c: char| c.is_whitespace());
                    match Placeholder::parse(name) {
                        Some(p) => {
                            if !plain.is_empty() {
                                pieces.push(Piece::Text(std::mem::take(&mut plain)));
                            }
                            pieces.push(Piece::Field(p));
                        }
                        None => {
                            let written = format!("{{{name}}}");
                            if !unknown.contains(&written) {
                                unknown.push(written);
                            }
                        }
                    }
                    i += len + 2;
                    continue;
                }
            }
            plain.push(c);
            i += 1;
        }
        if !plain.is_empty() {
            pieces.push(Piece::Text(plain));
        }
        if unknown.is_empty() {
            Ok(Self { pieces })
        } else {
            Err(unknown)
        }
    }

    /// The placeholders used, each once, in order of appearance.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut out = Vec::new();
        for p in &self.pieces {
            if let Piece::Field(f) = p
                && !out.contains(f)
            {
                out.push(*f);
            }
        }
        out
    }

    /// The text for one recipient.
    pub fn render(&self, v: &Values<'_>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => out.push_str(&v.value(*f)),
            }
        }
        out
    }
}

/// What the placeholders become for one facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values<'a> {
    pub facility_name: &'a str,
    pub facility_code: Option<&'a str>,
    pub prefecture_name: &'a str,
    /// The chosen period's 年度 and deadline in force, and the facility's status in it.
    pub fiscal_year: Option<u16>,
    pub deadline: Option<NaiveDate>,
    pub progress: Option<ReportProgress>,
    pub login_url: &'a str,
    pub report_url: &'a str,
}

impl Values<'_> {
    fn value(&self, p: Placeholder) -> String {
        match p {
            Placeholder::FacilityName => self.facility_name.to_owned(),
            Placeholder::FacilityCode => self.facility_code.unwrap_or("（なし）").to_owned(),
            Placeholder::PrefectureName => self.prefecture_name.to_owned(),
            Placeholder::FiscalYear => self.fiscal_year.map(fiscal_year_label).unwrap_or_default(),
            Placeholder::Deadline => self.deadline.map(date_with_weekday).unwrap_or_default(),
            Placeholder::ReportStatus => self
                .progress
                .map(|p| p.label().to_owned())
                .unwrap_or_default(),
            Placeholder::LoginUrl => self.login_url.to_owned(),
            Placeholder::ReportUrl => self.report_url.to_owned(),
        }
    }
}

/// 2027年3月31日（水）: the way the other mails write dates.
pub fn date_with_weekday(d: NaiveDate) -> String {
    const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    let wd = WEEKDAYS[d.weekday().num_days_from_monday() as usize];
    format!("{}年{}月{}日（{wd}）", d.year(), d.month(), d.day())
}

/// A facility's 定期報告 in the chosen period, as staff chase it: the report statuses of
/// DOMAIN §4.2, with 差戻し (a 報告中 report the prefecture sent back and the facility has not
/// reported again) apart from 報告中, and 再報告済 counted with 報告済.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportProgress {
    NotReported,
    InProgress,
    Returned,
    Submitted,
    Confirmed,
}

impl ReportProgress {
    pub const ALL: [Self; 5] = [
        Self::NotReported,
        Self::InProgress,
        Self::Returned,
        Self::Submitted,
        Self::Confirmed,
    ];

    /// `returned`: the report carries a 差戻し comment not yet answered by a new 報告.
    pub fn of(status: ReportStatus, returned: bool) -> Self {
        match status {
            ReportStatus::NotReported => Self::NotReported,
            ReportStatus::InProgress if returned => Self::Returned,
            ReportStatus::InProgress => Self::InProgress,
            ReportStatus::Submitted | ReportStatus::Resubmitted => Self::Submitted,
            ReportStatus::Confirmed => Self::Confirmed,
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::NotReported => "not_reported",
            Self::InProgress => "in_progress",
            Self::Returned => "returned",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NotReported => "未報告",
            Self::InProgress => "報告中",
            Self::Returned => "差戻し",
            Self::Submitted => "報告済",
            Self::Confirmed => "確認完了済",
        }
    }
}

/// Who a send goes to. Stored with the send (and in its audit event) as chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecipientFilter {
    /// At least one.
    pub kinds: Vec<FacilityKind>,
    /// Empty: the whole prefecture. Staff limited to a 保健所 area always name theirs.
    pub municipalities: Vec<MunicipalityCode>,
    /// The 定期報告 period whose statuses count (its kinds limit the facilities too).
    pub period: Option<i64>,
    /// Empty: any status. Needs a period.
    pub progress: Vec<ReportProgress>,
}

impl RecipientFilter {
    /// Whether a facility in this state is a recipient (`None`: no period chosen).
    pub fn accepts(&self, progress: Option<ReportProgress>) -> bool {
        self.progress.is_empty() || progress.is_some_and(|p| self.progress.contains(&p))
    }

    /// Whether every recipient lies in `area` (`None`: a whole-prefecture view, which covers
    /// everything): what an area-limited member of staff may see and stop.
    pub fn within(&self, area: Option<&[MunicipalityCode]>) -> bool {
        match area {
            None => true,
            Some(list) => {
                !self.municipalities.is_empty()
                    && self.municipalities.iter().all(|m| list.contains(m))
            }
        }
    }
}

/// Where a send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkMailStatus {
    /// 作成中: composed and previewed, not sent.
    Draft,
    /// 送信中: the recipients are fixed; the worker is creating their mails.
    Sending,
    /// 完了: every recipient's mail was created (delivery is the mail log's business).
    Done,
    /// 中止: stopped by staff; mails not yet handed to the mail server stay unsent.
    Cancelled,
}

impl BulkMailStatus {
    pub const ALL: [Self; 4] = [Self::Draft, Self::Sending, Self::Done, Self::Cancelled];

    pub fn id(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sending => "sending",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "作成中",
            Self::Sending => "送信中",
            Self::Done => "完了",
            Self::Cancelled => "中止",
        }
    }
}

/// Longest subject: mail clients cut long subjects, and a subject is one line.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// Longest body: a notice, not a manual.
pub const MAX_BODY_CHARS: usize = 10_000;

/// The part of the compose form a mistake belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposeField {
    Subject,
    Body,
    Kinds,
    Progress,
}

impl ComposeField {
    /// The form field's name.
    pub fn id(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Body => "body",
            Self::Kinds => "kinds",
            Self::Progress => "progress",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Subject => "件名",
            Self::Body => "本文",
            Self::Kinds | Self::Progress => "",
        }
    }
}

/// A mistake in a composed mail or its filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeError {
    Missing(ComposeField),
    TooLong {
        field: ComposeField,
        max: usize,
    },
    SubjectLines,
    /// Placeholders that do not exist, as written (`{施設名称}`).
    Unknown {
        field: ComposeField,
        written: Vec<String>,
    },
    /// Placeholders that need a 報告期間 when none is chosen.
    NeedsPeriod {
        field: ComposeField,
        placeholders: Vec<Placeholder>,
    },
    NoKinds,
    ProgressWithoutPeriod,
}

impl ComposeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "bulk_mail.missing",
            Self::TooLong { .. } => "bulk_mail.too_long",
            Self::SubjectLines => "bulk_mail.subject_lines",
            Self::Unknown { .. } => "bulk_mail.unknown_placeholder",
            Self::NeedsPeriod { .. } => "bulk_mail.placeholder_needs_period",
            Self::NoKinds => "bulk_mail.no_kinds",
            Self::ProgressWithoutPeriod => "bulk_mail.progress_without_period",
        }
    }

    pub fn field(&self) -> ComposeField {
        match self {
            Self::Missing(f)
            | Self::TooLong { field: f, .. }
            | Self::Unknown { field: f, .. }
            | Self::NeedsPeriod { field: f, .. } => *f,
            Self::SubjectLines => ComposeField::Subject,
            Self::NoKinds => ComposeField::Kinds,
            Self::ProgressWithoutPeriod => ComposeField::Progress,
        }
    }
}

impl std::fmt::Display for ComposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(field) => write!(f, "{}を入力してください。", field.label()),
            Self::TooLong { field, max } => {
                write!(f, "{}は{max}文字以内で入力してください。", field.label())
            }
            Self::SubjectLines => f.write_str("件名は1行で入力してください。"),
            Self::Unknown { field, written } => write!(
                f,
                "{}の差し込み項目 {} はありません。使える差し込み項目は、一覧にあるものだけです。",
                field.label(),
                written.join("、")
            ),
            Self::NeedsPeriod {
                field,
                placeholders,
            } => write!(
                f,
                "{}の差し込み項目 {} は、報告期間を選んだときだけ使えます。",
                field.label(),
                placeholders
                    .iter()
                    .map(|p| p.written())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            Self::NoKinds => f.write_str("送信先の機関区分を1つ以上選択してください。"),
            Self::ProgressWithoutPeriod => {
                f.write_str("報告状況で絞り込むには、報告期間を選んでください。")
            }
        }
    }
}

impl std::error::Error for ComposeError {}

/// A mail ready to send: its subject and body parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: MailText,
    pub body: MailText,
}

impl Composed {
    /// The subject and body for one recipient. The subject stays one line whatever a value
    /// holds.
    pub fn render(&self, v: &Values<'_>) -> (String, String) {
        let subject = self
            .subject
            .render(v)
            .split(['\r', '\n'])
            .collect::<Vec<_>>()
            .join(" ");
        (subject, self.body.render(v))
    }
}

/// Checks a mail and its filter as typed: every mistake at once, each with its field.
pub fn compose(
    subject: &str,
    body: &str,
    filter: &RecipientFilter,
) -> Result<Composed, Vec<ComposeError>> {
    let mut errors = Vec::new();
    let has_period = filter.period.is_some();
    let mut text = |field: ComposeField, raw: &str, max: usize| -> Option<MailText> {
        if raw.trim().is_empty() {
            errors.push(ComposeError::Missing(field));
            return None;
        }
        if raw.chars().count() > max {
            errors.push(ComposeError::TooLong { field, max });
        }
        if field == ComposeField::Subject && raw.trim().contains(['\r', '\n']) {
            errors.push(ComposeError::SubjectLines);
        }
        match MailText::parse(raw) {
            Ok(t) => {
                let needs: Vec<Placeholder> = t
                    .placeholders()
                    .into_iter()
                    .filter(|p| p.needs_period() && !has_period)
                    .collect();
                if !needs.is_empty() {
                    errors.push(ComposeError::NeedsPeriod {
                        field,
                        placeholders: needs,
                    });
                }
                Some(t)
            }
            Err(written) => {
                errors.push(ComposeError::Unknown { field, written });
                None
            }
        }
    };
    let subject = text(ComposeField::Subject, subject.trim(), MAX_SUBJECT_CHARS);
    let body = text(ComposeField::Body, body, MAX_BODY_CHARS);
    if filter.kinds.is_empty() {
        errors.push(ComposeError::NoKinds);
    }
    if !filter.progress.is_empty() && !has_period {
        errors.push(ComposeError::ProgressWithoutPeriod);
    }
    match (subject, body) {
        (Some(subject), Some(body)) if errors.is_empty() => Ok(Composed { subject, body }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values {
            facility_name: "さくら内科クリニック",
            facility_code: Some("1700000001"),
            prefecture_name: "石川県",
            fiscal_year: Some(2026),
            deadline: NaiveDate::from_ymd_opt(2027, 3, 31),
            progress: Some(ReportProgress::NotReported),
            login_url: "https://teikyo.test/login",
            report_url: "https://teikyo.test/facility/1/report",
        }
    }

    fn filter(period: Option<i64>) -> RecipientFilter {
        RecipientFilter {
            kinds: vec![FacilityKind::Clinic],
            period,
            ..Default::default()
        }
    }

    #[test]
    fn placeholders_are_substituted_in_both_brace_widths() {
        let t = MailText::parse("{施設名} ご担当者様\n｛報告期限｝までに{ 報告状況 }を").unwrap();
        assert_eq!(
            t.render(&values()),
            "さくら内科クリニック ご担当者様\n2027年3月31日（水）までに未報告を"
        );
        assert_eq!(
            t.placeholders(),
            vec![
                Placeholder::FacilityName,
                Placeholder::Deadline,
                Placeholder::ReportStatus
            ]
        );
        let none = Values {
            facility_code: None,
            ..values()
        };
        assert_eq!(
            MailText::parse("機関コード: {機関コード}")
                .unwrap()
                .render(&none),
            "機関コード: （なし）"
        );
    }

    #[test]
    fn unknown_placeholders_are_named_once_each() {
        assert_eq!(
            MailText::parse("{施設名称}様 {期限} {施設名称}"),
            Err(vec!["{施設名称}".to_owned(), "{期限}".to_owned()])
        );
    }

    #[test]
    fn braces_that_are_not_placeholders_stay_text() {
        for text in [
            "{ 開いたまま",
            "閉じ } だけ",
            "{改行を\nまたぐ}",
            "{これは二十文字を超える長い括弧書きなので差し込み項目ではありません}",
            "{}",
        ] {
            let parsed = MailText::parse(text);
            if text == "{}" {
                assert_eq!(parsed, Err(vec!["{}".to_owned()]), "{text}");
            } else {
                assert_eq!(parsed.unwrap().render(&values()), text, "{text}");
            }
        }
        // A stray opening brace before a placeholder does not swallow it.
        assert_eq!(
            MailText::parse("{ {施設名}").unwrap().render(&values()),
            "{ さくら内科クリニック"
        );
    }

    #[test]
    fn compose_reports_every_mistake_beside_its_field() {
        let errors = compose("", "{施設名}様 {施設名称}", &RecipientFilter::default()).unwrap_err();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.field().id(), e.code())).collect();
        assert_eq!(
            codes,
            vec![
                ("subject", "bulk_mail.missing"),
                ("body", "bulk_mail.unknown_placeholder"),
                ("kinds", "bulk_mail.no_kinds"),
            ]
        );
        assert_eq!(
            errors[1].to_string(),
            "本文の差し込み項目 {施設名称} はありません。使える差し込み項目は、一覧にあるものだけです。"
        );
        let period_needed = compose(
            "{年度}の定期報告について",
            "期限は{報告期限}です",
            &RecipientFilter {
                progress: vec![ReportProgress::NotReported],
                ..filter(None)
            },
        )
        .unwrap_err();
        assert_eq!(
            period_needed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![
                "件名の差し込み項目 {年度} は、報告期間を選んだときだけ使えます。",
                "本文の差し込み項目 {報告期限} は、報告期間を選んだときだけ使えます。",
                "報告状況で絞り込むには、報告期間を選んでください。",
            ]
        );
        let long = "あ".repeat(MAX_SUBJECT_CHARS + 1);
        let e = compose(&long, "本文", &filter(None)).unwrap_err();
        assert_eq!(e[0].to_string(), "件名は100文字以内で入力してください。");
        let e = compose("一行目\n二行目", "本文", &filter(None)).unwrap_err();
        assert_eq!(e[0].code(), "bulk_mail.subject_lines");
    }

    #[test]
    fn a_good_mail_renders_per_recipient() {
        let c = compose(
            "【{都道府県名}】{年度}定期報告のお願い",
            "{施設名} ご担当者様\n{報告URL}",
            &filter(Some(3)),
        )
        .unwrap();
        let (subject, body) = c.render(&values());
        assert_eq!(subject, "【石川県】令和8年度定期報告のお願い");
        assert_eq!(
            body,
            "さくら内科クリニック ご担当者様\nhttps://teikyo.test/facility/1/report"
        );
        let odd = Values {
            facility_name: "改行\nクリニック",
            ..values()
        };
        let c = compose("{施設名}様", "本文", &filter(None)).unwrap();
        assert_eq!(c.render(&odd).0, "改行 クリニック様");
    }

    #[test]
    fn progress_separates_returned_reports_and_counts_resubmissions_as_reported() {
        use ReportStatus as S;
        assert_eq!(
            ReportProgress::of(S::InProgress, true),
            ReportProgress::Returned
        );
        assert_eq!(
            ReportProgress::of(S::InProgress, false),
            ReportProgress::InProgress
        );
        assert_eq!(
            ReportProgress::of(S::Resubmitted, false),
            ReportProgress::Submitted
        );
        for p in ReportProgress::ALL {
            assert_eq!(ReportProgress::parse(p.id()), Some(p));
        }
        for s in BulkMailStatus::ALL {
            assert_eq!(BulkMailStatus::parse(s.id()), Some(s));
        }
    }

    #[test]
    fn filters_accept_statuses_and_stay_within_an_area() {
        let kanazawa = MunicipalityCode::parse("172014").unwrap();
        let nanao = MunicipalityCode::parse("172022").unwrap();
        let f = RecipientFilter {
            progress: vec![ReportProgress::NotReported, ReportProgress::Returned],
            municipalities: vec![kanazawa],
            ..filter(Some(1))
        };
        assert!(f.accepts(Some(ReportProgress::Returned)));
        assert!(!f.accepts(Some(ReportProgress::Submitted)));
        assert!(!f.accepts(None));
        assert!(filter(None).accepts(None));
        assert!(f.within(None));
        assert!(f.within(Some(&[kanazawa, nanao])));
        assert!(!f.within(Some(&[nanao])));
        // A whole-prefecture send is beyond any area.
        assert!(!filter(None).within(Some(&[kanazawa])));
    }
}
