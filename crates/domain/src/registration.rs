//! 新規ユーザ登録申請 (DOMAIN §3.2–§3.6): the application's number, its statuses, the form of
//! step ⑥ and the checks that need no reference data. The address check against the postal
//! code (which needs the postal data) is the caller's, through `teikyo_refdata::address`.
//!
//! 機関判別区分: the seeds name the field but not its values (DOMAIN §11). Teikyo uses it for
//! which insurance designation the facility holds — 保険医療機関（医科）, 保険医療機関（歯科）,
//! 保険薬局, or none (助産所, or a facility without insurance practice) — because that is what
//! decides whether the 保険機関コード is required and which 点数表 digit it must carry, the
//! confusion the seeds report most (7- vs 10-digit codes, 医科 vs 歯科).

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::codes::FeeSchedule;
use crate::text::nfkc;
use crate::{
    FacilityCode, FacilityKind, InsuranceCode, MunicipalityCode, PostalCode, PrefectureCode,
};

/// 申請番号: `API-00001750` (the seeds' form, S1 ⑨).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApplicationNumber(pub i64);

impl fmt::Display for ApplicationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API-{:08}", self.0)
    }
}

impl ApplicationNumber {
    /// Accepts what people type: 全角, lower case, without the prefix or the zeros.
    pub fn parse(input: &str) -> Option<Self> {
        let s = nfkc(input).trim().to_ascii_uppercase();
        let digits = s
            .strip_prefix("API-")
            .or_else(|| s.strip_prefix("API"))
            .unwrap_or(&s);
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(Self)
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApplicationStatus {
    /// Address entered, 認証コード sent, not yet confirmed.
    Verifying,
    /// Address confirmed; the form is being filled in (can be resumed).
    Draft,
    /// 申請済み: waiting for the prefecture.
    Submitted,
    Approved,
    Rejected,
}

impl ApplicationStatus {
    pub const ALL: [Self; 5] = [
        Self::Verifying,
        Self::Draft,
        Self::Submitted,
        Self::Approved,
        Self::Rejected,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::Verifying => "verifying",
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.id() == id)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Verifying => "メールアドレス確認中",
            Self::Draft => "入力中",
            Self::Submitted => "審査待ち",
            Self::Approved => "承認",
            Self::Rejected => "却下",
        }
    }
}

/// What issuance did after approval (DOMAIN §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuanceOutcome {
    /// A new user (and, if needed, the facility) was created; 事前確認メール, then 利用案内メール.
    NewAccount,
    /// The facility's existing account got the 制度's right; 既存のご利用者確認依頼メール.
    PermissionAdded,
    /// The account already had the right: nothing issued, no mail.
    AlreadyPermitted,
}

impl IssuanceOutcome {
    pub fn id(self) -> &'static str {
        match self {
            Self::NewAccount => "new_account",
            Self::PermissionAdded => "permission_added",
            Self::AlreadyPermitted => "already_permitted",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        [
            Self::NewAccount,
            Self::PermissionAdded,
            Self::AlreadyPermitted,
        ]
        .into_iter()
        .find(|o| o.id() == id)
    }

    /// What the prefecture is told.
    pub fn label(self) -> &'static str {
        match self {
            Self::NewAccount => {
                "新しいアカウントを発行しました（事前確認メールと利用案内メールを送信します）"
            }
            Self::PermissionAdded => {
                "既存のアカウントに報告の権限を追加しました（既存のご利用者確認依頼メールを送信しました）"
            }
            Self::AlreadyPermitted => {
                "既存のアカウントに報告の権限があるため、アカウントは発行せず、メールも送信していません"
            }
        }
    }
}

/// 機関判別区分, as Teikyo defines it (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discriminator {
    MedicalInsurance,
    DentalInsurance,
    PharmacyInsurance,
    NoInsurance,
}

