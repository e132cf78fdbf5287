//! The prefecture's 定期報告 periods (DOMAIN §4.1, §6): `/prefecture/periods` lists them with
//! their deadline, extension, state and the mail steps that went out; whole-prefecture admins
//! and the operator open (受付開始), extend (延長) and close (締切) them, other staff look. The
//! mails themselves go out from the worker (`teikyo_mail::period`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use teikyo_domain::period::{
    DEFAULT_REMINDER_DAYS, PeriodError, ReportingPeriod, parse_reminder_days,
};
use teikyo_domain::report::{fiscal_year_label, fiscal_year_of};
use teikyo_domain::{FacilityKind, PrefectureCode};
use teikyo_store::{AuditEvent, PeriodId, StoreError, StoredPeriod};

use super::account::see_other;
use super::mail::tokyo_time;
use crate::auth::{Csrf, Principal, SignedIn};
use crate::error::WebError;
use crate::html::FieldMessage;
use crate::html::report::today;
use crate::html::{Chrome, render};
use crate::state::AppState;

const PATH: &str = "/prefecture/periods";

/// The field a period check is about, so the message stands beside it.
fn field_of(e: &PeriodError) -> &'static str {
    match e {
        PeriodError::WindowOrder => "closes_on",
        PeriodError::ReferenceYear => "reference_date",
        PeriodError::NoKinds => "kinds",
        PeriodError::ReminderRange(_) => "reminder_days",
        PeriodError::ExtensionNotLater => "extended_to",
        PeriodError::MessageTooLong(_) => "message",
    }
}

/// A date as typed: the date picker's 2027-01-07, or 2027/1/7 with 全角 digits.
fn parse_day(typed: &str, label: &str) -> Result<NaiveDate, String> {
    let folded = teikyo_domain::text::nfkc(typed.trim());
    NaiveDate::parse_from_str(&folded, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&folded, "%Y/%m/%d"))
        .map_err(|_| {
            if folded.is_empty() {
                format!("{label}を入力してください。")
            } else {
                format!("{label}は日付（例: 2027-01-07）で入力してください。")
            }
        })
}

