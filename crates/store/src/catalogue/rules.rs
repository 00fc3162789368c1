//! A merchant's pricing rules: shipping zones and tax rates (JSON documents read
//! whole) and discount codes (a document plus a live redemption count).

use crate::{Store, StoreResult};
use anycart_core::MerchantId;
use anycart_core::pricing::{Discount, ShippingZone, TaxRate};

const INSERT_SHIPPING_ZONE: &str = r"
INSERT INTO shipping_zones (id, merchant_id, doc, created_at_ms)
VALUES ($1, $2, $3, $4)";

const SELECT_SHIPPING_ZONES: &str = r"
SELECT doc
  FROM shipping_zones
 WHERE merchant_id = $1
 ORDER BY id";

const INSERT_TAX_RATE: &str = r"
INSERT INTO tax_rates (id, merchant_id, doc, created_at_ms)
VALUES ($1, $2, $3, $4)";

const SELECT_TAX_RATES: &str = r"
SELECT doc
  FROM tax_rates
 WHERE merchant_id = $1
 ORDER BY id";

/// The code is a column too: its uniqueness per merchant is a constraint. So is
/// the redemption limit: the order's transaction enforces it.
const INSERT_DISCOUNT: &str = r"
INSERT INTO discounts (id, merchant_id, code, doc, times_redeemed, created_at_ms,
                       max_redemptions)
VALUES ($1, $2, $3, $4, 0, $5, $6)";

/// `times_redeemed` is the live count (completions update the column, not the doc).
const SELECT_DISCOUNTS: &str = r"
SELECT doc, times_redeemed
  FROM discounts
 WHERE merchant_id = $1
 ORDER BY id";

/// A `discounts` row.
#[derive(sqlx::FromRow)]
struct DiscountRow {
    doc: String,
    times_redeemed: i64,
}

impl Store {
    /// Adds a shipping zone with its rates.
    pub async fn create_shipping_zone(
        &self,
        merchant: MerchantId,
        zone: &ShippingZone,
        now_ms: i64,
    ) -> StoreResult<()> {
        let doc = serde_json::to_string(zone)?;
        self.insert_doc(
            INSERT_SHIPPING_ZONE,
            zone.id.to_string(),
            merchant,
            doc,
            now_ms,
        )
        .await
    }

    /// All shipping zones of a merchant.
    pub async fn list_shipping_zones(
        &self,
        merchant: MerchantId,
    ) -> StoreResult<Vec<ShippingZone>> {
        self.list_docs(SELECT_SHIPPING_ZONES, merchant).await
    }

    /// Adds a tax rate.
    pub async fn create_tax_rate(
        &self,
        merchant: MerchantId,
        rate: &TaxRate,
        now_ms: i64,
    ) -> StoreResult<()> {
        let doc = serde_json::to_string(rate)?;
        self.insert_doc(INSERT_TAX_RATE, rate.id.to_string(), merchant, doc, now_ms)
            .await
    }

    /// All tax rates of a merchant.
    pub async fn list_tax_rates(&self, merchant: MerchantId) -> StoreResult<Vec<TaxRate>> {
        self.list_docs(SELECT_TAX_RATES, merchant).await
    }

    /// Adds a discount code ([`crate::StoreError::Duplicate`] when the code exists).
    pub async fn create_discount(
        &self,
        merchant: MerchantId,
        discount: &Discount,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_DISCOUNT)
            .bind(discount.id.to_string())
            .bind(merchant.to_string())
            .bind(discount.code.clone())
            .bind(serde_json::to_string(discount)?)
            .bind(now_ms)
            .bind(discount.max_redemptions.map(i64::from))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// All discount codes, with their live redemption counts.
    pub async fn list_discounts(&self, merchant: MerchantId) -> StoreResult<Vec<Discount>> {
        sqlx::query_as::<_, DiscountRow>(SELECT_DISCOUNTS)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|row| {
                let mut d: Discount = serde_json::from_str(&row.doc)?;
                d.times_redeemed = u32::try_from(row.times_redeemed).unwrap_or(u32::MAX);
                Ok(d)
            })
            .collect()
    }

    /// Runs `insert` (`id, merchant_id, doc, created_at_ms` as `$1`…`$4`).
    async fn insert_doc(
        &self,
        insert: &'static str,
        id: String,
        merchant: MerchantId,
        doc: String,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(insert)
            .bind(id)
            .bind(merchant.to_string())
            .bind(doc)
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Runs `select` (one `doc` column, `merchant_id` as `$1`) and decodes each doc.
    async fn list_docs<T: serde::de::DeserializeOwned>(
        &self,
        select: &'static str,
        merchant: MerchantId,
    ) -> StoreResult<Vec<T>> {
        let docs: Vec<String> = sqlx::query_scalar(select)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?;
        docs.iter()
            .map(|doc| Ok(serde_json::from_str(doc)?))
            .collect()
    }
}
