//! A fake Shopify Admin GraphQL endpoint. It accepts only the operations anycart
//! sends (compared with the documents in `wire`), checks the access token and the
//! variables' shapes as Shopify's schema would, keeps created orders (with their
//! line items and transactions) and refunds, answers the tag search, reports
//! `extensions.cost`, and fails on demand.

use anycart_connectors::shopify::oauth::{WEBHOOK_SUBSCRIPTION_CREATE_MUTATION, sign_callback};
use anycart_connectors::shopify::wire::{
    FIND_ORDER_QUERY, IMPORT_PRODUCTS_QUERY, ORDER_CREATE_MUTATION, REFUND_CONTEXT_QUERY,
    REFUND_CREATE_MUTATION,
};
use axum::Json;
use axum::extract::Query;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A failure to inject into the next request.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// Answer 500 without doing anything.
    Http500,
    /// Answer 429 with Retry-After.
    Http429,
    /// Answer a GraphQL THROTTLED error, as Shopify does when the bucket is empty.
    Throttled,
}

/// An order the fake shop holds.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub id: String,
    pub tags: Vec<String>,
    pub input: Value,
    pub options: Value,
    /// `refundCreate` inputs recorded on it, with the refund ids given.
    pub refunds: Vec<FakeRefund>,
}

/// A refund recorded on a fake order.
#[derive(Clone, Debug)]
pub struct FakeRefund {
    pub id: String,
    pub input: Value,
}

/// The id of line `i` of an order (as `lineItems.nodes[i].id` reports it).
fn line_item_id(order: &FakeOrder, i: usize) -> String {
    format!("{}/LineItem/{i}", order.id.replace("Order", "OrderLine"))
}

/// The id of the order's sale transaction.
fn sale_id(order: &FakeOrder) -> String {
    format!("{}/Transaction/1", order.id.replace("Order", "OrderTxn"))
}

#[derive(Default)]
struct Shop {
    orders: Vec<FakeOrder>,
    failures: VecDeque<Failure>,
    requests: usize,
    fail_always: bool,
    hang_next_create: Option<Duration>,
    hang_next_refund: Option<Duration>,
    catalogue: Vec<Value>,
    /// Points left in the cost bucket reported on import pages (None: plenty).
    import_bucket: Option<f64>,
    /// Answer 500 once for the import page starting at this product index.
    fail_import_at: Option<usize>,
    /// An access scope the app was not granted: operations needing it are denied.
    missing_scope: Option<String>,
    /// The installable app: (client id, client secret, shop domain, scopes the
    /// merchant grants).
    app: Option<(String, String, String, String)>,
    /// Authorization codes handed out and not yet exchanged.
    codes: Vec<String>,
    /// (topic, uri) of the app's webhook subscriptions.
    pub subscriptions: Vec<(String, String)>,
}

/// A running fake shop.
#[derive(Clone)]
pub struct FakeShopify {
    pub base_url: String,
    pub token: String,
    state: Arc<Mutex<Shop>>,
}

