use super::{CodeError, PrefectureCode, digits, error::numeric};
use serde::{Deserialize, Serialize};
use std::fmt;

/// 点数表番号 (S0: 点数区分番号), the third digit of an insurance code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeSchedule {
    /// 1 医科
    Medical,
    /// 3 歯科
    Dental,
    /// 4 調剤 (薬局)
    Pharmacy,
}

impl FeeSchedule {
    pub fn digit(self) -> u8 {
        match self {
            Self::Medical => 1,
            Self::Dental => 3,
            Self::Pharmacy => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Medical => "医科",
            Self::Dental => "歯科",
            Self::Pharmacy => "薬局",
        }
    }
}

/// Which check-digit rule a code satisfied (DOMAIN §9.4). Recorded with the code so that a later
/// review can see codes that only pass the unusual rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDigitRule {
    /// Luhn over the 9-digit payload 都道府県 + 点数表 + 郡市区 + 番号.
    Standard,
    /// Luhn over the 6 digits 郡市区 + 番号 only: what the published codes of 埼玉・千葉・東京・
    /// 神奈川 (11–14) satisfy.
    SevenDigit,
}

impl CheckDigitRule {
    pub fn id(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::SevenDigit => "seven_digit",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "標準（10桁）",
            Self::SevenDigit => "7桁部分（埼玉・千葉・東京・神奈川方式）",
        }
    }
}

/// 保険医療機関コード / 薬局コード: 都道府県 2 + 点数表 1 + 郡市区 2 + 番号 4 + 検証番号 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InsuranceCode {
    digits: String,
    rule: CheckDigitRule,
}

/// Luhn check digit: weights 2, 1, 2, … from the rightmost payload digit, two-digit products
/// summed digit-wise, `(10 − sum mod 10) mod 10`.
fn luhn(payload: &str) -> u32 {
    let v: Vec<u32> = digits(payload).collect();
    let sum: u32 = v
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

impl InsuranceCode {
    /// Parses and checks a 10-digit code. Accepts the code if either rule holds; for 11–14 the
    /// 7-digit rule is tried first (it is what they use), elsewhere the standard one.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = numeric(input, "保険医療機関コード", 10)?;
        let pref = PrefectureCode::parse(&s[..2])?;
        if !matches!(s.as_bytes()[2], b'1' | b'3' | b'4') {
            return Err(CodeError::UnknownFeeSchedule { input: s });
        }
        let check = u32::from(s.as_bytes()[9] - b'0');
        let standard = luhn(&s[..9]);
        let seven_digit = luhn(&s[3..9]);
        let order = if pref.uses_seven_digit_insurance_rule() {
            [CheckDigitRule::SevenDigit, CheckDigitRule::Standard]
        } else {
            [CheckDigitRule::Standard, CheckDigitRule::SevenDigit]
        };
        let rule = order.into_iter().find(|r| match r {
            CheckDigitRule::Standard => standard == check,
            CheckDigitRule::SevenDigit => seven_digit == check,
        });
        match rule {
            Some(rule) => Ok(Self { digits: s, rule }),
            None => Err(CodeError::InsuranceCheckDigit {
                input: s,
                standard,
                seven_digit,
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn rule(&self) -> CheckDigitRule {
        self.rule
    }

    pub fn prefecture(&self) -> PrefectureCode {
        PrefectureCode((self.digits.as_bytes()[0] - b'0') * 10 + (self.digits.as_bytes()[1] - b'0'))
    }

    pub fn fee_schedule(&self) -> FeeSchedule {
        match self.digits.as_bytes()[2] {
            b'3' => FeeSchedule::Dental,
            b'4' => FeeSchedule::Pharmacy,
            _ => FeeSchedule::Medical,
        }
    }

    /// The 7-digit code of the 厚生局 lists (郡市区 + 番号 + 検証番号).
    pub fn seven_digit(&self) -> &str {
        &self.digits[3..]
    }
}

impl fmt::Display for InsuranceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn full_width_code_valid_by_standard_rule() {
        let c = InsuranceCode::parse("０１１０１１３７１９").unwrap();
        assert_eq!(c.as_str(), "0110113719");
        assert_eq!(c.rule(), CheckDigitRule::Standard);
        assert_eq!(c.fee_schedule(), FeeSchedule::Medical);
        assert_eq!(c.prefecture().name(), "北海道");
        assert_eq!(c.seven_digit(), "0113719");
        assert_eq!(
            InsuranceCode::parse("0110113420").unwrap().rule(),
            CheckDigitRule::Standard
        );
    }

    #[test]
    fn tokyo_code_valid_by_seven_digit_rule() {
        let c = InsuranceCode::parse("1310110049").unwrap();
        assert_eq!(c.rule(), CheckDigitRule::SevenDigit);
        assert_eq!(c.prefecture().name(), "東京都");
    }

    #[test]
    fn wrong_check_digit_is_rejected_with_reason() {
        let e = InsuranceCode::parse("0110113718").unwrap_err();
        assert_eq!(e.code(), "insurance_code.check_digit");
        assert_eq!(
            e,
            CodeError::InsuranceCheckDigit {
                input: "0110113718".into(),
                standard: 9,
                seven_digit: 2
            }
        );
        assert!(e.to_string().contains("標準の計算では 9"), "{e}");
    }

    #[test]
    fn other_rejections() {
        assert_eq!(
            InsuranceCode::parse("0120113719").unwrap_err().code(),
            "insurance_code.fee_schedule"
        );
        assert_eq!(
            InsuranceCode::parse("4810113719").unwrap_err().code(),
            "prefecture_code.unknown"
        );
        assert_eq!(
            InsuranceCode::parse("011011371").unwrap_err().code(),
            "code.format"
        );
        assert_eq!(
            InsuranceCode::parse("0113719").unwrap_err().code(),
            "code.format"
        );
    }

    proptest! {
        /// Any payload completed with its standard Luhn digit parses; changing the check digit to
        /// a value that neither rule gives is rejected.
        #[test]
        fn luhn_completion_round_trips(pref in 1u8..=47, fs in prop::sample::select(vec![1u8, 3, 4]), rest in 0u32..1_000_000) {
            let payload = format!("{pref:02}{fs}{rest:06}");
            let cd = luhn(&payload);
            let code = format!("{payload}{cd}");
            prop_assert!(InsuranceCode::parse(&code).is_ok());
            let seven = luhn(&payload[3..]);
            if let Some(bad) = (0..10).find(|d| *d != cd && *d != seven) {
                let e = InsuranceCode::parse(&format!("{payload}{bad}")).unwrap_err();
                prop_assert_eq!(e.code(), "insurance_code.check_digit");
            }
        }
    }
}