impl Discriminator {
    pub const ALL: [Self; 4] = [
        Self::MedicalInsurance,
        Self::DentalInsurance,
        Self::PharmacyInsurance,
        Self::NoInsurance,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Self::MedicalInsurance => "medical",
            Self::DentalInsurance => "dental",
            Self::PharmacyInsurance => "pharmacy",
            Self::NoInsurance => "none",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.id() == id.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::MedicalInsurance => "保険医療機関（医科）",
            Self::DentalInsurance => "保険医療機関（歯科）",
            Self::PharmacyInsurance => "保険薬局",
            Self::NoInsurance => "保険医療機関・保険薬局の指定なし",
        }
    }

    /// The 点数表 the 保険機関コード must carry; `None`: no code is entered.
    pub fn fee_schedule(self) -> Option<FeeSchedule> {
        match self {
            Self::MedicalInsurance => Some(FeeSchedule::Medical),
            Self::DentalInsurance => Some(FeeSchedule::Dental),
            Self::PharmacyInsurance => Some(FeeSchedule::Pharmacy),
            Self::NoInsurance => None,
        }
    }

    /// Whether a facility of `kind` can hold this designation.
    pub fn fits(self, kind: FacilityKind) -> bool {
        use FacilityKind as K;
        match self {
            Self::MedicalInsurance => matches!(kind, K::Hospital | K::Clinic),
            Self::DentalInsurance => matches!(kind, K::Hospital | K::DentalClinic),
            Self::PharmacyInsurance => kind == K::Pharmacy,
            Self::NoInsurance => true,
        }
    }
}

/// Step ⑥ as typed (every field a string, so a form with mistakes can be shown again as it was).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationForm {
    pub facility_name: String,
    pub facility_code: String,
    pub kind: String,
    pub discriminator: String,
    pub phone: String,
    pub insurance_code: String,
    pub postal_code: String,
    pub prefecture: String,
    pub municipality: String,
    pub town: String,
    pub building: String,
    pub department: String,
    pub family_name: String,
    pub given_name: String,
    pub department_phone: String,
}

/// One problem with one field: the field's `name` in the form, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Step ⑥ checked: typed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub facility_name: String,
    pub facility_code: Option<FacilityCode>,
    pub kind: FacilityKind,
    pub discriminator: Discriminator,
    pub phone: String,
    pub insurance_code: Option<InsuranceCode>,
    pub postal_code: PostalCode,
    pub prefecture: PrefectureCode,
    pub municipality: MunicipalityCode,
    pub town: String,
    pub building: Option<String>,
    pub department: String,
    pub family_name: String,
    pub given_name: String,
    pub department_phone: String,
}

impl Application {
    /// 所在地 as one line, from the prefecture on (what `teikyo_refdata::address::check` reads).
    pub fn address(&self, municipality_name: &str) -> String {
        let mut a = format!(
            "{}{}{}",
            self.prefecture.name(),
            municipality_name,
            self.town
        );
        if let Some(b) = &self.building {
            a.push(' ');
            a.push_str(b);
        }
        a
    }
}

const MAX_TEXT: usize = 200;

fn text(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    label: &str,
    value: &str,
    required: bool,
) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        if required {
            errors.push(FieldError::new(
                field,
                format!("{label}を入力してください。"),
            ));
        }
        return None;
    }
    if v.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(
            field,
            format!("{label}は{MAX_TEXT}文字以内で入力してください。"),
        ));
        return None;
    }
    if v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            format!("{label}に改行や制御文字は使えません。"),
        ));
        return None;
    }
    Some(v.to_owned())
}

/// A telephone number: digits and hyphens (全角 accepted), 10 or 11 digits.
fn phone(errors: &mut Vec<FieldError>, field: &'static str, label: &str, value: &str) -> String {
    let v = nfkc(value).trim().replace(['‐', '－', 'ー', '−'], "-");
    if v.is_empty() {
        errors.push(FieldError::new(
            field,
            format!("{label}を入力してください。"),
        ));
        return v;
    }
    if !crate::text::is_phone_number(&v) {
        errors.push(FieldError::new(
            field,
            format!(
                "{label}は市外局番から、数字とハイフンで入力してください（例：076-220-2211）。"
            ),
        ));
    }
    v
}

