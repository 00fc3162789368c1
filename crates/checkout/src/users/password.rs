//! Password hashing: argon2id with the crate's default parameters (19 MiB, two
//! passes, one lane: OWASP's recommended minimum), a 16-byte random salt, stored
//! as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) so the parameters can be
//! raised later without breaking stored hashes.

use crate::{CheckoutError, CheckoutResult};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;

/// Salt bytes per hash.
const SALT_BYTES: usize = 16;

/// The PHC string of `password` under a fresh salt.
pub fn hash(password: &str) -> CheckoutResult<String> {
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill_bytes(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CheckoutError::invalid("$.password", format!("cannot hash: {e}")))
}

/// True when `password` matches the PHC string `stored` (false for a malformed one).
pub fn verify(password: &str, stored: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored)
        .is_ok()
}

/// Hashes `password` and throws the result away: the time a real check takes,
/// spent on an unknown email so a timing does not tell which emails exist.
pub fn burn(password: &str) {
    let _ = hash(password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("correct horse battery", "not a phc string"));
    }
}
