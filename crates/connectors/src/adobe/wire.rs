//! Adobe Commerce (Magento 2) REST shapes: only the fields anycart reads or sends.
//! Unknown fields are ignored, so extensions that add attributes do not break
//! import. Field names follow the REST schema (`/rest/{store}/schema`), which is
//! snake_case except for a few request wrappers (`cartItem`, `addressInformation`,
//! `paymentMethod`, `billingAddress`, `statusHistory`).

use serde::{Deserialize, Serialize};

/// A Magento error body: `message` with `%1` / `%name` placeholders filled from
/// `parameters` (a list or an object), optionally a list of `errors`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
}

/// One entry of a multi-error body (validation of several fields).
#[derive(Debug, Deserialize)]
pub struct ErrorEntry {
    pub message: String,
    #[serde(default)]
    pub parameters: Option<serde_json::Value>,
}

/// `…SearchResultsInterface`: one page of any repository's `getList`.
#[derive(Debug, Deserialize)]
pub struct SearchResults<T> {
    pub items: Vec<T>,
    /// All matches, not this page's; what tells the last page (Magento answers a
    /// page past the end with the last page again).
    pub total_count: i64,
}

/// `catalogProductRepositoryV1GetListGet` / configurable children item.
#[derive(Debug, Deserialize)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Base-currency price; absent or 0 on configurable parents.
    #[serde(default)]
    pub price: Option<serde_json::Number>,
    /// 1 enabled, 2 disabled.
    #[serde(default)]
    pub status: Option<i64>,
    /// 1 not visible individually, 2 catalogue, 3 search, 4 both.
    #[serde(default)]
    pub visibility: Option<i64>,
    pub type_id: String,
    #[serde(default)]
    pub media_gallery_entries: Vec<MediaGalleryEntry>,
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
}

/// A product image (`file` is relative to `pub/media/catalog/product`).
#[derive(Debug, Deserialize)]
pub struct MediaGalleryEntry {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub position: Option<i64>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub file: Option<String>,
}

/// An EAV attribute value (`description` is one); values are usually strings.
#[derive(Debug, Deserialize)]
pub struct CustomAttribute {
    pub attribute_code: String,
    pub value: serde_json::Value,
}

/// `directoryCurrencyInformationAcquirerV1GetCurrencyInfoGet`.
#[derive(Debug, Deserialize)]
pub struct CurrencyInformation {
    pub base_currency_code: String,
}

/// `inventoryApiSourceRepositoryV1GetListGet` item.
#[derive(Debug, Deserialize)]
pub struct Source {
    pub source_code: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
}

fn enabled_default() -> bool {
    true
}

/// `inventoryApiSourceItemRepositoryV1GetListGet` item: physical units of a SKU
/// at a source (`status` 1 = in stock).
#[derive(Debug, Deserialize)]
pub struct SourceItem {
    pub sku: String,
    pub source_code: String,
    pub quantity: f64,
    pub status: i64,
}

/// `quoteCartRepositoryV1GetGet` / `quoteGuestCartRepositoryV1GetGet` (the part
/// anycart reads: the quote's numeric id, which orders keep as `quote_id`).
#[derive(Debug, Deserialize)]
pub struct Cart {
    pub id: i64,
}

/// `POST /V1/guest-carts/{cartId}/items` body.
#[derive(Debug, Serialize)]
pub struct CartItemRequest<'a> {
    #[serde(rename = "cartItem")]
    pub cart_item: CartItem<'a>,
}

/// `quote-data-cart-item-interface` (the fields a guest add needs).
#[derive(Debug, Serialize)]
pub struct CartItem<'a> {
    pub sku: &'a str,
    pub qty: i64,
    pub quote_id: &'a str,
}