impl ApplicationForm {
    /// Every check that needs no reference data, all at once so the applicant can fix every
    /// field in one go. `municipality` is given as its 5- or 6-digit code (the form's select).
    pub fn validate(&self) -> Result<Application, Vec<FieldError>> {
        let mut e = Vec::new();
        let facility_name = text(&mut e, "facility_name", "機関名", &self.facility_name, true);
        let facility_code = match self.facility_code.trim() {
            "" => None,
            c => match FacilityCode::parse(c) {
                Ok(c) => Some(c),
                Err(err) => {
                    e.push(FieldError::new(
                        "facility_code",
                        format!("{err} 機関コードがない場合は空欄のままにしてください。"),
                    ));
                    None
                }
            },
        };
        let kind = match FacilityKind::parse(&self.kind) {
            Ok(k) => Some(k),
            Err(_) => {
                e.push(FieldError::new("kind", "機関区分を選んでください。"));
                None
            }
        };
        let discriminator = Discriminator::parse(&self.discriminator);
        if discriminator.is_none() {
            e.push(FieldError::new(
                "discriminator",
                "機関判別区分を選んでください。",
            ));
        }
        if let (Some(k), Some(d)) = (kind, discriminator)
            && !d.fits(k)
        {
            e.push(FieldError::new(
                "discriminator",
                format!(
                    "機関区分が「{}」の場合、機関判別区分に「{}」は選べません。",
                    k.name(),
                    d.label()
                ),
            ));
        }
        let phone_v = phone(&mut e, "phone", "電話番号", &self.phone);
        let prefecture = match PrefectureCode::parse(&self.prefecture) {
            Ok(p) => Some(p),
            Err(_) => {
                e.push(FieldError::new("prefecture", "都道府県を選んでください。"));
                None
            }
        };
        let insurance_code = match (self.insurance_code.trim(), discriminator) {
            ("", Some(d)) if d.fee_schedule().is_some() => {
                e.push(FieldError::new(
                    "insurance_code",
                    format!(
                        "{}の場合は、保険機関コード（10桁）を入力してください。",
                        d.label()
                    ),
                ));
                None
            }
            ("", _) => None,
            (c, d) => match InsuranceCode::parse(c) {
                Ok(code) => {
                    if let Some(fs) = d.and_then(Discriminator::fee_schedule)
                        && code.fee_schedule() != fs
                    {
                        e.push(FieldError::new(
                            "insurance_code",
                            format!(
                                "保険機関コードの3桁目（点数表番号）が{}（{}）ではありません。機関判別区分と保険機関コードをご確認ください。",
                                fs.name(),
                                fs.digit()
                            ),
                        ));
                    }
                    if let Some(p) = prefecture
                        && code.prefecture() != p
                    {
                        e.push(FieldError::new(
                            "insurance_code",
                            format!(
                                "保険機関コードの先頭2桁（{}）が、選んだ都道府県（{}）と一致しません。",
                                code.prefecture().name(),
                                p.name()
                            ),
                        ));
                    }
                    if d == Some(Discriminator::NoInsurance) {
                        e.push(FieldError::new(
                            "insurance_code",
                            "機関判別区分が「指定なし」の場合、保険機関コードは空欄にしてください。",
                        ));
                    }
                    Some(code)
                }
                Err(err) => {
                    e.push(FieldError::new("insurance_code", err.to_string()));
                    None
                }
            },
        };
        let postal_code = match PostalCode::parse(&self.postal_code) {
            Ok(p) => Some(p),
            Err(err) => {
                e.push(FieldError::new("postal_code", err.to_string()));
                None
            }
        };
        let municipality = match MunicipalityCode::parse(&self.municipality) {
            Ok(m) => {
                if let Some(p) = prefecture
                    && m.prefecture() != p
                {
                    e.push(FieldError::new(
                        "municipality",
                        "市区町村は、選んだ都道府県のものを選んでください。",
                    ));
                }
                Some(m)
            }
            Err(_) => {
                e.push(FieldError::new(
                    "municipality",
                    "市区町村を選んでください。",
                ));
                None
            }
        };
        let town = text(&mut e, "town", "町名・番地", &self.town, true);
        let building = text(&mut e, "building", "建物名", &self.building, false);
        let department = text(&mut e, "department", "担当部署", &self.department, true);
        let family_name = text(&mut e, "family_name", "担当者(姓)", &self.family_name, true);
        let given_name = text(&mut e, "given_name", "担当者(名)", &self.given_name, true);
        let department_phone = phone(
            &mut e,
            "department_phone",
            "担当部署電話番号",
            &self.department_phone,
        );
        if !e.is_empty() {
            return Err(e);
        }
        match (
            facility_name,
            kind,
            discriminator,
            postal_code,
            prefecture,
            municipality,
            town,
            department,
            family_name,
            given_name,
        ) {
            (
                Some(facility_name),
                Some(kind),
                Some(discriminator),
                Some(postal_code),
                Some(prefecture),
                Some(municipality),
                Some(town),
                Some(department),
                Some(family_name),
                Some(given_name),
            ) => Ok(Application {
                facility_name,
                facility_code,
                kind,
                discriminator,
                phone: phone_v,
                insurance_code,
                postal_code,
                prefecture,
                municipality,
                town,
                building,
                department,
                family_name,
                given_name,
                department_phone,
            }),
            // Every None above pushed an error.
            _ => Err(vec![FieldError::new(
                "facility_name",
                "入力内容をご確認ください。",
            )]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ApplicationForm {
        ApplicationForm {
            facility_name: "広坂クリニック".into(),
            facility_code: "".into(),
            kind: "2".into(),
            discriminator: "medical".into(),
            phone: "０７６－２２０－２２１１".into(),
            insurance_code: "1710112341".into(),
            postal_code: "920-0962".into(),
            prefecture: "17".into(),
            municipality: "172014".into(),
            town: "広坂1丁目1番1号".into(),
            building: "".into(),
            department: "事務部".into(),
            family_name: "金沢".into(),
            given_name: "花子".into(),
            department_phone: "076-220-2212".into(),
        }
    }

    #[test]
    fn numbers_print_and_parse_like_the_seeds() {
        assert_eq!(ApplicationNumber(1750).to_string(), "API-00001750");
        assert_eq!(
            ApplicationNumber::parse("API-00001750"),
            Some(ApplicationNumber(1750))
        );
        assert_eq!(
            ApplicationNumber::parse("ａｐｉ－００００１７５０"),
            Some(ApplicationNumber(1750))
        );
        assert_eq!(
            ApplicationNumber::parse("1750"),
            Some(ApplicationNumber(1750))
        );
        assert_eq!(ApplicationNumber::parse("API-"), None);
        assert_eq!(ApplicationNumber::parse("API-0"), None);
        assert_eq!(ApplicationNumber::parse("API-12x"), None);
    }

    #[test]
    fn a_complete_form_is_accepted_with_typed_values() {
        let a = good().validate().unwrap();
        assert_eq!(a.kind, FacilityKind::Clinic);
        assert_eq!(a.phone, "076-220-2211");
        assert_eq!(a.municipality.five(), "17201");
        assert_eq!(a.address("金沢市"), "石川県金沢市広坂1丁目1番1号");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = ApplicationForm::default().validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        for f in [
            "facility_name",
            "kind",
            "discriminator",
            "phone",
            "prefecture",
            "postal_code",
            "municipality",
            "town",
            "department",
            "family_name",
            "given_name",
            "department_phone",
        ] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
    }

    #[test]
    fn the_insurance_code_must_fit_the_discriminator_and_prefecture() {
        let mut f = good();
        f.discriminator = "dental".into();
        let e = f.validate().unwrap_err();
        assert!(e.iter().any(|e| e.field == "discriminator"), "{e:?}");
        f.kind = "1".into();
        let e = f.validate().unwrap_err();
        assert!(e[0].message.contains("点数表番号"), "{e:?}");
        let mut f = good();
        f.prefecture = "29".into();
        f.municipality = "292010".into();
        let e = f.validate().unwrap_err();
        assert!(e.iter().any(|e| e.message.contains("先頭2桁")), "{e:?}");
        let mut f = good();
        f.insurance_code = "".into();
        assert!(f.validate().is_err());
        f.discriminator = "none".into();
        assert!(f.validate().is_ok());
    }
}
