//! Endpoints for other programs (JSON in, JSON out). Errors use the house JSON shape
//! `{"error":{"code":…,"message":…}}` and never the HTML error pages.

pub(crate) mod bounces;
mod error;

pub(crate) use error::ApiError;
