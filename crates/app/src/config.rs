//! Configuration: defaults < optional TOML file < `TEIKYO_*` environment variables, with secrets
//! readable from files (`TEIKYO_DATABASE_URL_FILE=/run/secrets/db`), the way container
//! orchestrators hand them over.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://./teikyo.sqlite` (default, embedded) or `postgres://user@host/db`.
    pub database_url: String,
    /// Where `serve` listens.
    pub bind: String,
    /// Connections per app node.
    pub max_connections: u32,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// tracing filter, e.g. `info,teikyo_web=debug`.
    pub log: String,
    /// The address users reach Teikyo at, e.g. `https://iryo.pref.example.lg.jp`; links in mails
    /// are made from it. Keep it short: links must not wrap in mail clients.
    pub public_url: String,
    pub web: WebSection,
    pub mail: MailSection,
    pub worker: WorkerSection,
    /// Read the item sets from this directory (laid out as `forms/`) instead of the ones built
    /// in: next year's items without a rebuild. Checked at start-up like the built-in ones.
    pub forms_dir: Option<std::path::PathBuf>,
    /// This node's search index (its own; rebuilt from the publication sequence when missing).
    pub search_index_dir: std::path::PathBuf,
    pub opendata: OpendataSection,
}

/// The open-data snapshots (issue 8 §1): `TEIKYO_OPENDATA__DIR`, `TEIKYO_OPENDATA__CREDIT`, …
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpendataSection {
    /// Where snapshots are written and served from (`/opendata/`). With several app nodes, a
    /// directory they share: the export runs once, on whichever node's worker claims it.
    pub dir: std::path::PathBuf,
    /// The credit line the manifest and `/opendata/` ask users to give.
    pub credit: String,
    /// The licence the manifest names.
    pub licence: String,
    /// Hour of the day (Japan time, 0–23) after which the day's snapshot is made; empty (or
    /// out of range) turns the daily export off.
    pub daily_hour: Option<u32>,
}

impl Default for OpendataSection {
    fn default() -> Self {
        Self {
            dir: "teikyo-opendata".into(),
            credit: teikyo_opendata::export::DEFAULT_CREDIT.into(),
            licence: teikyo_opendata::export::DEFAULT_LICENCE.into(),
            daily_hour: Some(3),
        }
    }
}

/// Outgoing mail. The default writes each mail as an `.eml` file into `mail-outbox/`, so that a
/// fresh install loses nothing and needs no mail server; production sets an SMTP transport:
/// `TEIKYO_MAIL__TRANSPORT__KIND=smtp`, `TEIKYO_MAIL__TRANSPORT__HOST=…` (port 587 and STARTTLS
/// unless set), `…__USERNAME`, `…__PASSWORD_FILE`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSection {
    pub from_address: String,
    /// The deployment's name, shown in From and in subjects as 【…】.
    pub sender_name: String,
    pub bounce_domain: Option<String>,
    /// Who to ask, written under every mail (e.g. 「○○県 医療政策課 000-000-0000」).
    pub contact: String,
    /// Folder with replacement templates (`<mail>/subject.txt`, `<mail>/body.txt`,
    /// `_footer.txt`); checked at start-up.
    pub templates_dir: Option<std::path::PathBuf>,
    /// Secret for `POST /mail/bounces` (an MTA pipe delivering bounce reports); the endpoint
    /// exists only when it is set. `TEIKYO_MAIL__BOUNCE_TOKEN_FILE` reads it from a file.
    pub bounce_token: Option<String>,
    pub transport: teikyo_mail::TransportConfig,
}

/// Written by hand so that the database password never reaches a log line.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &teikyo_store::redact(&self.database_url))
            .field("bind", &self.bind)
            .field("max_connections", &self.max_connections)
            .field("log_format", &self.log_format)
            .field("log", &self.log)
            .field("public_url", &self.public_url)
            .field("web", &self.web)
            .field("mail", &self.mail)
            .field("worker", &self.worker)
            .field("forms_dir", &self.forms_dir)
            .field("search_index_dir", &self.search_index_dir)
            .field("opendata", &self.opendata)
            .finish()
    }
}

