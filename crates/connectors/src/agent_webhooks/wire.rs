//! ACP 2026-04-17 order webhooks as agent platforms receive them
//! (`openapi.agentic_checkout_webhook.yaml`): a `WebhookEvent` whose `data` is
//! the full `Order`. Pure serde shapes.

use serde::Serialize;

/// `WebhookEvent`.
#[derive(Clone, Debug, Serialize)]
pub struct WebhookEventWire {
    /// `order_create` or `order_update`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub data: OrderWire,
}

/// ACP `Total`.
#[derive(Clone, Debug, Serialize)]
pub struct TotalWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub display_text: String,
    pub amount: i64,
}

/// ACP `OrderLineItemQuantity`.
#[derive(Clone, Debug, Serialize)]
pub struct QuantityWire {
    pub ordered: u32,
    pub current: u32,
    pub fulfilled: u32,
}

/// ACP `OrderLineItem`.
#[derive(Clone, Debug, Serialize)]
pub struct OrderLineItemWire {
    pub id: String,
    pub title: String,
    pub product_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    pub quantity: QuantityWire,
    pub unit_price: i64,
    pub subtotal: i64,
    /// `processing`, `partial`, `fulfilled` or `removed`.
    pub status: &'static str,
}

/// ACP `LineItemReference`.
#[derive(Clone, Debug, Serialize)]
pub struct LineItemReferenceWire {
    pub id: String,
    pub quantity: u32,
}

/// ACP `Fulfillment` (anycart knows one: the shipment of the whole order).
#[derive(Clone, Debug, Serialize)]
pub struct FulfillmentWire {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    pub line_items: Vec<LineItemReferenceWire>,
    /// The shipping option chosen at checkout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// ACP `Adjustment` (a refund).
#[derive(Clone, Debug, Serialize)]
pub struct AdjustmentWire {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub occurred_at: String,
    /// `pending`, `completed` or `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<LineItemReferenceWire>,
    pub amount: i64,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// ACP `OrderConfirmation`.
#[derive(Clone, Debug, Serialize)]
pub struct ConfirmationWire {
    pub confirmation_number: String,
    pub receipt_url: String,
}

/// ACP `Order` with `type: "order"` (`EventDataOrder`).
#[derive(Clone, Debug, Serialize)]
pub struct OrderWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub checkout_session_id: String,
    pub permalink_url: String,
    pub order_number: String,
    pub status: &'static str,
    pub confirmation: ConfirmationWire,
    pub line_items: Vec<OrderLineItemWire>,
    pub fulfillments: Vec<FulfillmentWire>,
    pub adjustments: Vec<AdjustmentWire>,
    pub totals: Vec<TotalWire>,
}
