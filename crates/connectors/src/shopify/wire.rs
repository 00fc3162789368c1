//! Shopify's JSON shapes: Admin GraphQL requests/responses and REST-style webhook
//! payloads (only the fields anycart reads; unknown fields are ignored so new
//! Shopify versions do not break intake).

use serde::{Deserialize, Serialize};

/// Looks for an order anycart created before (by its unique tag), so a retry after
/// a lost response does not create a second one. Shopify's search is not an exact
/// tag match (it tokenises, and ranks as it likes), so several candidates come back
/// ([`FIND_ORDER_CANDIDATES_MAX`]) and the connector keeps only the exact tag.
pub const FIND_ORDER_QUERY: &str = "query FindAnycartOrder($query: String!, $first: Int!) { orders(first: $first, query: $query) { nodes { id tags } } }";

/// Orders the retry look-up reads: anycart tags each order `anycart` and
/// `anycart-<id>`, so a loose search can rank other anycart orders first.
pub const FIND_ORDER_CANDIDATES_MAX: i64 = 50;

/// Creates the order. `sendReceipt` lets Shopify email its usual confirmation.
pub const ORDER_CREATE_MUTATION: &str = "mutation AnycartOrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) { orderCreate(order: $order, options: $options) { order { id name } userErrors { field message code } } }";

/// A GraphQL request body.
#[derive(Debug, Serialize)]
pub struct GraphqlRequest<'a, V> {
    pub query: &'a str,
    pub variables: V,
}

