//! Headless Chromium through chromedriver (owned by the web/browser work).
