//! Password hashes: argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1, the OWASP
//! recommendation), stored as PHC strings so that the parameters can be raised later without
//! breaking existing hashes. Passwords are NFKC-normalised first, so a password typed in 全角 once
//! and 半角 the next time (the seeds' most common slip) is the same password. The async versions
//! run on the blocking pool: one hash takes tens of milliseconds and 19 MiB.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The PHC string of a new hash with a fresh random salt.
pub fn hash_password_blocking(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(nfkc(password).as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored hash; a malformed hash matches nothing.
pub fn verify_password_blocking(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(nfkc(password).as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_password_blocking(&password))
        .await
        .map_err(|e| e.to_string())?
}

pub async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password_blocking(&hash, &password))
        .await
        .unwrap_or(false)
}

fn nfkc(s: &str) -> String {
    teikyo_domain::text::nfkc(s)
}

/// Verified when no user matched, so that an unknown user name costs as long as a wrong
/// password (no account enumeration by timing).
pub(crate) async fn burn_time(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY
        .get_or_init(|| hash_password_blocking("Teikyo-timing-equaliser-1").unwrap_or_default())
        .clone();
    let _ = verify_password(hash, password.to_owned()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password_blocking("Teikyo2026").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password_blocking(&h, "Teikyo2026"));
        assert!(
            verify_password_blocking(&h, "Ｔｅｉｋｙｏ２０２６"),
            "全角 is the same"
        );
        assert!(!verify_password_blocking(&h, "teikyo2026"));
        assert!(!verify_password_blocking("not a hash", "Teikyo2026"));
        assert_ne!(h, hash_password_blocking("Teikyo2026").unwrap(), "salted");
    }
}
