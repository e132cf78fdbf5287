//! Reports for stories: filling sections through the store (when the story is about the steps,
//! not the forms), reading a report's status, and reading a section form's fields the way a
//! browser would post them.

use chrono::Utc;
use teikyo_domain::report::{ReportStatus, SectionStatus};
use teikyo_store::{AuditEvent, ReportId, SectionSave, Store};

use crate::web::{Client, unescape};

/// Saves every section of the report with the example hospital's answers as `status`, except
/// those in `leave` (they stay as they are).
pub async fn fill_sections(store: &Store, report: i64, status: SectionStatus, leave: &[&str]) {
    let catalogue = teikyo_refdata::forms::catalogue().expect("the item sets load");
    let r = store
        .reports()
        .get(ReportId(report))
        .await
        .expect("store")
        .expect("the report");
    let set = &catalogue.item_sets[&r.item_set];
    let all = teikyo_refdata::forms::examples::hospital();
    for s in &set.sections {
        if leave.contains(&s.id.as_str()) {
            continue;
        }
        save_section(store, report, &s.id, status, &all.of_section(s)).await;
    }
}

/// Saves every section as 入力完了 except `leave` (stays 未入力).
pub async fn complete_all(store: &Store, report: i64, leave: Option<&str>) {
    let leave: Vec<&str> = leave.into_iter().collect();
    fill_sections(store, report, SectionStatus::Complete, &leave).await;
}

/// Saves one section with `answers` at its current version.
pub async fn save_section(
    store: &Store,
    report: i64,
    section: &str,
    status: SectionStatus,
    answers: &teikyo_domain::forms::Answers,
) {
    let version = store
        .reports()
        .section(ReportId(report), section)
        .await
        .expect("store")
        .map_or(0, |x| x.version);
    let save = SectionSave {
        report: ReportId(report),
        section,
        expected_version: version,
        status,
        answers,
        by: None,
    };
    store
        .reports()
        .save_section(&save, &AuditEvent::new("test", None), Utc::now())
        .await
        .expect("the section saves");
}

pub async fn status(store: &Store, report: i64) -> ReportStatus {
    store
        .reports()
        .get(ReportId(report))
        .await
        .expect("store")
        .expect("the report")
        .status
}

/// The version field of a step's form on a page (asserting the page opened).
pub async fn version(c: &mut Client, path: &str) -> String {
    let page = c.get(path).await;
    assert_eq!(page.status, axum::http::StatusCode::OK, "{}", page.body);
    page.input("version").expect("a version field")
}

/// The fields a browser would post from a section page's form: inputs (checked boxes only),
/// textareas and the selected option of each select.
pub fn form_fields(html: &str) -> Vec<(String, String)> {
    let start = html.find("<form class=\"section-form").expect("the form");
    let end = html[start..].find("</form>").expect("the form ends") + start;
    let form = &html[start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let marker = format!(" {name}=\"");
        let at = tag.find(&marker)? + marker.len();
        let stop = tag[at..].find('"')? + at;
        Some(unescape(&tag[at..stop]))
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let close = rest.find('>').expect("a closed tag");
        let tag = &rest[..=close];
        if tag.starts_with("<input") {
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            if let Some(name) = attr(tag, "name") {
                let checked = tag.contains(" checked");
                if (kind != "checkbox" && kind != "radio") || checked {
                    out.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").expect("a named textarea");
            let body_end = rest.find("</textarea>").expect("the textarea ends");
            out.push((name, unescape(&rest[close + 1..body_end])));
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").expect("a named select");
            let body_end = rest.find("</select>").expect("the select ends");
            let options = &rest[close + 1..body_end];
            let chosen = options
                .split("<option")
                .find(|o| o.contains(" selected"))
                .and_then(|o| attr(&format!(" {o}"), "value"))
                .unwrap_or_default();
            out.push((name, chosen));
        }
        rest = &rest[close + 1..];
    }
    out
}

/// `(name, value)` pairs as the client's form argument.
pub fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