/// A GraphQL response body. `data` stays raw until the top-level `errors` are
/// read: the schema lets a payload be `null` beside an error (a missing access
/// scope, for one), which the operation's own types cannot hold.
#[derive(Debug, Deserialize)]
pub struct GraphqlResponse {
    pub data: Option<serde_json::Value>,
    #[serde(default)]
    pub errors: Vec<GraphqlError>,
    pub extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
pub struct GraphqlError {
    pub message: String,
    /// The field the error is about (`["orderCreate"]`), when Shopify says.
    #[serde(default)]
    pub path: Vec<serde_json::Value>,
    pub extensions: Option<GraphqlErrorExtensions>,
}

#[derive(Debug, Deserialize)]
pub struct GraphqlErrorExtensions {
    pub code: Option<String>,
}

/// Shopify's cost report (`extensions.cost`) that drives client-side throttling.
#[derive(Debug, Deserialize)]
pub struct Extensions {
    pub cost: Option<Cost>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub requested_query_cost: Option<f64>,
    pub throttle_status: ThrottleStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

#[derive(Debug, Serialize)]
pub struct FindOrderVariables {
    pub query: String,
    pub first: i64,
}

#[derive(Debug, Deserialize)]
pub struct FindOrderData {
    pub orders: Connection<OrderNode>,
}

#[derive(Debug, Deserialize)]
pub struct Connection<T> {
    pub nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
pub struct OrderNode {
    pub id: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct OrderCreateVariables {
    pub order: OrderCreateOrderInput,
    pub options: OrderCreateOptionsInput,
}

/// `OrderCreateOrderInput` (the fields anycart sets).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreateOrderInput {
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub line_items: Vec<LineItemInput>,
    pub shipping_lines: Vec<ShippingLineInput>,
    pub tax_lines: Vec<TaxLineInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<AddressInput>,
    pub tags: Vec<String>,
    pub custom_attributes: Vec<AttributeInput>,
    pub source_name: String,
    pub source_identifier: String,
    pub financial_status: String,
    pub transactions: Vec<TransactionInput>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreateOptionsInput {
    pub send_receipt: bool,
    pub inventory_behaviour: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemInput {
    pub variant_id: String,
    pub quantity: i64,
    pub price_set: MoneyBagInput,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingLineInput {
    pub title: String,
    pub price_set: MoneyBagInput,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxLineInput {
    pub title: String,
    /// Shopify requires a rate; anycart derives it for display only, the amount in
    /// `price_set` is the exact figure.
    pub rate: f64,
    pub price_set: MoneyBagInput,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBagInput {
    pub shop_money: MoneyInput,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyInput {
    pub amount: String,
    pub currency_code: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    pub first_name: Option<String>,
    pub last_name: String,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    pub province_code: Option<String>,
    pub country_code: String,
    pub zip: String,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AttributeInput {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionInput {
    pub kind: String,
    pub status: String,
    pub gateway: String,
    pub authorization_code: String,
    pub amount_set: MoneyBagInput,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreateData {
    /// `null` only beside a top-level error, which is read first.
    pub order_create: Option<OrderCreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreatePayload {
    pub order: Option<CreatedOrder>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
pub struct CreatedOrder {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserError {
    pub field: Option<Vec<String>>,
    pub message: String,
    pub code: Option<String>,
}

/// `inventory_levels/update` webhook body.
#[derive(Debug, Deserialize)]
pub struct InventoryLevelWebhook {
    pub inventory_item_id: u64,
    pub location_id: u64,
    /// `null` when Shopify does not track the item.
    pub available: Option<i64>,
    pub updated_at: String,
}

/// The customer a compliance webhook names (`customers/redact`,
/// `customers/data_request`).
#[derive(Debug, Deserialize)]
pub struct ComplianceCustomer {
    pub id: u64,
    /// The customer's email on the shop, if they gave one: what anycart's saved
    /// shopper details are keyed by.
    pub email: Option<String>,
}

/// `customers/redact` webhook body (fields anycart uses).
#[derive(Debug, Deserialize)]
pub struct CustomerRedactWebhook {
    pub customer: ComplianceCustomer,
}

/// The request id of a `customers/data_request`.
#[derive(Debug, Deserialize)]
pub struct DataRequestId {
    pub id: u64,
}

/// `customers/data_request` webhook body (fields anycart uses).
#[derive(Debug, Deserialize)]
pub struct CustomerDataRequestWebhook {
    pub customer: ComplianceCustomer,
    pub data_request: DataRequestId,
}

/// `products/update` webhook body (the REST product resource; fields anycart uses).
#[derive(Debug, Deserialize)]
pub struct ProductWebhook {
    pub id: u64,
    pub title: String,
    /// `active`, `archived` or `draft`.
    pub status: String,
    pub updated_at: String,
    #[serde(default)]
    pub variants: Vec<ProductVariantWebhook>,
}

#[derive(Debug, Deserialize)]
pub struct ProductVariantWebhook {
    pub id: u64,
    /// Decimal string in the shop currency, e.g. `"19.99"`.
    pub price: String,
}

/// `orders/create` webhook body.
#[derive(Debug, Deserialize)]
pub struct OrderWebhook {
    pub id: u64,
    pub created_at: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub note_attributes: Vec<NoteAttribute>,
    #[serde(default)]
    pub line_items: Vec<LineItemWebhook>,
}

#[derive(Debug, Deserialize)]
pub struct NoteAttribute {
    pub name: String,
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LineItemWebhook {
    pub variant_id: Option<u64>,
    pub quantity: i64,
}

/// One page of products with their variants, inventory items and per-location
/// available quantities (cursor pagination).
pub const IMPORT_PRODUCTS_QUERY: &str = "query AnycartImportProducts($first: Int!, $after: String) { shop { currencyCode } products(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { id title description status media(first: 10) { nodes { mediaContentType preview { image { url } } } } variants(first: 100) { nodes { id title sku price inventoryItem { id inventoryLevels(first: 10) { nodes { location { id name } quantities(names: [\"available\"]) { name quantity } } } } } } } } }";

#[derive(Debug, Serialize)]
pub struct ImportVariables {
    pub first: i64,
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ImportData {
    pub shop: ShopNode,
    pub products: PagedProducts,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopNode {
    pub currency_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagedProducts {
    pub page_info: PageInfo,
    pub nodes: Vec<ProductNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ProductNode {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: String,
    pub media: Connection<MediaNode>,
    pub variants: Connection<VariantNode>,
}

/// One of a product's media (`Product.images` is deprecated): images, videos and
/// 3D models alike; only images become anycart product images.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaNode {
    /// `IMAGE`, `VIDEO`, `EXTERNAL_VIDEO` or `MODEL_3D`.
    pub media_content_type: String,
    pub preview: Option<MediaPreview>,
}

#[derive(Debug, Deserialize)]
pub struct MediaPreview {
    /// `null` while Shopify is still processing the upload.
    pub image: Option<ImageNode>,
}

#[derive(Debug, Deserialize)]
pub struct ImageNode {
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantNode {
    pub id: String,
    pub title: String,
    pub sku: Option<String>,
    /// Decimal string in the shop's currency (`"25.00"`).
    pub price: String,
    pub inventory_item: InventoryItemNode,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryItemNode {
    pub id: String,
    pub inventory_levels: Connection<InventoryLevelNode>,
}

#[derive(Debug, Deserialize)]
pub struct InventoryLevelNode {
    pub location: LocationNode,
    pub quantities: Vec<QuantityNode>,
}

#[derive(Debug, Deserialize)]
pub struct LocationNode {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct QuantityNode {
    pub name: String,
    pub quantity: i64,
}

/// What recording a refund needs of the order: its line items (to map anycart
/// lines), the transaction the refund is the child of, earlier refunds (to find
/// one a timed-out attempt made) and a location to restock at.
pub const REFUND_CONTEXT_QUERY: &str = "query AnycartRefundContext($id: ID!) { order(id: $id) { id refunds(first: 50) { id note } lineItems(first: 100) { nodes { id quantity refundableQuantity variant { id } } } transactions(first: 20) { id kind status gateway } } locations(first: 1) { nodes { id } } }";

/// Records the refund. `notify` lets Shopify email its usual refund notice.
pub const REFUND_CREATE_MUTATION: &str = "mutation AnycartRefundCreate($input: RefundInput!) { refundCreate(input: $input) { refund { id } userErrors { field message } } }";

#[derive(Debug, Serialize)]
pub struct RefundContextVariables {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct RefundContextData {
    pub order: Option<RefundContextOrder>,
    pub locations: Connection<IdNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundContextOrder {
    pub id: String,
    #[serde(default)]
    pub refunds: Vec<RefundNode>,
    pub line_items: Connection<OrderLineItemNode>,
    #[serde(default)]
    pub transactions: Vec<TransactionNode>,
}

#[derive(Debug, Deserialize)]
pub struct IdNode {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct RefundNode {
    pub id: String,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineItemNode {
    pub id: String,
    pub quantity: i64,
    pub refundable_quantity: i64,
    pub variant: Option<IdNode>,
}

#[derive(Debug, Deserialize)]
pub struct TransactionNode {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub gateway: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RefundCreateVariables {
    pub input: RefundInput,
}

/// `RefundInput` (the fields anycart sets).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundInput {
    pub order_id: String,
    pub note: String,
    pub notify: bool,
    pub refund_line_items: Vec<RefundLineItemInput>,
    pub transactions: Vec<OrderTransactionInput>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineItemInput {
    pub line_item_id: String,
    pub quantity: i64,
    /// `RETURN` (back to stock at `location_id`) or `NO_RESTOCK`.
    pub restock_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

/// The money side: a `REFUND` child of the order's sale, through the same
/// gateway name the order was created with (Shopify records it; the money moved
/// at anycart's provider).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTransactionInput {
    pub order_id: String,
    pub kind: String,
    pub gateway: String,
    pub amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreateData {
    pub refund_create: RefundCreatePayload,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundCreatePayload {
    pub refund: Option<IdNode>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

/// The `refunds/create` webhook (REST shape), as far as anycart reads it.
#[derive(Debug, Deserialize)]
pub struct RefundWebhook {
    pub id: i64,
    pub order_id: i64,
    pub created_at: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub refund_line_items: Vec<RefundLineItemWebhook>,
    #[serde(default)]
    pub transactions: Vec<RefundTransactionWebhook>,
}

#[derive(Debug, Deserialize)]
pub struct RefundLineItemWebhook {
    pub quantity: i64,
    pub line_item: Option<RefundedLineItemWebhook>,
}

#[derive(Debug, Deserialize)]
pub struct RefundedLineItemWebhook {
    pub variant_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct RefundTransactionWebhook {
    pub kind: String,
    pub status: String,
    pub amount: String,
    pub currency: Option<String>,
}
