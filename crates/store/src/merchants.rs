//! Merchants (tenants) and their API keys (stored as SHA-256 hashes only).

use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::{ApiKeyId, MerchantId, PlacementId};

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
    /// The placement this key belongs to (a placement's own publishable key).
    pub placement_id: Option<PlacementId>,
    pub created_at_ms: i64,
}

/// The kind stored as `kind` (anything but `publishable` is a secret key, the
/// safer reading).
pub(crate) fn kind_of(kind: &str) -> ApiKeyKind {
    match kind {
        "publishable" => ApiKeyKind::Publishable,
        _ => ApiKeyKind::Secret,
    }
}

/// An `api_keys` row.
#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: String,
    merchant_id: String,
    kind: String,
    key_hash: String,
    hint: String,
    placement_id: Option<String>,
    created_at_ms: i64,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> StoreResult<Self> {
        let kind = kind_of(&row.kind);
        Ok(ApiKeyRecord {
            id: parse_id(&row.id)?,
            merchant_id: parse_id(&row.merchant_id)?,
            kind,
            key_hash: row.key_hash,
            hint: row.hint,
            placement_id: row.placement_id.as_deref().map(parse_id).transpose()?,
            created_at_ms: row.created_at_ms,
        })
    }
}

/// An unrevoked key as authentication reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveApiKey {
    pub record: ApiKeyRecord,
    /// An enabled agent platform calls with this key (its record is then read
    /// with [`Store::agent_platform_of_key`]).
    pub agent_platform: bool,
    /// The merchant's configuration generation, read in the same statement:
    /// the key and its platform flag are at least as new as it (any change to
    /// them bumps it, migration 0026), so a node may keep the key while the
    /// generation stays the same.
    pub generation: i64,
}

#[derive(sqlx::FromRow)]
struct LiveApiKeyRow {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    agent_platform: i64,
    generation: i64,
}

/// A `merchants` row.
#[derive(sqlx::FromRow)]
struct MerchantRow {
    id: String,
    name: String,
    created_at_ms: i64,
}

impl TryFrom<MerchantRow> for Merchant {
    type Error = StoreError;

    fn try_from(row: MerchantRow) -> StoreResult<Self> {
        Ok(Merchant {
            id: parse_id(&row.id)?,
            name: row.name,
            created_at_ms: row.created_at_ms,
        })
    }
}

const INSERT_MERCHANT: &str = r"
INSERT INTO merchants (id, name, created_at_ms)
VALUES ($1, $2, $3)";

/// Also run by `create_placement` (a placement's own publishable key).
pub(crate) const INSERT_API_KEY: &str = r"
INSERT INTO api_keys (id, merchant_id, kind, key_hash, hint, placement_id, created_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// The key, and whether an enabled agent platform calls with it: one read for
/// what every checkout request's authentication needs (most keys are not a
/// platform's, and then no second read is made).
const SELECT_LIVE_API_KEY_BY_HASH: &str = r"
SELECT k.id, k.merchant_id, k.kind, k.key_hash, k.hint, k.placement_id, k.created_at_ms,
       CAST(CASE WHEN EXISTS (SELECT 1
                                FROM agent_platforms p
                               WHERE p.api_key_id = k.id AND p.disabled_at_ms IS NULL)
                 THEN 1 ELSE 0 END AS BIGINT) AS agent_platform,
       COALESCE((SELECT g.generation
                   FROM merchant_config_generations g
                  WHERE g.merchant_id = k.merchant_id), 0) AS generation
  FROM api_keys k
 WHERE k.key_hash = $1 AND k.revoked_at_ms IS NULL";

const SELECT_MERCHANT_BY_ID: &str = r"
SELECT id, name, created_at_ms
  FROM merchants
 WHERE id = $1";

impl Store {
    /// Creates a merchant together with its first keys, atomically.
    pub async fn create_merchant(
        &self,
        merchant: &Merchant,
        keys: &[ApiKeyRecord],
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(INSERT_MERCHANT)
            .bind(merchant.id.to_string())
            .bind(merchant.name.clone())
            .bind(merchant.created_at_ms)
            .execute(&mut *tx)
            .await?;
        for key in keys {
            debug_assert_eq!(key.merchant_id, merchant.id);
            sqlx::query(INSERT_API_KEY)
                .bind(key.id.to_string())
                .bind(key.merchant_id.to_string())
                .bind(key.kind.as_str())
                .bind(key.key_hash.clone())
                .bind(key.hint.clone())
                .bind(key.placement_id.map(|p| p.to_string()))
                .bind(key.created_at_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Looks up an unrevoked key by the hash of the presented secret.
    pub async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRecord>> {
        Ok(self.find_live_api_key(key_hash).await?.map(|k| k.record))
    }

    /// [`Store::find_api_key`], with whether an enabled agent platform calls
    /// with the key and the merchant's configuration generation (read in the
    /// same statement).
    pub async fn find_live_api_key(&self, key_hash: &str) -> StoreResult<Option<LiveApiKey>> {
        let Some(row) = sqlx::query_as::<_, LiveApiKeyRow>(SELECT_LIVE_API_KEY_BY_HASH)
            .bind(key_hash.to_string())
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(LiveApiKey {
            record: ApiKeyRecord::try_from(row.key)?,
            agent_platform: row.agent_platform != 0,
            generation: row.generation,
        }))
    }

    /// One merchant.
    pub async fn get_merchant(&self, id: MerchantId) -> StoreResult<Option<Merchant>> {
        sqlx::query_as::<_, MerchantRow>(SELECT_MERCHANT_BY_ID)
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(Merchant::try_from)
            .transpose()
    }
}
