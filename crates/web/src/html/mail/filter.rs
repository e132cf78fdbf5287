//! The mail log's filter form: what was typed, kept to show it again, and its reading into a
//! `MailFilter`. Every value comes from the query string, so each is checked and a bad one is
//! reported beside its field rather than failing the page.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use teikyo_mail::MailKind;
use teikyo_store::{MailFilter, MailStatus};

use super::TOKYO;
use super::query::Params;
use crate::viewer::Viewer;

/// Rows per page of the outbox and the log.
pub(crate) const PAGE_SIZE: u64 = 50;

/// Far beyond any real log; keeps the offset arithmetic away from overflow.
const MAX_PAGE: u64 = 1_000_000;

/// RFC 5321's limit on a whole address; a longer search text cannot match anything.
const MAX_RECIPIENT_CHARS: usize = 254;

/// The form as submitted.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterForm {
    pub(crate) recipient: String,
    pub(crate) kind: String,
    pub(crate) status: String,
    pub(crate) facility_id: String,
    pub(crate) date_from: String,
    pub(crate) date_to: String,
    pub(crate) scope: String,
}

/// A problem with one field (or with the request, when `field` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The field's name in the form; its input has the id `f-<field>`.
    pub(crate) field: Option<&'static str>,
    pub(crate) message: &'static str,
}

/// The problems of one submission, in the order of the form.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldErrors(pub(crate) Vec<FieldError>);

impl FieldErrors {
    pub(crate) fn get(&self, field: &str) -> Option<&'static str> {
        self.0
            .iter()
            .find(|e| e.field == Some(field))
            .map(|e| e.message)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, field: &'static str, message: &'static str) {
        self.0.push(FieldError {
            field: Some(field),
            message,
        });
    }
}

/// A valid submission: who looks, at what, which page.
#[derive(Debug, Clone)]
pub(crate) struct LogQuery {
    pub(crate) viewer: Viewer,
    pub(crate) filter: MailFilter,
    pub(crate) page: u64,
}

impl FilterForm {
    pub(crate) fn from_params(params: &Params) -> Self {
        Self {
            recipient: params.get("recipient").to_owned(),
            kind: params.get("kind").to_owned(),
            status: params.get("status").to_owned(),
            facility_id: params.get("facility_id").to_owned(),
            date_from: params.get("date_from").to_owned(),
            date_to: params.get("date_to").to_owned(),
            scope: params.get("scope").to_owned(),
        }
    }

    /// The pairs that reproduce this form in a link.
    pub(crate) fn pairs(&self) -> [(&'static str, &str); 7] {
        [
            ("scope", self.scope.as_str()),
            ("recipient", self.recipient.as_str()),
            ("kind", self.kind.as_str()),
            ("status", self.status.as_str()),
            ("facility_id", self.facility_id.as_str()),
            ("date_from", self.date_from.as_str()),
            ("date_to", self.date_to.as_str()),
        ]
    }

    /// Reads every field, collecting all problems so the user can fix them in one go.
    pub(crate) fn parse(&self, page: &str) -> Result<LogQuery, FieldErrors> {
        let mut errors = FieldErrors::default();

        let viewer = Viewer::from_scope(&self.scope);
        if viewer.is_none() {
            errors.push("scope", "表示範囲は一覧から選んでください。");
        }

        let recipient = self.recipient.trim();
        if recipient.chars().count() > MAX_RECIPIENT_CHARS {
            errors.push("recipient", "宛先は254文字以内で入力してください。");
        }

        let kind = self.kind.trim();
        let template = if kind.is_empty() {
            None
        } else if let Some(k) = MailKind::parse(kind) {
            Some(k.id().to_owned())
        } else {
            errors.push("kind", "種類は一覧から選んでください。");
            None
        };

        let status_text = self.status.trim();
        let status = if status_text.is_empty() {
            None
        } else {
            let s = MailStatus::parse(status_text);
            if s.is_none() {
                errors.push("status", "状態は一覧から選んでください。");
            }
            s
        };

        let facility_id = match parse_facility_id(&self.facility_id) {
            Ok(id) => id,
            Err(()) => {
                errors.push(
                    "facility_id",
                    "施設IDは1以上の数字で入力してください（例：1234）。",
                );
                None
            }
        };

        let from = match parse_date(&self.date_from) {
            Ok(d) => d,
            Err(()) => {
                errors.push(
                    "date_from",
                    "期間の開始日は「2026-11-21」の形式で、実在する日付を入力してください。",
                );
                None
            }
        };
        let to = match parse_date(&self.date_to) {
            Ok(d) => d,
            Err(()) => {
                errors.push(
                    "date_to",
                    "期間の終了日は「2026-11-21」の形式で、実在する日付を入力してください。",
                );
                None
            }
        };
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push(
                "date_to",
                "期間の終了日には、開始日と同じ日かそれより後の日付を入力してください。",
            );
        }

        let page = parse_page(page);
        if page.is_none() {
            errors.0.push(FieldError {
                field: None,
                message: "ページ番号が正しくありません。1以上の数字を指定してください。",
            });
        }

        let (Some(viewer), Some(page), true) = (viewer, page, errors.is_empty()) else {
            return Err(errors);
        };
        let filter = MailFilter {
            to: (!recipient.is_empty()).then(|| recipient.to_owned()),
            template,
            status,
            facility_id,
            prefecture: viewer.mail_prefecture(),
            // Narrowed to the signed-in user's 保健所 area by the handler.
            municipalities: None,
            since: from.and_then(start_of_day),
            // Inclusive of the whole last day: up to the start of the next one.
            until: to.and_then(|d| d.succ_opt()).and_then(start_of_day),
        };
        Ok(LogQuery {
            viewer,
            filter,
            page,
        })
    }
}

