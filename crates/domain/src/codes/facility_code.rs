use super::{CodeError, FacilityKind, PrefectureCode, error::numeric};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 機関コード: the prefecture-assigned 10-digit number that links an account application to the
/// facility's data (DOMAIN §3.3, §8.4). Not the insurance code; it has no check digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FacilityCode(String);

impl FacilityCode {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        numeric(input, "機関コード", 10).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FacilityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FacilityCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        Self::parse(&s)
    }
}

impl From<FacilityCode> for String {
    fn from(c: FacilityCode) -> String {
        c.0
    }
}

/// 医療情報ネットID, the open data's `ID`: 都道府県 2 + 機関区分 1 + 機関コード 10 (DOMAIN §8.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PublicFacilityId {
    pub prefecture: PrefectureCode,
    pub kind: FacilityKind,
    pub facility_code: FacilityCode,
}

impl PublicFacilityId {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = numeric(input, "医療情報ネットID", 13)?;
        Ok(Self {
            prefecture: PrefectureCode::parse(&s[..2])?,
            kind: FacilityKind::parse(&s[2..3])?,
            facility_code: FacilityCode::parse(&s[3..])?,
        })
    }
}

impl fmt::Display for PublicFacilityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.prefecture,
            self.kind.code(),
            self.facility_code
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_public_id() {
        let id = PublicFacilityId::parse("1321316021489").unwrap();
        assert_eq!(id.prefecture.name(), "東京都");
        assert_eq!(id.kind, FacilityKind::Clinic);
        assert_eq!(id.facility_code.as_str(), "1316021489");
        assert_eq!(id.to_string(), "1321316021489");
        assert!(PublicFacilityId::parse("0161010000090").is_err());
    }
}
