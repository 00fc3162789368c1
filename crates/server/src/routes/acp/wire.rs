//! ACP 2026-04-17 wire types: what agents, the widget and the SDK send and receive.
//! Pure serde shapes; conversion from the domain lives in `acp::convert`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The protocol version this server speaks (the `API-Version` header).
pub use crate::api_version::API_VERSION;
pub use crate::error::ErrorWire;

// ---------- requests ----------

/// An item reference in a request. ACP's RFC gives items a `quantity`; it defaults to 1.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct ItemRequest {
    /// The merchant's variant id (`var_…`).
    pub id: String,
    /// Units wanted (1–999). Repeated ids add up.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: Option<i64>,
    /// Ignored: prices always come from the catalogue.
    #[serde(default)]
    pub name: Option<String>,
    /// Ignored: prices always come from the catalogue.
    #[serde(default)]
    pub unit_amount: Option<i64>,
}

/// ACP `Address`. Sent with an empty `line_one` it is a destination only (a
/// wallet's redacted address: city, state, postal code, country; `name` may be
/// empty too): shipping options and tax are quoted for it, and the session stays
/// `not_ready_for_payment` (`missing` at `$.fulfillment_details.address.line_one`)
/// until the full address is sent.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, JsonSchema)]
pub struct AddressWire {
    pub name: String,
    pub line_one: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_two: Option<String>,
    pub city: String,
    pub state: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub postal_code: String,
}

/// ACP `Buyer` (request side: every field optional, email validated).
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct BuyerRequest {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub phone_number: Option<String>,
}

/// ACP `FulfillmentDetails`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct FulfillmentDetailsRequest {
    pub name: Option<String>,
    pub phone_number: Option<String>,
    pub email: Option<String>,
    pub address: Option<AddressWire>,
}

/// ACP `SelectedFulfillmentOption`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema, JsonSchema)]
pub struct SelectedFulfillmentOptionWire {
    #[serde(rename = "type")]
    pub kind: String,
    pub option_id: String,
    #[serde(default)]
    pub item_ids: Vec<String>,
}

/// ACP `DiscountsRequest`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct DiscountsRequest {
    #[serde(default)]
    pub codes: Vec<String>,
}

/// `POST /checkout_sessions`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct CreateSessionRequest {
    pub line_items: Vec<ItemRequest>,
    /// ISO 4217, must match the catalogue's currency.
    pub currency: String,
    #[serde(default)]
    pub buyer: Option<BuyerRequest>,
    #[serde(default)]
    pub fulfillment_details: Option<FulfillmentDetailsRequest>,
    /// Agent capabilities (ACP requires it): the interventions the agent can
    /// handle and the extensions it understands. Unknown values are ignored.
    #[serde(default)]
    pub capabilities: Option<CapabilitiesRequest>,
    #[serde(default)]
    pub discounts: Option<DiscountsRequest>,
    /// Deprecated in ACP in favour of `discounts.codes`; still honoured.
    #[serde(default)]
    pub coupons: Option<Vec<String>>,
    #[serde(default)]
    pub locale: Option<String>,
    /// First-touch affiliate attribution (write-only: recorded, never returned).
    #[serde(default)]
    pub affiliate_attribution: Option<AffiliateAttributionWire>,
}

/// `POST /checkout_sessions/{id}`. Absent fields are left unchanged.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct UpdateSessionRequest {
    #[serde(default)]
    pub line_items: Option<Vec<ItemRequest>>,
    #[serde(default)]
    pub buyer: Option<BuyerRequest>,
    #[serde(default)]
    pub fulfillment_details: Option<FulfillmentDetailsRequest>,
    #[serde(default)]
    pub selected_fulfillment_options: Option<Vec<SelectedFulfillmentOptionWire>>,
    #[serde(default)]
    pub discounts: Option<DiscountsRequest>,
    #[serde(default)]
    pub coupons: Option<Vec<String>>,
}

/// ACP `PaymentData.instrument.credential`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct CredentialWire {
    #[serde(rename = "type")]
    pub kind: String,
    pub token: String,
}

/// ACP `PaymentData.instrument`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct InstrumentWire {
    #[serde(rename = "type")]
    pub kind: String,
    pub credential: CredentialWire,
}

/// ACP `PaymentData`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct PaymentDataWire {
    pub handler_id: Option<String>,
    pub instrument: Option<InstrumentWire>,
    #[serde(default)]
    pub billing_address: Option<AddressWire>,
}

