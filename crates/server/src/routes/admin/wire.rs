//! Admin API request/response shapes (merchant back office, secret keys only).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest amount the admin API takes, in minor units (ten billion in a
/// two-decimal currency): bounded so totals can never overflow.
pub const AMOUNT_MINOR_MAX: i64 = 1_000_000_000_000;
/// Most units on hand at one location.
pub const ON_HAND_MAX: i64 = 1_000_000_000;
/// Longest name or title.
pub const NAME_CHARS_MAX: usize = 200;
/// Longest URL.
pub const URL_CHARS_MAX: usize = 2_048;

/// A money amount on the admin API: integer minor units + ISO 4217 code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, garde::Validate)]
pub struct MoneyWire {
    /// Minor units (cents for USD).
    #[garde(range(min = 0, max = AMOUNT_MINOR_MAX))]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
    /// ISO 4217 code, e.g. `usd`.
    #[garde(length(chars, equal = 3))]
    pub currency: String,
}

fn optional_http_url(value: &Option<String>, ctx: &()) -> garde::Result {
    value.as_deref().map_or(Ok(()), |v| http_url(v, ctx))
}

/// An http(s) URL (images, logos): the only schemes a page may load.
fn http_url(value: &str, _: &()) -> garde::Result {
    let parsed = url::Url::parse(value).map_err(|e| garde::Error::new(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(garde::Error::new("must be an http(s) URL"));
    }
    Ok(())
}

/// A variant option such as `Size: M`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, garde::Validate)]
pub struct OptionWire {
    #[garde(length(chars, min = 1, max = 100))]
    pub name: String,
    #[garde(length(chars, min = 1, max = 100))]
    pub value: String,
}

/// Initial stock for a new variant at a location.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, garde::Validate)]
pub struct InitialStock {
    #[garde(length(max = 64))]
    pub location_id: String,
    #[garde(range(min = 0, max = ON_HAND_MAX))]
    #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
    pub on_hand: i64,
}

/// A variant to create.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewVariant {
    #[garde(length(chars, min = 1, max = 64))]
    pub sku: String,
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub title: String,
    #[serde(default)]
    #[garde(length(max = 10), dive)]
    pub options: Vec<OptionWire>,
    #[garde(dive)]
    pub price: MoneyWire,
    #[serde(default)]
    #[garde(range(min = 1, max = 999))]
    #[schema(minimum = 1, maximum = 999)]
    pub max_quantity_per_order: Option<u32>,
    #[serde(default)]
    #[garde(length(max = URL_CHARS_MAX), custom(optional_http_url))]
    pub image_url: Option<String>,
    #[serde(default)]
    #[garde(length(max = 100), dive)]
    pub stock: Vec<InitialStock>,
}

/// `POST /v1/products`.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewProduct {
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub title: String,
    #[serde(default)]
    #[garde(length(chars, max = 10_000))]
    pub description: String,
    #[serde(default)]
    #[garde(length(max = 20), inner(length(max = URL_CHARS_MAX), custom(http_url)))]
    pub images: Vec<String>,
    #[serde(default = "yes")]
    #[garde(skip)]
    pub active: bool,
    #[garde(length(min = 1, max = 100), dive)]
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
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewLocation {
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub name: String,
}

/// A location.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationWire {
    pub id: String,
    pub name: String,
}

/// `PUT /v1/variants/{id}/stock/{location_id}`.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct SetStock {
    #[garde(range(min = 0, max = ON_HAND_MAX))]
    #[schema(minimum = 0, maximum = 1_000_000_000_i64)]
    pub on_hand: i64,
}

/// `PATCH /v1/variants/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct PatchVariant {
    #[garde(dive)]
    pub price: Option<MoneyWire>,
}

/// A shipping rate to create.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewShippingRate {
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub title: String,
    #[serde(default)]
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub carrier: Option<String>,
    #[garde(dive)]
    pub price: MoneyWire,
    /// Free when the discounted item subtotal reaches this (minor units).
    #[serde(default)]
    #[garde(range(min = 0, max = AMOUNT_MINOR_MAX))]
    #[schema(minimum = 0)]
    pub free_over: Option<i64>,
    #[garde(range(max = self.max_delivery_days))]
    #[schema(maximum = 365)]
    pub min_delivery_days: u32,
    #[garde(range(max = 365))]
    #[schema(maximum = 365)]
    pub max_delivery_days: u32,
}

/// `POST /v1/shipping_zones`. An empty `countries` list is the "rest of world" zone.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewShippingZone {
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub name: String,
    #[serde(default)]
    #[garde(length(max = 250), inner(length(chars, equal = 2)))]
    pub countries: Vec<String>,
    #[garde(length(min = 1, max = 20), dive)]
    pub rates: Vec<NewShippingRate>,
}

/// `POST /v1/tax_rates`.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewTaxRate {
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub name: String,
    #[garde(length(chars, equal = 2))]
    pub country: String,
    #[serde(default)]
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub region: Option<String>,
    /// Basis points: 825 = 8.25 %.
    #[garde(range(max = 10_000))]
    #[schema(minimum = 0, maximum = 10000)]
    pub rate_bps: u32,
    #[serde(default)]
    #[garde(skip)]
    pub applies_to_shipping: bool,
}

/// `POST /v1/discounts`.
#[derive(Debug, Clone, Deserialize, ToSchema, garde::Validate)]
pub struct NewDiscount {
    #[garde(length(chars, min = 1, max = 64), pattern(r"^[A-Za-z0-9_-]+$"))]
    pub code: String,
    #[garde(length(chars, min = 1, max = NAME_CHARS_MAX))]
    pub name: String,
    /// `percentage` (with `rate_bps`) or `fixed_amount` (with `amount`).
    /// (Checked by the handler, which names it `$.type` as sent.)
    #[serde(rename = "type")]
    #[garde(skip)]
    pub kind: String,
    #[serde(default)]
    #[garde(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_bps: Option<u32>,
    #[serde(default)]
    #[garde(dive)]
    pub amount: Option<MoneyWire>,
    /// Smallest item subtotal it applies to (minor units).
    #[serde(default)]
    #[garde(range(min = 0, max = AMOUNT_MINOR_MAX))]
    #[schema(minimum = 0)]
    pub min_subtotal: Option<i64>,
    #[serde(default)]
    #[garde(range(min = 0))]
    pub starts_at_ms: Option<i64>,
    /// After `starts_at_ms`.
    #[serde(default)]
    #[garde(range(min = 0), custom(after_start(self.starts_at_ms)))]
    pub ends_at_ms: Option<i64>,
    #[serde(default)]
    #[garde(range(min = 1))]
    #[schema(minimum = 1)]
    pub max_redemptions: Option<u32>,
}

/// A window's end must come after its start.
fn after_start(starts_at_ms: Option<i64>) -> impl FnOnce(&Option<i64>, &()) -> garde::Result {
    move |ends_at_ms, _| match (starts_at_ms, ends_at_ms) {
        (Some(start), Some(end)) if *end <= start => {
            Err(garde::Error::new("must be after starts_at_ms"))
        }
        _ => Ok(()),
    }
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
    /// Minor units: `items_base_minor`, `discount_minor`, `subtotal_minor`,
    /// `fulfillment_minor`, `tax_minor`, `total_minor`.
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
    /// The lines as sold (variant, SKU, title, options, unit price, quantity).
    #[schema(value_type = Vec<Object>)]
    pub line_items: serde_json::Value,
    /// Where it ships; `null` for an order without an address.
    #[schema(value_type = Option<Object>)]
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
