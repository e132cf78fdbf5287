use super::{CodeError, error::numeric};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 都道府県コード (JIS X 0401): `01` 北海道 … `47` 沖縄県. Kept as its number; shown with the
/// leading zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PrefectureCode(pub(super) u8);

/// Names in code order. `data/codes/prefectures.tsv` carries the same names with kana and romaji;
/// a test keeps the two in step.
const NAMES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

impl PrefectureCode {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = crate::text::code_chars(input);
        // "1" for 北海道 is common in spreadsheets that dropped the leading zero.
        let s = if s.len() == 1 { format!("0{s}") } else { s };
        let s = numeric(&s, "都道府県コード", 2)?;
        let n: u8 = s
            .parse()
            .map_err(|_| CodeError::UnknownPrefecture(s.clone()))?;
        Self::new(n).ok_or(CodeError::UnknownPrefecture(s))
    }

    pub fn new(n: u8) -> Option<Self> {
        (1..=47).contains(&n).then_some(Self(n))
    }

    pub fn all() -> impl Iterator<Item = Self> {
        (1..=47).map(Self)
    }

    /// The prefecture whose name the text starts with (「石川県金沢市…」 → 17). No prefecture's
    /// name is a prefix of another's, so the first match is the only one.
    pub fn from_name_prefix(text: &str) -> Option<Self> {
        Self::all().find(|p| text.starts_with(p.name()))
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().find(|p| p.name() == name)
    }

    pub fn number(self) -> u8 {
        self.0
    }

    pub fn as_str(self) -> String {
        format!("{:02}", self.0)
    }

    pub fn name(self) -> &'static str {
        NAMES[usize::from(self.0 - 1)]
    }

    /// 埼玉・千葉・東京・神奈川, whose insurance codes use the 7-digit check rule (DOMAIN §9.4).
    pub fn uses_seven_digit_insurance_rule(self) -> bool {
        (11..=14).contains(&self.0)
    }
}

impl fmt::Display for PrefectureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl TryFrom<String> for PrefectureCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        Self::parse(&s)
    }
}

impl From<PrefectureCode> for String {
    fn from(p: PrefectureCode) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_names() {
        assert_eq!(PrefectureCode::parse("17").unwrap().name(), "石川県");
        assert_eq!(PrefectureCode::parse("１").unwrap().to_string(), "01");
        assert!(PrefectureCode::parse("48").is_err());
        assert!(PrefectureCode::parse("00").is_err());
        assert_eq!(
            PrefectureCode::from_name_prefix("京都府京都市")
                .unwrap()
                .number(),
            26
        );
        assert_eq!(
            PrefectureCode::from_name_prefix("東京都千代田区")
                .unwrap()
                .number(),
            13
        );
        assert!(PrefectureCode::from_name_prefix("金沢市広坂").is_none());
    }
}
