//! The merchant's configuration generation (see
//! `migrations/0024_config_generation.sql`): bumped by triggers in the same
//! transaction as any write to the catalogue, shipping zones, tax rates or waiting
//! rooms, so a node may keep those in memory while the generation it reads stays
//! the one it cached them under.

use crate::{Store, StoreResult};
use anycart_core::MerchantId;

const SELECT_CONFIG_GENERATION: &str = r"
SELECT generation
  FROM merchant_config_generations
 WHERE merchant_id = $1";

impl Store {
    /// The merchant's configuration generation (0 before its first write). Read
    /// it *before* what is cached under it: a cache filled afterwards is then at
    /// least as new as the generation it is kept under.
    pub async fn config_generation(&self, merchant: MerchantId) -> StoreResult<i64> {
        let generation: Option<i64> = sqlx::query_scalar(SELECT_CONFIG_GENERATION)
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?;
        Ok(generation.unwrap_or(0))
    }
}
