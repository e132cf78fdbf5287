//! Password hashes: argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1, the OWASP
//! recommendation), stored as PHC strings so that the parameters can be raised later without
//! breaking existing hashes.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The PHC string of a new hash with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash; a malformed hash matches nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verified when no user matched, so that an unknown user name costs as long as a wrong
/// password (no account enumeration by timing).
pub(crate) fn burn_time(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("Teikyo-timing-equaliser-1").unwrap_or_default());
    let _ = verify_password(hash, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("Teikyo2026").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password(&h, "Teikyo2026"));
        assert!(!verify_password(&h, "teikyo2026"));
        assert!(!verify_password("not a hash", "Teikyo2026"));
        assert_ne!(h, hash_password("Teikyo2026").unwrap(), "salted");
    }
}
