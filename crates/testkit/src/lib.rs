//! Test support shared by every crate's tests: fresh databases on both backends ([`db`]), a running
//! application on a loopback port ([`app`]), headless Chromium ([`browser`]), and an HTTP client with
//! cookies and CSRF tokens plus ready-made accounts ([`web`]).

pub mod app;
pub mod browser;
pub mod db;
pub mod web;
