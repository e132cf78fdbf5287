//! Server-rendered pages. Each page is an askama template extending `base.html`, the shared
//! layout (skip link, header, footer); views per audience will get their own modules here.

pub(crate) mod account;
pub(crate) mod apply;
pub(crate) mod audit;
pub(crate) mod bulk_mail;
pub(crate) mod closure;
pub(crate) mod credits;
pub(crate) mod error_report;
pub(crate) mod errors;
pub(crate) mod find;
pub(crate) mod mail;
pub(crate) mod notice;
pub(crate) mod opendata;
pub(crate) mod period;
pub(crate) mod public;
pub(crate) mod report;
pub(crate) mod review;
pub(crate) mod scope;
pub(crate) mod status;
pub(crate) mod support;
pub(crate) mod team;

use askama::Template;
use axum::response::Html;

use crate::assets;
use crate::error::WebError;

/// The product name, as shown in the header and in every `<title>`.
pub(crate) const PRODUCT_NAME: &str = "Teikyo 医療機能情報提供";

/// What the layout needs from every page.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub(crate) product_name: &'static str,
    pub(crate) css_href: &'static str,
}

impl Chrome {
    pub(crate) fn new() -> Self {
        Self {
            product_name: PRODUCT_NAME,
            css_href: assets::stylesheet_href(),
        }
    }
}

pub(crate) fn render(page: &impl Template) -> Result<Html<String>, WebError> {
    Ok(Html(page.render()?))
}

/// A mistake on a form: the field it belongs to and the message shown beside it.
pub(crate) type FieldMessage = (&'static str, String);

/// The message for `field` among a page's mistakes (what the templates' `error_for` shows).
pub(crate) fn message_for<'a>(errors: &'a [FieldMessage], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, m)| m.as_str())
}
