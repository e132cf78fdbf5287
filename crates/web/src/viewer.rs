//! Who is looking, as far as the mail log is concerned: the operator sees every mail, prefecture
//! staff only the mails about facilities of their prefecture (DOMAIN §3.7: the prefecture tells a
//! facility whether its 利用案内メール was 「送信完了」 or 「不達」).
//!
//! There are no accounts yet, so the demo picks the viewer from `?scope=`; once login exists the
//! viewer comes from the session and this type stays the one place that turns it into a scope.

use teikyo_domain::PrefectureCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Viewer {
    /// The national operator (運用者): every mail.
    Operator,
    /// Staff of one prefecture, by its two-digit JIS X 0401 code.
    Prefecture(String),
}

impl Viewer {
    /// `all`, or a prefecture code. Blank means the operator, so that a bare `/mail/log` works.
    pub(crate) fn from_scope(scope: &str) -> Option<Self> {
        let scope = scope.trim();
        if scope.is_empty() || scope == "all" {
            return Some(Self::Operator);
        }
        // Exactly two digits, not PrefectureCode's lenient parse: the value comes from our own
        // select, so anything else was not chosen from it.
        if scope.len() != 2 || !scope.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let code = PrefectureCode::parse(scope).ok()?;
        Some(Self::Prefecture(code.as_str()))
    }

    /// The `?scope=` value that selects this viewer again.
    pub(crate) fn scope(&self) -> &str {
        match self {
            Self::Operator => "all",
            Self::Prefecture(code) => code,
        }
    }

    /// The value of `MailFilter::prefecture`: the restriction this viewer always carries.
    pub(crate) fn mail_prefecture(&self) -> Option<String> {
        match self {
            Self::Operator => None,
            Self::Prefecture(code) => Some(code.clone()),
        }
    }

    /// How the page names the scope, e.g. 「石川県（17）」.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Operator => "すべての都道府県（運用者）".to_owned(),
            Self::Prefecture(code) => match PrefectureCode::parse(code) {
                Ok(p) => format!("{}（{code}）", p.name()),
                Err(_) => code.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Viewer;

    #[test]
    fn scopes_are_all_or_a_prefecture_code() {
        assert_eq!(Viewer::from_scope("all"), Some(Viewer::Operator));
        assert_eq!(Viewer::from_scope(""), Some(Viewer::Operator));
        assert_eq!(
            Viewer::from_scope("29"),
            Some(Viewer::Prefecture("29".into()))
        );
        assert_eq!(Viewer::from_scope("48"), None);
        assert_eq!(Viewer::from_scope("00"), None);
        assert_eq!(Viewer::from_scope("7"), None);
        assert_eq!(Viewer::from_scope("２９"), None);
        assert_eq!(Viewer::from_scope("29 OR 1=1"), None);
        assert_eq!(Viewer::Prefecture("17".into()).describe(), "石川県（17）");
    }
}