/// Written by hand so that the bounce token never reaches a log line.
impl std::fmt::Debug for MailSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSection")
            .field("from_address", &self.from_address)
            .field("sender_name", &self.sender_name)
            .field("bounce_domain", &self.bounce_domain)
            .field("contact", &self.contact)
            .field("templates_dir", &self.templates_dir)
            .field(
                "bounce_token",
                &self.bounce_token.as_ref().map(|_| "<redacted>"),
            )
            .field("transport", &self.transport)
            .finish()
    }
}

impl Default for MailSection {
    fn default() -> Self {
        Self {
            from_address: "noreply@teikyo.invalid".into(),
            sender_name: "Teikyo".into(),
            bounce_domain: None,
            contact: "本システムの運用窓口".into(),
            templates_dir: None,
            bounce_token: None,
            transport: teikyo_mail::TransportConfig::File {
                dir: "mail-outbox".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerSection {
    /// Run a job worker inside `serve` (one node); turn off when `teikyo worker` runs separately.
    pub in_process: bool,
    /// Seconds after which a running job is presumed orphaned by a dead worker.
    pub lease_secs: u64,
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
}

impl Default for WorkerSection {
    fn default() -> Self {
        Self {
            in_process: true,
            lease_secs: 600,
            concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSection {
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// `Secure` session and CSRF cookies. Leave on: browsers accept them on https and on
    /// `http://127.0.0.1`/`localhost`.
    pub secure_cookies: bool,
    /// A session ends after this many minutes without a request…
    pub session_idle_minutes: i64,
    /// …and this many hours after login, whatever happens.
    pub session_absolute_hours: i64,
    /// Signs the 新規ユーザ登録申請 captcha challenges. Set the same value on every app node of
    /// a deployment; unset, each process makes a random one (fine for one node).
    pub captcha_key: Option<String>,
    /// Send the 利用案内メール at approval instead of 9:00 on the next business day (the demo
    /// always does).
    pub issue_immediately: bool,
    /// Prefecture staff and the operator must set up a second factor (TOTP) before anything
    /// else. Leave on; the demo turns it off so its printed logins work without an app.
    pub mfa_staff: bool,
    /// Facility users and delegates must set up a second factor too.
    pub mfa_facility: bool,
    /// The residents' map tiles (a Leaflet URL template; empty: markers only) and their credit.
    /// Default 地理院タイル. `TEIKYO_WEB__MAP_TILES=…`.
    pub map_tiles: String,
    pub map_attribution: String,
    pub map_attribution_url: String,
}

// By hand: the captcha key is a secret.
impl std::fmt::Debug for WebSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSection")
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_idle_minutes", &self.session_idle_minutes)
            .field("session_absolute_hours", &self.session_absolute_hours)
            .field(
                "captcha_key",
                &self.captcha_key.as_ref().map(|_| "<redacted>"),
            )
            .field("issue_immediately", &self.issue_immediately)
            .field("mfa_staff", &self.mfa_staff)
            .field("mfa_facility", &self.mfa_facility)
            .field("map_tiles", &self.map_tiles)
            .field("map_attribution", &self.map_attribution)
            .field("map_attribution_url", &self.map_attribution_url)
            .finish()
    }
}

impl Default for WebSection {
    fn default() -> Self {
        let session = teikyo_account::SessionPolicy::default();
        Self {
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
            secure_cookies: true,
            session_idle_minutes: session.idle.num_minutes(),
            session_absolute_hours: session.absolute.num_hours(),
            captcha_key: None,
            issue_immediately: false,
            mfa_staff: true,
            mfa_facility: false,
            map_tiles: teikyo_web::MapConfig::default().tiles,
            map_attribution: teikyo_web::MapConfig::default().attribution,
            map_attribution_url: teikyo_web::MapConfig::default().attribution_url,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://teikyo.sqlite".into(),
            bind: "127.0.0.1:8080".into(),
            max_connections: 8,
            log_format: LogFormat::Text,
            log: "info".into(),
            public_url: "http://127.0.0.1:8080".into(),
            web: WebSection::default(),
            mail: MailSection::default(),
            worker: WorkerSection::default(),
            forms_dir: None,
            search_index_dir: "teikyo-index".into(),
            opendata: OpendataSection::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("設定ファイル {path} が見つかりません。")]
    MissingFile { path: String },
    #[error("{var} に指定されたファイル {path} を読めません: {source}")]
    SecretFile {
        var: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("設定が正しくありません: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

const PREFIX: &str = "TEIKYO_";

impl Config {
    /// Loads the layers. `file` is the `--config` argument; `TEIKYO_CONFIG` names a file too.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file_from_env = env
            .iter()
            .find(|(k, _)| k == "TEIKYO_CONFIG")
            .map(|(_, v)| v.clone());
        let file = file
            .map(|p| p.to_string_lossy().into_owned())
            .or(file_from_env);
        if let Some(path) = file {
            if !Path::new(&path).exists() {
                return Err(ConfigError::MissingFile { path });
            }
            fig = fig.merge(Toml::file(path));
        }
        // Figment's Env provider reads the process environment itself; building the pairs from
        // `env` keeps this testable and lets `*_FILE` indirection fit in.
        let plain: std::collections::HashSet<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in &env {
            let Some(rest) = k.strip_prefix(PREFIX) else {
                continue;
            };
            if rest == "CONFIG" || rest.starts_with("TEST_") {
                continue;
            }
            match rest.strip_suffix("_FILE") {
                // The plain variable wins when both are set.
                Some(key) if plain.contains(format!("{PREFIX}{key}").as_str()) => {}
                Some(key) => {
                    let value =
                        std::fs::read_to_string(v).map_err(|source| ConfigError::SecretFile {
                            var: k.clone(),
                            path: v.clone(),
                            source,
                        })?;
                    pairs.push((
                        key.to_owned(),
                        value.trim_end_matches(['\n', '\r']).to_owned(),
                    ));
                }
                None => pairs.push((rest.to_owned(), v.clone())),
            }
        }
        for (k, v) in pairs {
            let key = k.to_lowercase().replace("__", ".");
            fig = fig.merge(Serialized::default(&key, parse_scalar(&v)));
        }
        fig.extract().map_err(|e| ConfigError::Invalid(Box::new(e)))
    }
}

/// Environment values are strings; numbers and booleans are given their type so that
/// `TEIKYO_MAX_CONNECTIONS=16` fills a `u32`.
fn parse_scalar(v: &str) -> figment::value::Value {
    use figment::value::Value;
    if let Ok(n) = v.parse::<i64>() {
        return Value::from(n);
    }
    match v {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ => Value::from(v.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_then_file_then_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("teikyo.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\nmax_connections = 3\n[web]\nrequest_timeout_secs = 5\n",
        )
        .unwrap();
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c, Config::default());
        let c = Config::load_from(Some(&file), env(&[])).unwrap();
        assert_eq!(c.bind, "0.0.0.0:9000");
        assert_eq!(c.max_connections, 3);
        assert_eq!(c.web.request_timeout_secs, 5);
        assert_eq!(
            c.web.body_limit_bytes,
            WebSection::default().body_limit_bytes
        );
        let c = Config::load_from(
            Some(&file),
            env(&[
                ("TEIKYO_BIND", "127.0.0.1:1"),
                ("TEIKYO_WEB__REQUEST_TIMEOUT_SECS", "7"),
                ("TEIKYO_LOG_FORMAT", "json"),
                ("TEIKYO_TEST_DATABASE_URL", "postgres://ignored"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind, "127.0.0.1:1");
        assert_eq!(c.web.request_timeout_secs, 7);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.max_connections, 3);
    }

    #[test]
    fn mail_transport_from_env() {
        let c = Config::load_from(
            None,
            env(&[
                ("TEIKYO_MAIL__TRANSPORT__KIND", "smtp"),
                ("TEIKYO_MAIL__TRANSPORT__HOST", "smtp.example.jp"),
                ("TEIKYO_MAIL__SENDER_NAME", "石川県医療情報"),
                ("TEIKYO_WORKER__IN_PROCESS", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(c.mail.sender_name, "石川県医療情報");
        assert!(!c.worker.in_process);
        match c.mail.transport {
            teikyo_mail::TransportConfig::Smtp {
                host, port, tls, ..
            } => {
                assert_eq!((host.as_str(), port), ("smtp.example.jp", 587));
                assert_eq!(tls, teikyo_mail::TlsMode::StartTls);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Config::load_from(None, env(&[])).unwrap().mail.transport,
            teikyo_mail::TransportConfig::File {
                dir: "mail-outbox".into()
            }
        );
    }

    #[test]
    fn mail_settings_and_the_bounce_token_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("bounce");
        std::fs::write(&secret, "s3cr3t-token\n").unwrap();
        let s = secret.to_string_lossy().into_owned();
        let c = Config::load_from(
            None,
            env(&[
                ("TEIKYO_MAIL__BOUNCE_TOKEN_FILE", &s),
                ("TEIKYO_MAIL__CONTACT", "石川県 医療対策課 076-000-0000"),
                ("TEIKYO_MAIL__TEMPLATES_DIR", "/etc/teikyo/mail"),
                ("TEIKYO_PUBLIC_URL", "https://iryo.pref.example.lg.jp"),
                ("TEIKYO_WORKER__CONCURRENCY", "16"),
            ]),
        )
        .unwrap();
        assert_eq!(c.mail.bounce_token.as_deref(), Some("s3cr3t-token"));
        assert_eq!(c.mail.contact, "石川県 医療対策課 076-000-0000");
        assert_eq!(
            c.mail.templates_dir.as_deref(),
            Some(Path::new("/etc/teikyo/mail"))
        );
        assert_eq!(c.public_url, "https://iryo.pref.example.lg.jp");
        assert_eq!(c.worker.concurrency, 16);
        assert_eq!(Config::default().mail.bounce_token, None);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let mut c = Config {
            database_url: "postgres://teikyo:db-789@db.example.jp/teikyo".into(),
            ..Config::default()
        };
        c.mail.bounce_token = Some("tok-123".into());
        c.mail.transport = teikyo_mail::TransportConfig::Smtp {
            host: "smtp.example.jp".into(),
            port: 587,
            tls: teikyo_mail::TlsMode::StartTls,
            username: Some("teikyo".into()),
            password: Some("pw-456".into()),
            timeout_secs: 30,
            pool_size: 4,
        };
        let debug = format!("{c:?}");
        for secret in ["tok-123", "pw-456", "db-789"] {
            assert!(!debug.contains(secret), "{secret}: {debug}");
        }
        assert!(debug.contains("smtp.example.jp") && debug.contains("<redacted>"));
    }

    #[test]
    fn secrets_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("db");
        std::fs::write(&secret, "postgres://u:pw@h/db\n").unwrap();
        let s = secret.to_string_lossy().into_owned();
        let c = Config::load_from(None, env(&[("TEIKYO_DATABASE_URL_FILE", &s)])).unwrap();
        assert_eq!(c.database_url, "postgres://u:pw@h/db");
        // the plain variable wins when both are set
        let c = Config::load_from(
            None,
            env(&[
                ("TEIKYO_DATABASE_URL", "sqlite://x.sqlite"),
                ("TEIKYO_DATABASE_URL_FILE", &s),
            ]),
        )
        .unwrap();
        assert_eq!(c.database_url, "sqlite://x.sqlite");
        let missing = Config::load_from(None, env(&[("TEIKYO_DATABASE_URL_FILE", "/nonexistent")]));
        assert!(matches!(missing, Err(ConfigError::SecretFile { .. })));
    }

    #[test]
    fn bad_values_are_reported() {
        let e = Config::load_from(None, env(&[("TEIKYO_MAX_CONNECTIONS", "many")])).unwrap_err();
        assert!(e.to_string().contains("設定が正しくありません"), "{e}");
        let e = Config::load_from(Some(Path::new("/nonexistent.toml")), env(&[])).unwrap_err();
        assert!(matches!(e, ConfigError::MissingFile { .. }));
    }
}
