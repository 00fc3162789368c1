//! Merchant platform connections, platform-id mappings and import cursors: the
//! store side of "anycart extends the merchant's own platform".

use crate::connection_settings::PlatformSettings;
use crate::{Store, StoreError, StoreResult};
use anycart_core::MerchantId;

/// A merchant's connection to its commerce platform.
#[derive(Clone, Debug)]
pub struct ConnectionRecord {
    pub merchant_id: MerchantId,
    /// Which platform and how to reach it, secrets included (sealed at rest,
    /// redacted in `Debug`).
    pub settings: PlatformSettings,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl ConnectionRecord {
    /// `native`, `shopify`, `salesforce` or `adobe`.
    pub fn platform(&self) -> &'static str {
        self.settings.platform()
    }

    /// The shop's own domain (e.g. `example.myshopify.com`), or the sender domain for native.
    pub fn shop_domain(&self) -> &str {
        self.settings.shop_domain()
    }

    /// The platform's API origin when it is not derived from the domain.
    pub fn base_url(&self) -> Option<&str> {
        self.settings.base_url()
    }
}

/// What an external platform id stands for in anycart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalKind {
    Product,
    Variant,
    /// Shopify's `InventoryItem` (one per variant): what stock webhooks name.
    InventoryItem,
    Location,
}

impl ExternalKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Variant => "variant",
            Self::InventoryItem => "inventory_item",
            Self::Location => "location",
        }
    }
}

/// Where a catalogue import stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportCursor {
    /// Opaque platform cursor of the next page (`None` = start).
    pub cursor: Option<String>,
    /// True once the last page was imported.
    pub done: bool,
}

/// A `merchant_connections` row; its credentials open only with the store's key.
#[derive(sqlx::FromRow)]
struct ConnectionRow {
    platform: String,
    shop_domain: String,
    base_url: Option<String>,
    credentials: String,
    settings: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    /// Only read by [`Store::get_connection_any_state`].
    #[sqlx(default)]
    disabled_at_ms: Option<i64>,
}

