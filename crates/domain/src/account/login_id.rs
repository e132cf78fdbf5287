//! User names (ユーザ名／ログインID).
//!
//! The seeds' most common failure is a user ID typed in 全角 or in the wrong case (S0 Q3): the
//! reset then fails silently. A `LoginId` is therefore always stored and compared in one form —
//! NFKC, trimmed, ASCII lower case — so `ＡＢｃ１２３` and `abc123` are the same user. IDs Teikyo
//! generates avoid characters that look alike on paper or in a mail font (0/o, 1/l/i).

use super::AccountError;
use crate::text::nfkc;

/// Letters and digits of generated IDs: no 0, o, 1, l, i.
pub const GENERATED_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Length of generated IDs: 31^8 ≈ 8.5 × 10^11, ample for every user in Japan.
pub const GENERATED_LEN: usize = 8;

const MIN: usize = 3;
const MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LoginId(String);

impl LoginId {
    /// What a person typed, normalised; refuses characters no ID can contain.
    pub fn parse(input: &str) -> Result<Self, AccountError> {
        let folded: String = nfkc(input).trim().to_ascii_lowercase();
        if folded.is_empty() {
            return Err(AccountError::LoginIdEmpty);
        }
        if let Some(c) = folded.chars().find(|c| !is_id_char(*c)) {
            return Err(AccountError::LoginIdChar(c));
        }
        let n = folded.chars().count();
        if !(MIN..=MAX).contains(&n) {
            return Err(AccountError::LoginIdLength { min: MIN, max: MAX });
        }
        Ok(Self(folded))
    }

    /// A new ID from random bytes (the caller's CSPRNG). Bytes are mapped to the alphabet by
    /// rejection so that every character is equally likely; `None` if the bytes ran out.
    pub fn generate(random: &[u8]) -> Option<Self> {
        let n = GENERATED_ALPHABET.len();
        // The largest multiple of n that fits in a byte: bytes above it would bias the draw.
        let limit = 256 - 256 % n;
        let id: String = random
            .iter()
            .filter(|b| usize::from(**b) < limit)
            .take(GENERATED_LEN)
            .map(|b| char::from(GENERATED_ALPHABET[usize::from(*b) % n]))
            .collect();
        (id.len() == GENERATED_LEN).then_some(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LoginId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@' | '+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_upper_case_are_the_same_id() {
        assert_eq!(LoginId::parse("ＡＢｃ１２３").unwrap().as_str(), "abc123");
        assert_eq!(
            LoginId::parse(" Abc123 ").unwrap(),
            LoginId::parse("abc123").unwrap()
        );
        assert_eq!(
            LoginId::parse("Tanto@Clinic.example.JP").unwrap().as_str(),
            "tanto@clinic.example.jp"
        );
    }

    #[test]
    fn bad_ids_say_why() {
        assert_eq!(
            LoginId::parse("  ").unwrap_err(),
            AccountError::LoginIdEmpty
        );
        assert_eq!(
            LoginId::parse("ab").unwrap_err().code(),
            "account.login_id.length"
        );
        let err = LoginId::parse("山田taro").unwrap_err();
        assert_eq!(err, AccountError::LoginIdChar('山'));
        assert!(err.to_string().contains("「山」"));
        assert_eq!(
            LoginId::parse("a b c").unwrap_err(),
            AccountError::LoginIdChar(' ')
        );
    }

    #[test]
    fn generated_ids_use_only_unambiguous_characters() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        for chunk in bytes.chunks(16) {
            if let Some(id) = LoginId::generate(chunk) {
                assert_eq!(id.as_str().len(), GENERATED_LEN);
                assert!(id.as_str().bytes().all(|b| GENERATED_ALPHABET.contains(&b)));
                assert!(!id.as_str().contains(['0', 'o', '1', 'l', 'i']));
                assert_eq!(LoginId::parse(id.as_str()).unwrap(), id);
            }
        }
        // bytes that would bias the draw are skipped, and too few bytes give nothing
        assert_eq!(LoginId::generate(&[255; 32]), None);
        assert_eq!(LoginId::generate(&[0; 7]), None);
        assert_eq!(LoginId::generate(&[0; 8]).unwrap().as_str(), "aaaaaaaa");
    }
}