/// ACP `AuthenticationResult` (3-D Secure outcome).
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct AuthenticationResultWire {
    pub outcome: String,
}

/// `POST /checkout_sessions/{id}/complete`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct CompleteSessionRequest {
    pub payment_data: PaymentDataWire,
    #[serde(default)]
    pub buyer: Option<BuyerRequest>,
    #[serde(default)]
    pub authentication_result: Option<AuthenticationResultWire>,
    /// Last-touch affiliate attribution (write-only: recorded, never returned).
    #[serde(default)]
    pub affiliate_attribution: Option<AffiliateAttributionWire>,
}

/// `POST /checkout_sessions/{id}/cancel` (body optional).
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct CancelSessionRequest {
    /// Why the session is abandoned (write-only: recorded, never returned).
    #[serde(default)]
    pub intent_trace: Option<IntentTraceWire>,
}

/// ACP `InterventionCapabilities` (agent side).
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct InterventionsRequest {
    /// Interventions the agent can handle (`3ds`, `biometric`, `address_verification`).
    #[serde(default)]
    pub supported: Vec<String>,
    #[serde(default)]
    pub display_context: Option<String>,
    #[serde(default)]
    pub redirect_context: Option<String>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub max_redirects: Option<u32>,
    #[serde(default)]
    #[schema(minimum = 1)]
    pub max_interaction_depth: Option<u32>,
}

/// ACP `Capabilities` (agent side).
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct CapabilitiesRequest {
    #[serde(default)]
    pub interventions: Option<InterventionsRequest>,
    /// Extensions the agent understands, e.g. `discount`.
    #[serde(default)]
    pub extensions: Option<Vec<String>>,
}

/// ACP `AffiliateAttributionSource`.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct AffiliateSourceWire {
    /// `url`, `platform` or `unknown`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// ACP `AffiliateAttribution`: who sent the buyer. `provider` and one of
/// `token`, `publisher_id` are required; no personal data anywhere.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema, Default)]
pub struct AffiliateAttributionWire {
    #[serde(default)]
    pub provider: Option<String>,
    /// Provider-issued, opaque; sealed at rest, never logged or returned.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub publisher_id: Option<String>,
    #[serde(default)]
    pub campaign_id: Option<String>,
    #[serde(default)]
    pub creative_id: Option<String>,
    #[serde(default)]
    pub sub_id: Option<String>,
    /// `first` or `last`.
    #[serde(default)]
    pub touchpoint: Option<String>,
    #[serde(default)]
    pub source: Option<AffiliateSourceWire>,
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Flat: string, number or boolean values.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Map<String, Value>>,
}

/// ACP `IntentTrace`: why the buyer walked away.
#[derive(Debug, Clone, Deserialize, ToSchema, JsonSchema)]
pub struct IntentTraceWire {
    /// `price_sensitivity`, `shipping_cost`, `shipping_speed`, `product_fit`,
    /// `trust_security`, `returns_policy`, `payment_options`, `comparison`,
    /// `timing_deferred` or `other` (others are kept as `other`).
    pub reason_code: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub trace_summary: Option<String>,
    /// Flat: string, number or boolean values.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Map<String, Value>>,
}

// ---------- responses ----------

/// ACP `Total`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotalWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub display_text: String,
    pub amount: i64,
}

/// ACP `Item` as echoed inside a line item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemRef {
    pub id: String,
}

/// ACP `VariantOption`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantOptionWire {
    pub name: String,
    pub value: String,
}

/// ACP `LineItem`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineItemWire {
    pub id: String,
    pub item: ItemRef,
    pub quantity: u32,
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    pub unit_amount: i64,
    pub product_id: String,
    pub variant_id: String,
    pub sku: String,
    pub availability_status: &'static str,
    pub available_quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_quantity_per_order: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variant_options: Vec<VariantOptionWire>,
    pub totals: Vec<TotalWire>,
}

/// ACP `FulfillmentOptionShipping`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FulfillmentOptionWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    pub earliest_delivery_time: String,
    pub latest_delivery_time: String,
    pub totals: Vec<TotalWire>,
}

/// ACP `Buyer` (response).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BuyerWire {
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// ACP `FulfillmentDetails` (response).
#[derive(Debug, Clone, Serialize, ToSchema, Default)]
pub struct FulfillmentDetailsWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressWire>,
}

