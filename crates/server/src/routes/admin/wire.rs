//! Admin API request/response shapes (merchant back office, secret keys only).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A money amount on the admin API: integer minor units + ISO 4217 code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MoneyWire {
    /// Minor units (cents for USD).
    pub amount: i64,
    /// ISO 4217 code, e.g. `usd`.
    pub currency: String,
}

/// A variant option such as `Size: M`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OptionWire {
    pub name: String,
    pub value: String,
}

/// Initial stock for a new variant at a location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InitialStock {
    pub location_id: String,
    #[schema(minimum = 0)]
    pub on_hand: i64,
}

/// A variant to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewVariant {
    pub sku: String,
    pub title: String,
    #[serde(default)]
    pub options: Vec<OptionWire>,
    pub price: MoneyWire,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_quantity_per_order: Option<u32>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub stock: Vec<InitialStock>,
}

/// `POST /v1/products`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewProduct {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
    pub variants: Vec<NewVariant>,
}

fn yes() -> bool {
    true
}

/// A stock level as the admin API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockLevelWire {
    pub variant_id: String,
    pub location_id: String,
    pub on_hand: i64,
    pub held: i64,
    pub committed: i64,
    pub available: i64,
}

/// A variant as the admin API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantWire {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub options: Vec<OptionWire>,
    pub price: MoneyWire,
    pub max_quantity_per_order: Option<u32>,
    pub image_url: Option<String>,
    pub available: i64,
    pub stock: Vec<StockLevelWire>,
}

/// A product as the admin API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProductWire {
    pub id: String,
    pub title: String,
    pub description: String,
    pub images: Vec<String>,
    pub active: bool,
    pub variants: Vec<VariantWire>,
}

/// A page of results with a cursor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `after`/`before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The cursor of the page after `items` (the id of its last one), if `items`
/// filled the page: a shorter page is the last.
pub fn next_cursor<T>(items: &[T], limit: i64, id: impl Fn(&T) -> String) -> Option<String> {
    let full = i64::try_from(items.len()).is_ok_and(|n| n >= limit);
    if full { items.last().map(id) } else { None }
}

/// `?limit=&after=` / `?limit=&before=`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub after: Option<String>,
    pub before: Option<String>,
}

/// `POST /v1/locations`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewLocation {
    pub name: String,
}

/// A location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationWire {
    pub id: String,
    pub name: String,
}

/// `PUT /v1/variants/{id}/stock/{location_id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SetStock {
    #[schema(minimum = 0)]
    pub on_hand: i64,
}

/// `PATCH /v1/variants/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PatchVariant {
    pub price: Option<MoneyWire>,
}

/// A shipping rate to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewShippingRate {
    pub title: String,
    #[serde(default)]
    pub carrier: Option<String>,
    pub price: MoneyWire,
    /// Free when the discounted item subtotal reaches this (minor units).
    #[serde(default)]
    pub free_over: Option<i64>,
    pub min_delivery_days: u32,
    pub max_delivery_days: u32,
}

/// `POST /v1/shipping_zones`. An empty `countries` list is the "rest of world" zone.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewShippingZone {
    pub name: String,
    #[serde(default)]
    pub countries: Vec<String>,
    pub rates: Vec<NewShippingRate>,
}

/// `POST /v1/tax_rates`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewTaxRate {
    pub name: String,
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
    /// Basis points: 825 = 8.25 %.
    #[schema(minimum = 0, maximum = 10000)]
    pub rate_bps: u32,
    #[serde(default)]
    pub applies_to_shipping: bool,
}

/// `POST /v1/discounts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewDiscount {
    pub code: String,
    pub name: String,
    /// `percentage` (with `rate_bps`) or `fixed_amount` (with `amount`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub rate_bps: Option<u32>,
    #[serde(default)]
    pub amount: Option<MoneyWire>,
    #[serde(default)]
    pub min_subtotal: Option<i64>,
    #[serde(default)]
    pub starts_at_ms: Option<i64>,
    #[serde(default)]
    pub ends_at_ms: Option<i64>,
    #[serde(default)]
    pub max_redemptions: Option<u32>,
}

/// The calling merchant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantWire {
    pub id: String,
    pub name: String,
}

/// Campaign and attribution fields (all optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignWire {
    pub name: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub content: Option<String>,
}

/// Where a sale came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributionWire {
    /// `display_ad`, `publisher`, `social`, `ctv`, `own_site`, `app`, `agent` or `api`.
    pub channel: &'static str,
    /// The placement whose key opened the checkout (`plc_…`), if any.
    pub placement_id: Option<String>,
    pub campaign: CampaignWire,
    /// The agent that bought on the shopper's behalf, if any.
    pub agent: Option<AgentWire>,
}

/// The agent behind a sale.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentWire {
    /// `acp`, `ucp` or `mcp`.
    pub protocol: &'static str,
    /// A registered agent platform's id, or the agent's profile URL.
    pub name: Option<String>,
}

pub fn attribution_wire(a: &anycart_core::attribution::Attribution) -> AttributionWire {
    AttributionWire {
        channel: a.channel.as_str(),
        placement_id: a.placement_id.map(|p| p.to_string()),
        campaign: CampaignWire {
            name: a.campaign.name.clone(),
            source: a.campaign.source.clone(),
            medium: a.campaign.medium.clone(),
            content: a.campaign.content.clone(),
        },
        agent: a.agent.as_ref().map(|g| AgentWire {
            protocol: g.protocol.as_str(),
            name: g.name.clone(),
        }),
    }
}

/// An order as the admin API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminOrderWire {
    pub id: String,
    pub number: i64,
    pub status: &'static str,
    pub checkout_session_id: String,
    pub currency: String,
    pub email: Option<String>,
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
    #[schema(value_type = Object)]
    pub line_items: serde_json::Value,
    #[schema(value_type = Object)]
    pub shipping_address: serde_json::Value,
    pub shipping_title: Option<String>,
    pub payment_provider: String,
    pub payment_reference: String,
    pub permalink_url: String,
    /// Where the sale came from; `null` for orders from before sales were
    /// attributed (always sent).
    #[schema(required = true)]
    pub attribution: Option<AttributionWire>,
    pub created_at: String,
    /// Where the order stands on the merchant's platform (single-order reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<crate::routes::admin::connections::OutboxWire>,
    /// What the payment came to: captured, refunded, refundable (single-order reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<crate::routes::admin::refunds::OrderPaymentWire>,
    /// Refunds, oldest first (single-order reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunds: Option<Vec<crate::routes::admin::refunds::RefundWire>>,
    /// Disputes (chargebacks) on the payment (single-order reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disputes: Option<Vec<crate::routes::admin::refunds::DisputeWire>>,
}
