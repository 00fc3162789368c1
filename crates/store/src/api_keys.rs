//! A merchant's own API keys as the owner manages them: listed (hints only),
//! added, rotated (a new key and the old one revoked in one transaction) and
//! revoked. Placements' own publishable keys are managed with their placement
//! and are neither rotated nor revoked here.

use crate::merchants::{ApiKeyRecord, INSERT_API_KEY};
use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::{ApiKeyId, MerchantId};

/// A key as listed: its record and when it was revoked, if it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyListing {
    pub record: ApiKeyRecord,
    pub revoked_at_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ListingRow {
    id: String,
    merchant_id: String,
    kind: String,
    key_hash: String,
    hint: String,
    placement_id: Option<String>,
    created_at_ms: i64,
    revoked_at_ms: Option<i64>,
}

/// Newest first; placements' own keys are left out (see the module doc).
const SELECT_MERCHANT_KEYS: &str = r"
SELECT id, merchant_id, kind, key_hash, hint, placement_id, created_at_ms, revoked_at_ms
  FROM api_keys
 WHERE merchant_id = $1 AND placement_id IS NULL
 ORDER BY created_at_ms DESC, id DESC
 LIMIT 200";

/// Only a live key of the merchant's own (not a placement's) is revoked.
const REVOKE_KEY: &str = r"
UPDATE api_keys
   SET revoked_at_ms = $3
 WHERE id = $1 AND merchant_id = $2 AND placement_id IS NULL AND revoked_at_ms IS NULL
RETURNING kind";

impl Store {
    /// The merchant's own keys (live and revoked), newest first, at most 200.
    pub async fn list_api_keys(&self, merchant: MerchantId) -> StoreResult<Vec<ApiKeyListing>> {
        let rows: Vec<ListingRow> = sqlx::query_as(SELECT_MERCHANT_KEYS)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ApiKeyListing {
                    record: ApiKeyRecord {
                        id: parse_id(&r.id)?,
                        merchant_id: parse_id(&r.merchant_id)?,
                        kind: crate::merchants::kind_of(&r.kind),
                        key_hash: r.key_hash,
                        hint: r.hint,
                        placement_id: r.placement_id.as_deref().map(parse_id).transpose()?,
                        created_at_ms: r.created_at_ms,
                    },
                    revoked_at_ms: r.revoked_at_ms,
                })
            })
            .collect()
    }

    /// Adds a key of the merchant's own.
    pub async fn add_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        debug_assert!(key.placement_id.is_none());
        sqlx::query(INSERT_API_KEY)
            .bind(key.id.to_string())
            .bind(key.merchant_id.to_string())
            .bind(key.kind.as_str())
            .bind(key.key_hash.clone())
            .bind(key.hint.clone())
            .bind(None::<String>)
            .bind(key.created_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Revokes a live key of the merchant's own; [`StoreError::NotFound`] when it
    /// is unknown, another merchant's, a placement's or already revoked.
    pub async fn revoke_api_key(
        &self,
        merchant: MerchantId,
        id: ApiKeyId,
        now_ms: i64,
    ) -> StoreResult<()> {
        let done: Option<(String,)> = sqlx::query_as(REVOKE_KEY)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .bind(now_ms)
            .fetch_optional(&self.write)
            .await?;
        done.map(|_| ()).ok_or(StoreError::NotFound)
    }

    /// Replaces key `old` by `new` (of the same kind) in one transaction: either
    /// both happen or neither. [`StoreError::NotFound`] as for a revoke, or when
    /// the kinds differ.
    pub async fn rotate_api_key(
        &self,
        old: ApiKeyId,
        new: &ApiKeyRecord,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let revoked: Option<(String,)> = sqlx::query_as(REVOKE_KEY)
            .bind(old.to_string())
            .bind(new.merchant_id.to_string())
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
        match revoked {
            Some((kind,)) if kind == new.kind.as_str() => {}
            _ => return Err(StoreError::NotFound),
        }
        sqlx::query(INSERT_API_KEY)
            .bind(new.id.to_string())
            .bind(new.merchant_id.to_string())
            .bind(new.kind.as_str())
            .bind(new.key_hash.clone())
            .bind(new.hint.clone())
            .bind(None::<String>)
            .bind(new.created_at_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
