use std::time::Duration;

/// Settings of the HTTP layer. The binary fills it from its configuration file and environment.
#[derive(Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// Largest request body accepted; larger ones get 413 and the Japanese 「大きすぎます」 page.
    pub body_limit_bytes: usize,
    /// Time a request may take before it is abandoned with 503 and a Japanese page.
    pub request_timeout_secs: u64,
    /// Serve the demo-only pages (`/demo/outbox`, and `/mail/log` with a chosen scope while
    /// there is no login). Never on in production: they show every mail without an account.
    pub demo: bool,
    /// The bearer token the MTA's bounce pipe sends to `POST /mail/bounces`. Without one (or
    /// with an empty one) the endpoint does not exist, so a deployment that did not set it up
    /// cannot be fed forged bounces.
    pub bounce_token: Option<String>,
    /// Mark the session and CSRF cookies `Secure` (and give them the `__Host-` prefix). On by
    /// default; browsers accept it on `http://127.0.0.1` and `localhost`, so only a deployment
    /// served over plain HTTP under another name needs it off (and should not exist).
    pub secure_cookies: bool,
    /// When sessions end (idle, absolute).
    pub session: teikyo_account::SessionPolicy,
    /// Who must set up a second factor before using anything else.
    pub mfa: MfaPolicy,
    /// The residents' map.
    pub map: MapConfig,
    /// Where the open-data export writes its snapshots (`/opendata/` serves them); `None`: the
    /// page says none has been made.
    pub opendata_dir: Option<std::path::PathBuf>,
}

/// The map's background tiles: fetched by the resident's browser, never by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapConfig {
    /// A Leaflet URL template with `{z}/{x}/{y}`; empty: no background (markers only).
    pub tiles: String,
    /// The credit the tiles' licence asks for, and where it links.
    pub attribution: String,
    pub attribution_url: String,
}

impl Default for MapConfig {
    /// 地理院タイル (標準地図), credited as the 国土地理院 asks.
    fn default() -> Self {
        Self {
            tiles: "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png".into(),
            attribution: "地理院タイル".into(),
            attribution_url: "https://maps.gsi.go.jp/development/ichiran.html".into(),
        }
    }
}

impl MapConfig {
    /// The tiles' origin (`https://cyberjapandata.gsi.go.jp`), for the pages' CSP `img-src`;
    /// `None` for no tiles or tiles served by this site.
    pub fn tiles_origin(&self) -> Option<&str> {
        let rest = self
            .tiles
            .strip_prefix("https://")
            .or_else(|| self.tiles.strip_prefix("http://"))?;
        let host_end = rest.find('/').unwrap_or(rest.len());
        let scheme = self.tiles.len() - rest.len();
        let origin = &self.tiles[..scheme + host_end];
        // A CSP source must not smuggle in another directive.
        origin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:/[]".contains(c))
            .then_some(origin)
    }
}

/// Who must have a second factor (TOTP). Whoever is not required may still set one up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Prefecture and 保健所 staff and the operator: they see hundreds of facilities' data and
    /// approve accounts, so a leaked password must not be enough. On by default.
    pub staff: bool,
    /// Facility users and delegates: off by default (one busy clerk, often a shared PC; the
    /// seeds' login troubles come first), on where a prefecture decides so.
    pub facility: bool,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            staff: true,
            facility: false,
        }
    }
}

impl WebConfig {
    /// 2 MiB: ample for report forms; file uploads will get their own, larger route limit.
    pub const DEFAULT_BODY_LIMIT_BYTES: usize = 2 * 1024 * 1024;
    pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The bounce token, if one is set that is not blank: a blank token would let any request
    /// that sends an empty `Bearer` through.
    pub fn usable_bounce_token(&self) -> Option<&str> {
        // Trimmed like the presented token is: a secret file's trailing space must not lock out
        // the MTA.
        self.bounce_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: Self::DEFAULT_BODY_LIMIT_BYTES,
            request_timeout_secs: Self::DEFAULT_REQUEST_TIMEOUT_SECS,
            demo: false,
            bounce_token: None,
            secure_cookies: true,
            session: teikyo_account::SessionPolicy::default(),
            mfa: MfaPolicy::default(),
            map: MapConfig::default(),
            opendata_dir: None,
        }
    }
}

// By hand rather than derived: `AppState` is logged with `{:?}`, and the token must not reach
// the logs.
impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("demo", &self.demo)
            .field(
                "bounce_token",
                &self.bounce_token.as_ref().map(|_| "<redacted>"),
            )
            .field("secure_cookies", &self.secure_cookies)
            .field("session", &self.session)
            .field("mfa", &self.mfa)
            .field("opendata_dir", &self.opendata_dir)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::WebConfig;

    #[test]
    fn debug_output_hides_the_bounce_token() {
        let config = WebConfig {
            bounce_token: Some("s3cret-token".into()),
            ..WebConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn blank_bounce_tokens_are_not_usable() {
        let with = |t: &str| WebConfig {
            bounce_token: Some(t.into()),
            ..WebConfig::default()
        };
        assert_eq!(with("  ").usable_bounce_token(), None);
        assert_eq!(with("abc").usable_bounce_token(), Some("abc"));
        assert_eq!(WebConfig::default().usable_bounce_token(), None);
    }

    #[test]
    fn the_tiles_origin_goes_into_the_csp_only_when_it_is_one() {
        let origin = |tiles: &str| {
            super::MapConfig {
                tiles: tiles.into(),
                ..super::MapConfig::default()
            }
            .tiles_origin()
            .map(str::to_owned)
        };
        assert_eq!(
            super::MapConfig::default().tiles_origin(),
            Some("https://cyberjapandata.gsi.go.jp")
        );
        assert_eq!(
            origin("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(origin(""), None);
        assert_eq!(origin("/tiles/{z}/{x}/{y}.png"), None, "this site's own");
        assert_eq!(origin("https://evil.example; script-src *"), None);
    }
}
