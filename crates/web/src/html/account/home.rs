//! ホーム: instead of G-MIS's 接続先選択 popup (S0 Q19), one page with a button per 制度 the
//! user may report under, and the staff's tools. A user without a permission is told so and
//! what to do, on the button itself (DOMAIN §3.1).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;
use teikyo_domain::Program;
use teikyo_domain::account::Membership;
use teikyo_store::FacilityId;

use crate::auth::{Csrf, SignedIn};
use crate::error::WebError;
use crate::html::{Chrome, render};
use crate::state::AppState;

#[derive(Debug)]
struct ProgramButton {
    name: &'static str,
    permitted: bool,
    /// The 調査票入力画面 (the facility's own 制度; a report under another is not built).
    href: Option<String>,
}

#[derive(Debug)]
struct FacilityCard {
    id: i64,
    name: String,
    /// Acting for the facility as its delegate (医師会・代行業者), not as its own user.
    delegated: bool,
    kind: &'static str,
    prefecture: &'static str,
    admin: bool,
    programs: Vec<ProgramButton>,
    /// 「情報の誤りの報告」 not marked 対応済.
    open_error_reports: u64,
}

#[derive(Debug)]
struct StaffTool {
    name: &'static str,
    description: &'static str,
    href: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    title: &'static str,
    csrf: String,
    name: String,
    login_id: String,
    notice: Option<&'static str>,
    facilities: Vec<FacilityCard>,
    staff_heading: String,
    staff: Vec<&'static StaffTool>,
    /// お知らせ from the operator and the user's prefectures.
    notices: Vec<crate::html::notice::Shown>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HomeQuery {
    done: Option<String>,
}

const STAFF_TOOLS: &[StaffTool] = &[
    StaffTool {
        name: "メール送信記録",
        description: "医療機関・薬局へ送信したメールが「送信完了」か「不達」かを確認できます。",
        href: Some("/mail/log"),
    },
    StaffTool {
        name: "ユーザ登録申請の審査",
        description: "医療機関・薬局からのアカウント申請を確認し、承認または却下します。代理申請もここから行えます。",
        href: Some("/review/applications"),
    },
    StaffTool {
        name: "利用者の検索と対応",
        description: "医療機関・薬局の利用者を探し、メールの送信状況の確認、メールアドレスの変更、パスワード設定のご案内の再発行、利用停止を行います。",
        href: Some("/support/users"),
    },
    StaffTool {
        name: "操作の記録",
        description: "申請・承認・メールアドレスの変更など、アカウントに関わる操作の記録を確認できます。",
        href: Some("/audit"),
    },
    StaffTool {
        name: "職員・代行者の管理",
        description: "都道府県・保健所の職員と、医師会・薬剤師会・代行業者などの代行者を追加・削除します（都道府県の管理者）。",
        href: Some("/staff"),
    },
    StaffTool {
        name: "定期報告の報告期間",
        description: "定期報告の受付期間を登録し、延長・締切を行います。定期報告案内メールと督促メールは、その日程で自動的に送信されます。",
        href: Some("/prefecture/periods"),
    },
    StaffTool {
        name: "一括メール配信",
        description: "機関区分・市区町村・定期報告の状況で選んだ医療機関・薬局へ、差し込み項目を使ったメールをまとめて送信します。送信前にプレビューで確認でき、送信中は進み具合と送信先ごとの状態を確認・中止できます。",
        href: Some("/prefecture/bulk-mail"),
    },
    StaffTool {
        name: "臨時休診一括処理",
        description: "災害・停電などのとき、市区町村や機関コードの一覧で選んだ医療機関・薬局をまとめて臨時休診として住民向けに表示します。対象を確認してから登録でき、反映の進み具合を確認・取消できます。終了日を過ぎると自動的に元に戻ります。",
        href: Some("/prefecture/closures"),
    },
    StaffTool {
        name: "住民からの情報の誤りの報告",
        description: "住民向けの施設の情報を見た方から届いた「情報の誤りの報告」を確認します。施設にも同じ報告が届き、施設が随時報告で修正します。",
        href: Some("/prefecture/error-reports"),
    },
    StaffTool {
        name: "お知らせの掲載",
        description: "医療機関・薬局と職員のホーム画面に表示するお知らせを掲載・削除します（都道府県の管理者・運用者）。",
        href: Some("/notices"),
    },
    StaffTool {
        name: "報告の確認",
        description: "報告済・再報告済の報告を待ち時間の長い順に確認し、差異表示を見て確認完了または差戻しとします。連絡先・診療時間などだけの変更はまとめて確認完了にできます。",
        href: Some("/prefecture/reports"),
    },
    StaffTool {
        name: "報告状況一覧",
        description: "報告期間の対象となる医療機関・薬局ごとに、未報告・報告中・報告済・再報告済・確認完了済を一覧で確認し、CSV（Excel 向け）でダウンロードできます。",
        href: Some("/prefecture/status"),
    },
    StaffTool {
        name: "報告状況ダッシュボード",
        description: "定期報告の報告率と確認完了率を、機関区分別・市区町村別・日ごとの推移で確認できます。",
        href: Some("/prefecture/dashboard"),
    },
];

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(who): SignedIn,
    Csrf(csrf): Csrf,
    Query(q): Query<HomeQuery>,
) -> Result<Html<String>, WebError> {
    // A card per facility the user acts for: its own (a chain clerk has several and switches
    // here) and, for a delegate, the facilities delegated to it.
    let mut cards: Vec<(i64, bool, Option<Vec<Program>>, bool)> = Vec::new();
    for m in &who.access.memberships {
        match m {
            Membership::Facility {
                facility_id,
                admin,
                programs,
            } => cards.push((*facility_id, *admin, Some(programs.clone()), false)),
            Membership::Delegate { facility_ids, .. } => {
                cards.extend(facility_ids.iter().map(|id| (*id, false, None, true)));
            }
            _ => {}
        }
    }
    let ids: Vec<FacilityId> = cards.iter().map(|c| FacilityId(c.0)).collect();
    let found: std::collections::HashMap<FacilityId, _> = state
        .store()
        .facilities()
        .get_many(&ids)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    let open_reports = state.store().error_reports().open_counts(&ids).await?;
    let mut facilities = Vec::new();
    for (facility_id, admin, programs, delegated) in cards {
        let Some(f) = found.get(&FacilityId(facility_id)) else {
            continue;
        };
        // The 制度 of the facility's kind always has a button: without the right, the button
        // says so and what to do (DOMAIN §3.1), instead of failing after a click. A delegate
        // reports under the facility's own 制度.
        let own = f.record.kind.program();
        let programs = programs.unwrap_or_else(|| vec![own]);
        let mut shown: Vec<Program> = programs.clone();
        if !shown.contains(&own) {
            shown.insert(0, own);
        }
        facilities.push(FacilityCard {
            id: facility_id,
            delegated,
            name: f.record.names.official.clone(),
            kind: f.record.kind.name(),
            prefecture: f.record.prefecture.name(),
            admin,
            open_error_reports: open_reports
                .get(&FacilityId(facility_id))
                .copied()
                .unwrap_or(0),
            programs: shown
                .into_iter()
                .map(|p| ProgramButton {
                    name: p.name(),
                    permitted: programs.contains(&p),
                    href: (p == own).then(|| format!("/facility/{facility_id}/report")),
                })
                .collect(),
        });
    }
    let staff_heading = match who.access.staff_prefectures() {
        None => "運用者のメニュー".to_owned(),
        Some(list) if !list.is_empty() => format!(
            "{}のメニュー",
            list.iter().map(|p| p.name()).collect::<Vec<_>>().join("・")
        ),
        Some(_) => String::new(),
    };
    let manages_staff = !who.access.staff_managed().is_empty();
    let staff: Vec<&'static StaffTool> = if who.is_staff() {
        STAFF_TOOLS
            .iter()
            .filter(|t| !matches!(t.href, Some("/staff" | "/notices")) || manages_staff)
            .collect()
    } else {
        Vec::new()
    };
    render(&HomePage {
        chrome: Chrome::new(),
        title: "ホーム",
        csrf,
        name: format!("{} {}", who.user.family_name, who.user.given_name),
        login_id: who.user.login_id.as_str().to_owned(),
        notice: match q.done.as_deref() {
            Some("password") => Some("パスワードを設定しました。"),
            _ => None,
        },
        facilities,
        staff_heading,
        staff,
        notices: crate::html::notice::for_home(&state, &who).await?,
    })
}
