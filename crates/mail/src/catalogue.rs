//! The mails Teikyo sends (DOMAIN.md §3.11) and what each one's template may use.
//!
//! Each mail has a content type; its fields are the only placeholders its template may reference
//! besides the common ones (`sender_name`, `site_url`, `contact`). [`crate::MailTemplates::load`]
//! renders every template with [`MailContent::sample`] in strict mode, so a template that names an
//! unknown field stops the start-up instead of failing a send weeks later.

use chrono::NaiveDate;
use serde::Serialize;

/// One kind of mail; its [`id`](MailKind::id) is the template directory's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailKind {
    /// 認証コード (application step ③–④).
    VerificationCode,
    /// ユーザ登録申請完了メール (step ⑩).
    ApplicationReceived,
    /// 却下メール, with the prefecture's reason.
    ApplicationRejected,
    /// ①事前確認メール: proves the address works before an account is issued.
    PreIssuanceCheck,
    /// ②利用案内メール: login ID and the password-setup link.
    AccountReady,
    /// ③既存のご利用者確認依頼メール.
    ExistingUserConfirmation,
    /// パスワードリセットのご案内.
    PasswordReset,
    /// ユーザ名のお知らせ: the login IDs registered with an address, asked for through
    /// 「ユーザ名をお忘れですか？」 (§3.13: no need to ask the prefecture).
    LoginIdReminder,
    /// パスワード設定のお知らせ: a password was set or reset (§3.13, the group mailbox where a
    /// colleague set it).
    PasswordChanged,
    /// メールアドレス変更の確認: sent to the new address; the change takes effect only when its
    /// link is opened and confirmed.
    EmailChangeConfirmation,
    /// メールアドレス変更のお知らせ: sent to the old address once a change took effect.
    EmailChanged,
    /// 利用者追加のお知らせ: a facility's admin, the prefecture or the operator added this person
    /// as a user (a colleague, prefecture staff, a delegate): the login ID and, for a new
    /// account, the password-setup link.
    Invitation,
    /// 定期報告案内メール.
    PeriodicReportNotice,
    /// 定期報告督促メール.
    PeriodicReportReminder,
    /// 報告受付のお知らせ: the 「報告」 button went through (the seeds' users doubt it did).
    ReportReceived,
    /// 差戻しのお知らせ, with the prefecture's comment.
    ReportReturned,
    /// 確認完了のお知らせ.
    ReportConfirmed,
    /// 一括メール配信: a prefecture's own mail to a filtered set of facilities.
    BulkMail,
}

impl MailKind {
    pub const ALL: [MailKind; 18] = [
        Self::VerificationCode,
        Self::ApplicationReceived,
        Self::ApplicationRejected,
        Self::PreIssuanceCheck,
        Self::AccountReady,
        Self::ExistingUserConfirmation,
        Self::PasswordReset,
        Self::LoginIdReminder,
        Self::PasswordChanged,
        Self::EmailChangeConfirmation,
        Self::EmailChanged,
        Self::Invitation,
        Self::PeriodicReportNotice,
        Self::PeriodicReportReminder,
        Self::ReportReceived,
        Self::ReportReturned,
        Self::ReportConfirmed,
        Self::BulkMail,
    ];

