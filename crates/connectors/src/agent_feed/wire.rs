//! ACP product feed shapes (`schema.feed.json`): `Product` with its `Variant`s,
//! one per line of the JSONL export and the body of a feed upsert. Pure serde.

use serde::Serialize;

/// `Description`.
#[derive(Clone, Debug, Serialize)]
pub struct DescriptionWire {
    pub plain: String,
}

/// `Price` (ISO 4217 code in upper case).
#[derive(Clone, Debug, Serialize)]
pub struct PriceWire {
    pub amount: i64,
    pub currency: String,
}

/// `Availability`.
#[derive(Clone, Debug, Serialize)]
pub struct AvailabilityWire {
    pub available: bool,
    /// `in_stock`, `limited_stock`, `out_of_stock` or `discontinued`.
    pub status: &'static str,
}

/// `Media`.
#[derive(Clone, Debug, Serialize)]
pub struct MediaWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// `VariantOption`.
#[derive(Clone, Debug, Serialize)]
pub struct VariantOptionWire {
    pub name: String,
    pub value: String,
}

/// `Seller`.
#[derive(Clone, Debug, Serialize)]
pub struct SellerWire {
    pub name: String,
}

/// `Variant`. Its `id` is the anycart variant id, which `POST
/// /checkout_sessions` takes as a line item's `id`.
#[derive(Clone, Debug, Serialize)]
pub struct VariantWire {
    pub id: String,
    pub title: String,
    pub price: PriceWire,
    pub availability: AvailabilityWire,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variant_options: Vec<VariantOptionWire>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaWire>,
    pub seller: SellerWire,
}

/// `Product`.
#[derive(Clone, Debug, Serialize)]
pub struct ProductWire {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<DescriptionWire>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaWire>,
    pub variants: Vec<VariantWire>,
}

/// `UpsertProductsRequest`.
#[derive(Clone, Debug, Serialize)]
pub struct UpsertProductsWire {
    pub products: Vec<ProductWire>,
}
