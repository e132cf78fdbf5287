//! `/opendata/` (issue 8 §1): the current open-data snapshot — its files with rows, sizes and
//! SHA-256, the credit line and licence, the format — and the files and `manifest.json`
//! themselves. The export job writes them into the configured directory; this only reads.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use teikyo_opendata::export::{MANIFEST, Manifest, snapshot_of};
use tower::ServiceExt;

use super::{Chrome, render};
use crate::error::WebError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "opendata.html")]
struct OpendataPage {
    chrome: Chrome,
    title: &'static str,
    manifest: Option<Manifest>,
    /// The snapshot date as people read it.
    snapshot: String,
}

impl OpendataPage {
    fn size(bytes: &u64) -> String {
        let mb = *bytes as f64 / 1_048_576.0;
        if mb >= 1.0 {
            format!("{mb:.1} MB")
        } else {
            format!("{:.0} KB", (*bytes as f64 / 1024.0).max(1.0))
        }
    }

    fn count(n: &u64) -> String {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

fn manifest(state: &AppState) -> Option<Manifest> {
    let dir = state.config().opendata_dir.as_deref()?;
    match Manifest::read(dir) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "オープンデータの manifest.json を読めません");
            None
        }
    }
}

pub(crate) async fn page(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let manifest = manifest(&state);
    let snapshot = manifest
        .as_ref()
        .map(|m| teikyo_domain::text::date_ja(m.snapshot))
        .unwrap_or_default();
    render(&OpendataPage {
        chrome: Chrome::new(),
        title: "オープンデータ",
        manifest,
        snapshot,
    })
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "オープンデータのファイルが見つかりません。/opendata/ で現在のファイルをご確認ください。\n",
    )
        .into_response()
}

/// `manifest.json` or one of the snapshot files, streamed from the directory.
pub(crate) async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let Some(dir) = state.config().opendata_dir.clone() else {
        return not_found();
    };
    // Only names the export writes: no path separators, no hidden files.
    let ours = name == MANIFEST
        || (snapshot_of(&name).is_some()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            && !name.starts_with('.'));
    if !ours {
        return not_found();
    }
    let path = dir.join(&name);
    if !path.is_file() {
        return not_found();
    }
    let content_type = if name == MANIFEST {
        "application/json"
    } else {
        "text/csv; charset=utf-8"
    };
    match tower_http::services::ServeFile::new(&path)
        .oneshot(request)
        .await
    {
        Ok(response) => {
            let mut response = response.map(axum::body::Body::new);
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            // The manifest changes with each snapshot; a file's name carries its date.
            let cache = if name == MANIFEST {
                "public, max-age=300"
            } else {
                "public, max-age=86400"
            };
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        Err(e) => {
            tracing::warn!(file = %name, error = %e, "オープンデータのファイルを送れません");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "ファイルを送れませんでした。時間をおいて、もう一度お試しください。\n",
            )
                .into_response()
        }
    }
}
