//! Single-use tokens for links in mails. The link carries the token; the database keeps only its
//! SHA-256, so a leaked database holds no usable link. Tokens are short (16 characters, ~95 bits)
//! so that links stay on one line in mail clients (S3 No.5).

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const TOKEN_LEN: usize = 16;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Goes into the link; never stored.
    pub plain: String,
    /// Goes into the database.
    pub hash: String,
}

/// Written by hand: the plain token is a credential and must not reach a log line.
impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("plain", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

pub fn new_token() -> NewToken {
    new_token_of(TOKEN_LEN)
}

/// A token of `len` characters; session ids are longer than mailed tokens (they never have to
/// fit on a line, and live for hours).
pub fn new_token_of(len: usize) -> NewToken {
    let mut rng = rand::rng();
    let limit = 256 - 256 % ALPHABET.len();
    let mut plain = String::with_capacity(len);
    while plain.len() < len {
        let mut byte = [0u8; 1];
        rng.fill_bytes(&mut byte);
        // Rejection keeps every character equally likely.
        if usize::from(byte[0]) < limit {
            plain.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    let hash = hash_token(&plain);
    NewToken { plain, hash }
}

/// Whether `s` could be one of our mailed tokens (16 letters and digits): anything else is not
/// looked up at all.
pub fn is_plausible_token(s: &str) -> bool {
    s.len() == TOKEN_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The stored form of a token (also of a session id).
pub fn hash_token(plain: &str) -> String {
    Sha256::digest(plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_short_distinct_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.plain.len(), TOKEN_LEN);
        assert!(a.plain.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a.plain, b.plain);
        assert_eq!(a.hash, hash_token(&a.plain));
        assert_eq!(a.hash.len(), 64);
        assert!(!format!("{a:?}").contains(&a.plain));
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
