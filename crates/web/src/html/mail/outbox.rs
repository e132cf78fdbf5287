//! The demo's outbox: every mail the demo queued or sent, readable in the browser, so that the
//! flows (申請, 利用案内, パスワードリセット …) can be followed without a mail server.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use teikyo_store::MailFilter;

use super::filter::{PAGE_SIZE, offset, parse_page};
use super::query::{Params, href};
use super::{MailDetailPage, MailRow, MailView, Pager, parse_id, total};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

const LIST_PATH: &str = "/demo/outbox";

#[derive(Template)]
#[template(path = "mail_outbox.html")]
struct OutboxPage {
    chrome: Chrome,
    title: &'static str,
    notice: &'static str,
    rows: Vec<MailRow>,
    pager: Pager,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let params = Params::new(pairs);
    let page = parse_page(params.get("page"))
        .ok_or_else(|| WebError::BadRequest("page is not a page number".into()))?;
    // The demo's whole outbox: the demo has no other viewer to scope it to.
    let filter = MailFilter::default();
    let total = total(state.store(), &filter).await?;
    let mails = state
        .store()
        .mails()
        .list(&filter, PAGE_SIZE, offset(page))
        .await?;
    let rows: Vec<MailRow> = mails
        .iter()
        .map(|m| MailRow::new(m, format!("{LIST_PATH}/{}", m.id)))
        .collect();
    let pager = Pager::new(page, rows.len(), total, |n| {
        href(LIST_PATH, &[("page", &n.to_string())])
    });
    render(&OutboxPage {
        chrome: Chrome::new(),
        title: "送信メール一覧（デモ）",
        notice: OUTBOX_NOTICE,
        rows,
        pager,
    })
}

pub(crate) async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let id = parse_id(&id).ok_or(WebError::NotFound)?;
    let mail = state
        .store()
        .mails()
        .get(id)
        .await?
        .ok_or(WebError::NotFound)?;
    render(&MailDetailPage {
        chrome: Chrome::new(),
        title: format!("{}（デモの送信メール）", mail.subject),
        mail: MailView::new(&mail),
        notice: OUTBOX_NOTICE,
        back_href: LIST_PATH.to_owned(),
        back_label: "送信メール一覧へ戻る",
    })
}

/// Said at the top of both outbox pages.
pub(crate) const OUTBOX_NOTICE: &str = "このページはデモ専用です。メールサーバを用意しなくても、\
    デモで送信されたメールの内容と送信状態をここで確認し、申請や案内の流れをたどっていただけます。\
    本番環境にはこのページはありません。";