impl FakeShopify {
    /// Starts the fake on a random port.
    pub async fn start(token: &str) -> FakeShopify {
        let state = Arc::new(Mutex::new(Shop::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/admin/api/{version}/graphql.json", post(graphql))
            .route("/admin/oauth/authorize", get(authorize))
            .route("/admin/oauth/access_token", post(access_token))
            .with_state((state.clone(), token.to_string()))
            .layer(axum::middleware::from_fn(|r, n| {
                super::record::exchange("shopify", r, n)
            }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeShopify {
            base_url,
            token: token.into(),
            state,
        }
    }

    /// Lets the next refundCreate commit and then hang for `d` (past the client's
    /// timeout): the refund exists, the answer never arrives.
    pub fn hang_next_refund(&self, d: Duration) {
        self.state.lock().unwrap().hang_next_refund = Some(d);
    }

    /// Queues failures for the next requests, in order.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.state.lock().unwrap().failures.extend(failures);
    }

    /// Lets the next orderCreate commit and then hang for `d` (past the client's
    /// timeout): the order exists but its response is lost.
    pub fn hang_next_create(&self, d: Duration) {
        self.state.lock().unwrap().hang_next_create = Some(d);
    }

    /// Fills the catalogue with `n` products (two variants each, stocked at one location).
    pub fn seed_catalogue(&self, n: usize) {
        let mut shop = self.state.lock().unwrap();
        shop.catalogue = (0..n)
            .map(|i| json!({
                "id": format!("gid://shopify/Product/{}", 1000 + i),
                "title": format!("Product {i}"),
                "description": "Imported",
                "status": "ACTIVE",
                "media": {"nodes": [
                    {"mediaContentType": "IMAGE", "preview": {"image": {"url": format!("https://cdn.shopify.com/p{i}.png")}}},
                    // A video's preview is a still: not a product image.
                    {"mediaContentType": "VIDEO", "preview": {"image": {"url": format!("https://cdn.shopify.com/v{i}.jpg")}}},
                    // An image still processing has no preview yet.
                    {"mediaContentType": "IMAGE", "preview": {"image": null}}
                ]},
                "variants": {"nodes": ([0_usize, 1].iter().map(|v| json!({
                    "id": format!("gid://shopify/ProductVariant/{}", 5000 + i * 10 + v),
                    "title": format!("Size {v}"),
                    "sku": if *v == 0 { json!(format!("P{i}-S{v}")) } else { Value::Null },
                    "price": "19.90",
                    "inventoryItem": {
                        "id": format!("gid://shopify/InventoryItem/{}", 7000 + i * 10 + v),
                        "inventoryLevels": {"nodes": [{
                            "location": {"id": "gid://shopify/Location/31", "name": "Main warehouse"},
                            "quantities": [{"name": "available", "quantity": 3 + v}]
                        }]}
                    }
                })).collect::<Vec<Value>>())}
            }))
            .collect();
    }

    /// Fails (500, once) the import page that starts at product `index`.
    pub fn fail_import_at(&self, index: usize) {
        self.state.lock().unwrap().fail_import_at = Some(index);
    }

    /// Reports a nearly empty cost bucket on import pages (restoring 1,000/s).
    pub fn low_bucket(&self, available: f64) {
        self.state.lock().unwrap().import_bucket = Some(available);
    }

    /// Takes an access scope away from the app (`write_orders`): `orderCreate` is then
    /// answered as Shopify does, a `null` payload and a top-level `ACCESS_DENIED`.
    pub fn revoke_scope(&self, scope: &str) {
        self.state.lock().unwrap().missing_scope = Some(scope.into());
    }

    /// Offers the app for install: the merchant of `shop` approves and grants
    /// `granted_scopes` (comma-separated) on Shopify's grant screen.
    pub fn offer_app(
        &self,
        client_id: &str,
        client_secret: &str,
        shop: &str,
        granted_scopes: &str,
    ) {
        self.state.lock().unwrap().app = Some((
            client_id.into(),
            client_secret.into(),
            shop.into(),
            granted_scopes.into(),
        ));
    }

    /// (topic, uri) of the webhook subscriptions the app made.
    pub fn subscriptions(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().subscriptions.clone()
    }

    /// Makes every request answer 500 (an outage) until turned off.
    pub fn fail_always(&self, on: bool) {
        self.state.lock().unwrap().fail_always = on;
    }

    /// Orders held by the shop.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.state.lock().unwrap().orders.clone()
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }
}

fn cost(available: f64) -> Value {
    json!({"cost": {"requestedQueryCost": 10, "actualQueryCost": 10, "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": available, "restoreRate": 100.0}}})
}

fn user_error(field: &[&str], message: &str) -> Value {
    json!({"data": {"orderCreate": {"order": null, "userErrors": [{"field": field, "message": message, "code": "INVALID"}]}}, "extensions": cost(1990.0)})
}

/// Checks `OrderCreateOrderInput` as Shopify's schema and validation would.
fn validate_order(order: &Value, options: &Value) -> Result<(), Value> {
    let lines = order["lineItems"].as_array().filter(|l| !l.is_empty());
    let Some(lines) = lines else {
        return Err(user_error(
            &["order", "lineItems"],
            "must have at least one line item",
        ));
    };
    for l in lines {
        let gid_ok = l["variantId"]
            .as_str()
            .is_some_and(|v| v.starts_with("gid://shopify/ProductVariant/"));
        let qty_ok = l["quantity"].as_i64().is_some_and(|q| q > 0);
        let amount_ok = l["priceSet"]["shopMoney"]["amount"]
            .as_str()
            .is_some_and(|a| a.parse::<f64>().is_ok());
        if !(gid_ok && qty_ok && amount_ok) {
            return Err(user_error(&["order", "lineItems"], "invalid line item"));
        }
    }
    if order["currency"]
        .as_str()
        .is_none_or(|c| c.len() != 3 || c != c.to_ascii_uppercase())
    {
        return Err(user_error(&["order", "currency"], "invalid currency"));
    }
    for t in order["transactions"].as_array().into_iter().flatten() {
        let kinds = ["SALE", "AUTHORIZATION", "CAPTURE"];
        if !t["kind"].as_str().is_some_and(|k| kinds.contains(&k))
            || t["amountSet"]["shopMoney"]["amount"].as_str().is_none()
        {
            return Err(user_error(
                &["order", "transactions"],
                "invalid transaction",
            ));
        }
    }
    let behaviours = [
        "BYPASS",
        "DECREMENT_IGNORING_POLICY",
        "DECREMENT_OBEYING_POLICY",
    ];
    if !options["inventoryBehaviour"]
        .as_str()
        .is_some_and(|b| behaviours.contains(&b))
    {
        return Err(
            json!({"errors": [{"message": "Variable $options of type OrderCreateOptionsInput was provided invalid value for inventoryBehaviour", "extensions": {"code": "INVALID_VARIABLE"}}]}),
        );
    }
    Ok(())
}

async fn graphql(
    State((state, token)): State<(Arc<Mutex<Shop>>, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers
        .get("X-Shopify-Access-Token")
        .and_then(|v| v.to_str().ok())
        != Some(token.as_str())
    {
        return (StatusCode::UNAUTHORIZED, Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))).into_response();
    }
    let failure = {
        let mut shop = state.lock().unwrap();
        shop.requests += 1;
        if shop.fail_always {
            Some(Failure::Http500)
        } else {
            shop.failures.pop_front()
        }
    };
    match failure {
        Some(Failure::Http500) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
        Some(Failure::Http429) => {
            return (StatusCode::TOO_MANY_REQUESTS, [("Retry-After", "2")], "").into_response();
        }
        Some(Failure::Throttled) => {
            return Json(json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}], "extensions": cost(0.0)})).into_response();
        }
        _ => {}
    }
    let query = body["query"].as_str().unwrap_or_default();
    let vars = &body["variables"];
    let mut hang = None;
    let answer = if query == FIND_ORDER_QUERY {
        let shop = state.lock().unwrap();
        let Some(first) = vars["first"].as_u64().filter(|f| (1..=250).contains(f)) else {
            return Json(json!({"errors": [{"message": "first must be between 1 and 250", "extensions": {"code": "BAD_REQUEST"}}]})).into_response();
        };
        let q = vars["query"].as_str().unwrap_or_default();
        let term = q.strip_prefix("tag:'").and_then(|t| t.strip_suffix('\''));
        // Shopify's search is not an exact tag match: it splits terms into words
        // and ranks as it likes. Here: any order sharing a word, newest first.
        let words = |t: &str| {
            t.split('-')
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        };
        let nodes: Vec<Value> = shop
            .orders
            .iter()
            .rev()
            .filter(|o| {
                term.is_some_and(|t| {
                    let wanted = words(t);
                    o.tags
                        .iter()
                        .any(|x| words(x).iter().any(|w| wanted.contains(w)))
                })
            })
            .take(first as usize)
            .map(|o| json!({"id": o.id, "tags": o.tags}))
            .collect();
        json!({"data": {"orders": {"nodes": nodes}}, "extensions": cost(1999.0)})
    } else if query == IMPORT_PRODUCTS_QUERY {
        let mut shop = state.lock().unwrap();
        let first = vars["first"].as_u64().filter(|f| (1..=250).contains(f));
        let Some(first) = first else {
            return Json(json!({"errors": [{"message": "first must be between 1 and 250", "extensions": {"code": "BAD_REQUEST"}}]})).into_response();
        };
        let start = match vars["after"].as_str() {
            None => 0,
            Some(c) => match c.strip_prefix("cursor:").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => n,
                None => return Json(json!({"errors": [{"message": "Invalid cursor", "extensions": {"code": "BAD_REQUEST"}}]})).into_response(),
            },
        };
        if shop.fail_import_at == Some(start) {
            shop.fail_import_at = None;
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
        let end = (start + first as usize).min(shop.catalogue.len());
        let nodes = &shop.catalogue[start.min(end)..end];
        let mut extensions = cost(1990.0);
        if let Some(a) = shop.import_bucket {
            extensions = json!({"cost": {"requestedQueryCost": 100, "actualQueryCost": 60, "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": a, "restoreRate": 1000.0}}});
        }
        json!({"data": {"shop": {"currencyCode": "EUR"}, "products": {
            "pageInfo": {"hasNextPage": end < shop.catalogue.len(), "endCursor": format!("cursor:{end}")},
            "nodes": nodes
        }}, "extensions": extensions})
    } else if query == ORDER_CREATE_MUTATION
        && let Some(scope) = state.lock().unwrap().missing_scope.clone()
    {
        json!({"data": {"orderCreate": null}, "errors": [{
            "message": format!("Access denied for orderCreate field. Required access: `{scope}` access scope."),
            "locations": [{"line": 1, "column": 112}],
            "path": ["orderCreate"],
            "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes", "requiredAccess": format!("`{scope}` access scope.")}
        }], "extensions": cost(1990.0)})
    } else if query == ORDER_CREATE_MUTATION {
        let (order, options) = (&vars["order"], &vars["options"]);
        match validate_order(order, options) {
            Err(e) => e,
            Ok(()) => {
                let mut shop = state.lock().unwrap();
                hang = shop.hang_next_create.take();
                let id = format!(
                    "gid://shopify/Order/{}",
                    820_982_911_946_154_500_u64 + shop.orders.len() as u64
                );
                let tags = order["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
                shop.orders.push(FakeOrder {
                    id: id.clone(),
                    tags,
                    input: order.clone(),
                    options: options.clone(),
                    refunds: Vec::new(),
                });
                json!({"data": {"orderCreate": {"order": {"id": id, "name": format!("#{}", 1000 + shop.orders.len())}, "userErrors": []}}, "extensions": cost(1990.0)})
            }
        }
    } else if query == WEBHOOK_SUBSCRIPTION_CREATE_MUTATION {
        let mut shop = state.lock().unwrap();
        let topic = vars["topic"].as_str().unwrap_or_default().to_string();
        let uri = vars["webhookSubscription"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if shop
            .subscriptions
            .iter()
            .any(|(t, u)| *t == topic && *u == uri)
        {
            json!({"data": {"webhookSubscriptionCreate": {"webhookSubscription": null, "userErrors": [{"field": ["webhookSubscription", "callbackUrl"], "message": "Address for this topic has already been taken"}]}}, "extensions": cost(1990.0)})
        } else {
            shop.subscriptions.push((topic, uri));
            let id = format!(
                "gid://shopify/WebhookSubscription/{}",
                shop.subscriptions.len()
            );
            json!({"data": {"webhookSubscriptionCreate": {"webhookSubscription": {"id": id}, "userErrors": []}}, "extensions": cost(1990.0)})
        }
    } else if query == REFUND_CONTEXT_QUERY {
        let shop = state.lock().unwrap();
        let order = shop
            .orders
            .iter()
            .find(|o| Some(o.id.as_str()) == vars["id"].as_str())
            .map(refund_context);
        json!({"data": {"order": order, "locations": {"nodes": [{"id": "gid://shopify/Location/31"}]}}, "extensions": cost(1990.0)})
    } else if query == REFUND_CREATE_MUTATION {
        let mut shop = state.lock().unwrap();
        let input = &vars["input"];
        match validate_refund(&shop, input) {
            Err(e) => e,
            Ok(index) => {
                hang = shop.hang_next_refund.take();
                let order = &mut shop.orders[index];
                let id = format!(
                    "gid://shopify/Refund/{}{}",
                    index + 1,
                    order.refunds.len() + 1
                );
                order.refunds.push(FakeRefund {
                    id: id.clone(),
                    input: input.clone(),
                });
                json!({"data": {"refundCreate": {"refund": {"id": id}, "userErrors": []}}, "extensions": cost(1990.0)})
            }
        }
    } else {
        json!({"errors": [{"message": "fake Shopify: unexpected operation", "extensions": {"code": "undefinedField"}}]})
    };
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
    Json(answer).into_response()
}

/// What `AnycartRefundContext` selects of an order: its refunds, its line items
/// with what is left to refund of them, and its transactions.
fn refund_context(o: &FakeOrder) -> Value {
    let lines: Vec<Value> = o.input["lineItems"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, l)| {
            let id = line_item_id(o, i);
            let quantity = l["quantity"].as_i64().unwrap_or(0);
            json!({"id": id, "quantity": quantity,
                   "refundableQuantity": quantity - refunded_units(o, &id),
                   "variant": {"id": l["variantId"]}})
        })
        .collect();
    let sale = &o.input["transactions"][0];
    json!({
        "id": o.id,
        "refunds": o.refunds.iter().map(|r| json!({"id": r.id, "note": r.input["note"]})).collect::<Vec<_>>(),
        "lineItems": {"nodes": lines},
        "transactions": [{"id": sale_id(o), "kind": sale["kind"], "status": "SUCCESS", "gateway": sale["gateway"]}],
    })
}

