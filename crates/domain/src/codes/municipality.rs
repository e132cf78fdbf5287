use super::{CodeError, PrefectureCode, digits, error::numeric, is_digits};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 市区町村コード (JIS X 0402 / 全国地方公共団体コード): 都道府県 2 + 市区町村 3 + check digit
/// = 6 digits, e.g. `172014` 金沢市. Prefectures themselves are `xx000c`.
///
/// A parsed code has a valid check digit; whether it exists *today* is a question for the
/// reference data (`teikyo_refdata::municipalities`), since municipalities merge and split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MunicipalityCode(u32);

impl MunicipalityCode {
    /// Parses the 6-digit form and verifies the check digit. The 5-digit form without check digit
    /// is accepted too (older files and the MHLW masters use it); its check digit is computed.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = crate::text::code_chars(input);
        if is_digits(&s, 5) {
            return Self::from_five(&s);
        }
        let s = numeric(&s, "市区町村コード", 6)?;
        let expected = Self::check_digit(&s[..5]);
        if s.as_bytes()[5] as char != expected {
            return Err(CodeError::MunicipalityCheckDigit { input: s, expected });
        }
        Self::from_five(&s[..5])
    }

    /// From 都道府県 2 + 市区町村 3 digits, adding the check digit.
    pub fn from_five(code5: &str) -> Result<Self, CodeError> {
        let s = numeric(code5, "市区町村コード（5桁）", 5)?;
        PrefectureCode::parse(&s[..2])?;
        let cd = Self::check_digit(&s);
        let n: u32 = format!("{s}{cd}").parse().map_err(|_| CodeError::Format {
            what: "市区町村コード",
            len: 6,
            input: s.clone(),
        })?;
        Ok(Self(n))
    }

    /// From the open data's 3-digit `市区町村コード` and the row's prefecture (DOMAIN §8.5).
    pub fn from_prefecture_and_three(pref: PrefectureCode, code3: &str) -> Result<Self, CodeError> {
        let s = numeric(code3, "市区町村コード（3桁）", 3)?;
        Self::from_five(&format!("{pref}{s}"))
    }

    /// `(11 − (6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5) mod 11) mod 10` (DOMAIN §9.3).
    /// `code5` must be five ASCII digits.
    pub fn check_digit(code5: &str) -> char {
        let sum: u32 = digits(code5).zip([6, 5, 4, 3, 2]).map(|(d, w)| d * w).sum();
        let cd = (11 - sum % 11) % 10;
        char::from(b'0' + cd as u8)
    }

    pub fn prefecture(self) -> PrefectureCode {
        // `from_five` verified the prefecture part, so this is always 1..=47.
        PrefectureCode((self.0 / 10_000) as u8)
    }

    /// The 5-digit form without check digit.
    pub fn five(self) -> String {
        format!("{:05}", self.0 / 10)
    }

    /// The open data's 3-digit form.
    pub fn three(self) -> String {
        format!("{:03}", (self.0 / 10) % 1000)
    }

    /// `xx000c`: the code of a prefecture itself rather than a municipality.
    pub fn is_prefecture(self) -> bool {
        (self.0 / 10).is_multiple_of(1000)
    }

    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl TryFrom<String> for MunicipalityCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        Self::parse(&s)
    }
}

impl From<MunicipalityCode> for String {
    fn from(c: MunicipalityCode) -> String {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        assert_eq!(
            MunicipalityCode::parse("131016").unwrap().to_string(),
            "131016"
        );
        assert_eq!(
            MunicipalityCode::parse("172014")
                .unwrap()
                .prefecture()
                .name(),
            "石川県"
        );
        // remainder 0 → check digit 1
        assert_eq!(
            MunicipalityCode::parse("440001").unwrap().to_string(),
            "440001"
        );
        assert!(MunicipalityCode::parse("440001").unwrap().is_prefecture());
        assert_eq!(
            MunicipalityCode::parse("17201").unwrap().to_string(),
            "172014"
        );
        assert_eq!(
            MunicipalityCode::parse("１７２０１４").unwrap().three(),
            "201"
        );
    }

    #[test]
    fn wrong_check_digit_names_the_right_one() {
        let e = MunicipalityCode::parse("172015").unwrap_err();
        assert_eq!(e.code(), "municipality_code.check_digit");
        assert!(e.to_string().contains("正しくは 4"), "{e}");
    }

    #[test]
    fn three_digit_open_data_form() {
        let p = PrefectureCode::parse("13").unwrap();
        let c = MunicipalityCode::from_prefecture_and_three(p, "101").unwrap();
        assert_eq!(c.to_string(), "131016");
    }
}