    /// Stable id: the template directory and the `template` column of the mail log.
    pub fn id(self) -> &'static str {
        match self {
            Self::VerificationCode => "verification_code",
            Self::ApplicationReceived => "application_received",
            Self::ApplicationRejected => "application_rejected",
            Self::PreIssuanceCheck => "pre_issuance_check",
            Self::AccountReady => "account_ready",
            Self::ExistingUserConfirmation => "existing_user_confirmation",
            Self::PasswordReset => "password_reset",
            Self::LoginIdReminder => "login_id_reminder",
            Self::PasswordChanged => "password_changed",
            Self::EmailChangeConfirmation => "email_change_confirmation",
            Self::EmailChanged => "email_changed",
            Self::Invitation => "invitation",
            Self::PeriodicReportNotice => "periodic_report_notice",
            Self::PeriodicReportReminder => "periodic_report_reminder",
            Self::ReportReceived => "report_received",
            Self::ReportReturned => "report_returned",
            Self::ReportConfirmed => "report_confirmed",
            Self::BulkMail => "bulk_mail",
        }
    }

    /// The name prefecture staff know the mail by (S1, S3).
    pub fn label(self) -> &'static str {
        match self {
            Self::VerificationCode => "認証コード",
            Self::ApplicationReceived => "ユーザ登録申請完了メール",
            Self::ApplicationRejected => "却下メール",
            Self::PreIssuanceCheck => "事前確認メール",
            Self::AccountReady => "利用案内メール",
            Self::ExistingUserConfirmation => "既存のご利用者確認依頼メール",
            Self::PasswordReset => "パスワードリセット案内",
            Self::LoginIdReminder => "ユーザ名のお知らせ",
            Self::PasswordChanged => "パスワード設定のお知らせ",
            Self::EmailChangeConfirmation => "メールアドレス変更の確認",
            Self::EmailChanged => "メールアドレス変更のお知らせ",
            Self::Invitation => "利用者追加のお知らせ",
            Self::PeriodicReportNotice => "定期報告案内メール",
            Self::PeriodicReportReminder => "定期報告督促メール",
            Self::ReportReceived => "報告受付のお知らせ",
            Self::ReportReturned => "差戻しのお知らせ",
            Self::ReportConfirmed => "確認完了のお知らせ",
            Self::BulkMail => "一括メール配信",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    /// The body holds something that opens an account (a code, a setup or reset link, a link
    /// that moves the account's mail to another address): staff reading the mail log must not
    /// see it, or the log becomes a way into facilities' accounts. Login IDs alone are not
    /// secret; the 「パスワードをお忘れですか？」 link in a mail is the public page, not a token.
    pub fn carries_secret(self) -> bool {
        matches!(
            self,
            Self::VerificationCode
                | Self::AccountReady
                | Self::PasswordReset
                | Self::EmailChangeConfirmation
                | Self::Invitation
        )
    }

    /// The sample content the templates are checked against at start-up.
    pub fn sample(self) -> serde_json::Value {
        fn json<T: MailContent>() -> serde_json::Value {
            // Serialising plain structs of strings and numbers cannot fail.
            serde_json::to_value(T::sample()).unwrap_or_default()
        }
        match self {
            Self::VerificationCode => json::<VerificationCode>(),
            Self::ApplicationReceived => json::<ApplicationReceived>(),
            Self::ApplicationRejected => json::<ApplicationRejected>(),
            Self::PreIssuanceCheck => json::<PreIssuanceCheck>(),
            Self::AccountReady => json::<AccountReady>(),
            Self::ExistingUserConfirmation => json::<ExistingUserConfirmation>(),
            Self::PasswordReset => json::<PasswordReset>(),
            Self::LoginIdReminder => json::<LoginIdReminder>(),
            Self::PasswordChanged => json::<PasswordChanged>(),
            Self::EmailChangeConfirmation => json::<EmailChangeConfirmation>(),
            Self::EmailChanged => json::<EmailChanged>(),
            Self::Invitation => json::<Invitation>(),
            Self::PeriodicReportNotice => json::<PeriodicReportNotice>(),
            Self::PeriodicReportReminder => json::<PeriodicReportReminder>(),
            Self::ReportReceived => json::<ReportReceived>(),
            Self::ReportReturned => json::<ReportReturned>(),
            Self::ReportConfirmed => json::<ReportConfirmed>(),
            Self::BulkMail => json::<BulkMail>(),
        }
    }
}

/// What one kind of mail says. Links are absolute URLs made with [`crate::MailTemplates::link`]
/// so that they stay short.
pub trait MailContent: Serialize {
    const KIND: MailKind;
    /// Realistic values for checking and previewing the template.
    fn sample() -> Self;
}

