//! The error pages. What each says: what happened, whether anything was lost, what to do next.

use askama::Template;

use super::Chrome;
use crate::error::WebError;
use crate::middleware::error_pages::PageKind;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPageTemplate<'a> {
    chrome: Chrome,
    title: &'static str,
    heading: &'static str,
    paragraphs: Vec<String>,
    code: &'static str,
    request_id: Option<&'a str>,
}

/// The unknown path: the router's fallback.
pub(crate) async fn not_found() -> WebError {
    WebError::NotFound
}

pub(crate) fn render_page(kind: PageKind, request_id: Option<&str>, body_limit: usize) -> String {
    let page = ErrorPageTemplate {
        chrome: Chrome::new(),
        title: kind.heading(),
        heading: kind.heading(),
        paragraphs: paragraphs(kind, body_limit),
        code: kind.code(),
        request_id,
    };
    page.render().unwrap_or_else(|err| {
        // The template is compiled in; this only fails if a filter fails. Still answer in Japanese.
        tracing::error!(error = %err, "error page failed to render");
        format!("{}（{}）", kind.heading(), kind.code())
    })
}

fn paragraphs(kind: PageKind, body_limit: usize) -> Vec<String> {
    match kind {
        PageKind::NotFound => vec![
            "お探しのページは見つかりませんでした。アドレス（URL）に誤りがないかご確認ください。".into(),
            "ページが移動または削除された可能性があります。お手数ですが、トップページから目的のページをお探しください。".into(),
        ],
        PageKind::Forbidden => vec![
            "ログインしている利用者の権限では、このページを表示できません。".into(),
            "別の利用者でログインし直すか、権限が必要な場合は管理者（都道府県の担当者）にお問い合わせください。".into(),
        ],
        PageKind::CsrfRefused => vec![
            "画面を開いてから時間が経ったか、別の画面でログイン・ログアウトしたため、送信を受け付けられませんでした。送信された内容は保存されていません。".into(),
            "お手数ですが、ブラウザの「戻る」ボタンで前の画面に戻り、ページを再読み込みしてから、もう一度送信してください。".into(),
        ],
        PageKind::TooManyRequests => vec![
            "同じ場所から短い時間に多くのログインや送信が行われたため、受け付けを一時的に停止しています。送信された内容は処理されていません。".into(),
            "1分ほど待ってから、もう一度お試しください。".into(),
        ],
        PageKind::MethodNotAllowed => vec![
            "このページでは、お送りいただいた方法での操作を受け付けておりません。".into(),
            "ブラウザの「戻る」ボタンを使わずに、トップページから操作をやり直してください。".into(),
        ],
        PageKind::BadRequest => vec![
            "送信された内容に不備があったため、処理できませんでした。".into(),
            "入力画面に戻り、内容をご確認のうえ、もう一度送信してください。".into(),
        ],
        PageKind::PayloadTooLarge => vec![
            format!(
                "一度に送信できるデータの大きさは {} までです。送信された内容はこの上限を超えていたため、受け付けておりません。",
                human_size(body_limit)
            ),
            "添付ファイルを小さくするか、何回かに分けて送信してください。".into(),
        ],
        PageKind::Timeout => vec![
            "処理に時間がかかったため、途中で中断しました。送信された内容は保存されていない可能性があります。".into(),
            "しばらく時間をおいてから、もう一度お試しください。".into(),
        ],
        PageKind::Unavailable => vec![
            "ただいまデータベースに接続できないため、サービスをご利用いただけません。".into(),
            "しばらく時間をおいてから、もう一度お試しください。".into(),
        ],
        PageKind::Internal => vec![
            "申し訳ございません。処理中に予期しないエラーが発生しました。送信された内容は保存されていない可能性があります。".into(),
            "しばらく時間をおいてから、もう一度お試しください。繰り返し発生する場合は、下記のお問い合わせ番号を添えて、このサイトの運営者へお問い合わせください。".into(),
        ],
    }
}

/// 2097152 → "2 MB" (binary units, as file managers show them); other sizes in bytes.
fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KB", bytes / KIB)
    } else {
        format!("{bytes} バイト")
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(2 * 1024 * 1024), "2 MB");
        assert_eq!(human_size(64 * 1024), "64 KB");
        assert_eq!(human_size(1000), "1000 バイト");
    }
}
