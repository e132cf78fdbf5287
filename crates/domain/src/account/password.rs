//! The password rule of the seeds (S2, パスワードを変更する): 8文字以上, 1個以上の大文字,
//! 1個以上の小文字, 1個以上の数値.

use super::{AccountError, PasswordProblems};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    NoUpper,
    NoLower,
    NoDigit,
}

impl PasswordProblem {
    /// The seed's wording, as listed on the setting screen.
    pub fn requirement(self) -> &'static str {
        match self {
            Self::TooShort => "8文字以上",
            Self::NoUpper => "1個以上の大文字",
            Self::NoLower => "1個以上の小文字",
            Self::NoDigit => "1個以上の数値",
        }
    }

    pub const RULES: [PasswordProblem; 4] =
        [Self::TooShort, Self::NoUpper, Self::NoLower, Self::NoDigit];
}

/// Checks a new password against every rule at once. Letters and digits count in their 半角 form
/// (NFKC), since people type them in 全角 too; the password itself is kept as typed.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let folded = crate::text::nfkc(password);
    let mut problems = Vec::new();
    if password.chars().count() < 8 {
        problems.push(PasswordProblem::TooShort);
    }
    if !folded.chars().any(|c| c.is_ascii_uppercase()) {
        problems.push(PasswordProblem::NoUpper);
    }
    if !folded.chars().any(|c| c.is_ascii_lowercase()) {
        problems.push(PasswordProblem::NoLower);
    }
    if !folded.chars().any(|c| c.is_ascii_digit()) {
        problems.push(PasswordProblem::NoDigit);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AccountError::Password(PasswordProblems(problems)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_rule() {
        assert!(check_password("Teikyo2026").is_ok());
        assert!(check_password("Aa345678").is_ok());
        let Err(AccountError::Password(p)) = check_password("abc") else {
            panic!("accepted");
        };
        assert_eq!(
            p.0,
            vec![
                PasswordProblem::TooShort,
                PasswordProblem::NoUpper,
                PasswordProblem::NoDigit
            ]
        );
        assert_eq!(
            AccountError::Password(p).to_string(),
            "パスワードには、少なくとも次のものを含めてください: 8文字以上、1個以上の大文字、1個以上の数値。"
        );
        assert!(check_password("ALLUPPER123").is_err());
    }
}