/// `quote-data-address-interface` as anycart fills it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Address {
    pub firstname: String,
    pub lastname: String,
    pub street: Vec<String>,
    pub city: String,
    /// The region's name, or the shopper's own text where the country has no
    /// region list.
    pub region: String,
    /// Magento's id for the region (the directory API's), `0` where the country
    /// has no region list. The schema requires it with `region` and `region_code`.
    pub region_id: i64,
    pub region_code: String,
    pub postcode: String,
    pub country_id: String,
    pub telephone: String,
    pub email: String,
}

/// `POST /V1/guest-carts/{cartId}/shipping-information` body.
#[derive(Debug, Serialize)]
pub struct ShippingInformationRequest {
    #[serde(rename = "addressInformation")]
    pub address_information: ShippingInformation,
}

/// `checkout-data-shipping-information-interface`.
#[derive(Debug, Serialize)]
pub struct ShippingInformation {
    pub shipping_address: Address,
    pub billing_address: Address,
    pub shipping_carrier_code: String,
    pub shipping_method_code: String,
}

/// `POST /V1/guest-carts/{cartId}/payment-information` body: places the order.
#[derive(Debug, Serialize)]
pub struct PaymentInformationRequest {
    pub email: String,
    #[serde(rename = "paymentMethod")]
    pub payment_method: PaymentMethod,
    #[serde(rename = "billingAddress")]
    pub billing_address: Address,
}

/// `quote-data-payment-interface`. `po_number` carries the anycart order id: the
/// Purchase Order method stores it on the order in the same transaction that
/// creates it, so a retry can recognise the order whatever happened afterwards.
#[derive(Debug, Serialize)]
pub struct PaymentMethod {
    pub method: String,
    pub po_number: String,
}

/// The order id `payment-information` answers with: an integer, which some
/// versions serialise as a JSON string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PlacedOrderId {
    Number(i64),
    Text(String),
}

/// `sales-data-order-interface` (the fields de-duplication reads).
#[derive(Debug, Deserialize)]
pub struct Order {
    pub entity_id: i64,
    #[serde(default)]
    pub increment_id: Option<String>,
    #[serde(default)]
    pub quote_id: Option<i64>,
    #[serde(default)]
    pub ext_order_id: Option<String>,
    /// The order status (`pending`, …); an order comment must repeat it.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment: Option<OrderPayment>,
    #[serde(default)]
    pub status_histories: Vec<StatusHistory>,
}

/// `sales-data-order-payment-interface` (method and PO number).
#[derive(Debug, Deserialize)]
pub struct OrderPayment {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub po_number: Option<String>,
}

/// An order comment.
#[derive(Debug, Deserialize)]
pub struct StatusHistory {
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /V1/orders/{id}/comments` body.
#[derive(Debug, Serialize)]
pub struct CommentRequest {
    #[serde(rename = "statusHistory")]
    pub status_history: CommentInput,
}

/// `sales-data-order-status-history-interface` as anycart fills it.
#[derive(Debug, Serialize)]
pub struct CommentInput {
    pub comment: String,
    pub is_customer_notified: i64,
    pub is_visible_on_front: i64,
    pub parent_id: i64,
    /// The order's current status, repeated so the comment does not clear it.
    pub status: String,
}

/// The part of `shipping-information`'s answer anycart checks: the payment
/// methods the cart may use.
#[derive(Debug, Deserialize)]
pub struct ShippingAnswer {
    pub payment_methods: Vec<PaymentMethodAnswer>,
}

/// One offered payment method.
#[derive(Debug, Deserialize)]
pub struct PaymentMethodAnswer {
    pub code: String,
}

/// `GET /V1/directory/countries/{countryId}` (`directory-data-country-information-interface`).
#[derive(Clone, Debug, Deserialize)]
pub struct CountryInformation {
    pub id: String,
    #[serde(default)]
    pub available_regions: Vec<RegionInformation>,
}

/// `directory-data-region-information-interface`: the id is a decimal string.
#[derive(Clone, Debug, Deserialize)]
pub struct RegionInformation {
    pub id: String,
    pub code: String,
    pub name: String,
}
