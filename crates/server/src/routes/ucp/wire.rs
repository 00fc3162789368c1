//! UCP's wire: requests (read leniently: unknown fields are ignored, as UCP's
//! schemas allow extensions) and the 2026-01-11 responses. The 2026-04-08
//! differences are applied to these by `convert`.

use super::state::{Consent, Destination};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// `null` and absent told apart: `Some(None)` is an explicit `null`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Create and update (`PUT` replaces what it names; what it omits is kept).
#[derive(Debug, Default, Deserialize)]
pub struct CheckoutRequest {
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub line_items: Option<Vec<LineItemRequest>>,
    #[serde(default)]
    pub buyer: Option<BuyerRequest>,
    #[serde(default)]
    pub fulfillment: Option<FulfillmentRequest>,
    #[serde(default)]
    pub discounts: Option<DiscountsRequest>,
}

#[derive(Debug, Deserialize)]
pub struct LineItemRequest {
    pub item: ItemRequest,
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
pub struct ItemRequest {
    pub id: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct BuyerRequest {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub consent: Option<Consent>,
}

#[derive(Debug, Default, Deserialize)]
pub struct FulfillmentRequest {
    #[serde(default)]
    pub methods: Option<Vec<MethodRequest>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MethodRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub destinations: Option<Vec<Destination>>,
    #[serde(default, deserialize_with = "nullable")]
    pub selected_destination_id: Option<Option<String>>,
    #[serde(default)]
    pub groups: Option<Vec<GroupRequest>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GroupRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub selected_option_id: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DiscountsRequest {
    #[serde(default)]
    pub codes: Option<Vec<String>>,
}

/// Complete: the instrument as `payment_data` (2026-01-11) or the selected one
/// of `payment.instruments` (2026-04-08).
#[derive(Debug, Default, Deserialize)]
pub struct CompleteRequest {
    #[serde(default)]
    pub payment_data: Option<Instrument>,
    #[serde(default)]
    pub payment: Option<CompletePayment>,
    // `ap2` (an AP2 checkout mandate) and `risk_signals` are accepted and not
    // used: anycart does not advertise the AP2 capability.
}

#[derive(Debug, Default, Deserialize)]
pub struct CompletePayment {
    #[serde(default)]
    pub instruments: Vec<Instrument>,
    #[serde(default)]
    pub selected_instrument_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Instrument {
    #[serde(default)]
    pub id: Option<String>,
    pub handler_id: String,
    #[serde(default)]
    pub credential: Option<Value>,
    #[serde(default)]
    pub selected: Option<bool>,
}

/// `ucp` of a 2026-01-11 response.
#[derive(Clone, Debug, Serialize)]
pub struct UcpMeta {
    pub version: &'static str,
    pub capabilities: Vec<CapabilityRef>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CapabilityRef {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct TotalWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub display_text: String,
    pub amount: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemWire {
    pub id: String,
    pub title: String,
    pub price: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LineItemWire {
    pub id: String,
    pub item: ItemWire,
    pub quantity: u32,
    pub totals: Vec<TotalWire>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BuyerWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MessageWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub content_type: &'static str,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LinkWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PaymentWire {
    pub handlers: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_instrument_id: Option<String>,
    pub instruments: Vec<Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderConfirmationWire {
    pub id: String,
    pub permalink_url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct OptionWire {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    pub totals: Vec<TotalWire>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupWire {
    pub id: String,
    pub line_item_ids: Vec<String>,
    pub options: Vec<OptionWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_option_id: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct MethodWire {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub line_item_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destinations: Option<Vec<Destination>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_destination_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupWire>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FulfillmentWire {
    pub methods: Vec<MethodWire>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AllocationWire {
    pub path: String,
    pub amount: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AppliedDiscountWire {
    pub code: String,
    pub title: String,
    pub amount: i64,
    pub automatic: bool,
    pub method: &'static str,
    pub priority: usize,
    pub allocations: Vec<AllocationWire>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DiscountsWire {
    pub codes: Vec<String>,
    pub applied: Vec<AppliedDiscountWire>,
}

/// A checkout (2026-01-11, with the fulfillment, discount and buyer consent
/// extensions).
#[derive(Clone, Debug, Serialize)]
pub struct CheckoutWire {
    pub ucp: UcpMeta,
    pub id: String,
    pub line_items: Vec<LineItemWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<BuyerWire>,
    pub status: &'static str,
    pub currency: String,
    pub totals: Vec<TotalWire>,
    pub messages: Vec<MessageWire>,
    pub links: Vec<LinkWire>,
    pub expires_at: String,
    pub payment: PaymentWire,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderConfirmationWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<FulfillmentWire>,
    pub discounts: DiscountsWire,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderQuantityWire {
    pub total: u32,
    pub fulfilled: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderLineItemWire {
    pub id: String,
    pub item: ItemWire,
    pub quantity: OrderQuantityWire,
    pub totals: Vec<TotalWire>,
    pub status: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct OrderFulfillmentWire {
    pub expectations: Vec<Value>,
    pub events: Vec<Value>,
}

/// An order (2026-01-11).
#[derive(Clone, Debug, Serialize)]
pub struct OrderWire {
    pub ucp: UcpMeta,
    pub id: String,
    pub checkout_id: String,
    pub permalink_url: String,
    pub line_items: Vec<OrderLineItemWire>,
    pub fulfillment: OrderFulfillmentWire,
    pub adjustments: Vec<Value>,
    pub totals: Vec<TotalWire>,
}
