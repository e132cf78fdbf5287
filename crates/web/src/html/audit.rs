//! The audit trail, in scope: prefecture staff see the events of their prefectures
//! (applications, decisions, issuance); the operator sees everything, including logins and
//! password events, which belong to no prefecture.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use teikyo_store::{AuditRecord, UserId};

use super::mail::tokyo_time;
use super::{Chrome, render};
use crate::auth::SignedIn;
use crate::error::WebError;
use crate::state::AppState;

const LIMIT: u64 = 200;

/// What staff call each recorded action; an unknown id is shown as it is.
fn label(action: &str) -> &str {
    match action {
        "account.login" => "ログイン",
        "account.login_failed" => "ログイン失敗（パスワード誤り）",
        "account.login_unknown" => "ログイン失敗（存在しないユーザー名）",
        "account.locked" => "連続失敗によるロック",
        "account.login_refused_locked" => "ロック中のログイン",
        "account.login_disabled" => "利用停止中のログイン",
        "account.login_password_ok" => "ログイン（パスワード確認済み・二段階認証待ち）",
        "account.mfa_failed" => "ログイン失敗（確認コード誤り）",
        "account.mfa_enabled" => "二段階認証の設定",
        "account.mfa_disabled" => "二段階認証の解除",
        "account.mfa_reset" => "二段階認証の解除（サポート）",
        "account.mfa_recovery_code_used" => "回復コードでログイン",
        "account.mfa_recovery_codes_renewed" => "回復コードの再発行",
        "account.invited" => "利用者の追加",
        "account.membership_removed" => "役割の削除",
        "account.logout" => "ログアウト",
        "account.logout_everywhere" => "すべての端末からログアウト",
        "account.password_set" => "パスワード設定",
        "account.password_reset_mailed" => "パスワードリセットのご案内を送信",
        "account.password_reset_unknown" => "パスワードリセット（該当なし）",
        "account.password_reset_throttled" => "パスワードリセット（回数超過）",
        "account.login_id_mailed" => "ユーザー名のお知らせを送信",
        "account.login_id_unmatched" => "ユーザー名のお問い合わせ（該当なし）",
        "account.profile_updated" => "ユーザ基礎情報の変更",
        "account.email_change_requested" => "メールアドレス変更の申込み",
        "account.email_changed" => "メールアドレスの変更",
        "account.setup_link_reissued" => "パスワード設定のご案内の再発行",
        "account.deactivated" => "利用停止",
        "account.reactivated" => "利用再開",
        "registration.submitted" => "新規ユーザ登録申請",
        "registration.filed_on_behalf" => "代理申請",
        "registration.approved" => "申請の承認",
        "registration.rejected" => "申請の却下",
        "period.opened" => "報告期間の登録",
        "period.extended" => "報告期限の延長",
        "period.closed" => "報告期間の締切",
        "bulk_mail.drafted" => "一括メールの作成",
        "bulk_mail.edited" => "一括メールの修正",
        "bulk_mail.started" => "一括メールの送信開始",
        "bulk_mail.finished" => "一括メールの作成完了",
        "bulk_mail.cancelled" => "一括メールの中止",
        "report_status.exported" => "報告状況一覧のダウンロード",
        "report.insurance_check_failed" => "保険医療機関番号の照合失敗",
        "insurance_master.imported" => "保険医療機関の一覧の取り込み",
        "ndb_preprint.imported" => "NDBデータ（前年度実施件数）の取り込み",
        other => other,
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    title: &'static str,
    scope: String,
    operator: bool,
    limit: u64,
    rows: Vec<(String, String, String, String)>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<Response, WebError> {
    let audit = state.store().audit();
    let (records, scope): (Vec<AuditRecord>, String) = match who.access.staff_prefectures() {
        None => (audit.list(None, LIMIT).await?, "全国".to_owned()),
        Some(list) => {
            let mut all = Vec::new();
            for p in &list {
                all.extend(audit.list(Some(*p), LIMIT).await?);
            }
            all.sort_by_key(|r| std::cmp::Reverse(r.id));
            all.truncate(usize::try_from(LIMIT).unwrap_or(usize::MAX));
            let names = list.iter().map(|p| p.name()).collect::<Vec<_>>().join("・");
            (all, names)
        }
    };
    let mut names: HashMap<UserId, String> = HashMap::new();
    let mut rows = Vec::new();
    for r in records {
        let actor = match r.event.actor {
            None => "（本人確認前）".to_owned(),
            Some(id) => match names.get(&id) {
                Some(name) => name.clone(),
                None => {
                    let name = state
                        .store()
                        .users()
                        .get(id)
                        .await?
                        .map_or_else(|| id.to_string(), |u| u.login_id.as_str().to_owned());
                    names.insert(id, name.clone());
                    name
                }
            },
        };
        let target = r
            .event
            .target
            .as_ref()
            .map(|(kind, id)| format!("{kind} {id}"))
            .unwrap_or_default();
        rows.push((
            tokyo_time(r.at),
            label(&r.event.action).to_owned(),
            actor,
            target,
        ));
    }
    Ok(render(&AuditPage {
        chrome: Chrome::new(),
        title: "操作の記録",
        scope,
        operator: who.access.is_operator(),
        limit: LIMIT,
        rows,
    })?
    .into_response())
}
