//! Mail templates: one directory per [`MailKind`] with `subject.txt` and `body.txt`, shipped in
//! the binary and overridable file by file from a folder (`mail.templates_dir`), so a deployment
//! can adjust wording without a rebuild.
//!
//! Every template is checked when [`MailTemplates::load`] runs — at start-up — against the fields
//! of its mail's content type: a placeholder that names an unknown field, a syntax error or a
//! subject spanning lines stops the start with the file and line, instead of failing a send.

use crate::catalogue::{MailContent, MailKind};
use crate::new_message_id;
use chrono::{Datelike, NaiveDate};
use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use teikyo_store::NewMail;

/// The common placeholders every template may use.
pub const COMMON_FIELDS: [&str; 3] = ["sender_name", "site_url", "contact"];

/// Text included at the end of every body: what to do with a mail one did not expect.
const FOOTER: &str = "_footer.txt";

/// Set by a body before it includes the footer (`{% set security_notice = true %}`): a notice
/// that someone changed the account must not end with 「破棄してください」.
const FOOTER_SWITCHES: [&str; 1] = ["security_notice"];

/// Shipped templates: (directory, subject, body).
const DEFAULTS: [(MailKind, &str, &str); 18] = [
    (
        MailKind::VerificationCode,
        include_str!("../templates/verification_code/subject.txt"),
        include_str!("../templates/verification_code/body.txt"),
    ),
    (
        MailKind::ApplicationReceived,
        include_str!("../templates/application_received/subject.txt"),
        include_str!("../templates/application_received/body.txt"),
    ),
    (
        MailKind::ApplicationRejected,
        include_str!("../templates/application_rejected/subject.txt"),
        include_str!("../templates/application_rejected/body.txt"),
    ),
    (
        MailKind::PreIssuanceCheck,
        include_str!("../templates/pre_issuance_check/subject.txt"),
        include_str!("../templates/pre_issuance_check/body.txt"),
    ),
    (
        MailKind::AccountReady,
        include_str!("../templates/account_ready/subject.txt"),
        include_str!("../templates/account_ready/body.txt"),
    ),
    (
        MailKind::ExistingUserConfirmation,
        include_str!("../templates/existing_user_confirmation/subject.txt"),
        include_str!("../templates/existing_user_confirmation/body.txt"),
    ),
    (
        MailKind::PasswordReset,
        include_str!("../templates/password_reset/subject.txt"),
        include_str!("../templates/password_reset/body.txt"),
    ),
    (
        MailKind::LoginIdReminder,
        include_str!("../templates/login_id_reminder/subject.txt"),
        include_str!("../templates/login_id_reminder/body.txt"),
    ),
    (
        MailKind::PasswordChanged,
        include_str!("../templates/password_changed/subject.txt"),
        include_str!("../templates/password_changed/body.txt"),
    ),
    (
        MailKind::Invitation,
        include_str!("../templates/invitation/subject.txt"),
        include_str!("../templates/invitation/body.txt"),
    ),
    (
        MailKind::EmailChangeConfirmation,
        include_str!("../templates/email_change_confirmation/subject.txt"),
        include_str!("../templates/email_change_confirmation/body.txt"),
    ),
    (
        MailKind::EmailChanged,
        include_str!("../templates/email_changed/subject.txt"),
        include_str!("../templates/email_changed/body.txt"),
    ),
    (
        MailKind::PeriodicReportNotice,
        include_str!("../templates/periodic_report_notice/subject.txt"),
        include_str!("../templates/periodic_report_notice/body.txt"),
    ),
    (
        MailKind::PeriodicReportReminder,
        include_str!("../templates/periodic_report_reminder/subject.txt"),
        include_str!("../templates/periodic_report_reminder/body.txt"),
    ),
    (
        MailKind::ReportReceived,
        include_str!("../templates/report_received/subject.txt"),
        include_str!("../templates/report_received/body.txt"),
    ),
    (
        MailKind::ReportReturned,
        include_str!("../templates/report_returned/subject.txt"),
        include_str!("../templates/report_returned/body.txt"),
    ),
    (
        MailKind::ReportConfirmed,
        include_str!("../templates/report_confirmed/subject.txt"),
        include_str!("../templates/report_confirmed/body.txt"),
    ),
    (
        MailKind::BulkMail,
        include_str!("../templates/bulk_mail/subject.txt"),
        include_str!("../templates/bulk_mail/body.txt"),
    ),
];

const DEFAULT_FOOTER: &str = include_str!("../templates/_footer.txt");

/// Mail clients wrap longer lines, which breaks links (S3 No.5); links in bodies stay below this.
pub const MAX_LINK_CHARS: usize = 72;

