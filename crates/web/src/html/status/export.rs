//! The 報告状況一覧 as CSV for Excel (`GET /prefecture/status.csv?…&encoding=utf8|sjis`): the
//! same filters as the page, every matching facility (no pages), a Japanese header row, CRLF.
//! UTF-8 starts with a BOM so Excel reads it as UTF-8; Shift_JIS is CP932 (encoding_rs's
//! `SHIFT_JIS`, the WHATWG encoder Windows' Excel reads). A value CP932 cannot hold — 𠮷, ①
//! variants outside it, emoji — refuses the Shift_JIS file with the line, column and character,
//! and offers the UTF-8 one: nothing is replaced behind the user's back. Each export is audited
//! (`report_status.exported`, with the filters and the number of rows).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use encoding_rs::SHIFT_JIS;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;
use teikyo_domain::completeness::days_waiting;
use teikyo_domain::report::fiscal_year_label;
use teikyo_store::{AuditEvent, StatusRow};

use super::{Selection, StatusQuery, day_in_japan, municipality_name, pick};
use crate::auth::SignedIn;
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

pub(crate) const PATH: &str = "/prefecture/status.csv";

pub(crate) const HEADER: [&str; 12] = [
    "機関コード",
    "機関区分",
    "名称",
    "市区町村コード",
    "市区町村",
    "報告区分",
    "年度",
    "報告状況",
    "報告日",
    "報告からの日数",
    "確認完了日",
    "代理入力",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    ShiftJis,
}

impl Encoding {
    fn parse(v: &str) -> Option<Self> {
        match v {
            "utf8" | "utf-8" => Some(Self::Utf8),
            "sjis" | "shift_jis" | "cp932" => Some(Self::ShiftJis),
            _ => None,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Self::Utf8 => "utf8",
            Self::ShiftJis => "sjis",
        }
    }
}

/// A value CP932 cannot hold, where it is: the file's line (the header is line 1), the column's
/// name and the character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unmappable {
    pub(crate) line: usize,
    pub(crate) column: &'static str,
    pub(crate) ch: char,
    pub(crate) facility_code: String,
}

impl Unmappable {
    /// Stable, for logs and the audit trail.
    pub(crate) const CODE: &'static str = "report_status.sjis_unmappable";

    pub(crate) fn message(&self) -> String {
        let code = if self.facility_code.is_empty() {
            String::new()
        } else {
            format!("（機関コード {}）", self.facility_code)
        };
        format!(
            "{}行目{code}の「{}」にある文字「{}」（U+{:04X}）は Shift_JIS（CP932）で表せません。",
            self.line, self.column, self.ch, self.ch as u32
        )
    }
}

/// Excel runs a cell starting with = + - @ (or a tab or CR) as a formula: a facility's name is
/// text it typed itself, so such a value gets a leading 「'」 (OWASP's CSV-injection advice),
/// which Excel shows as text and does not display.
fn as_text(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// The CSV's records, header first.
pub(crate) fn records(sel: &Selection, rows: &[StatusRow]) -> Vec<Vec<String>> {
    let year = fiscal_year_label(sel.fiscal_year);
    let mut out = Vec::with_capacity(rows.len() + 1);
    out.push(HEADER.iter().map(|h| (*h).to_owned()).collect());
    for r in rows {
        let status = r.status();
        let report = r.report.as_ref();
        let reported_on = report.and_then(|x| x.submitted_at).map(day_in_japan);
        out.push(vec![
            r.facility_code.clone().unwrap_or_default(),
            r.kind.name().to_owned(),
            // The only free text, typed by the facility.
            as_text(&r.name),
            r.municipality.to_string(),
            municipality_name(r.municipality),
            sel.report_kind.label().to_owned(),
            year.clone(),
            status.label().to_owned(),
            reported_on.map(|d| d.to_string()).unwrap_or_default(),
            reported_on
                .filter(|_| status.awaits_review())
                .map(|d| days_waiting(d, sel.today).to_string())
                .unwrap_or_default(),
            report
                .and_then(|x| x.confirmed_at)
                .filter(|_| status == teikyo_domain::report::ReportStatus::Confirmed)
                .map(|t| day_in_japan(t).to_string())
                .unwrap_or_default(),
            if report.is_some_and(|x| x.by_proxy) {
                "代理入力".to_owned()
            } else {
                String::new()
            },
        ]);
    }
    out
}

/// The records as CSV text (UTF-8, CRLF, quoted where needed), without a BOM.
pub(crate) fn csv_text(records: &[Vec<String>]) -> Result<String, WebError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r)
            .map_err(|e| WebError::Internal(format!("csv: {e}")))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| WebError::Internal(format!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| WebError::Internal(format!("csv: {e}")))
}

/// Every value CP932 cannot hold (its first such character), in file order.
pub(crate) fn unmappable(records: &[Vec<String>]) -> Vec<Unmappable> {
    let mut out = Vec::new();
    for (i, record) in records.iter().enumerate() {
        for (j, value) in record.iter().enumerate() {
            if !SHIFT_JIS.encode(value).2 {
                continue;
            }
            let mut buf = [0u8; 4];
            let Some(ch) = value
                .chars()
                .find(|c| SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2)
            else {
                continue;
            };
            out.push(Unmappable {
                line: i + 1,
                column: HEADER.get(j).copied().unwrap_or(""),
                ch,
                facility_code: record.first().cloned().unwrap_or_default(),
            });
        }
    }
    out
}

