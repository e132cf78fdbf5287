use super::CodeError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// 機関区分 (DOMAIN §9.1). The number is the open-data `機関区分` and the file prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    Hospital,
    Clinic,
    DentalClinic,
    MidwiferyHome,
    Pharmacy,
}

/// The 制度 a facility reports under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Program {
    MedicalFunction,
    PharmacyFunction,
}

impl Program {
    pub const ALL: [Program; 2] = [Program::MedicalFunction, Program::PharmacyFunction];

    /// The 制度's name as the home screen's buttons show it (DOMAIN §3.8).
    pub fn name(self) -> &'static str {
        match self {
            Self::MedicalFunction => "医療機能情報提供制度",
            Self::PharmacyFunction => "薬局機能情報提供制度",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            Self::MedicalFunction => "medical",
            Self::PharmacyFunction => "pharmacy",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.id() == id)
    }
}

impl FacilityKind {
    pub const ALL: [FacilityKind; 5] = [
        FacilityKind::Hospital,
        FacilityKind::Clinic,
        FacilityKind::DentalClinic,
        FacilityKind::MidwiferyHome,
        FacilityKind::Pharmacy,
    ];

    /// By its id (`hospital`, …), as item sets and URLs name it.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = crate::text::code_chars(input);
        match s.as_str() {
            "1" => Ok(Self::Hospital),
            "2" => Ok(Self::Clinic),
            "3" => Ok(Self::DentalClinic),
            "4" => Ok(Self::MidwiferyHome),
            "5" => Ok(Self::Pharmacy),
            "" => Err(CodeError::Empty {
                what: "機関区分"
            }),
            _ => Self::ALL
                .into_iter()
                .find(|k| k.id() == s || k.name() == s)
                .ok_or(CodeError::UnknownFacilityKind(input.trim().to_owned())),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Self::Hospital => 1,
            Self::Clinic => 2,
            Self::DentalClinic => 3,
            Self::MidwiferyHome => 4,
            Self::Pharmacy => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Japanese name as in 機関区分.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hospital => "病院",
            Self::Clinic => "診療所",
            Self::DentalClinic => "歯科診療所",
            Self::MidwiferyHome => "助産所",
            Self::Pharmacy => "薬局",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Clinic => "clinic",
            Self::DentalClinic => "dental clinic",
            Self::MidwiferyHome => "midwifery home",
            Self::Pharmacy => "pharmacy",
        }
    }

    /// snake_case id used in URLs, storage and `data/codes/facility_kinds.tsv`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Clinic => "clinic",
            Self::DentalClinic => "dental_clinic",
            Self::MidwiferyHome => "midwifery_home",
            Self::Pharmacy => "pharmacy",
        }
    }

    pub fn program(self) -> Program {
        match self {
            Self::Pharmacy => Program::PharmacyFunction,
            _ => Program::MedicalFunction,
        }
    }

    /// Whether the kind reports beds (病院 always; 診療所 when 有床). 歯科・助産所・薬局 never.
    pub fn may_have_beds(self) -> bool {
        matches!(self, Self::Hospital | Self::Clinic)
    }
}

impl fmt::Display for FacilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for k in FacilityKind::ALL {
            assert_eq!(FacilityKind::parse(&k.code().to_string()).unwrap(), k);
            assert_eq!(FacilityKind::parse(k.name()).unwrap(), k);
            assert_eq!(FacilityKind::parse(k.id()).unwrap(), k);
        }
        assert_eq!(FacilityKind::parse("５").unwrap(), FacilityKind::Pharmacy);
        assert_eq!(
            FacilityKind::parse("6").unwrap_err().code(),
            "facility_kind.unknown"
        );
    }
}
