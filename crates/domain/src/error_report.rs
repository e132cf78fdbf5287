//! 「情報の誤りを報告」 (issue 7 §5): a resident tells a facility and its prefecture that what
//! the public side shows is wrong. Anonymous; a reply address is optional. The facility corrects
//! its data through a 随時報告; whoever deals with the report marks it 対応済.

use std::fmt;

use crate::text::{is_email, nfkc};

/// Enough to say what is wrong and what is right.
pub const BODY_MIN_CHARS: usize = 5;
pub const BODY_MAX_CHARS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorReportError {
    BodyMissing,
    BodyTooShort,
    BodyTooLong(usize),
    ContactInvalid,
}

impl ErrorReportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyMissing => "error_report.body_missing",
            Self::BodyTooShort => "error_report.body_too_short",
            Self::BodyTooLong(_) => "error_report.body_too_long",
            Self::ContactInvalid => "error_report.contact_invalid",
        }
    }

    /// The form field it belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            Self::ContactInvalid => "contact",
            _ => "body",
        }
    }

    /// The message on the English page (`Display` is the Japanese one).
    pub fn message_en(&self) -> String {
        match self {
            Self::BodyMissing => "Please tell us what is wrong.".to_owned(),
            Self::BodyTooShort => format!(
                "Please write at least {BODY_MIN_CHARS} characters: what is shown and what is right."
            ),
            Self::BodyTooLong(n) => {
                format!("Please keep it within {BODY_MAX_CHARS} characters (now {n}).")
            }
            Self::ContactInvalid => {
                "The e-mail address does not look right (e.g. name@example.jp). You may leave it empty."
                    .to_owned()
            }
        }
    }
}

impl fmt::Display for ErrorReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BodyMissing => f.write_str("誤りの内容を入力してください。"),
            Self::BodyTooShort => write!(
                f,
                "誤りの内容は{BODY_MIN_CHARS}文字以上で、表示されている内容と正しい内容を入力してください。"
            ),
            Self::BodyTooLong(n) => write!(
                f,
                "誤りの内容は{BODY_MAX_CHARS}文字以内で入力してください（現在{n}文字）。"
            ),
            Self::ContactInvalid => f.write_str(
                "メールアドレスの形式が正しくありません（例: name@example.jp）。返信が不要な場合は空欄のままにしてください。",
            ),
        }
    }
}

impl std::error::Error for ErrorReportError {}

/// A report as checked: the body trimmed (line breaks kept), the address folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReportText {
    pub body: String,
    pub contact: Option<String>,
}

pub fn check(body: &str, contact: &str) -> Result<ErrorReportText, Vec<ErrorReportError>> {
    let mut errors = Vec::new();
    let body = body.trim().replace("\r\n", "\n");
    let chars = body.chars().count();
    if chars == 0 {
        errors.push(ErrorReportError::BodyMissing);
    } else if chars < BODY_MIN_CHARS {
        errors.push(ErrorReportError::BodyTooShort);
    } else if chars > BODY_MAX_CHARS {
        errors.push(ErrorReportError::BodyTooLong(chars));
    }
    let contact = nfkc(contact.trim());
    let contact = if contact.is_empty() {
        None
    } else if is_email(&contact) {
        Some(contact)
    } else {
        errors.push(ErrorReportError::ContactInvalid);
        None
    };
    if errors.is_empty() {
        Ok(ErrorReportText { body, contact })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_read_as_typed() {
        let r = check(
            "  電話番号が古いです。\r\n正しくは076-000-0000です。 ",
            "ｈａｎａ@example.jp",
        )
        .expect("valid");
        assert_eq!(r.body, "電話番号が古いです。\n正しくは076-000-0000です。");
        assert_eq!(r.contact.as_deref(), Some("hana@example.jp"));
        assert_eq!(check("土曜は休みです", "").expect("valid").contact, None);
    }

    #[test]
    fn every_problem_at_once_in_both_languages() {
        let e = check("", "hana@").expect_err("invalid");
        let codes: Vec<_> = e.iter().map(ErrorReportError::code).collect();
        assert_eq!(
            codes,
            ["error_report.body_missing", "error_report.contact_invalid"]
        );
        assert_eq!(e[1].field(), "contact");
        let e = check("違う", "").expect_err("short");
        assert_eq!(e, [ErrorReportError::BodyTooShort]);
        let e = check(&"あ".repeat(1_001), "").expect_err("long");
        assert!(e[0].to_string().contains("現在1001文字"));
        assert!(e[0].message_en().contains("now 1001"));
    }
}