#[derive(Debug, Clone)]
pub struct TemplateSettings {
    /// 【…】 at the start of every subject, and the signature.
    pub sender_name: String,
    /// The public base URL links are made from, e.g. `https://teikyo.example.jp`.
    pub site_url: String,
    /// Who to ask, written into every footer (e.g. a prefecture's 担当課 and phone number).
    pub contact: String,
    /// Domain of new Message-IDs.
    pub message_id_domain: String,
    /// Folder whose `<kind>/subject.txt`, `<kind>/body.txt` and `_footer.txt` replace the
    /// shipped ones.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("メールテンプレート {template} の {line} 行目に誤りがあります: {detail}")]
    Syntax {
        template: String,
        line: usize,
        detail: String,
    },
    #[error(
        "メールテンプレート {template} が、このメールにない項目 {fields} を参照しています。使える項目: {allowed}"
    )]
    UnknownField {
        template: String,
        fields: String,
        allowed: String,
    },
    #[error("メールテンプレート {template} を差し込めません（{line} 行目）: {detail}")]
    Render {
        template: String,
        line: usize,
        detail: String,
    },
    #[error("メールテンプレート {template} の件名は1行で書いてください。")]
    Subject { template: String },
    #[error("メールテンプレートのフォルダに不明なファイル {path} があります。")]
    UnknownFile { path: String },
    #[error("メールテンプレート {path} を読めません: {detail}")]
    Io { path: String, detail: String },
}

impl TemplateError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "mail.template.syntax",
            Self::UnknownField { .. } => "mail.template.unknown_field",
            Self::Render { .. } => "mail.template.render",
            Self::Subject { .. } => "mail.template.subject",
            Self::UnknownFile { .. } => "mail.template.unknown_file",
            Self::Io { .. } => "mail.template.io",
        }
    }
}

/// A rendered mail, ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub kind: MailKind,
    pub subject: String,
    pub body_text: String,
}

/// One mail of a bulk send, before rendering.
#[derive(Debug, Clone)]
pub struct Outgoing<C> {
    pub to: String,
    pub content: C,
    pub related: Option<(String, String)>,
    pub facility_id: Option<i64>,
}

/// The checked templates of a deployment.
pub struct MailTemplates {
    env: Environment<'static>,
    settings: TemplateSettings,
}

impl std::fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTemplates")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn subject_name(kind: MailKind) -> String {
    format!("{}/subject.txt", kind.id())
}

fn body_name(kind: MailKind) -> String {
    format!("{}/body.txt", kind.id())
}

impl MailTemplates {
    /// Loads the shipped templates and any overrides, and checks them all.
    pub fn load(settings: TemplateSettings) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_filter("date_ja", date_ja);
        env.add_global("sender_name", settings.sender_name.clone());
        env.add_global(
            "site_url",
            settings.site_url.trim_end_matches('/').to_owned(),
        );
        env.add_global("contact", settings.contact.clone());

