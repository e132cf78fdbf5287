use super::{CodeError, error::numeric};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 郵便番号: 7 digits, including 事業所個別番号. Accepts `〒920-0962`, `９２０－０９６２`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PostalCode(u32);

impl PostalCode {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = numeric(input, "郵便番号", 7)?;
        s.parse().map(Self).map_err(|_| CodeError::Format {
            what: "郵便番号",
            len: 7,
            input: input.to_owned(),
        })
    }

    /// From its number (`9200962`); `None` above 7 digits. For tables that keep codes as numbers.
    pub fn from_number(n: u32) -> Option<Self> {
        (n < 10_000_000).then_some(Self(n))
    }

    /// `9200962`
    pub fn digits(self) -> String {
        format!("{:07}", self.0)
    }

    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// Shown as `920-0962`, the form on envelopes.
impl fmt::Display for PostalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}-{:04}", self.0 / 10_000, self.0 % 10_000)
    }
}

impl TryFrom<String> for PostalCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        Self::parse(&s)
    }
}

impl From<PostalCode> for String {
    fn from(c: PostalCode) -> String {
        c.digits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_spellings() {
        for s in [
            "9200962",
            "920-0962",
            "〒920-0962",
            "９２０－０９６２",
            " 920 0962 ",
        ] {
            assert_eq!(PostalCode::parse(s).unwrap().digits(), "9200962", "{s}");
        }
        assert_eq!(
            PostalCode::parse("0600000").unwrap().to_string(),
            "060-0000"
        );
        assert_eq!(
            PostalCode::parse("920-096").unwrap_err().code(),
            "code.format"
        );
        assert_eq!(PostalCode::parse("").unwrap_err().code(), "code.empty");
        assert_eq!(
            PostalCode::from_number(600_000),
            PostalCode::parse("0600000").ok()
        );
        assert_eq!(PostalCode::from_number(10_000_000), None);
    }
}
