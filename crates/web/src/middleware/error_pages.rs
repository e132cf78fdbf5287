//! Every error page is drawn here, with the request id, so that errors raised anywhere (a
//! handler's `WebError`, the router's 405, the body limit's 413, the timeout's 503, a panic's 500)
//! look the same and tell the user what to do next.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::html::errors::render_page;
use crate::middleware::request_id;

/// Which page to show. Several statuses can share one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PageKind {
    NotFound,
    Forbidden,
    CsrfRefused,
    TooManyRequests,
    MethodNotAllowed,
    BadRequest,
    PayloadTooLarge,
    Timeout,
    Unavailable,
    Internal,
}

impl PageKind {
    fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::FORBIDDEN => Self::Forbidden,
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::REQUEST_TIMEOUT
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Self::Timeout,
            s if s.is_server_error() => Self::Internal,
            _ => Self::BadRequest,
        }
    }

    /// The page's heading; also the plain-text body when no page is drawn.
    pub(crate) fn heading(self) -> &'static str {
        match self {
            Self::NotFound => "ページが見つかりません",
            Self::Forbidden => "このページを表示する権限がありません",
            Self::CsrfRefused => "画面の有効期限が切れました",
            Self::TooManyRequests => "操作が多すぎるため、一時的に受け付けを停止しています",
            Self::MethodNotAllowed => "この操作は受け付けておりません",
            Self::BadRequest => "送信された内容を処理できませんでした",
            Self::PayloadTooLarge => "送信されたデータが大きすぎます",
            Self::Timeout => "処理に時間がかかったため中断しました",
            Self::Unavailable => "ただいまサービスをご利用いただけません",
            Self::Internal => "システムエラーが発生しました",
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::NotFound => "web.not_found",
            Self::Forbidden => "web.forbidden",
            Self::CsrfRefused => "web.csrf",
            Self::TooManyRequests => "web.too_many_requests",
            Self::MethodNotAllowed => "web.method_not_allowed",
            Self::BadRequest => "web.bad_request",
            Self::PayloadTooLarge => "web.payload_too_large",
            Self::Timeout => "web.timeout",
            Self::Unavailable => "web.unavailable",
            Self::Internal => "web.internal",
        }
    }
}

/// Set by [`crate::WebError`]: draw this page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorPage(pub(crate) PageKind);

/// Set by handlers whose error responses are meant for machines (the probes): leave them alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verbatim;

pub(crate) async fn render(State(body_limit): State<usize>, req: Request, next: Next) -> Response {
    let request_id = request_id::of(&req).map(str::to_owned);
    let res = next.run(req).await;
    let kind = match res.extensions().get::<ErrorPage>() {
        Some(ErrorPage(kind)) => *kind,
        None if is_bare_error(&res) => PageKind::from_status(res.status()),
        None => return res,
    };
    let (mut parts, _) = res.into_parts();
    let html = render_page(kind, request_id.as_deref(), body_limit);
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(html))
}

/// An error status whose body is empty or plain text, i.e. made by the framework, not a page.
fn is_bare_error(res: &Response) -> bool {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    if res.extensions().get::<Verbatim>().is_some() {
        return false;
    }
    match res.headers().get(CONTENT_TYPE) {
        None => true,
        Some(ct) => ct.as_bytes().starts_with(b"text/plain"),
    }
}
