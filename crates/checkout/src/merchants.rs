//! Creating merchants and their first API keys (used by the CLI and the demo).

use crate::keys::generate_key;
use anycart_core::MerchantId;
use anycart_store::{ApiKeyKind, Merchant, Store};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Longest merchant name.
pub const MERCHANT_NAME_LEN_MAX: usize = 120;

/// A new merchant and its keys. The keys are shown once and never stored in clear.
#[derive(Debug)]
pub struct CreatedMerchant {
    pub merchant_id: MerchantId,
    pub name: String,
    pub publishable_key: SecretString,
    pub secret_key: SecretString,
}

/// The JSON printed by `anycart merchant create --json`.
#[derive(Serialize)]
pub struct CreatedMerchantJson<'a> {
    pub merchant_id: String,
    pub name: &'a str,
    pub publishable_key: &'a str,
    pub secret_key: &'a str,
}

impl CreatedMerchant {
    /// The one-time JSON view (exposes the keys on purpose: this is their only showing).
    pub fn to_json(&self) -> CreatedMerchantJson<'_> {
        CreatedMerchantJson {
            merchant_id: self.merchant_id.to_string(),
            name: &self.name,
            publishable_key: self.publishable_key.expose_secret(),
            secret_key: self.secret_key.expose_secret(),
        }
    }
}

/// Why a merchant could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateMerchantError {
    #[error("the merchant name must be 1 to {MERCHANT_NAME_LEN_MAX} characters")]
    Name,
    #[error(transparent)]
    Store(#[from] anycart_store::StoreError),
}

/// Creates a merchant with one publishable and one secret key.
pub async fn create_merchant(
    store: &Store,
    name: &str,
    now_ms: i64,
) -> Result<CreatedMerchant, CreateMerchantError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MERCHANT_NAME_LEN_MAX {
        return Err(CreateMerchantError::Name);
    }
    let id = MerchantId::new();
    let (publishable_key, pk) = generate_key(id, ApiKeyKind::Publishable, now_ms);
    let (secret_key, sk) = generate_key(id, ApiKeyKind::Secret, now_ms);
    let merchant = Merchant {
        id,
        name: name.to_string(),
        created_at_ms: now_ms,
    };
    store.create_merchant(&merchant, &[pk, sk]).await?;
    Ok(CreatedMerchant {
        merchant_id: id,
        name: name.to_string(),
        publishable_key,
        secret_key,
    })
}