/// ACP message (`MessageInfo` / `MessageWarning` / `MessageError`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub severity: &'static str,
    pub resolution: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    pub content_type: &'static str,
    pub content: String,
}

/// ACP `Link`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
}

/// ACP `PaymentHandler`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentHandlerWire {
    pub id: &'static str,
    pub name: &'static str,
    pub display_name: &'static str,
    pub version: &'static str,
    pub spec: String,
    pub requires_delegate_payment: bool,
    pub requires_pci_compliance: bool,
    pub psp: &'static str,
    pub config_schema: String,
    pub instrument_schemas: Vec<String>,
    #[schema(value_type = Object)]
    pub config: Value,
}

/// ACP `Payment`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentWire {
    pub handlers: Vec<PaymentHandlerWire>,
}

/// ACP `InterventionCapabilities` (seller side).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InterventionsWire {
    pub supported: Vec<String>,
    pub required: Vec<String>,
    pub enforcement: &'static str,
}

/// ACP `ExtensionDeclaration`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtensionWire {
    pub name: &'static str,
    pub extends: Vec<&'static str>,
}

/// ACP `Capabilities` (seller side).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CapabilitiesWire {
    pub payment: PaymentWire,
    pub interventions: InterventionsWire,
    pub extensions: Vec<ExtensionWire>,
}

/// ACP `ProtocolVersion`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProtocolWire {
    pub version: &'static str,
}

/// ACP `Coupon`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CouponWire {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// ACP `DiscountAllocation`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllocationWire {
    pub path: String,
    pub amount: i64,
}

/// ACP `AppliedDiscount`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppliedDiscountWire {
    pub id: String,
    pub code: String,
    pub coupon: CouponWire,
    pub amount: i64,
    pub automatic: bool,
    pub method: &'static str,
    pub allocations: Vec<AllocationWire>,
}

/// ACP `RejectedDiscount`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RejectedDiscountWire {
    pub code: String,
    pub reason: String,
    pub message: String,
}

/// ACP `DiscountsResponse`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiscountsWire {
    pub codes: Vec<String>,
    pub applied: Vec<AppliedDiscountWire>,
    pub rejected: Vec<RejectedDiscountWire>,
}

/// ACP `AuthenticationMetadata` (3-D Secure parameters for the agent).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthenticationMetadataWire {
    #[schema(value_type = Object)]
    pub acquirer_details: Value,
    pub directory_server: &'static str,
    /// Stripe only (an anycart extension; ACP allows more properties here): the
    /// PaymentIntent's client secret, with which the shopper's browser runs the
    /// challenge (Stripe.js `handleNextAction`) before completing again with an
    /// `authentication_result`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// ACP `OrderLineItemQuantity`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderQuantityWire {
    pub ordered: u32,
    pub current: u32,
    pub fulfilled: u32,
}

/// ACP `OrderLineItem`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderLineItemWire {
    pub id: String,
    pub title: String,
    pub product_id: String,
    pub quantity: OrderQuantityWire,
    pub unit_price: i64,
    pub subtotal: i64,
    pub status: &'static str,
}

/// ACP `OrderConfirmation`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderConfirmationWire {
    pub confirmation_number: String,
    pub confirmation_email_sent: bool,
    pub receipt_url: String,
}

/// ACP `Order`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderWire {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub checkout_session_id: String,
    pub order_number: String,
    pub permalink_url: String,
    pub status: &'static str,
    pub confirmation: OrderConfirmationWire,
    pub line_items: Vec<OrderLineItemWire>,
    pub totals: Vec<TotalWire>,
}

/// ACP `CheckoutSession` / `CheckoutSessionWithOrder`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckoutSessionWire {
    pub id: String,
    pub protocol: ProtocolWire,
    pub capabilities: CapabilitiesWire,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<BuyerWire>,
    pub status: &'static str,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub line_items: Vec<LineItemWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_details: Option<FulfillmentDetailsWire>,
    pub fulfillment_options: Vec<FulfillmentOptionWire>,
    pub selected_fulfillment_options: Vec<SelectedFulfillmentOptionWire>,
    pub totals: Vec<TotalWire>,
    pub messages: Vec<MessageWire>,
    pub links: Vec<LinkWire>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication_metadata: Option<AuthenticationMetadataWire>,
    pub discounts: DiscountsWire,
    pub created_at: String,
    pub updated_at: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderWire>,
}
