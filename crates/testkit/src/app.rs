//! TestApp: the web application on a loopback port (owned by the web/browser work).
