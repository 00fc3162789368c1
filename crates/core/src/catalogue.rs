//! Catalogue: products, variants, locations and the stock level of a variant at a location.

use crate::{Currency, LocationId, Money, ProductId, VariantId};
use serde::{Deserialize, Serialize};

/// Longest SKU we accept; platforms cap theirs near this (Shopify: 255, SFCC: 100).
pub const SKU_LEN_MAX: usize = 100;
/// Most variants one product may have (Shopify's own limit is 2048; 100 keeps pages small).
pub const VARIANTS_PER_PRODUCT_MAX: usize = 100;
/// Most images a product or variant may list.
pub const IMAGES_MAX: usize = 20;

/// Why a catalogue value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("sku must be 1 to {SKU_LEN_MAX} characters of letters, digits, `-`, `_`, `.` or `/`")]
    Sku,
    #[error("a product needs 1 to {VARIANTS_PER_PRODUCT_MAX} variants")]
    VariantCount,
    #[error("all variants of a product must share one currency")]
    MixedCurrencies,
    #[error("price must be zero or more")]
    NegativePrice,
    #[error("stock on hand must be between 0 and {ON_HAND_MAX}")]
    OnHand,
}

/// Largest on-hand count for one variant at one location.
pub const ON_HAND_MAX: i64 = 1_000_000_000;

/// A stock-keeping unit code, unique per merchant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Accepts printable, URL-safe SKU codes.
    pub fn parse(value: &str) -> Result<Self, CatalogueError> {
        let ok = !value.is_empty()
            && value.len() <= SKU_LEN_MAX
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
        ok.then(|| Sku(value.to_string()))
            .ok_or(CatalogueError::Sku)
    }
}

impl TryFrom<String> for Sku {
    type Error = CatalogueError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Sku::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(s: Sku) -> String {
        s.0
    }
}

impl AsRef<str> for Sku {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// One option of a variant, e.g. `Size = M`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantOption {
    pub name: String,
    pub value: String,
}

/// A purchasable variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub id: VariantId,
    pub product_id: ProductId,
    pub sku: Sku,
    pub title: String,
    pub options: Vec<VariantOption>,
    pub price: Money,
    /// Cap per checkout session, so one shopper (or bot) cannot hold a whole drop.
    pub max_quantity_per_order: Option<u32>,
    pub image_url: Option<String>,
}

/// A product as the shopper sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub title: String,
    pub description: String,
    pub images: Vec<String>,
    pub active: bool,
    pub variants: Vec<Variant>,
}

impl Product {
    /// Checks what must hold across a product's variants before it is stored.
    pub fn validate(&self) -> Result<Currency, CatalogueError> {
        let first = self.variants.first().ok_or(CatalogueError::VariantCount)?;
        if self.variants.len() > VARIANTS_PER_PRODUCT_MAX {
            return Err(CatalogueError::VariantCount);
        }
        let currency = first.price.currency;
        for v in &self.variants {
            if v.price.currency != currency {
                return Err(CatalogueError::MixedCurrencies);
            }
            if v.price.amount_minor < 0 {
                return Err(CatalogueError::NegativePrice);
            }
        }
        Ok(currency)
    }
}

/// A place stock sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: LocationId,
    pub name: String,
}

/// Stock of one variant at one location.
///
/// `available = on_hand − held − committed`. `held` is stock promised to open
/// checkouts; `committed` is sold stock the platform has not yet subtracted from
/// `on_hand`. The store enforces `held + committed <= on_hand` with a CHECK constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub variant_id: VariantId,
    pub location_id: LocationId,
    pub on_hand: i64,
    pub held: i64,
    pub committed: i64,
}

impl StockLevel {
    /// Units a new shopper could still take here.
    pub fn available(&self) -> i64 {
        debug_assert!(self.held >= 0 && self.committed >= 0);
        (self.on_hand - self.held - self.committed).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_rules() {
        assert!(Sku::parse("TEE-BLK-M").is_ok());
        assert!(Sku::parse("a/b.c_d").is_ok());
        for bad in ["", "has space", "ü", &"x".repeat(SKU_LEN_MAX + 1)] {
            assert!(Sku::parse(bad).is_err(), "{bad}");
        }
    }
}