impl ConnectionRow {
    fn into_record(self, merchant: MerchantId, store: &Store) -> StoreResult<ConnectionRecord> {
        let sealed: serde_json::Value =
            serde_json::from_str(&store.open_credentials(merchant, &self.credentials)?)?;
        let settings = if sealed.get("platform").is_some() {
            serde_json::from_value(sealed)?
        } else {
            // Written before the typed settings: secrets here, options in `settings`.
            PlatformSettings::from_legacy(
                &self.platform,
                &self.shop_domain,
                self.base_url.as_deref(),
                sealed,
                serde_json::from_str(&self.settings)?,
            )?
        };
        Ok(ConnectionRecord {
            merchant_id: merchant,
            settings,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

/// An `import_cursors` row.
#[derive(sqlx::FromRow)]
struct ImportCursorRow {
    cursor_value: Option<String>,
    done: i64,
}

impl TryFrom<ImportCursorRow> for ImportCursor {
    type Error = StoreError;

    fn try_from(row: ImportCursorRow) -> StoreResult<Self> {
        Ok(ImportCursor {
            cursor: row.cursor_value,
            done: match row.done {
                0 => false,
                1 => true,
                n => return Err(StoreError::Corrupt(format!("import done flag {n}"))),
            },
        })
    }
}

/// `created_at_ms` is kept from the first write.
const UPSERT_CONNECTION: &str = r"
INSERT INTO merchant_connections (merchant_id, platform, shop_domain, base_url, credentials,
                                  settings, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (merchant_id) DO UPDATE
   SET platform = excluded.platform,
       shop_domain = excluded.shop_domain,
       base_url = excluded.base_url,
       credentials = excluded.credentials,
       settings = excluded.settings,
       updated_at_ms = excluded.updated_at_ms,
       disabled_at_ms = NULL";

/// Disabled connections (the app was uninstalled) are as good as none.
const SELECT_CONNECTION: &str = r"
SELECT platform, shop_domain, base_url, credentials, settings, created_at_ms, updated_at_ms
  FROM merchant_connections
 WHERE merchant_id = $1 AND disabled_at_ms IS NULL";

/// Enabled or not: what webhook intake verifies deliveries with.
const SELECT_CONNECTION_ANY_STATE: &str = r"
SELECT platform, shop_domain, base_url, credentials, settings, created_at_ms, updated_at_ms,
       disabled_at_ms
  FROM merchant_connections
 WHERE merchant_id = $1";

const DISABLE_CONNECTION: &str = r"
UPDATE merchant_connections
   SET disabled_at_ms = $2
 WHERE merchant_id = $1 AND disabled_at_ms IS NULL";

const SELECT_CONNECTED_MERCHANTS_PAGE: &str = r"
SELECT merchant_id
  FROM merchant_connections
 WHERE platform <> 'native' AND disabled_at_ms IS NULL AND merchant_id > $1
 ORDER BY merchant_id
 LIMIT $2";

/// Re-linking an external id moves it: the platform is the truth.
const UPSERT_EXTERNAL_ID: &str = r"
INSERT INTO external_ids (merchant_id, platform, kind, external_id, internal_id)
VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (merchant_id, platform, kind, external_id) DO UPDATE
   SET internal_id = excluded.internal_id";

const SELECT_INTERNAL_ID: &str = r"
SELECT internal_id
  FROM external_ids
 WHERE merchant_id = $1
   AND platform = $2
   AND kind = $3
   AND external_id = $4";

/// Several external ids may name one internal id; the smallest wins, for determinism.
const SELECT_EXTERNAL_ID: &str = r"
SELECT external_id
  FROM external_ids
 WHERE merchant_id = $1
   AND platform = $2
   AND kind = $3
   AND internal_id = $4
 ORDER BY external_id
 LIMIT 1";

const SELECT_IMPORT_CURSOR: &str = r"
SELECT cursor_value, done
  FROM import_cursors
 WHERE merchant_id = $1 AND platform = $2 AND resource = $3";

const UPSERT_IMPORT_CURSOR: &str = r"
INSERT INTO import_cursors (merchant_id, platform, resource, cursor_value, done, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (merchant_id, platform, resource) DO UPDATE
   SET cursor_value = excluded.cursor_value,
       done = excluded.done,
       updated_at_ms = excluded.updated_at_ms";

impl Store {
    /// Creates or replaces `merchant`'s platform connection.
    pub async fn upsert_connection(&self, c: &ConnectionRecord) -> StoreResult<()> {
        let sealed = serde_json::to_string(&c.settings)?;
        sqlx::query(UPSERT_CONNECTION)
            .bind(c.merchant_id.to_string())
            .bind(c.platform())
            .bind(c.shop_domain().to_string())
            .bind(c.base_url().map(String::from))
            .bind(self.seal_credentials(c.merchant_id, &sealed)?)
            .bind(c.settings.public_view().to_string())
            .bind(c.created_at_ms)
            .bind(c.updated_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// `merchant`'s platform connection, if it has one.
    pub async fn get_connection(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Option<ConnectionRecord>> {
        sqlx::query_as::<_, ConnectionRow>(SELECT_CONNECTION)
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| row.into_record(merchant, self))
            .transpose()
    }

    /// `merchant`'s platform connection, enabled or disabled, with when it was
    /// disabled: webhook intake still verifies (and acts on the compliance topics
    /// of) a shop whose app was uninstalled.
    pub async fn get_connection_any_state(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Option<(ConnectionRecord, Option<i64>)>> {
        let Some(row) = sqlx::query_as::<_, ConnectionRow>(SELECT_CONNECTION_ANY_STATE)
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let disabled_at_ms = row.disabled_at_ms;
        Ok(Some((row.into_record(merchant, self)?, disabled_at_ms)))
    }

    /// Disables `merchant`'s connection (the platform app was uninstalled): it
    /// reads as no connection from now on, so nothing more is pushed, until it is
    /// saved again. False when there was no enabled connection.
    pub async fn disable_connection(&self, merchant: MerchantId, now_ms: i64) -> StoreResult<bool> {
        let changed = sqlx::query(DISABLE_CONNECTION)
            .bind(merchant.to_string())
            .bind(now_ms)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Merchants connected to an outside platform (not `native`), in id order after
    /// `after`, at most `limit`: what periodic reconciliation walks.
    pub async fn connected_merchants(
        &self,
        after: Option<MerchantId>,
        limit: i64,
    ) -> StoreResult<Vec<MerchantId>> {
        let after = after.map(|m| m.to_string()).unwrap_or_default();
        sqlx::query_scalar::<_, String>(SELECT_CONNECTED_MERCHANTS_PAGE)
            .bind(after)
            .bind(crate::page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|id| crate::parse_id(id))
            .collect()
    }

    /// Records that the platform's `external_id` of `kind` is anycart's `internal_id`.
    /// Re-linking the same external id moves it (the platform is the truth).
    pub async fn link_external_id(
        &self,
        merchant: MerchantId,
        platform: &str,
        kind: ExternalKind,
        external_id: &str,
        internal_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(UPSERT_EXTERNAL_ID)
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(kind.as_str())
            .bind(external_id.to_string())
            .bind(internal_id.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The anycart id behind a platform id, if linked.
    pub async fn external_to_internal(
        &self,
        merchant: MerchantId,
        platform: &str,
        kind: ExternalKind,
        external_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(SELECT_INTERNAL_ID)
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(kind.as_str())
            .bind(external_id.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    /// The platform id linked to anycart's `internal_id` (e.g. the Shopify variant
    /// an order line must name).
    pub async fn internal_to_external(
        &self,
        merchant: MerchantId,
        platform: &str,
        kind: ExternalKind,
        internal_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(SELECT_EXTERNAL_ID)
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(kind.as_str())
            .bind(internal_id.to_string())
            .fetch_optional(&self.read)
            .await?)
    }

    /// Where the import of `resource` stands (a fresh start when never run).
    pub async fn import_cursor(
        &self,
        merchant: MerchantId,
        platform: &str,
        resource: &str,
    ) -> StoreResult<ImportCursor> {
        let row = sqlx::query_as::<_, ImportCursorRow>(SELECT_IMPORT_CURSOR)
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(resource.to_string())
            .fetch_optional(&self.read)
            .await?;
        match row {
            None => Ok(ImportCursor {
                cursor: None,
                done: false,
            }),
            Some(row) => row.try_into(),
        }
    }

    /// Saves where the import of `resource` stands (after each page, so a crash
    /// resumes at the next page instead of the start).
    pub async fn save_import_cursor(
        &self,
        merchant: MerchantId,
        platform: &str,
        resource: &str,
        cursor: &ImportCursor,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(UPSERT_IMPORT_CURSOR)
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(resource.to_string())
            .bind(cursor.cursor.clone())
            .bind(crate::flag(cursor.done))
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
