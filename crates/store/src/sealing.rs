//! Platform credentials sealed at rest (AES-256-GCM).
//!
//! Access tokens and client secrets let anyone who reads the database act as the
//! merchant on their platform, so the `credentials` column holds them encrypted
//! with a key that lives outside the database (`ANYCART_CREDENTIALS_KEY`, or a
//! key file next to the SQLite file). The merchant id is the associated data, so
//! a sealed value copied to another merchant's row does not open. Values written
//! before sealing was configured stay readable and are sealed on their next write.

use crate::{Store, StoreError, StoreResult};
use anycart_core::MerchantId;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::sync::Arc;

/// Prefix of a sealed value (version 1: AES-256-GCM, base64 of nonce ‖ ciphertext ‖ tag).
const SEALED_PREFIX: &str = "sealed:v1:";
/// Key length in bytes.
pub const CREDENTIALS_KEY_BYTES: usize = 32;

/// The key that seals platform credentials. Its bytes are never printed.
#[derive(Clone)]
pub struct CredentialsKey(Arc<RandomizedNonceKey>);

impl std::fmt::Debug for CredentialsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialsKey(..)")
    }
}

impl CredentialsKey {
    /// From 32 key bytes given as standard base64 (what `generate` returns).
    pub fn from_base64(encoded: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Corrupt("the credentials key must be 32 bytes in base64".into());
        let bytes = B64.decode(encoded.trim()).map_err(|_| bad())?;
        if bytes.len() != CREDENTIALS_KEY_BYTES {
            return Err(bad());
        }
        RandomizedNonceKey::new(&AES_256_GCM, &bytes)
            .map(|k| CredentialsKey(Arc::new(k)))
            .map_err(|_| bad())
    }

    /// A fresh random key, base64-encoded (for a key file or the environment).
    pub fn generate() -> String {
        let mut bytes = [0u8; CREDENTIALS_KEY_BYTES];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
        B64.encode(bytes)
    }

    fn seal(&self, merchant: MerchantId, plaintext: &str) -> StoreResult<String> {
        let mut buf = plaintext.as_bytes().to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(merchant.to_string()), &mut buf)
            .map_err(|_| StoreError::Corrupt("sealing credentials failed".into()))?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{SEALED_PREFIX}{}", B64.encode(out)))
    }

    fn open(&self, merchant: MerchantId, sealed: &str) -> StoreResult<String> {
        let wrong = || {
            StoreError::Corrupt(format!(
                "credentials of {merchant} do not open with this credentials key (was the key changed?)"
            ))
        };
        let bytes = B64.decode(sealed).map_err(|_| wrong())?;
        if bytes.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut rest = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(merchant.to_string()), &mut rest)
            .map_err(|_| wrong())?;
        String::from_utf8(plain.to_vec()).map_err(|_| wrong())
    }
}

impl Store {
    /// This store sealing platform credentials with `key` from now on.
    pub fn with_credentials_key(self, key: CredentialsKey) -> Store {
        Store {
            credentials_key: Some(key),
            ..self
        }
    }

    /// What the `credentials` column stores for `plaintext`.
    pub(crate) fn seal_credentials(
        &self,
        merchant: MerchantId,
        plaintext: &str,
    ) -> StoreResult<String> {
        match &self.credentials_key {
            Some(key) => key.seal(merchant, plaintext),
            None => Ok(plaintext.to_string()),
        }
    }

    /// The credentials behind a stored value (sealed or, from before sealing, plain).
    pub(crate) fn open_credentials(
        &self,
        merchant: MerchantId,
        stored: &str,
    ) -> StoreResult<String> {
        match (stored.strip_prefix(SEALED_PREFIX), &self.credentials_key) {
            (None, _) => Ok(stored.to_string()),
            (Some(sealed), Some(key)) => key.open(merchant, sealed),
            (Some(_), None) => Err(StoreError::Corrupt(
                "platform credentials are sealed but no credentials key is configured (ANYCART_CREDENTIALS_KEY)".into(),
            )),
        }
    }
}
