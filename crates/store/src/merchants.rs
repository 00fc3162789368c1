//! Merchants (tenants) and their API keys (stored as SHA-256 hashes only).

use crate::{Store, StoreResult, parse_id};
use anycart_core::{ApiKeyId, MerchantId};
use sqlx::Row;

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    pub id: MerchantId,
    pub name: String,
    pub created_at_ms: i64,
}

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKeyKind {
    /// `pk_…`: safe in a web page; drives checkout sessions only.
    Publishable,
    /// `sk_…`: admin API, server-to-server, agents.
    Secret,
}

impl ApiKeyKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiKeyKind::Publishable => "publishable",
            ApiKeyKind::Secret => "secret",
        }
    }
}

/// A stored key: its hash and a short hint for humans, never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub merchant_id: MerchantId,
    pub kind: ApiKeyKind,
    /// Hex SHA-256 of the full key.
    pub key_hash: String,
    /// e.g. `sk_…a1b2`, for listing keys without revealing them.
    pub hint: String,
    pub created_at_ms: i64,
}

impl Store {
    /// Creates a merchant together with its first keys, atomically.
    pub async fn create_merchant(
        &self,
        merchant: &Merchant,
        keys: &[ApiKeyRecord],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO merchants (id, name, created_at_ms) VALUES ($1, $2, $3)")
            .bind(merchant.id.to_string())
            .bind(merchant.name.clone())
            .bind(merchant.created_at_ms)
            .execute(&mut *tx)
            .await?;
        for key in keys {
            debug_assert_eq!(key.merchant_id, merchant.id);
            sqlx::query("INSERT INTO api_keys (id, merchant_id, kind, key_hash, hint, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(key.id.to_string())
                .bind(key.merchant_id.to_string())
                .bind(key.kind.as_str())
                .bind(key.key_hash.clone())
                .bind(key.hint.clone())
                .bind(key.created_at_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Looks up an unrevoked key by the hash of the presented secret.
    pub async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        let row = sqlx::query("SELECT id, merchant_id, kind, key_hash, hint, created_at_ms FROM api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL")
            .bind(key_hash.to_string())
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let kind = match row.try_get::<String, _>("kind")?.as_str() {
            "publishable" => ApiKeyKind::Publishable,
            _ => ApiKeyKind::Secret,
        };
        Ok(Some(ApiKeyRecord {
            id: parse_id(&row.try_get::<String, _>("id")?)?,
            merchant_id: parse_id(&row.try_get::<String, _>("merchant_id")?)?,
            kind,
            key_hash: row.try_get("key_hash")?,
            hint: row.try_get("hint")?,
            created_at_ms: row.try_get("created_at_ms")?,
        }))
    }

    /// One merchant.
    pub async fn get_merchant(&self, id: MerchantId) -> StoreResult<Option<Merchant>> {
        let row = sqlx::query("SELECT id, name, created_at_ms FROM merchants WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(Merchant {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                name: r.try_get("name")?,
                created_at_ms: r.try_get("created_at_ms")?,
            })
        })
        .transpose()
    }
}
