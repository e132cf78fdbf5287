use thiserror::Error;

/// Why a code was rejected. `code()` is stable (used in JSON errors and tests); `Display` is the
/// Japanese message shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error("{what}を入力してください。")]
    Empty { what: &'static str },
    #[error("{what}は半角または全角の数字{len}桁で入力してください（入力値: {input}）。")]
    Format {
        what: &'static str,
        len: usize,
        input: String,
    },
    #[error("都道府県コードは 01（北海道）から 47（沖縄県）の範囲です（入力値: {0}）。")]
    UnknownPrefecture(String),
    #[error("機関区分は 1（病院）から 5（薬局）のいずれかです（入力値: {0}）。")]
    UnknownFacilityKind(String),
    #[error(
        "市区町村コード {input} の検査数字が正しくありません（正しくは {expected} です）。番号をご確認ください。"
    )]
    MunicipalityCheckDigit { input: String, expected: char },
    #[error(
        "保険医療機関コード {input} の点数表番号（3桁目）は 1（医科）、3（歯科）、4（薬局）のいずれかです。"
    )]
    UnknownFeeSchedule { input: String },
    #[error(
        "保険医療機関コード {input} の検証番号（10桁目）が一致しません。標準の計算では {standard}、7桁部分の計算（埼玉・千葉・東京・神奈川の方式）では {seven_digit} になります。番号をご確認ください。"
    )]
    InsuranceCheckDigit {
        input: String,
        standard: u32,
        seven_digit: u32,
    },
}

impl CodeError {
    /// Stable machine-readable code, e.g. `postal_code.format`.
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Empty { .. } => "code.empty",
            CodeError::Format { .. } => "code.format",
            CodeError::UnknownPrefecture(_) => "prefecture_code.unknown",
            CodeError::UnknownFacilityKind(_) => "facility_kind.unknown",
            CodeError::MunicipalityCheckDigit { .. } => "municipality_code.check_digit",
            CodeError::UnknownFeeSchedule { .. } => "insurance_code.fee_schedule",
            CodeError::InsuranceCheckDigit { .. } => "insurance_code.check_digit",
        }
    }
}

/// Shared front half of every numeric-code parser: normalise, refuse empty input, demand
/// exactly `len` ASCII digits.
pub(crate) fn numeric(input: &str, what: &'static str, len: usize) -> Result<String, CodeError> {
    let s = crate::text::code_chars(input);
    if s.is_empty() {
        return Err(CodeError::Empty { what });
    }
    if !super::is_digits(&s, len) {
        return Err(CodeError::Format {
            what,
            len,
            input: input.trim().to_owned(),
        });
    }
    Ok(s)
}