/// `?page=`: blank is the first page.
pub(crate) fn parse_page(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return Some(1);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>()
        .ok()
        .filter(|p| (1..=MAX_PAGE).contains(p))
}

/// Rows to skip for `page` (1-based, at most `MAX_PAGE`, so this cannot overflow).
pub(crate) fn offset(page: u64) -> u64 {
    page.saturating_sub(1).saturating_mul(PAGE_SIZE)
}

/// 全角 digits are what an IME often produces, so they are accepted.
fn parse_facility_id(text: &str) -> Result<Option<i64>, ()> {
    let text = teikyo_domain::text::nfkc(text);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    match text.parse::<i64>() {
        Ok(id) if id >= 1 => Ok(Some(id)),
        _ => Err(()),
    }
}

/// `2026-11-21` (what `<input type="date">` sends), also typed as `2026/11/21` or in 全角.
fn parse_date(text: &str) -> Result<Option<NaiveDate>, ()> {
    let text = teikyo_domain::text::nfkc(text).trim().replace('/', "-");
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(());
    };
    let digits = |s: &str, max_len: usize| {
        !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit())
    };
    if y.len() != 4 || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return Err(());
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) else {
        return Err(());
    };
    NaiveDate::from_ymd_opt(y, m, d).map(Some).ok_or(())
}

/// 00:00 of `day` in Japan, as the instant the store compares with.
fn start_of_day(day: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    TOKYO
        .from_local_datetime(&midnight)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(f: impl FnOnce(&mut FilterForm)) -> FilterForm {
        let mut form = FilterForm::default();
        f(&mut form);
        form
    }

    #[test]
    fn an_empty_form_is_every_mail_on_the_first_page() {
        let q = FilterForm::default().parse("").unwrap();
        assert_eq!(q.viewer, Viewer::Operator);
        assert_eq!(q.page, 1);
        assert!(q.filter.to.is_none() && q.filter.prefecture.is_none());
    }

    #[test]
    fn the_period_is_whole_days_in_japan() {
        let q = form(|f| {
            f.date_from = "2026-11-21".into();
            f.date_to = "２０２６/１１/２１".into();
        })
        .parse("1")
        .unwrap();
        assert_eq!(
            q.filter.since.unwrap().to_rfc3339(),
            "2026-11-20T15:00:00+00:00"
        );
        assert_eq!(
            q.filter.until.unwrap().to_rfc3339(),
            "2026-11-21T15:00:00+00:00"
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = form(|f| {
            f.scope = "99".into();
            f.kind = "spam".into();
            f.status = "lost".into();
            f.facility_id = "-3".into();
            f.date_from = "2026-02-30".into();
            f.date_to = "tomorrow".into();
            f.recipient = "a".repeat(255);
        })
        .parse("zero")
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                Some("scope"),
                Some("recipient"),
                Some("kind"),
                Some("status"),
                Some("facility_id"),
                Some("date_from"),
                Some("date_to"),
                None
            ]
        );
    }

    #[test]
    fn a_period_that_ends_before_it_starts_is_refused() {
        let errors = form(|f| {
            f.date_from = "2026-11-21".into();
            f.date_to = "2026-11-20".into();
        })
        .parse("")
        .unwrap_err();
        assert!(errors.get("date_to").is_some());
    }

    #[test]
    fn facility_ids_and_pages_take_digits_only() {
        assert_eq!(parse_facility_id("１２"), Ok(Some(12)));
        assert_eq!(parse_facility_id(" "), Ok(None));
        assert_eq!(parse_facility_id("0"), Err(()));
        assert_eq!(parse_facility_id("99999999999999999999"), Err(()));
        assert_eq!(parse_page("3"), Some(3));
        assert_eq!(parse_page("0"), None);
        assert_eq!(parse_page("+3"), None);
        assert_eq!(parse_page("99999999999999999999999"), None);
        assert_eq!(offset(3), 100);
    }
}