        let dir = settings.dir.as_deref();
        if let Some(dir) = dir {
            reject_unknown_files(dir)?;
        }
        add(&mut env, dir, FOOTER.to_owned(), DEFAULT_FOOTER)?;
        for (kind, subject, body) in DEFAULTS {
            add(&mut env, dir, subject_name(kind), subject)?;
            add(&mut env, dir, body_name(kind), body)?;
        }
        let templates = Self { env, settings };
        for kind in MailKind::ALL {
            templates.check(kind)?;
        }
        Ok(templates)
    }

    pub fn settings(&self) -> &TemplateSettings {
        &self.settings
    }

    /// An absolute link for a path such as `/s/Hq3vR8tYp2Wk`. Keep paths short: the link must stay
    /// under [`MAX_LINK_CHARS`] so that mail clients do not break it across lines.
    pub fn link(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.settings.site_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// Renders one mail.
    pub fn render<C: MailContent>(&self, content: &C) -> Result<Rendered, TemplateError> {
        self.render_value(C::KIND, Value::from_serialize(content))
    }

    /// Renders a kind with its sample content (previews, the demo).
    pub fn render_sample(&self, kind: MailKind) -> Result<Rendered, TemplateError> {
        self.render_value(kind, Value::from_serialize(kind.sample()))
    }

    /// Renders and wraps a mail as a row to queue in a transaction (`Tx::queue_mail`).
    pub fn compose<C: MailContent>(
        &self,
        to: &str,
        content: &C,
        related: Option<(&str, &str)>,
        facility_id: Option<i64>,
    ) -> Result<NewMail, TemplateError> {
        let r = self.render(content)?;
        Ok(NewMail {
            template: r.kind.id().to_owned(),
            to: to.to_owned(),
            subject: r.subject,
            body_text: r.body_text,
            message_id: new_message_id(&self.settings.message_id_domain),
            related: related.map(|(k, v)| (k.to_owned(), v.to_owned())),
            facility_id,
        })
    }

    /// [`Self::compose`] for one item of a bulk send.
    pub fn compose_outgoing<C: MailContent>(
        &self,
        o: &Outgoing<C>,
    ) -> Result<NewMail, TemplateError> {
        let related = o.related.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
        self.compose(&o.to, &o.content, related, o.facility_id)
    }

    /// Renders a bulk send on every core; the order of `items` is kept.
    pub fn compose_many<C: MailContent + Sync>(
        &self,
        items: &[Outgoing<C>],
    ) -> Result<Vec<NewMail>, TemplateError> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let per_thread = items.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = items
                .chunks(per_thread)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|o| self.compose_outgoing(o))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(items.len());
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(out)
        })
    }

    fn render_value(&self, kind: MailKind, ctx: Value) -> Result<Rendered, TemplateError> {
        self.render_checked(kind, ctx, false)
    }

    /// `strict` (the start-up check): a subject that renders to several lines is the template's
    /// fault. Otherwise a line break can only come from a value (a name typed with a newline):
    /// it is folded into a space rather than failing one mail of a bulk send.
    fn render_checked(
        &self,
        kind: MailKind,
        ctx: Value,
        strict: bool,
    ) -> Result<Rendered, TemplateError> {
        let subject = self.render_one(&subject_name(kind), &ctx)?;
        let subject = subject.trim();
        if subject.is_empty() || (strict && subject.contains('\n')) {
            return Err(TemplateError::Subject {
                template: subject_name(kind),
            });
        }
        let subject = subject
            .split(['\r', '\n'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let body = self.render_one(&body_name(kind), &ctx)?;
        Ok(Rendered {
            kind,
            subject: format!("【{}】{}", self.settings.sender_name, subject),
            body_text: body,
        })
    }

    fn render_one(&self, name: &str, ctx: &Value) -> Result<String, TemplateError> {
        let tmpl = self.env.get_template(name).map_err(|e| syntax(name, &e))?;
        tmpl.render(ctx).map_err(|e| TemplateError::Render {
            template: e.name().unwrap_or(name).to_owned(),
            line: e.line().unwrap_or(0),
            detail: e.detail().unwrap_or("").to_owned(),
        })
    }

    /// Names only the fields of the mail's content and the common ones, then renders the sample.
    fn check(&self, kind: MailKind) -> Result<(), TemplateError> {
        let sample = kind.sample();
        let mut allowed: BTreeSet<String> = COMMON_FIELDS
            .iter()
            .chain(FOOTER_SWITCHES.iter())
            .map(|s| s.to_string())
            .collect();
        if let Some(obj) = sample.as_object() {
            allowed.extend(obj.keys().cloned());
        }
        for name in [subject_name(kind), body_name(kind), FOOTER.to_owned()] {
            let tmpl = self
                .env
                .get_template(&name)
                .map_err(|e| syntax(&name, &e))?;
            let unknown: BTreeSet<String> = tmpl
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !allowed.contains(v))
                .collect();
            if !unknown.is_empty() {
                return Err(TemplateError::UnknownField {
                    template: name,
                    fields: join(&unknown),
                    allowed: join(&allowed),
                });
            }
        }
        // Catches nested look-ups (`{{ x.y }}`) and filter misuse the variable scan cannot see.
        self.render_checked(kind, Value::from_serialize(&sample), true)
            .map(|_| ())
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join("、")
}

fn syntax(name: &str, e: &minijinja::Error) -> TemplateError {
    TemplateError::Syntax {
        template: e.name().unwrap_or(name).to_owned(),
        line: e.line().unwrap_or(0),
        detail: e
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string()),
    }
}

fn add(
    env: &mut Environment<'static>,
    dir: Option<&Path>,
    name: String,
    default: &'static str,
) -> Result<(), TemplateError> {
    let source = match dir.map(|d| d.join(&name)).filter(|p| p.is_file()) {
        Some(path) => {
            tracing::info!(template = %name, path = %path.display(), "mail template overridden");
            std::fs::read_to_string(&path).map_err(|e| TemplateError::Io {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?
        }
        None => default.to_owned(),
    };
    env.add_template_owned(name.clone(), source)
        .map_err(|e| syntax(&name, &e))
}

/// A misspelt directory would otherwise be ignored silently and the shipped text sent instead.
fn reject_unknown_files(dir: &Path) -> Result<(), TemplateError> {
    let io = |e: std::io::Error| TemplateError::Io {
        path: dir.display().to_string(),
        detail: e.to_string(),
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if path.is_dir() {
            if MailKind::parse(&name).is_none() {
                return Err(TemplateError::UnknownFile {
                    path: path.display().to_string(),
                });
            }
            for inner in std::fs::read_dir(&path).map_err(io)? {
                let inner = inner.map_err(io)?;
                let file = inner.file_name().to_string_lossy().into_owned();
                if file != "subject.txt" && file != "body.txt" {
                    return Err(TemplateError::UnknownFile {
                        path: inner.path().display().to_string(),
                    });
                }
            }
        } else if name != FOOTER && !name.starts_with('.') && name != "README.md" {
            return Err(TemplateError::UnknownFile {
                path: path.display().to_string(),
            });
        }
    }
    Ok(())
}

/// `2026-01-31` → 「2026年1月31日（土）」: dates in mails carry the weekday, as Japanese notices do.
fn date_ja(value: String) -> Result<String, minijinja::Error> {
    let date = NaiveDate::parse_from_str(&value, "%Y-%m-%d").map_err(|_| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("date_ja expects YYYY-MM-DD, got {value:?}"),
        )
    })?;
    const WEEKDAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    let wd = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    Ok(format!(
        "{}年{}月{}日（{}）",
        date.year(),
        date.month(),
        date.day(),
        wd
    ))
}
