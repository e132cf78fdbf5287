//! Test support shared by every crate's tests: fresh databases on both backends ([`db`]), a running
//! application on a loopback port ([`app`]) and headless Chromium ([`browser`]).

pub mod app;
pub mod browser;
pub mod db;