#[derive(Debug, Clone, Serialize)]
pub struct VerificationCode {
    /// Six digits.
    pub code: String,
    pub expires_minutes: u32,
    /// Where the code is entered, for a reader who closed the page.
    pub entry_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplicationReceived {
    /// 申請番号, e.g. `API-00001750`.
    pub application_number: String,
    pub facility_name: String,
    pub prefecture_name: String,
    /// Where the applicant can follow the application (申請番号 + e-mail).
    pub status_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplicationRejected {
    pub application_number: String,
    pub facility_name: String,
    pub prefecture_name: String,
    /// The prefecture's reason, as written.
    pub reason: String,
    pub apply_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreIssuanceCheck {
    pub application_number: String,
    pub facility_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountReady {
    pub facility_name: String,
    pub login_id: String,
    pub setup_url: String,
    pub setup_expires_hours: u32,
    /// The application was filed by the prefecture (代理申請), not by the facility.
    pub filed_by_prefecture: bool,
    pub login_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExistingUserConfirmation {
    pub application_number: String,
    pub facility_name: String,
    pub address: String,
    pub login_id: String,
    pub login_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PasswordReset {
    pub login_id: String,
    pub reset_url: String,
    pub expires_minutes: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoginIdReminder {
    pub facility_name: String,
    /// Every login ID of the facility registered with the address the mail goes to, at least
    /// one (a shared mailbox can hold several); do not send the mail for none.
    pub login_ids: Vec<String>,
    pub login_url: String,
    /// The 「パスワードをお忘れですか？」 page (not a reset token: the mail carries no secret).
    pub reset_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PasswordChanged {
    pub login_id: String,
    /// When, in Japan time, already written out by the caller, e.g. 「11月21日 18時35分」.
    pub changed_at: String,
    /// The 「パスワードをお忘れですか？」 page, for a reader who did not set the password.
    pub reset_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invitation {
    /// The invited person, 「山田 花子」.
    pub name: String,
    /// Who they act for: the facility's name, 「石川県」, or the delegate's facilities.
    pub organisation: String,
    /// What they may do, in words: 「医療機関の利用者（管理者）」, 「都道府県の職員（担当者）」.
    pub role: String,
    /// Who added them, 「石川県 金沢 太郎」.
    pub invited_by: String,
    pub login_id: String,
    /// The password-setup link; `None` when the role was added to an existing account.
    pub setup_url: Option<String>,
    pub setup_expires_hours: u32,
    pub login_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailChangeConfirmation {
    pub login_id: String,
    /// Single-use link; opening it shows a confirm page, and only confirming there changes
    /// the address.
    pub confirm_url: String,
    pub expires_hours: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailChanged {
    pub login_id: String,
    /// The new address, partly hidden by the caller, e.g. `ta***@clinic.example.jp`: the old
    /// mailbox may no longer be the user's.
    pub new_address_masked: String,
    /// The prefecture changed it on the facility's request (§3.7), rather than the user
    /// confirming it from the new address.
    pub changed_by_prefecture: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodicReportNotice {
    pub facility_name: String,
    pub prefecture_name: String,
    /// e.g. 令和7年度.
    pub fiscal_year: String,
    pub reference_date: NaiveDate,
    pub deadline: NaiveDate,
    pub report_url: String,
    /// The prefecture's own words, if it added any.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodicReportReminder {
    pub facility_name: String,
    pub prefecture_name: String,
    pub fiscal_year: String,
    pub deadline: NaiveDate,
    /// The report's status in the seeds' words, e.g. 未報告 or 報告中.
    pub status: String,
    pub report_url: String,
    pub message: Option<String>,
}

/// 報告受付のお知らせ.
#[derive(Debug, Clone, Serialize)]
pub struct ReportReceived {
    pub facility_name: String,
    pub prefecture_name: String,
    /// e.g. 令和8年度 定期報告.
    pub report_label: String,
    /// 報告済 or 再報告済.
    pub status: String,
    /// When, in Japan time, written out by the caller.
    pub submitted_at: String,
    /// Prefecture staff pressed 「報告」 for the facility (代理入力).
    pub by_prefecture: bool,
    pub report_url: String,
}

/// 差戻しのお知らせ.
#[derive(Debug, Clone, Serialize)]
pub struct ReportReturned {
    pub facility_name: String,
    pub prefecture_name: String,
    pub report_label: String,
    /// The reviewer's comment, as written.
    pub comment: String,
    pub report_url: String,
}

/// 確認完了のお知らせ.
#[derive(Debug, Clone, Serialize)]
pub struct ReportConfirmed {
    pub facility_name: String,
    pub prefecture_name: String,
    pub report_label: String,
    pub confirmed_at: String,
    /// The confirmed report recorded a 廃止日: the facility's accounts will be closed.
    pub abolished_on: Option<NaiveDate>,
    pub report_url: String,
}

/// 一括メール配信: what prefecture staff wrote, its placeholders already filled in for the
/// facility the mail goes to (`teikyo_domain::bulk_mail`). The template adds who sends it and
/// the shared footer.
#[derive(Debug, Clone, Serialize)]
pub struct BulkMail {
    /// One line.
    pub subject: String,
    pub body: String,
    /// The prefecture that sends it, 「石川県」.
    pub prefecture_name: String,
}

const SAMPLE_FACILITY: &str = "医療法人社団提供会 さくら内科クリニック";
const SAMPLE_APPLICATION: &str = "API-00001750";

fn sample_date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

impl MailContent for VerificationCode {
    const KIND: MailKind = MailKind::VerificationCode;
    fn sample() -> Self {
        Self {
            code: "482913".into(),
            expires_minutes: 30,
            entry_url: "https://teikyo.example.jp/apply/code".into(),
        }
    }
}

impl MailContent for ApplicationReceived {
    const KIND: MailKind = MailKind::ApplicationReceived;
    fn sample() -> Self {
        Self {
            application_number: SAMPLE_APPLICATION.into(),
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            status_url: "https://teikyo.example.jp/apply/status".into(),
        }
    }
}

impl MailContent for ApplicationRejected {
    const KIND: MailKind = MailKind::ApplicationRejected;
    fn sample() -> Self {
        Self {
            application_number: SAMPLE_APPLICATION.into(),
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            reason: "機関コードが保険医療機関の登録内容と一致しません。正しい機関コードで再度申請してください。"
                .into(),
            apply_url: "https://teikyo.example.jp/apply".into(),
        }
    }
}

impl MailContent for PreIssuanceCheck {
    const KIND: MailKind = MailKind::PreIssuanceCheck;
    fn sample() -> Self {
        Self {
            application_number: SAMPLE_APPLICATION.into(),
            facility_name: SAMPLE_FACILITY.into(),
        }
    }
}

impl MailContent for AccountReady {
    const KIND: MailKind = MailKind::AccountReady;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            login_id: "k7m2x9qp".into(),
            setup_url: "https://teikyo.example.jp/s/Hq3vR8tYp2Wk".into(),
            setup_expires_hours: 72,
            filed_by_prefecture: false,
            login_url: "https://teikyo.example.jp/login".into(),
        }
    }
}

impl MailContent for ExistingUserConfirmation {
    const KIND: MailKind = MailKind::ExistingUserConfirmation;
    fn sample() -> Self {
        Self {
            application_number: SAMPLE_APPLICATION.into(),
            facility_name: SAMPLE_FACILITY.into(),
            address: "奈良県奈良市登大路町30番地".into(),
            login_id: "k7m2x9qp".into(),
            login_url: "https://teikyo.example.jp/login".into(),
        }
    }
}

impl MailContent for PasswordReset {
    const KIND: MailKind = MailKind::PasswordReset;
    fn sample() -> Self {
        Self {
            login_id: "k7m2x9qp".into(),
            reset_url: "https://teikyo.example.jp/r/Zt8wLm4Qx6Bn".into(),
            expires_minutes: 60,
        }
    }
}

impl MailContent for LoginIdReminder {
    const KIND: MailKind = MailKind::LoginIdReminder;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            // Two users share the clinic's mailbox: the sample shows the list.
            login_ids: vec!["k7m2x9qp".into(), "h3t8v6wa".into()],
            login_url: "https://teikyo.example.jp/login".into(),
            reset_url: "https://teikyo.example.jp/password/forgot".into(),
        }
    }
}

impl MailContent for PasswordChanged {
    const KIND: MailKind = MailKind::PasswordChanged;
    fn sample() -> Self {
        Self {
            login_id: "k7m2x9qp".into(),
            changed_at: "11月21日 18時35分".into(),
            reset_url: "https://teikyo.example.jp/password/forgot".into(),
        }
    }
}

impl MailContent for Invitation {
    const KIND: MailKind = MailKind::Invitation;
    fn sample() -> Self {
        Self {
            name: "山田 花子".into(),
            organisation: SAMPLE_FACILITY.into(),
            role: "医療機関の利用者（管理者）".into(),
            invited_by: "奈良 太郎".into(),
            login_id: "k7m2x9qp".into(),
            setup_url: Some("https://teikyo.example.jp/s/Hq3vR8tYp2Wk".into()),
            setup_expires_hours: 336,
            login_url: "https://teikyo.example.jp/login".into(),
        }
    }
}

impl MailContent for EmailChangeConfirmation {
    const KIND: MailKind = MailKind::EmailChangeConfirmation;
    fn sample() -> Self {
        Self {
            login_id: "k7m2x9qp".into(),
            confirm_url: "https://teikyo.example.jp/e/Wd5hN7kPs3Tq".into(),
            expires_hours: 24,
        }
    }
}

impl MailContent for EmailChanged {
    const KIND: MailKind = MailKind::EmailChanged;
    fn sample() -> Self {
        Self {
            login_id: "k7m2x9qp".into(),
            new_address_masked: "ta***@clinic.example.jp".into(),
            changed_by_prefecture: false,
        }
    }
}

impl MailContent for PeriodicReportNotice {
    const KIND: MailKind = MailKind::PeriodicReportNotice;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            fiscal_year: "令和7年度".into(),
            reference_date: sample_date(2025, 10, 1),
            deadline: sample_date(2026, 1, 31),
            report_url: "https://teikyo.example.jp/reports".into(),
            message: Some("ご不明な点は奈良県医療政策課までお問い合わせください。".into()),
        }
    }
}

impl MailContent for PeriodicReportReminder {
    const KIND: MailKind = MailKind::PeriodicReportReminder;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            fiscal_year: "令和7年度".into(),
            deadline: sample_date(2026, 1, 31),
            status: "報告中".into(),
            report_url: "https://teikyo.example.jp/reports".into(),
            message: None,
        }
    }
}

impl MailContent for ReportReceived {
    const KIND: MailKind = MailKind::ReportReceived;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            report_label: "令和8年度 定期報告".into(),
            status: "報告済".into(),
            submitted_at: "2026年11月21日 18時35分".into(),
            by_prefecture: false,
            report_url: "https://teikyo.example.jp/reports/1".into(),
        }
    }
}

impl MailContent for ReportReturned {
    const KIND: MailKind = MailKind::ReportReturned;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            report_label: "令和8年度 定期報告".into(),
            comment: "土曜日の診療時間が前年度と異なります。ご確認のうえ、再度ご報告ください。"
                .into(),
            report_url: "https://teikyo.example.jp/reports/1".into(),
        }
    }
}

impl MailContent for ReportConfirmed {
    const KIND: MailKind = MailKind::ReportConfirmed;
    fn sample() -> Self {
        Self {
            facility_name: SAMPLE_FACILITY.into(),
            prefecture_name: "奈良県".into(),
            report_label: "令和8年度 定期報告".into(),
            confirmed_at: "2026年11月25日 10時02分".into(),
            abolished_on: None,
            report_url: "https://teikyo.example.jp/reports/1".into(),
        }
    }
}

impl MailContent for BulkMail {
    const KIND: MailKind = MailKind::BulkMail;
    fn sample() -> Self {
        Self {
            subject: "令和7年度定期報告のお願い（期限 2026年1月31日（土））".into(),
            body: format!(
                "{SAMPLE_FACILITY}\nご担当者様\n\n令和7年度の定期報告の期限が近づいています。\n\
                 現在の状況: 未報告\n\n\
                 ログインして報告内容をご確認のうえ、「報告」ボタンを押してください。\n\
                 https://teikyo.example.jp/facility/1/report\n\n\
                 奈良県 医療政策課"
            ),
            prefecture_name: "奈良県".into(),
        }
    }
}
