//! API keys: generation, hashing, and the extractors that authenticate callers.
//!
//! Keys are 32 random bytes shown once (`pk_live_…`/`sk_live_…`); only their SHA-256
//! is stored. A fast hash is right here (unlike passwords): the keys carry 256 bits
//! of entropy, so there is nothing to brute-force, and lookups stay O(1).

use crate::error::ApiError;
use crate::state::AppState;
use anycart_core::{ApiKeyId, MerchantId};
use anycart_store::{ApiKeyKind, ApiKeyRecord};
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Hex SHA-256 of a presented key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new key of `kind` for `merchant`: the plaintext (show once) and its record.
pub fn generate_key(
    merchant: MerchantId,
    kind: ApiKeyKind,
    now_ms: i64,
) -> (secrecy::SecretString, ApiKeyRecord) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let prefix = match kind {
        ApiKeyKind::Publishable => "pk_",
        ApiKeyKind::Secret => "sk_",
    };
    let key = format!("{prefix}{}", hex::encode(bytes));
    let record = ApiKeyRecord {
        id: ApiKeyId::new(),
        merchant_id: merchant,
        kind,
        key_hash: hash_key(&key),
        hint: format!("{prefix}…{}", &key[key.len() - 4..]),
        created_at_ms: now_ms,
    };
    (secrecy::SecretString::from(key), record)
}

/// Random hex token for unguessable URLs (order status pages).
pub fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An authenticated caller (publishable or secret key).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub merchant: MerchantId,
    pub kind: ApiKeyKind,
    pub key_id: ApiKeyId,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized =
            |msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", msg);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("Authorization: Bearer <pk_… or sk_…> is required."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(|| unauthorized("The Authorization header must be `Bearer <key>`."))?;
        let record = state
            .store
            .find_api_key(&hash_key(token))
            .await?
            .ok_or_else(|| unauthorized("The API key is not valid."))?;
        tracing::Span::current().record("merchant_id", tracing::field::display(record.merchant_id));
        Ok(Caller {
            merchant: record.merchant_id,
            kind: record.kind,
            key_id: record.id,
        })
    }
}

/// A caller holding a secret key (admin API).
#[derive(Clone, Copy, Debug)]
pub struct SecretCaller(pub Caller);

impl FromRequestParts<AppState> for SecretCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.kind != ApiKeyKind::Secret {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "secret_key_required",
                "This endpoint needs a secret key (sk_…); publishable keys may only drive checkout sessions.",
            ));
        }
        Ok(SecretCaller(caller))
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
