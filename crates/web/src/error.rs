use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use teikyo_store::StoreError;
use thiserror::Error;

use crate::middleware::error_pages::{ErrorPage, PageKind};

/// Failures of the web layer, each with a stable code.
///
/// A handler returns `Err(WebError)`; [`IntoResponse`] turns it into the status and a marker that
/// the error-page middleware renders as the Japanese page (with the request id), so every error
/// page is drawn in one place. Messages here are for logs and operators, not for the screen.
#[derive(Debug, Error)]
pub enum WebError {
    #[error("no page at this path")]
    NotFound,
    #[error("the signed-in user may not use this page")]
    Forbidden,
    #[error("the CSRF token was missing or wrong")]
    CsrfRefused,
    #[error("too many requests from this address")]
    TooManyRequests,
    #[error("the request could not be understood: {0}")]
    BadRequest(String),
    #[error("the database is not available: {0}")]
    Unavailable(#[source] StoreError),
    #[error("storage failed: {0}")]
    Store(#[source] StoreError),
    #[error("template failed to render: {0}")]
    Template(#[from] askama::Error),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

impl WebError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "web.not_found",
            Self::Forbidden => "web.forbidden",
            Self::CsrfRefused => "web.csrf",
            Self::TooManyRequests => "web.too_many_requests",
            Self::BadRequest(_) => "web.bad_request",
            Self::Unavailable(_) => "web.unavailable",
            Self::Store(_) => "web.store",
            Self::Template(_) => "web.template",
            Self::Internal(_) => "web.internal",
            Self::Serve(_) => "web.serve",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::CsrfRefused => StatusCode::FORBIDDEN,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(_) | Self::Template(_) | Self::Internal(_) | Self::Serve(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn page(&self) -> PageKind {
        match self {
            Self::NotFound => PageKind::NotFound,
            Self::Forbidden => PageKind::Forbidden,
            Self::CsrfRefused => PageKind::CsrfRefused,
            Self::TooManyRequests => PageKind::TooManyRequests,
            Self::BadRequest(_) => PageKind::BadRequest,
            Self::Unavailable(_) => PageKind::Unavailable,
            Self::Store(_) | Self::Template(_) | Self::Internal(_) | Self::Serve(_) => {
                PageKind::Internal
            }
        }
    }
}

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Connect { .. } => Self::Unavailable(err),
            other => Self::Store(other),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "request rejected");
        }
        // The plain body only shows if the error-page middleware is absent (a bare handler in a
        // unit test); normally the marker makes it render the full Japanese page.
        let mut res = (status, self.page().heading()).into_response();
        res.extensions_mut().insert(ErrorPage(self.page()));
        res
    }
}