fn refunded_units(o: &FakeOrder, line_item: &str) -> i64 {
    o.refunds
        .iter()
        .flat_map(|r| r["refundLineItems"].as_array().cloned().unwrap_or_default())
        .filter(|l| l["lineItemId"] == line_item)
        .map(|l| l["quantity"].as_i64().unwrap_or(0))
        .sum()
}

impl std::ops::Index<&str> for FakeRefund {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        &self.input[key]
    }
}

fn refund_error(field: &[&str], message: &str) -> Value {
    json!({"data": {"refundCreate": {"refund": null, "userErrors": [{"field": field, "message": message}]}}, "extensions": cost(1990.0)})
}

/// Checks `RefundInput` as Shopify would: a known order, its own line items,
/// quantities within what is left, a known restock type and location, and a
/// REFUND transaction whose parent is the order's sale, for no more than it.
/// Answers the order's index.
fn validate_refund(shop: &Shop, input: &Value) -> Result<usize, Value> {
    let Some(index) = shop
        .orders
        .iter()
        .position(|o| Some(o.id.as_str()) == input["orderId"].as_str())
    else {
        return Err(refund_error(&["orderId"], "Order does not exist"));
    };
    let order = &shop.orders[index];
    let context = refund_context(order);
    for l in input["refundLineItems"].as_array().into_iter().flatten() {
        let Some(line) = context["lineItems"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["id"] == l["lineItemId"])
        else {
            return Err(refund_error(
                &["refundLineItems", "lineItemId"],
                "Line item does not exist",
            ));
        };
        let qty = l["quantity"].as_i64().unwrap_or(0);
        if qty < 1 || qty > line["refundableQuantity"].as_i64().unwrap_or(0) {
            return Err(refund_error(
                &["refundLineItems", "quantity"],
                "Quantity cannot refund more items than were purchased",
            ));
        }
        let restock = l["restockType"].as_str().unwrap_or_default();
        if !["RETURN", "CANCEL", "NO_RESTOCK", "LEGACY_RESTOCK"].contains(&restock) {
            return Err(
                json!({"errors": [{"message": "Variable $input of type RefundInput! was provided invalid value for refundLineItems.restockType", "extensions": {"code": "INVALID_VARIABLE"}}]}),
            );
        }
        if restock == "RETURN" && l["locationId"].as_str() != Some("gid://shopify/Location/31") {
            return Err(refund_error(
                &["refundLineItems", "locationId"],
                "Location is required to restock",
            ));
        }
    }
    let sale_amount: f64 = order.input["transactions"][0]["amountSet"]["shopMoney"]["amount"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0.0);
    let already: f64 = order
        .refunds
        .iter()
        .flat_map(|r| r["transactions"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["amount"].as_str().and_then(|a| a.parse::<f64>().ok()))
        .sum();
    for t in input["transactions"].as_array().into_iter().flatten() {
        let amount = t["amount"].as_str().and_then(|a| a.parse::<f64>().ok());
        if t["kind"] != "REFUND" || t["parentId"].as_str() != Some(sale_id(order).as_str()) {
            return Err(refund_error(
                &["transactions"],
                "A refund must be a child of the order's sale",
            ));
        }
        if amount.is_none_or(|a| a <= 0.0 || a + already > sale_amount + 1e-9) {
            return Err(refund_error(
                &["transactions", "amount"],
                "Refund amount exceeds the amount that can be refunded",
            ));
        }
    }
    Ok(index)
}

/// Shopify's grant screen, with the merchant approving at once: back to the
/// app's `redirect_uri` with a code and Shopify's hex HMAC over the query.
async fn authorize(
    State((state, _)): State<(Arc<Mutex<Shop>>, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut shop = state.lock().unwrap();
    let Some((client_id, secret, domain, _)) = shop.app.clone() else {
        return (StatusCode::NOT_FOUND, "no app").into_response();
    };
    if q.get("client_id") != Some(&client_id) || !q.contains_key("scope") {
        return (
            StatusCode::BAD_REQUEST,
            "Oauth error invalid_request: The client_id is invalid",
        )
            .into_response();
    }
    let (Some(redirect), Some(nonce)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "Oauth error invalid_request").into_response();
    };
    let code = format!("code-{}", shop.codes.len() + 1);
    shop.codes.push(code.clone());
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let pairs = [
        ("code", code.as_str()),
        ("host", "YWRtaW4uc2hvcGlmeS5jb20"),
        ("shop", domain.as_str()),
        ("state", nonce.as_str()),
        ("timestamp", timestamp.as_str()),
    ];
    let hmac = sign_callback(&secret, &pairs);
    let mut url = url::Url::parse(redirect).unwrap();
    url.query_pairs_mut()
        .extend_pairs(pairs)
        .append_pair("hmac", &hmac);
    (StatusCode::FOUND, [("location", url.to_string())]).into_response()
}

/// The code exchange: the app's credentials and an unused code give the shop's
/// offline token and the scopes granted.
async fn access_token(
    State((state, token)): State<(Arc<Mutex<Shop>>, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut shop = state.lock().unwrap();
    let Some((client_id, secret, _, granted)) = shop.app.clone() else {
        return (StatusCode::NOT_FOUND, "no app").into_response();
    };
    let code = body["code"].as_str().unwrap_or_default();
    let known = shop.codes.iter().position(|c| c == code);
    if body["client_id"] != client_id.as_str() || body["client_secret"] != secret.as_str() {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_client", "error_description": "Client credentials are invalid"}))).into_response();
    }
    let Some(i) = known else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "error_description": "The authorization code was not found or was already used"}))).into_response();
    };
    shop.codes.remove(i);
    Json(json!({"access_token": token, "scope": granted})).into_response()
}
