//! What a bulk catalogue import needs besides the one-by-one writes: finding
//! variants by SKU (the merchant's own ids, also what UCP agents name items by),
//! replacing the whole shipping table, and creating or updating discount codes.

use crate::sql::in_list;
use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::pricing::{Discount, ShippingZone};
use anycart_core::{MerchantId, ProductId, VariantId};

/// Followed by the `IN` list of SKUs (from `$2`).
const SELECT_VARIANTS_BY_SKU: &str = r"
SELECT sku, id, product_id
  FROM variants
 WHERE merchant_id = $1 AND sku IN";

const DELETE_SHIPPING_ZONES: &str = r"
DELETE FROM shipping_zones
 WHERE merchant_id = $1";

const INSERT_SHIPPING_ZONE: &str = r"
INSERT INTO shipping_zones (id, merchant_id, doc, created_at_ms)
VALUES ($1, $2, $3, $4)";

/// Keeps the row's id and live redemption count; replaces the definition
/// (its limit included).
const UPSERT_DISCOUNT: &str = r"
INSERT INTO discounts (id, merchant_id, code, doc, times_redeemed, created_at_ms,
                       max_redemptions)
VALUES ($1, $2, $3, $4, 0, $5, $6)
ON CONFLICT (merchant_id, code)
DO UPDATE SET doc = excluded.doc, max_redemptions = excluded.max_redemptions";

const SELECT_DISCOUNT_ID: &str = r"
SELECT id
  FROM discounts
 WHERE merchant_id = $1 AND code = $2";

#[derive(sqlx::FromRow)]
struct SkuRow {
    sku: String,
    id: String,
    product_id: String,
}

/// A variant found by its SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantBySku {
    pub sku: String,
    pub variant: VariantId,
    pub product: ProductId,
}

impl Store {
    /// The merchant's variants among `skus` (unknown SKUs are absent).
    pub async fn variants_by_sku(
        &self,
        merchant: MerchantId,
        skus: &[String],
    ) -> StoreResult<Vec<VariantBySku>> {
        let mut out = Vec::with_capacity(skus.len());
        for chunk in skus.chunks(crate::batch::IN_LIST_MAX) {
            let sql = in_list(SELECT_VARIANTS_BY_SKU, 2, chunk.len(), "");
            let mut q = sqlx::query_as::<_, SkuRow>(sql).bind(merchant.to_string());
            for sku in chunk {
                q = q.bind(sku.clone());
            }
            for row in q.fetch_all(&self.read).await? {
                out.push(VariantBySku {
                    sku: row.sku,
                    variant: parse_id(&row.id)?,
                    product: parse_id(&row.product_id)?,
                });
            }
        }
        Ok(out)
    }

    /// Replaces all of a merchant's shipping zones with `zones`, in one
    /// transaction (an import's shipping table is the whole table).
    pub async fn replace_shipping_zones(
        &self,
        merchant: MerchantId,
        zones: &[ShippingZone],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query(DELETE_SHIPPING_ZONES)
            .bind(merchant.to_string())
            .execute(&mut *tx)
            .await?;
        for zone in zones {
            sqlx::query(INSERT_SHIPPING_ZONE)
                .bind(zone.id.to_string())
                .bind(merchant.to_string())
                .bind(serde_json::to_string(zone)?)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates a discount code, or replaces the definition of the existing code
    /// (keeping its id and how often it was redeemed). Returns the stored id.
    pub async fn upsert_discount(
        &self,
        merchant: MerchantId,
        discount: &Discount,
        now_ms: i64,
    ) -> StoreResult<String> {
        let existing: Option<String> = sqlx::query_scalar(SELECT_DISCOUNT_ID)
            .bind(merchant.to_string())
            .bind(discount.code.clone())
            .fetch_optional(&self.read)
            .await?;
        let id = existing.unwrap_or_else(|| discount.id.to_string());
        let mut stored = discount.clone();
        stored.id = parse_id(&id)?;
        sqlx::query(UPSERT_DISCOUNT)
            .bind(id.clone())
            .bind(merchant.to_string())
            .bind(stored.code.clone())
            .bind(serde_json::to_string(&stored)?)
            .bind(now_ms)
            .bind(stored.max_redemptions.map(i64::from))
            .execute(&self.write)
            .await
            .map_err(StoreError::from)?;
        Ok(id)
    }
}
