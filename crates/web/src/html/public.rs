//! Pages anyone can read without an account.

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use super::credits::{CREDITS, Credit};
use super::{Chrome, render};
use crate::error::WebError;
use crate::state::AppState;

/// Whether a feature can be used yet. Features that are not built are shown as 「準備中」 and
/// never as a link, so nobody is sent to a page that does not exist.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Availability {
    Ready {
        href: &'static str,
    },
    // Every listed feature is built today; the next one not built yet is listed with this.
    #[allow(dead_code)]
    Preparing,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Feature {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) availability: Availability,
}

impl Feature {
    /// Where to go, if the feature is built.
    pub(crate) fn href(&self) -> Option<&'static str> {
        match self.availability {
            Availability::Ready { href } => Some(href),
            Availability::Preparing => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Audience {
    pub(crate) id: &'static str,
    pub(crate) heading: &'static str,
    pub(crate) lead: &'static str,
    pub(crate) features: &'static [Feature],
}

pub(crate) const AUDIENCES: &[Audience] = &[
    Audience {
        id: "facilities",
        heading: "医療機関・薬局の方へ",
        lead: "病院・診療所・歯科診療所・助産所・薬局の皆さまは、医療法および医薬品医療機器等法に基づく\
               機能情報（所在地、診療科目、診療時間など）を、このシステムから都道府県へ報告していただけるようになります。",
        features: &[
            Feature {
                name: "新規ユーザ登録申請",
                description: "報告に使うアカウントの発行を、都道府県へ申請していただけます。スマートフォンからも申請できます。",
                availability: Availability::Ready { href: "/apply" },
            },
            Feature {
                name: "ログイン",
                description: "発行されたアカウントでログインしていただけます。ユーザー名やパスワードをお忘れの場合も、ログイン画面から手続きできます。",
                availability: Availability::Ready { href: "/login" },
            },
            Feature {
                name: "新規・定期・随時報告の入力と提出",
                description: "前回の報告内容を引き継いで入力し、都道府県へ提出していただけます。",
                availability: Availability::Ready { href: "/login" },
            },
        ],
    },
    Audience {
        id: "prefectures",
        heading: "都道府県・保健所の方へ",
        lead: "都道府県および保健所などの委託先の皆さまは、管内の医療機関・薬局からの申請と報告を確認し、\
               公表までの手続きを進めていただけるようになります。",
        features: &[
            Feature {
                name: "ユーザ登録申請の承認",
                description: "医療機関・薬局からのアカウント申請を確認し、承認または否認していただけます。",
                availability: Availability::Ready { href: "/login" },
            },
            Feature {
                name: "報告内容の確認と差戻し",
                description: "前回との差異を確認したうえで、確認完了または差戻しを行っていただけます。",
                availability: Availability::Ready { href: "/login" },
            },
            Feature {
                name: "報告状況の一覧と案内メール",
                description: "報告の進み具合を一覧で把握し、案内や督促のメールを送信していただけます。",
                availability: Availability::Ready { href: "/login" },
            },
        ],
    },
    Audience {
        id: "residents",
        heading: "住民の方へ",
        lead: "都道府県が確認した医療機関・薬局の情報を、どなたでもアカウントなしで検索・閲覧していただけます。",
        features: &[
            Feature {
                name: "医療機関・薬局を探す",
                description: "名称や住所、地域、診療科目、現在診療中かどうか、現在地からの距離などから探していただけます。English is available.",
                availability: Availability::Ready { href: "/search" },
            },
            Feature {
                name: "オープンデータのダウンロード",
                description: "公表された情報を、医療情報ネットのオープンデータと同じ CSV 形式でダウンロードしていただけます。",
                availability: Availability::Ready { href: "/opendata/" },
            },
            Feature {
                name: "データの出典",
                description: "このサイトで利用している公開データと、その出典・利用条件をご覧いただけます。",
                availability: Availability::Ready {
                    href: "/about/data",
                },
            },
        ],
    },
];

#[derive(Template)]
#[template(path = "landing.html")]
struct LandingPage {
    chrome: Chrome,
    title: &'static str,
    audiences: &'static [Audience],
    /// The demo's own pages (outbox, mail log) are listed so that a new user finds them.
    demo: bool,
}

pub(crate) async fn landing(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    render(&LandingPage {
        chrome: Chrome::new(),
        title: "トップページ",
        audiences: AUDIENCES,
        demo: state.config().demo,
    })
}

#[derive(Template)]
#[template(path = "about_data.html")]
struct DataCreditsPage {
    chrome: Chrome,
    title: &'static str,
    credits: &'static [Credit],
}

pub(crate) async fn data_credits() -> Result<Html<String>, WebError> {
    render(&DataCreditsPage {
        chrome: Chrome::new(),
        title: "データの出典",
        credits: CREDITS,
    })
}
