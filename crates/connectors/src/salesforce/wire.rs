//! Salesforce B2C Commerce API (SCAPI) JSON shapes: SLAS token responses, Shopper
//! Search / Products pages, Shopper Baskets / Orders / Customers bodies, and the
//! RFC 7807-style error body. Only the fields anycart reads or sets; unknown fields
//! are ignored so new SCAPI releases do not break intake.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The custom attribute (defined by the merchant on the `Basket` and `Order` system
/// objects) that carries anycart's order id; what the retry-safe lookup matches.
pub const ORDER_ID_ATTRIBUTE: &str = "c_anycartOrderId";

/// SLAS `POST /oauth2/token` response (the fields anycart uses).
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Seconds the access token stays valid (30 minutes for shopper tokens).
    pub expires_in: i64,
    /// The shopper the token is for (a guest customer for client credentials).
    pub customer_id: Option<String>,
    pub usid: Option<String>,
}

/// The error body SCAPI returns (RFC 7807 problem details). SLAS answers with
/// OAuth 2.0's `error` / `error_description` (its `Oauth2ErrorResponse`), some of
/// its endpoints with `message`; all are read.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub message: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Shopper Search `GET /product-search` response.
#[derive(Debug, Deserialize)]
pub struct ProductSearchResult {
    pub offset: i64,
    pub total: i64,
    #[serde(default)]
    pub hits: Vec<ProductSearchHit>,
}

/// One search hit: a master, a standalone product, a set, a bundle…
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSearchHit {
    pub product_id: String,
    /// `master`, `product`, `set`, `bundle`, `variation_group`, `slicing_group`.
    pub hit_type: Option<String>,
    pub currency: Option<String>,
}

/// Shopper Products `GET /products?ids=…` response.
#[derive(Debug, Deserialize)]
pub struct ProductsResult {
    #[serde(default)]
    pub data: Vec<Product>,
}

/// A product as Shopper Products returns it with
/// `expand=availability,images,prices,variations`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    pub name: Option<String>,
    pub short_description: Option<String>,
    pub long_description: Option<String>,
    pub currency: Option<String>,
    /// Sales price in `currency` (a JSON number).
    pub price: Option<serde_json::Number>,
    #[serde(rename = "type")]
    pub kind: Option<ProductType>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub variation_attributes: Vec<VariationAttribute>,
    #[serde(default)]
    pub image_groups: Vec<ImageGroup>,
    pub inventory: Option<Inventory>,
}

/// `Product.type`: flags, one of which is true.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductType {
    #[serde(default)]
    pub master: bool,
    #[serde(default)]
    pub variant: bool,
    #[serde(default)]
    pub item: bool,
}

/// A master's variant, as listed on the master.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    pub product_id: String,
    pub price: Option<serde_json::Number>,
    #[serde(default)]
    pub variation_values: BTreeMap<String, String>,
}

/// A variation attribute of a master (`color`, `size`) with display names.
#[derive(Debug, Deserialize)]
pub struct VariationAttribute {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub values: Vec<VariationAttributeValue>,
}

#[derive(Debug, Deserialize)]
pub struct VariationAttributeValue {
    pub value: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageGroup {
    pub view_type: Option<String>,
    #[serde(default)]
    pub images: Vec<Image>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub link: String,
}

/// Availability in the site's inventory list (`expand=availability`).
#[derive(Debug, Deserialize)]
pub struct Inventory {
    /// The inventory list id.
    pub id: String,
    /// Available to sell (a number; SCAPI allows fractional stock).
    pub ats: Option<f64>,
}

/// `POST /baskets` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BasketRequest {
    pub currency: String,
    pub customer_info: CustomerInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<OrderAddress>,
    pub shipments: Vec<ShipmentRequest>,
    pub product_items: Vec<ProductItemRequest>,
    #[serde(rename = "c_anycartOrderId")]
    pub anycart_order_id: String,
    /// Where the sale came from: `c_anycartChannel`, `c_anycartPlacementId`,
    /// `c_anycartCampaign`, `c_anycartCreative`… (custom attributes).
    #[serde(flatten)]
    pub attribution: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct CustomerInfo {
    pub email: String,
}

/// SCAPI's `OrderAddress`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAddress {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    pub last_name: String,
    pub address1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    pub city: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_code: Option<String>,
    pub postal_code: String,
    pub country_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentRequest {
    /// `me`: the default shipment every basket has.
    pub shipment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<OrderAddress>,
    pub shipping_method: ShippingMethodRef,
}

#[derive(Debug, Serialize)]
pub struct ShippingMethodRef {
    pub id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductItemRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// A basket as SCAPI returns it (the fields anycart reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Basket {
    pub basket_id: String,
    #[serde(rename = "c_anycartOrderId")]
    pub anycart_order_id: Option<String>,
    #[serde(default)]
    pub payment_instruments: Vec<PaymentInstrument>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInstrument {
    pub payment_method_id: Option<String>,
}

/// Shopper Customers `GET /customers/{customerId}/baskets` response.
#[derive(Debug, Deserialize)]
pub struct BasketsResult {
    #[serde(default)]
    pub baskets: Vec<Basket>,
}

/// `POST /baskets/{basketId}/payment-instruments` body: the payment anycart
/// already took, recorded so the order shows how it was paid.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInstrumentRequest {
    pub amount: serde_json::Number,
    pub payment_method_id: String,
}

/// Shopper Orders `POST /orders` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRequest {
    pub basket_id: String,
}

/// An order as SCAPI returns it (the fields anycart reads).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_no: String,
    /// `created` (not placed yet), `new` (placed), `completed`, `cancelled`,
    /// `replaced` or `failed` (Shopper Orders' enum).
    pub status: Option<String>,
    /// `confirmed` / `not_confirmed`.
    pub confirmation_status: Option<String>,
    #[serde(rename = "c_anycartOrderId")]
    pub anycart_order_id: Option<String>,
}

/// Shopper Customers `GET /customers/{customerId}/orders` response.
#[derive(Debug, Deserialize)]
pub struct CustomerOrderResult {
    #[serde(default)]
    pub data: Vec<Order>,
}
