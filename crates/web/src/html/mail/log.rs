//! The mail log: which mail went to whom and whether it was 送信完了 or 不達 (DOMAIN §3.7), with
//! filters, counts per status and paging. Prefecture staff see only the mails about facilities
//! of their prefecture, on the list and on the detail page alike.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use teikyo_mail::MailKind;
use teikyo_store::{Mail, MailFilter, MailId, MailStatus, Store, StoreError};

use super::filter::{FieldErrors, FilterForm, LogQuery, PAGE_SIZE, offset};
use super::query::{Params, href};
use super::{MailDetailPage, MailRow, MailView, Pager};
use crate::auth::{Principal, SignedIn};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;
use crate::viewer::Viewer;

const LIST_PATH: &str = "/mail/log";

/// Shown on every mail log page: whose mails the page can show.
pub(crate) const SCOPE_NOTICE: &str = "表示されるのは、ログインしている利用者の権限の範囲のメールです。\
    都道府県の職員の方には、管内の医療機関・薬局に関するメールが表示されます。";

#[derive(Debug, Clone)]
pub(crate) struct SelectOption {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

fn options(
    current: &str,
    any_label: &str,
    choices: impl Iterator<Item = (String, String)>,
) -> Vec<SelectOption> {
    let current = current.trim();
    std::iter::once((String::new(), any_label.to_owned()))
        .chain(choices)
        .map(|(value, label)| SelectOption {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// The scopes the signed-in user may choose: for the operator `all` and the 47 prefectures, for
/// prefecture staff their own prefecture(s).
fn scope_options(current: &str, who: &Principal) -> Vec<SelectOption> {
    let current = current.trim();
    let prefectures: Vec<teikyo_domain::PrefectureCode> = match who.access.staff_prefectures() {
        None => teikyo_domain::PrefectureCode::all().collect(),
        Some(list) => list,
    };
    let all = who
        .access
        .is_operator()
        .then(|| ("all".to_owned(), "すべての都道府県（運用者）".to_owned()));
    all.into_iter()
        .chain(prefectures.into_iter().map(|p| {
            let code = p.as_str();
            let label = format!("{code} {}", p.name());
            (code, label)
        }))
        .map(|(value, label)| SelectOption {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// The results part of the page, present when the filter was valid.
#[derive(Debug, Clone)]
pub(crate) struct Results {
    pub(crate) counts: Vec<(&'static str, u64)>,
    pub(crate) rows: Vec<MailRow>,
    pub(crate) pager: Pager,
}

#[derive(Template)]
#[template(path = "mail_log.html")]
struct MailLogPage {
    chrome: Chrome,
    title: &'static str,
    notice: &'static str,
    scope_label: Option<String>,
    form: FilterForm,
    errors: FieldErrors,
    scope_options: Vec<SelectOption>,
    /// The log without filters, in the same scope.
    clear_href: String,
    kind_options: Vec<SelectOption>,
    status_options: Vec<SelectOption>,
    results: Option<Results>,
}

/// The scope a signed-in user gets when the link names none: everything for the operator, their
/// (first) prefecture for staff.
fn default_scope(who: &Principal) -> String {
    match who.access.staff_prefectures() {
        None => "all".to_owned(),
        Some(list) => list.first().map(|p| p.as_str()).unwrap_or_default(),
    }
}

/// Staff limited to a 保健所 area see the mail about that area's facilities only.
fn area(who: &Principal, viewer: &Viewer) -> Option<Vec<String>> {
    let code = viewer.mail_prefecture()?;
    // Our own two-digit code; were it ever unreadable, show nothing rather than everything.
    let Ok(prefecture) = teikyo_domain::PrefectureCode::parse(&code) else {
        return Some(Vec::new());
    };
    who.access
        .area_in(prefecture)
        .map(|list| list.iter().map(ToString::to_string).collect())
}

/// The viewer a `scope` names, if the signed-in user may take that view.
fn permitted(scope: &str, who: &Principal) -> Result<Option<Viewer>, WebError> {
    let Some(viewer) = Viewer::from_scope(scope) else {
        return Ok(None);
    };
    let ok = match (&viewer, who.access.staff_prefectures()) {
        (_, None) => true,
        (Viewer::Operator, Some(_)) => false,
        (Viewer::Prefecture(code), Some(list)) => list.iter().any(|p| p.as_str() == *code),
    };
    if ok {
        Ok(Some(viewer))
    } else {
        Err(WebError::Forbidden)
    }
}

fn scoped_params(pairs: Vec<(String, String)>, who: &Principal) -> Params {
    let mut pairs = pairs;
    if !pairs
        .iter()
        .any(|(k, v)| k == "scope" && !v.trim().is_empty())
    {
        pairs.retain(|(k, _)| k != "scope");
        pairs.push(("scope".to_owned(), default_scope(who)));
    }
    Params::new(pairs)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let params = scoped_params(pairs, &who);
    let form = FilterForm::from_params(&params);
    permitted(&form.scope, &who)?;
    match form.parse(params.get("page")) {
        Ok(mut query) => {
            query.filter.municipalities = area(&who, &query.viewer);
            let results = search(state.store(), &form, &query).await?;
            let page = MailLogPage::new(
                form,
                Some(&query.viewer),
                FieldErrors::default(),
                Some(results),
                &who,
            );
            Ok((StatusCode::OK, render(&page)?).into_response())
        }
        // A form with mistakes is answered 400, with the form and the messages, not an error page.
        Err(errors) => {
            // The scope may still be fine: keep it for the page's notice and its links.
            let viewer = Viewer::from_scope(&form.scope);
            let page = MailLogPage::new(form, viewer.as_ref(), errors, None, &who);
            Ok((StatusCode::BAD_REQUEST, render(&page)?).into_response())
        }
    }
}

impl MailLogPage {
    /// `viewer` is the scope in force, if the form could be read.
    fn new(
        form: FilterForm,
        viewer: Option<&Viewer>,
        errors: FieldErrors,
        results: Option<Results>,
        who: &Principal,
    ) -> Self {
        Self {
            chrome: Chrome::new(),
            title: "メール送信記録",
            notice: SCOPE_NOTICE,
            scope_label: viewer.map(Viewer::describe),
            scope_options: scope_options(&form.scope, who),
            clear_href: href(LIST_PATH, &[("scope", viewer.map_or("", Viewer::scope))]),
            kind_options: options(
                &form.kind,
                "すべて",
                MailKind::ALL
                    .into_iter()
                    .map(|k| (k.id().to_owned(), k.label().to_owned())),
            ),
            status_options: options(
                &form.status,
                "すべて",
                MailStatus::ALL
                    .into_iter()
                    .map(|s| (s.id().to_owned(), s.label().to_owned())),
            ),
            form,
            errors,
            results,
        }
    }
}

async fn search(store: &Store, form: &FilterForm, query: &LogQuery) -> Result<Results, StoreError> {
    let counts: BTreeMap<MailStatus, u64> = store.mails().count_by_status(&query.filter).await?;
    let total = counts.values().sum();
    let mails = store
        .mails()
        .list(&query.filter, PAGE_SIZE, offset(query.page))
        .await?;
    let scope = query.viewer.scope();
    let rows: Vec<MailRow> = mails
        .iter()
        .map(|m| {
            MailRow::new(
                m,
                href(&format!("{LIST_PATH}/{}", m.id), &[("scope", scope)]),
            )
        })
        .collect();
    let pager = Pager::new(query.page, rows.len(), total, |n| {
        let page = n.to_string();
        let mut pairs = form.pairs().to_vec();
        pairs.push(("page", &page));
        href(LIST_PATH, &pairs)
    });
    Ok(Results {
        counts: MailStatus::ALL
            .into_iter()
            .map(|s| (s.label(), counts.get(&s).copied().unwrap_or(0)))
            .collect(),
        rows,
        pager,
    })
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let params = scoped_params(pairs, &who);
    let viewer = permitted(params.get("scope"), &who)?
        .ok_or_else(|| WebError::BadRequest("scope is not a prefecture code".into()))?;
    let id = super::parse_id(&id).ok_or(WebError::NotFound)?;
    // Another prefecture's mail is "not found", not "forbidden": its existence is not ours to tell.
    let mail = visible_mail(state.store(), &viewer, area(&who, &viewer), id)
        .await?
        .ok_or(WebError::NotFound)?;
    render(&MailDetailPage {
        chrome: Chrome::new(),
        title: format!("{}（メール送信記録）", mail.subject),
        mail: MailView::for_log(&mail),
        notice: SCOPE_NOTICE,
        back_href: href(LIST_PATH, &[("scope", viewer.scope())]),
        back_label: "メール送信記録へ戻る",
    })
}

/// The mail, if `viewer` may see it. For prefecture staff the same `MailFilter` scope as the list
/// decides (a mail about one of their facilities), so list and detail cannot disagree; a mail
/// about no facility is the operator's alone.
async fn visible_mail(
    store: &Store,
    viewer: &Viewer,
    municipalities: Option<Vec<String>>,
    id: MailId,
) -> Result<Option<Mail>, StoreError> {
    let Some(mail) = store.mails().get(id).await? else {
        return Ok(None);
    };
    let Some(prefecture) = viewer.mail_prefecture() else {
        return Ok(Some(mail));
    };
    let Some(facility_id) = mail.facility_id else {
        return Ok(None);
    };
    let scoped = MailFilter {
        facility_id: Some(facility_id),
        prefecture: Some(prefecture),
        municipalities,
        ..MailFilter::default()
    };
    let in_scope = super::total(store, &scoped).await? > 0;
    Ok(in_scope.then_some(mail))
}
