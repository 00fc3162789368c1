//! Stock locations and the on-hand count of each variant at each of them.

use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::catalogue::{Location, StockLevel};
use anycart_core::{LocationId, MerchantId, VariantId};

/// A `locations` row.
#[derive(sqlx::FromRow)]
struct LocationRow {
    id: String,
    name: String,
}

/// A `stock_levels` row.
#[derive(sqlx::FromRow)]
struct StockLevelRow {
    variant_id: String,
    location_id: String,
    on_hand: i64,
    held: i64,
    committed: i64,
}

impl TryFrom<StockLevelRow> for StockLevel {
    type Error = StoreError;

    fn try_from(row: StockLevelRow) -> StoreResult<Self> {
        Ok(StockLevel {
            variant_id: parse_id(&row.variant_id)?,
            location_id: parse_id(&row.location_id)?,
            on_hand: row.on_hand,
            held: row.held,
            committed: row.committed,
        })
    }
}

const INSERT_LOCATION: &str = r"
INSERT INTO locations (id, merchant_id, name, created_at_ms)
VALUES ($1, $2, $3, $4)";

const SELECT_LOCATIONS: &str = r"
SELECT id, name
  FROM locations
 WHERE merchant_id = $1
 ORDER BY id";

/// 2 when both the variant and the location belong to the merchant.
const COUNT_OWNED_VARIANT_AND_LOCATION: &str = r"
SELECT (SELECT COUNT(*) FROM variants WHERE id = $1 AND merchant_id = $2)
     + (SELECT COUNT(*) FROM locations WHERE id = $3 AND merchant_id = $4) AS n";

/// Held and committed units stay; the CHECKs refuse an on-hand count below them.
const UPSERT_ON_HAND: &str = r"
INSERT INTO stock_levels (variant_id, location_id, merchant_id, on_hand)
VALUES ($1, $2, $3, $4)
    ON CONFLICT (variant_id, location_id) DO UPDATE
   SET on_hand = excluded.on_hand";

const SELECT_STOCK_LEVELS_OF_VARIANT: &str = r"
SELECT variant_id, location_id, on_hand, held, committed
  FROM stock_levels
 WHERE variant_id = $1 AND merchant_id = $2
 ORDER BY location_id";

impl Store {
    /// Adds a stock location.
    pub async fn create_location(
        &self,
        merchant: MerchantId,
        location: &Location,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_LOCATION)
            .bind(location.id.to_string())
            .bind(merchant.to_string())
            .bind(location.name.clone())
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// All of a merchant's locations.
    pub async fn list_locations(&self, merchant: MerchantId) -> StoreResult<Vec<Location>> {
        sqlx::query_as::<_, LocationRow>(SELECT_LOCATIONS)
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|row| {
                Ok(Location {
                    id: parse_id(&row.id)?,
                    name: row.name,
                })
            })
            .collect()
    }

    /// Sets the on-hand count of a variant at a location (an admin correction or a
    /// restock). Refused with [`StoreError::Constraint`] when it would drop below
    /// what is already held or committed.
    pub async fn set_on_hand(
        &self,
        merchant: MerchantId,
        variant: VariantId,
        location: LocationId,
        on_hand: i64,
    ) -> StoreResult<StockLevel> {
        let mut tx = self.write.begin().await?;
        let owned: i64 = sqlx::query_scalar(COUNT_OWNED_VARIANT_AND_LOCATION)
            .bind(variant.to_string())
            .bind(merchant.to_string())
            .bind(location.to_string())
            .bind(merchant.to_string())
            .fetch_one(&mut *tx)
            .await?;
        if owned != 2 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(UPSERT_ON_HAND)
            .bind(variant.to_string())
            .bind(location.to_string())
            .bind(merchant.to_string())
            .bind(on_hand)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let levels = self.stock_levels(merchant, &[variant]).await?;
        levels
            .into_iter()
            .find(|l| l.location_id == location)
            .ok_or(StoreError::NotFound)
    }

    /// Stock rows for the given variants, at every location.
    pub async fn stock_levels(
        &self,
        merchant: MerchantId,
        variants: &[VariantId],
    ) -> StoreResult<Vec<StockLevel>> {
        let mut out = Vec::new();
        for v in variants {
            let rows = sqlx::query_as::<_, StockLevelRow>(SELECT_STOCK_LEVELS_OF_VARIANT)
                .bind(v.to_string())
                .bind(merchant.to_string())
                .fetch_all(&self.read)
                .await?;
            for row in rows {
                out.push(row.try_into()?);
            }
        }
        Ok(out)
    }
}
