//! Static assets, embedded in the binary so a deployment is one file.
//!
//! Pages link to `/static/<name>?v=<content hash>`. A request carrying the current hash may be
//! cached for a year (the URL changes with the content); any other is revalidated by ETag.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::error::WebError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
    hash: u64,
}

const fn asset(name: &'static str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    Asset {
        name,
        content_type,
        bytes,
        hash: fnv1a64(bytes),
    }
}

static ASSETS: &[Asset] = &[
    asset(
        "teikyo.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/teikyo.css"),
    ),
    asset(
        "captcha.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/captcha.js"),
    ),
    asset(
        "report.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/report.js"),
    ),
    asset(
        "find.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/find.js"),
    ),
    asset(
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/map.js"),
    ),
    // Leaflet from npm (build.rs copies it from node_modules; empty and never linked when it
    // was not installed, see `map_assets`).
    asset(
        "leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!(concat!(env!("OUT_DIR"), "/leaflet.js")),
    ),
    asset(
        "leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!(concat!(env!("OUT_DIR"), "/leaflet.css")),
    ),
];

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "public, no-cache";

/// FNV-1a: enough to tell versions apart, and computable at compile time.
const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

fn versioned_href(asset: &Asset) -> String {
    format!("/static/{}?v={:016x}", asset.name, asset.hash)
}

static STYLESHEET_HREF: LazyLock<String> = LazyLock::new(|| {
    find("teikyo.css").map_or_else(|| "/static/teikyo.css".to_owned(), versioned_href)
});

/// The stylesheet URL for the layout, with its version.
pub(crate) fn stylesheet_href() -> &'static str {
    STYLESHEET_HREF.as_str()
}

static CAPTCHA_HREF: LazyLock<String> = LazyLock::new(|| {
    find("captcha.js").map_or_else(|| "/static/captcha.js".to_owned(), versioned_href)
});

/// The captcha solver, versioned like the stylesheet.
pub(crate) fn captcha_script_href() -> &'static str {
    CAPTCHA_HREF.as_str()
}

static REPORT_HREF: LazyLock<String> = LazyLock::new(|| {
    find("report.js").map_or_else(|| "/static/report.js".to_owned(), versioned_href)
});

/// The section pages' enhancements (conditional items, hours rows), versioned.
pub(crate) fn report_script_href() -> &'static str {
    REPORT_HREF.as_str()
}

static FIND_HREF: LazyLock<String> =
    LazyLock::new(|| find("find.js").map_or_else(|| "/static/find.js".to_owned(), versioned_href));

/// The search form's 「現在地を使う」, versioned.
pub(crate) fn find_script_href() -> &'static str {
    FIND_HREF.as_str()
}

/// What a page with a map links: Leaflet's stylesheet and script and Teikyo's `map.js`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapAssets {
    pub(crate) css: &'static str,
    pub(crate) leaflet: &'static str,
    pub(crate) script: &'static str,
}

static MAP_ASSETS: LazyLock<Option<(String, String, String)>> = LazyLock::new(|| {
    if !cfg!(teikyo_leaflet) {
        return None;
    }
    Some((
        versioned_href(find("leaflet.css")?),
        versioned_href(find("leaflet.js")?),
        versioned_href(find("map.js")?),
    ))
});

/// The map's assets, or `None` when this binary was built without Leaflet (`npm ci` had not
/// been run): the pages then say the map is not available.
pub(crate) fn map_assets() -> Option<MapAssets> {
    MAP_ASSETS.as_ref().map(|(css, leaflet, script)| MapAssets {
        css: css.as_str(),
        leaflet: leaflet.as_str(),
        script: script.as_str(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Version {
    v: Option<String>,
}

pub(crate) async fn serve_asset(
    Path(name): Path<String>,
    Query(version): Query<Version>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let asset = find(&name).ok_or(WebError::NotFound)?;
    let hex = format!("{:016x}", asset.hash);
    let tag = format!("\"{hex}\"");
    let cache = if version.v.as_deref() == Some(hex.as_str()) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let etag = HeaderValue::from_str(&tag).map_err(|e| WebError::Internal(e.to_string()))?;
    let fresh = headers
        .get(IF_NONE_MATCH)
        .is_some_and(|inm| inm.as_bytes() == tag.as_bytes());
    if fresh {
        let headers = [
            (ETAG, etag),
            (CACHE_CONTROL, HeaderValue::from_static(cache)),
        ];
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (CACHE_CONTROL, HeaderValue::from_static(cache)),
            (ETAG, etag),
        ],
        asset.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stylesheet_href_carries_the_content_hash() {
        let href = stylesheet_href();
        assert!(href.starts_with("/static/teikyo.css?v="), "{href}");
        assert_eq!(href.len(), "/static/teikyo.css?v=".len() + 16);
    }

    #[test]
    fn fnv_matches_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