/// The file's bytes: UTF-8 with a BOM, or CP932 — `Err` with every value it cannot hold.
pub(crate) fn encode(
    records: &[Vec<String>],
    encoding: Encoding,
) -> Result<Result<Vec<u8>, Vec<Unmappable>>, WebError> {
    let text = csv_text(records)?;
    Ok(match encoding {
        Encoding::Utf8 => {
            let mut out = Vec::with_capacity(text.len() + 3);
            out.extend_from_slice("\u{feff}".as_bytes());
            out.extend_from_slice(text.as_bytes());
            Ok(out)
        }
        Encoding::ShiftJis => {
            let (bytes, _, failed) = SHIFT_JIS.encode(&text);
            if failed {
                Err(unmappable(records))
            } else {
                Ok(bytes.into_owned())
            }
        }
    })
}

/// RFC 6266 / 5987: `filename*` carries the Japanese name, `filename` an ASCII one for old
/// clients.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

pub(crate) fn disposition(sel: &Selection, encoding: Encoding) -> String {
    let suffix = match encoding {
        Encoding::Utf8 => "",
        Encoding::ShiftJis => "-sjis",
    };
    let ascii = format!(
        "report-status-{}-{}-{}{suffix}.csv",
        sel.prefecture,
        sel.fiscal_year,
        sel.report_kind.id()
    );
    let japanese = format!(
        "報告状況一覧_{}_{}_{}{}.csv",
        sel.prefecture.name(),
        fiscal_year_label(sel.fiscal_year),
        sel.report_kind.label(),
        match encoding {
            Encoding::Utf8 => "",
            Encoding::ShiftJis => "_Shift_JIS",
        }
    );
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&japanese, ATTR_CHAR)
    )
}

#[derive(Template)]
#[template(path = "status_refused.html")]
struct RefusedPage {
    chrome: Chrome,
    title: String,
    problems: Vec<String>,
    more: usize,
    utf8_href: String,
    back_href: String,
}

/// How many problems the refusal lists (the rest are counted).
const SHOWN_PROBLEMS: usize = 20;

pub(crate) async fn download(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<StatusQuery>,
) -> Result<Response, WebError> {
    let sel = Selection::resolve(&state, &who, &q).await?;
    let encoding =
        pick(q.encoding.as_deref(), "encoding", Encoding::parse)?.unwrap_or(Encoding::Utf8);
    let rows = state
        .store()
        .report_status()
        .rows(&sel.scope(true), sel.status, None)
        .await?;
    let records = records(&sel, &rows);
    let bytes = match encode(&records, encoding)? {
        Ok(bytes) => bytes,
        Err(problems) => {
            tracing::info!(
                code = Unmappable::CODE,
                problems = problems.len(),
                "Shift_JIS export refused"
            );
            let page = RefusedPage {
                chrome: Chrome::new(),
                title: "Shift_JIS 形式のCSVを作成できませんでした".to_owned(),
                more: problems.len().saturating_sub(SHOWN_PROBLEMS),
                problems: problems
                    .iter()
                    .take(SHOWN_PROBLEMS)
                    .map(Unmappable::message)
                    .collect(),
                utf8_href: sel.href(PATH, &[("encoding", Some("utf8".into()))]),
                back_href: sel.href(super::list::PATH, &[("encoding", None)]),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
    };
    let filters: serde_json::Map<String, serde_json::Value> = sel
        .pairs(&[])
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let event = AuditEvent::new("report_status.exported", Some(who.user.id))
        .in_prefecture(Some(sel.prefecture))
        .with_detail(json!({
            "filters": filters,
            "encoding": encoding.id(),
            "rows": rows.len(),
        }));
    state.store().audit().record(&event, Utc::now()).await?;
    let content_type = match encoding {
        Encoding::Utf8 => "text/csv; charset=utf-8",
        Encoding::ShiftJis => "text/csv; charset=Shift_JIS",
    };
    Ok((
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (CONTENT_DISPOSITION, disposition(&sel, encoding)),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record with the first columns given and the rest empty.
    fn rec(values: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        out.resize(HEADER.len(), String::new());
        out
    }

    #[test]
    fn shift_jis_refuses_what_cp932_cannot_hold_and_says_where() {
        let header = HEADER.iter().map(|h| (*h).to_owned()).collect();
        let records = vec![
            header,
            rec(&["1170000001", "病院", "髙橋病院①", "172014"]),
            rec(&["1170000002", "診療所", "𠮷野家クリニック", "172014"]),
            rec(&["1170000003", "診療所", "ハートの医院❤", "172014"]),
        ];
        // 髙 and ① are CP932 (NEC/IBM extensions); 𠮷 and ❤ are not.
        let problems = unmappable(&records);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].line, 3);
        assert_eq!(problems[0].column, "名称");
        assert_eq!(problems[0].ch, '𠮷');
        assert_eq!(
            problems[0].message(),
            "3行目（機関コード 1170000002）の「名称」にある文字「𠮷」（U+20BB7）は Shift_JIS（CP932）で表せません。"
        );
        assert!(encode(&records, Encoding::ShiftJis).unwrap().is_err());
        let fine = &records[..2];
        let bytes = encode(fine, Encoding::ShiftJis).unwrap().unwrap();
        let (text, _, bad) = SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        assert!(text.contains("髙橋病院①"));
        assert!(text.ends_with("\r\n"));
        let utf8 = encode(&records, Encoding::Utf8).unwrap().unwrap();
        assert!(utf8.starts_with(&[0xEF, 0xBB, 0xBF]));
    }

    #[test]
    fn formulas_are_kept_as_text() {
        assert_eq!(as_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(as_text("-1病院"), "'-1病院");
        assert_eq!(as_text("金沢病院"), "金沢病院");
    }
}