fn days_text(days: &[i32]) -> String {
    days.iter()
        .map(|d| match d {
            0 => "0".to_owned(),
            d => format!("{d:+}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A sent step in words: 「定期報告案内」, 「督促（報告期限 2027-03-31 の14日前）」.
fn step_label(step: &str) -> String {
    let mut parts = step.split(':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("opened"), None, None) => "定期報告案内".to_owned(),
        (Some("reminder"), Some(offset), Some(deadline)) => {
            let when = match offset.parse::<i32>() {
                Ok(0) => "当日".to_owned(),
                Ok(d) if d < 0 => format!("{}日前", -d),
                Ok(d) => format!("{d}日後"),
                Err(_) => offset.to_owned(),
            };
            format!("督促（報告期限 {deadline} の{when}）")
        }
        _ => step.to_owned(),
    }
}

fn state_label(p: &ReportingPeriod, day: NaiveDate) -> &'static str {
    if p.closed {
        "締切済"
    } else if day < p.opens_on {
        "受付開始前"
    } else if day <= p.deadline() {
        "受付中"
    } else {
        "期限後（受付中）"
    }
}

/// One period on the list.
struct Row {
    id: i64,
    fiscal_year: String,
    reference_date: String,
    opens_on: String,
    closes_on: String,
    extended_to: Option<String>,
    state: &'static str,
    closed: bool,
    kinds: String,
    reminder_days: String,
    message: Option<String>,
    /// (step, when, mails)
    steps: Vec<(String, String, i32)>,
}

/// The open form as typed (or its defaults).
#[derive(Debug, Clone)]
struct OpenForm {
    fiscal_year: String,
    reference_date: String,
    opens_on: String,
    closes_on: String,
    kinds: Vec<String>,
    reminder_days: String,
    message: String,
}

impl OpenForm {
    /// The usual window (DOMAIN §4.1): 報告基準日 1 January, 1/7–3/31, every kind, the default
    /// 督促 schedule.
    fn defaults(today: NaiveDate) -> Self {
        let fy = fiscal_year_of(today);
        let next = i32::from(fy) + 1;
        Self {
            fiscal_year: fy.to_string(),
            reference_date: format!("{next}-01-01"),
            opens_on: format!("{next}-01-07"),
            closes_on: format!("{next}-03-31"),
            kinds: FacilityKind::ALL
                .iter()
                .map(|k| k.code().to_string())
                .collect(),
            reminder_days: days_text(&DEFAULT_REMINDER_DAYS),
            message: String::new(),
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        Self {
            fiscal_year: get("fiscal_year"),
            reference_date: get("reference_date"),
            opens_on: get("opens_on"),
            closes_on: get("closes_on"),
            kinds: pairs
                .iter()
                .filter(|(k, _)| k == "kinds")
                .map(|(_, v)| v.clone())
                .collect(),
            reminder_days: get("reminder_days"),
            message: get("message"),
        }
    }

    /// The period it describes, or every mistake at once.
    fn period(&self, prefecture: PrefectureCode) -> Result<ReportingPeriod, Vec<FieldMessage>> {
        let mut errors = Vec::new();
        let mut take = |field: &'static str, r: Result<NaiveDate, String>| {
            r.map_err(|m| errors.push((field, m))).ok()
        };
        let reference_date = take(
            "reference_date",
            parse_day(&self.reference_date, "報告基準日"),
        );
        let opens_on = take("opens_on", parse_day(&self.opens_on, "受付開始日"));
        let closes_on = take("closes_on", parse_day(&self.closes_on, "報告期限"));
        let fiscal_year = teikyo_domain::text::nfkc(self.fiscal_year.trim())
            .parse::<u16>()
            .ok()
            .filter(|y| (2000..=2100).contains(y));
        if fiscal_year.is_none() {
            errors.push(("fiscal_year", "年度を選択してください。".to_owned()));
        }
        let reminder_days = parse_reminder_days(&self.reminder_days)
            .map_err(|m| errors.push(("reminder_days", m)))
            .ok();
        let facility_kinds: Vec<FacilityKind> = FacilityKind::ALL
            .into_iter()
            .filter(|k| self.kinds.contains(&k.code().to_string()))
            .collect();
        let (
            Some(fiscal_year),
            Some(reference_date),
            Some(opens_on),
            Some(closes_on),
            Some(reminder_days),
        ) = (
            fiscal_year,
            reference_date,
            opens_on,
            closes_on,
            reminder_days,
        )
        else {
            if facility_kinds.is_empty() {
                errors.push(("kinds", PeriodError::NoKinds.to_string()));
            }
            return Err(errors);
        };
        let p = ReportingPeriod {
            prefecture,
            fiscal_year,
            facility_kinds,
            reference_date,
            opens_on,
            closes_on,
            extended_to: None,
            closed: false,
            reminder_days,
            // Line ends as the browser sends them (CRLF) become the mail's own.
            message: Some(self.message.replace("\r\n", "\n").trim().to_owned())
                .filter(|m| !m.is_empty()),
        };
        let problems = p.check();
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(problems
                .iter()
                .map(|e| (field_of(e), e.to_string()))
                .collect())
        }
    }
}

#[derive(Template)]
#[template(path = "periods.html")]
struct PeriodsPage {
    chrome: Chrome,
    title: String,
    csrf: String,
    prefecture: String,
    prefecture_name: &'static str,
    /// The prefectures the user may look at, when more than one: (code, name, selected).
    choices: Vec<(String, &'static str, bool)>,
    may_change: bool,
    rows: Vec<Row>,
    notice: Option<&'static str>,
    errors: Vec<FieldMessage>,
    /// The period whose extension or close failed (its form shows the message).
    failed_period: Option<i64>,
    form: OpenForm,
    /// (value, label) of the 年度 choices.
    years: Vec<(String, String)>,
    /// (code, name) of the 機関区分.
    kinds: Vec<(String, &'static str)>,
}

impl PeriodsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        crate::html::message_for(&self.errors, field)
    }

    fn failed_here(&self, id: &i64) -> bool {
        self.failed_period == Some(*id)
    }

    fn kind_checked(&self, code: &str) -> bool {
        self.form.kinds.iter().any(|k| k == code)
    }
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    prefecture: Option<String>,
    done: Option<String>,
}

/// The prefecture the page is about: the asked one if the user may look at it, else the first
/// they may; a user who may look at none is refused.
pub(crate) fn chosen(who: &Principal, asked: Option<&str>) -> Result<PrefectureCode, WebError> {
    crate::html::scope::chosen(&crate::html::scope::viewable(who), asked)
}

fn row(p: &StoredPeriod, steps: Vec<teikyo_store::SentStep>, day: NaiveDate) -> Row {
    let r = &p.period;
    Row {
        id: p.id.0,
        fiscal_year: fiscal_year_label(r.fiscal_year),
        reference_date: r.reference_date.to_string(),
        opens_on: r.opens_on.to_string(),
        closes_on: r.closes_on.to_string(),
        extended_to: r.extended_to.map(|d| d.to_string()),
        state: state_label(r, day),
        closed: r.closed,
        kinds: r
            .facility_kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join("・"),
        reminder_days: days_text(&r.reminder_days),
        message: r.message.clone(),
        steps: steps
            .into_iter()
            .map(|s| (step_label(&s.step), tokyo_time(s.sent_at), s.mails))
            .collect(),
    }
}

/// What a page shows besides the list: the notice after a change, or what went wrong.
struct Shown {
    notice: Option<&'static str>,
    errors: Vec<FieldMessage>,
    failed_period: Option<i64>,
    form: Option<OpenForm>,
}

impl Shown {
    fn notice(done: Option<&str>) -> Self {
        Self {
            notice: match done {
                Some("opened") => Some(
                    "報告期間を登録しました。受付開始日になると、対象の医療機関・薬局へ定期報告案内メールを自動で送信します。",
                ),
                Some("extended") => Some(
                    "報告期限を延長しました。督促メールは延長後の報告期限に合わせて送信します。",
                ),
                Some("closed") => {
                    Some("報告期間を締め切りました。これ以降、この期間の督促メールは送信しません。")
                }
                _ => None,
            },
            errors: Vec::new(),
            failed_period: None,
            form: None,
        }
    }

    fn failed(errors: Vec<FieldMessage>, period: Option<i64>, form: Option<OpenForm>) -> Self {
        Self {
            notice: None,
            errors,
            failed_period: period,
            form,
        }
    }
}

async fn page(
    state: &AppState,
    who: &Principal,
    csrf: String,
    prefecture: PrefectureCode,
    shown: Shown,
) -> Result<Response, WebError> {
    let day = today();
    let periods = state.store().periods();
    let mut rows = Vec::new();
    for p in periods.list(Some(prefecture)).await? {
        let steps = periods.sent_steps(p.id).await?;
        rows.push(row(&p, steps, day));
    }
    let choices = match who.access.staff_prefectures() {
        Some(list) if list.len() <= 1 => Vec::new(),
        Some(list) => list
            .iter()
            .map(|p| (p.to_string(), p.name(), *p == prefecture))
            .collect(),
        None => PrefectureCode::all()
            .map(|p| (p.to_string(), p.name(), p == prefecture))
            .collect(),
    };
    let fy = fiscal_year_of(day);
    let years = (fy.saturating_sub(1)..=fy + 1)
        .map(|y| {
            (
                y.to_string(),
                format!("{}（{y}年度）", fiscal_year_label(y)),
            )
        })
        .collect();
    let status = if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = PeriodsPage {
        chrome: Chrome::new(),
        title: format!("定期報告の報告期間（{}）", prefecture.name()),
        csrf,
        prefecture: prefecture.to_string(),
        prefecture_name: prefecture.name(),
        choices,
        may_change: who.access.manages_periods_of(prefecture),
        rows,
        notice: shown.notice,
        errors: shown.errors,
        failed_period: shown.failed_period,
        form: shown.form.unwrap_or_else(|| OpenForm::defaults(day)),
        years,
        kinds: FacilityKind::ALL
            .iter()
            .map(|k| (k.code().to_string(), k.name()))
            .collect(),
    };
    Ok((status, render(&page)?).into_response())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<ListQuery>,
) -> Result<Response, WebError> {
    let prefecture = chosen(&who, q.prefecture.as_deref())?;
    page(
        &state,
        &who,
        csrf,
        prefecture,
        Shown::notice(q.done.as_deref()),
    )
    .await
}

fn done(prefecture: PrefectureCode, what: &str) -> Response {
    see_other(&format!("{PATH}?prefecture={prefecture}&done={what}"), &[])
}

fn audit(action: &str, who: &Principal, prefecture: PrefectureCode) -> AuditEvent {
    AuditEvent::new(action, Some(who.user.id)).in_prefecture(Some(prefecture))
}

pub(crate) async fn open(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let managed = who.access.staff_managed();
    let Some(first) = managed.first().copied() else {
        return Err(WebError::Forbidden);
    };
    let form = OpenForm::from_pairs(&pairs);
    let asked = pairs
        .iter()
        .find(|(k, _)| k == "prefecture")
        .and_then(|(_, v)| PrefectureCode::parse(v).ok());
    // A state change never falls back to a default prefecture (the list page may): the form
    // names the one it was shown for.
    let Some(prefecture) = asked else {
        let message =
            "都道府県が指定されていません。画面を表示し直してから、もう一度お試しください。";
        let shown = Shown::failed(vec![("prefecture", message.to_owned())], None, Some(form));
        return page(&state, &who, csrf, first, shown).await;
    };
    if !who.access.manages_periods_of(prefecture) {
        return Err(WebError::Forbidden);
    }
    let period = match form.period(prefecture) {
        Ok(p) => p,
        Err(errors) => {
            let shown = Shown::failed(errors, None, Some(form));
            return page(&state, &who, csrf, prefecture, shown).await;
        }
    };
    let event = audit("period.opened", &who, prefecture).with_detail(json!({
        "fiscal_year": period.fiscal_year,
        "opens_on": period.opens_on,
        "closes_on": period.closes_on,
        "kinds": period.facility_kinds.iter().map(|k| k.code()).collect::<Vec<_>>(),
        "reminder_days": period.reminder_days,
        "message": period.message,
    }));
    match state
        .store()
        .periods()
        .create(&period, Some(who.user.id), event, Utc::now())
        .await
    {
        Ok(_) => Ok(done(prefecture, "opened")),
        Err(StoreError::Duplicate(_)) => {
            let message = format!(
                "{}の報告期間は既に登録されています。報告期限を変える場合は、一覧の「延長する」をお使いください。",
                fiscal_year_label(period.fiscal_year)
            );
            let shown = Shown::failed(vec![("fiscal_year", message)], None, Some(form));
            page(&state, &who, csrf, prefecture, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The period named in the path, if the user may change it: staff who may look at its
/// prefecture but not change it are refused, others are told it does not exist.
async fn changeable(state: &AppState, who: &Principal, id: &str) -> Result<StoredPeriod, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let p = state
        .store()
        .periods()
        .get(PeriodId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    let prefecture = p.period.prefecture;
    let sees = who
        .access
        .staff_prefectures()
        .is_none_or(|list| list.contains(&prefecture));
    if !sees {
        return Err(WebError::NotFound);
    }
    if !who.access.manages_periods_of(prefecture) {
        return Err(WebError::Forbidden);
    }
    Ok(p)
}

const ALREADY_CLOSED: &str = "この報告期間は既に締め切られています。";

#[derive(Deserialize)]
pub(crate) struct ExtendForm {
    #[serde(default)]
    extended_to: String,
}

pub(crate) async fn extend(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<ExtendForm>,
) -> Result<Response, WebError> {
    let p = changeable(&state, &who, &id).await?;
    let prefecture = p.period.prefecture;
    let fail = |message: String| Shown::failed(vec![("extended_to", message)], Some(p.id.0), None);
    if p.period.closed {
        let shown = fail(ALREADY_CLOSED.to_owned());
        return page(&state, &who, csrf, prefecture, shown).await;
    }
    let to = match parse_day(&f.extended_to, "延長後の報告期限") {
        Ok(d) => d,
        Err(m) => return page(&state, &who, csrf, prefecture, fail(m)).await,
    };
    let mut extended = p.period.clone();
    extended.extended_to = Some(to);
    // Later than the deadline in force, not only the first one: an extension never shortens.
    let mut problems = extended.check();
    if to <= p.period.deadline() && !problems.contains(&PeriodError::ExtensionNotLater) {
        problems.push(PeriodError::ExtensionNotLater);
    }
    if let Some(e) = problems.first() {
        return page(&state, &who, csrf, prefecture, fail(e.to_string())).await;
    }
    let event = audit("period.extended", &who, prefecture).with_detail(json!({
        "from": p.period.deadline(),
        "to": to,
    }));
    if state
        .store()
        .periods()
        .extend(p.id, to, event, Utc::now())
        .await?
    {
        Ok(done(prefecture, "extended"))
    } else {
        // Closed by someone else since the page was shown.
        page(
            &state,
            &who,
            csrf,
            prefecture,
            fail(ALREADY_CLOSED.to_owned()),
        )
        .await
    }
}

#[derive(Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    confirm: String,
}

pub(crate) async fn close(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Path(id): Path<String>,
    Form(f): Form<CloseForm>,
) -> Result<Response, WebError> {
    let p = changeable(&state, &who, &id).await?;
    let prefecture = p.period.prefecture;
    // Closing cannot be undone (a reopened window would need its 督促 again): asked twice.
    if f.confirm != "1" && !p.period.closed {
        let shown = Shown::failed(
            vec![(
                "close",
                "締め切る場合は「この報告期間を締め切ります」にチェックを入れてください。"
                    .to_owned(),
            )],
            Some(p.id.0),
            None,
        );
        return page(&state, &who, csrf, prefecture, shown).await;
    }
    let event = audit("period.closed", &who, prefecture).with_detail(json!({
        "deadline": p.period.deadline(),
    }));
    if state
        .store()
        .periods()
        .close(p.id, event, Utc::now())
        .await?
    {
        Ok(done(prefecture, "closed"))
    } else {
        let shown = Shown::failed(
            vec![("close", ALREADY_CLOSED.to_owned())],
            Some(p.id.0),
            None,
        );
        page(&state, &who, csrf, prefecture, shown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_schedules_read_as_words() {
        assert_eq!(step_label("opened"), "定期報告案内");
        assert_eq!(
            step_label("reminder:-14:2027-03-31"),
            "督促（報告期限 2027-03-31 の14日前）"
        );
        assert_eq!(
            step_label("reminder:+1:2027-03-31"),
            "督促（報告期限 2027-03-31 の1日後）"
        );
        assert_eq!(days_text(&[-14, -3, 0, 1]), "-14, -3, 0, +1");
        assert_eq!(
            parse_day("２０２７／１／７", "受付開始日"),
            Ok(NaiveDate::from_ymd_opt(2027, 1, 7).unwrap())
        );
        assert_eq!(
            parse_day("", "受付開始日"),
            Err("受付開始日を入力してください。".to_owned())
        );
    }
}
