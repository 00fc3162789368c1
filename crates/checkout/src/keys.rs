//! API keys and other random secrets: generation, hashing, and looking a caller up.
//!
//! Keys are 32 random bytes shown once (`pk_…`/`sk_…`); only their SHA-256 is
//! stored. A fast hash is right here (unlike passwords): the keys carry 256 bits of
//! entropy, so there is nothing to brute-force, and lookups stay O(1).

use crate::CheckoutService;
use anycart_core::{ApiKeyId, MerchantId};
use anycart_store::{ApiKeyKind, ApiKeyRecord, LiveApiKey, StoreError};
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// Longest key (or token) anycart looks up; anything longer is refused unread.
pub const PRESENTED_KEY_LEN_MAX: usize = 128;

/// Hex SHA-256 of a presented key or token.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// `n` random bytes from the thread's CSPRNG, hex encoded.
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new key of `kind` for `merchant`: the plaintext (show once) and its record.
pub fn generate_key(
    merchant: MerchantId,
    kind: ApiKeyKind,
    now_ms: i64,
) -> (SecretString, ApiKeyRecord) {
    let prefix = match kind {
        ApiKeyKind::Publishable => "pk_",
        ApiKeyKind::Secret => "sk_",
    };
    let key = format!("{prefix}{}", random_hex::<32>());
    let record = ApiKeyRecord {
        id: ApiKeyId::new(),
        merchant_id: merchant,
        kind,
        key_hash: hash_key(&key),
        hint: format!("{prefix}…{}", &key[key.len() - 4..]),
        placement_id: None,
        created_at_ms: now_ms,
    };
    (SecretString::from(key), record)
}

/// Random hex token for unguessable URLs (order status pages).
pub fn random_token() -> String {
    random_hex::<24>()
}

/// 32 random bytes, hex: a process-local secret when none is configured.
pub fn random_secret() -> SecretString {
    SecretString::from(random_hex::<32>())
}

impl CheckoutService {
    /// The key record behind a presented key, if it is one of ours (with
    /// whether an agent platform calls with it).
    pub async fn authenticate(&self, presented: &str) -> Result<Option<LiveApiKey>, StoreError> {
        let presented = presented.trim();
        if presented.is_empty() || presented.len() > PRESENTED_KEY_LEN_MAX {
            return Ok(None);
        }
        self.merchant_configs
            .live_key(&self.store, &hash_key(presented))
            .await
    }

    /// A new key of `kind` for `merchant`: the plaintext (shown once) and its record.
    pub async fn create_api_key(
        &self,
        merchant: MerchantId,
        kind: ApiKeyKind,
    ) -> Result<(SecretString, ApiKeyRecord), StoreError> {
        let (key, record) = generate_key(merchant, kind, self.now_ms());
        self.store.add_api_key(&record).await?;
        tracing::info!(merchant_id = %merchant, key_id = %record.id, "api key created");
        Ok((key, record))
    }

    /// Revokes one of `merchant`'s own keys at once (`NotFound` for unknown,
    /// revoked, other merchants' and placements' keys).
    pub async fn revoke_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
    ) -> Result<(), StoreError> {
        self.store
            .revoke_api_key(merchant, id, self.now_ms())
            .await?;
        tracing::info!(merchant_id = %merchant, key_id = %id, "api key revoked");
        Ok(())
    }

    /// Replaces one of `merchant`'s own keys by a new one of the same kind,
    /// atomically: the old key stops working the moment the new one exists.
    pub async fn rotate_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        kind: ApiKeyKind,
    ) -> Result<(SecretString, ApiKeyRecord), StoreError> {
        let (key, record) = generate_key(merchant, kind, self.now_ms());
        self.store
            .rotate_api_key(id, &record, self.now_ms())
            .await?;
        tracing::info!(merchant_id = %merchant, old_key_id = %id, key_id = %record.id, "api key rotated");
        Ok((key, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn keys_are_prefixed_random_and_hashed() {
        let m = MerchantId::new();
        let (a, ra) = generate_key(m, ApiKeyKind::Publishable, 0);
        let (b, rb) = generate_key(m, ApiKeyKind::Secret, 0);
        assert!(a.expose_secret().starts_with("pk_") && b.expose_secret().starts_with("sk_"));
        assert_eq!(ra.key_hash, hash_key(a.expose_secret()));
        assert_ne!(ra.key_hash, rb.key_hash);
        assert!(!ra.hint.contains(&a.expose_secret()[3..20]));
        assert_eq!(a.expose_secret().len(), 3 + 64);
    }
}
