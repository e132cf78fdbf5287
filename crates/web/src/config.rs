use std::time::Duration;

/// Settings of the HTTP layer. The binary fills it from its configuration file and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// Largest request body accepted; larger ones get 413 and the Japanese 「大きすぎます」 page.
    pub body_limit_bytes: usize,
    /// Time a request may take before it is abandoned with 503 and a Japanese page.
    pub request_timeout_secs: u64,
}

impl WebConfig {
    /// 2 MiB: ample for report forms; file uploads will get their own, larger route limit.
    pub const DEFAULT_BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;
    pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: Self::DEFAULT_BODY_LIMIT_BYTES,
            request_timeout_secs: Self::DEFAULT_REQUEST_TIMEOUT_SECS,
        }
    }
}
