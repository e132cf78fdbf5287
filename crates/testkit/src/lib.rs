//! Test support shared by every crate's tests: fresh databases on both backends ([`db`]), a running
//! application on a loopback port ([`app`]), headless Chromium ([`browser`]), an HTTP client with
//! cookies and CSRF tokens plus ready-made accounts ([`web`]), the largest synthetic hospital
//! with a confirmed and a new report ([`largest`]), a large synthetic prefecture with its
//! 定期報告 in every status ([`prefecture`]), and published facilities for the residents' pages
//! ([`published`]).

pub mod app;
pub mod browser;
pub mod db;
pub mod largest;
pub mod prefecture;
pub mod published;
pub mod report;
pub mod web;
