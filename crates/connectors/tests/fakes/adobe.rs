//! A fake Adobe Commerce (Magento 2) REST API. It serves the paths anycart calls
//! under `/rest/{store}/V1`, checks the integration token (`Authorization:
//! Bearer …`), parses `searchCriteria[…]` filters, pages like Magento (a page past
//! the end answers the last page again), keeps guest carts, orders and MSI
//! source items with reservations, answers errors in Magento's
//! `{"message", "parameters"}` shape, and fails on demand.

// Each test binary uses its own subset of the fakes.
#![allow(dead_code)]
// The fake's errors are the HTTP answers themselves; their size does not matter.
#![allow(clippy::result_large_err)]

use anycart_connectors::adobe::convert::magento_datetime;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod search;
use search::{criteria, search};

/// Which API a queued failure hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Products,
    Children,
    Sources,
    SourceItems,
    Salable,
    Currency,
    Country,
    CreateCart,
    GetCart,
    AddItem,
    ShippingInformation,
    PaymentInformation,
    Orders,
    Order,
    Comments,
}

/// A failure to inject into the next request to an endpoint.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// Lets this request through untouched (to aim a later failure).
    Succeed,
    /// 500 in Magento's error shape, nothing done.
    Http500,
    /// 429 with `Retry-After` in seconds, nothing done.
    Http429 { retry_after_s: u64 },
    /// Hangs past the client's timeout, nothing done.
    Hang,
    /// Does the work, then hangs past the client's timeout (the answer is lost).
    LostResponse,
    /// Does the work, then answers 200 with an HTML page instead of JSON.
    Garbage,
    /// Answers without `total_count` (search results) or `id` (a cart): a body
    /// cut short.
    Partial,
}

/// A configurable's child: `(sku, price, [(source, quantity)])`.
pub type Child<'a> = (&'a str, f64, &'a [(&'a str, f64)]);

/// An order the fake store holds.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub entity_id: i64,
    pub increment_id: String,
    pub quote_id: i64,
    pub email: String,
    pub created_at: String,
    /// `None` once a comment without a status cleared it (magento/magento2#34180).
    pub status: Option<String>,
    pub payment: Value,
    pub items: Vec<(String, i64)>,
    pub comments: Vec<String>,
    pub shipping: Value,
    pub billing: Value,
    pub carrier: String,
    pub method: String,
}

#[derive(Clone, Debug, Default)]
struct Cart {
    quote_id: i64,
    active: bool,
    items: Vec<(String, i64)>,
    shipping: Option<Value>,
}

#[derive(Default)]
struct Commerce {
    token: String,
    /// (consumer key, consumer secret, token secret) when the store takes only
    /// OAuth 1.0a-signed requests (integration tokens as bearer tokens are off by
    /// default since 2.4.4).
    oauth1: Option<(String, String, String)>,
    hang: Duration,
    failures: VecDeque<(Endpoint, Failure)>,
    fail_always: bool,
    requests: Vec<Endpoint>,
    /// Products in entity_id order (children included: they are products too).
    products: Vec<Value>,
    children: BTreeMap<String, Vec<String>>,
    sources: Vec<Value>,
    /// (sku, source) → (quantity, status).
    source_items: BTreeMap<(String, String), (f64, i64)>,
    /// Sum of MSI reservations per SKU (negative: sold, not shipped yet).
    reservations: BTreeMap<String, i64>,
    carts: BTreeMap<String, Cart>,
    orders: Vec<FakeOrder>,
    next_id: i64,
}

/// A running fake store.
#[derive(Clone)]
pub struct FakeAdobe {
    pub base_url: String,
    pub token: String,
    state: Arc<Mutex<Commerce>>,
}

fn magento_error(status: StatusCode, message: &str, parameters: Value) -> Response {
    (
        status,
        axum::Json(json!({"message": message, "parameters": parameters})),
    )
        .into_response()
}

fn now_datetime() -> String {
    magento_datetime(time::OffsetDateTime::now_utc().unix_timestamp())
}

impl FakeAdobe {
    /// Starts the fake on a random port with one source (`default`, "Default
    /// Source") and no products. `hang` is how long a hanging request waits.
    pub async fn start(token: &str, hang: Duration) -> FakeAdobe {
        let state = Arc::new(Mutex::new(Commerce {
            token: token.into(),
            hang,
            sources: vec![
                json!({"source_code": "default", "name": "Default Source", "enabled": true, "country_id": "US", "postcode": "00000"}),
            ],
            next_id: 1,
            ..Default::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone())
            .layer(axum::middleware::from_fn(|r, n| {
                super::record::exchange("adobe", r, n)
            }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeAdobe {
            base_url,
            token: token.into(),
            state,
        }
    }

    /// Takes only OAuth 1.0a-signed requests from the integration with these
    /// credentials (the access token is the one the fake started with).
    pub fn require_oauth1(&self, consumer_key: &str, consumer_secret: &str, token_secret: &str) {
        self.state.lock().unwrap().oauth1 = Some((
            consumer_key.into(),
            consumer_secret.into(),
            token_secret.into(),
        ));
    }

    /// Adds an MSI source.
    pub fn add_source(&self, code: &str, name: &str, enabled: bool) {
        self.state.lock().unwrap().sources.push(
            json!({"source_code": code, "name": name, "enabled": enabled, "country_id": "US", "postcode": "00000"}),
        );
    }

    fn product(
        shop: &mut Commerce,
        sku: &str,
        name: &str,
        type_id: &str,
        price: Value,
        visibility: i64,
    ) -> i64 {
        let id = shop.next_id;
        shop.next_id += 1;
        shop.products.push(json!({
            "id": id, "sku": sku, "name": name, "attribute_set_id": 4, "price": price,
            "status": 1, "visibility": visibility, "type_id": type_id,
            "created_at": "2026-01-01 00:00:00", "updated_at": "2026-01-01 00:00:00",
            "extension_attributes": {"website_ids": [1]},
            "product_links": [], "options": [], "tier_prices": [],
            "media_gallery_entries": [
                {"id": id, "media_type": "image", "label": null, "position": 1, "disabled": false,
                 "types": ["image", "small_image", "thumbnail"], "file": format!("/{}/{}/{}.jpg", &sku[..1].to_lowercase(), &sku[..1].to_lowercase(), sku.to_lowercase())}
            ],
            "custom_attributes": [
                {"attribute_code": "description", "value": format!("<p>The <b>{name}</b></p>")},
                {"attribute_code": "url_key", "value": sku.to_lowercase()}
            ]
        }));
        id
    }

    /// Adds a simple product (visible on its own) stocked at `stock` sources.
    pub fn add_simple(&self, sku: &str, name: &str, price: f64, stock: &[(&str, f64)]) -> i64 {
        let mut shop = self.state.lock().unwrap();
        let id = Self::product(&mut shop, sku, name, "simple", json!(price), 4);
        for (source, qty) in stock {
            shop.source_items.insert(
                (sku.into(), (*source).into()),
                (*qty, i64::from(*qty > 0.0)),
            );
        }
        id
    }

    /// Adds a configurable product and its simple children (not visible
    /// individually, as Magento creates them): `(sku, price, stock)`.
    pub fn add_configurable(&self, sku: &str, name: &str, children: &[Child<'_>]) -> i64 {
        let mut shop = self.state.lock().unwrap();
        let id = Self::product(&mut shop, sku, name, "configurable", json!(0), 4);
        for (child, price, stock) in children {
            Self::product(
                &mut shop,
                child,
                &format!("{name} {child}"),
                "simple",
                json!(price),
                1,
            );
            for (source, qty) in *stock {
                shop.source_items.insert(
                    ((*child).into(), (*source).into()),
                    (*qty, i64::from(*qty > 0.0)),
                );
            }
            shop.children
                .entry(sku.into())
                .or_default()
                .push((*child).into());
        }
        id
    }

    /// Sets a source item's physical quantity (a restock or a count), as an
    /// operator would in the admin.
    pub fn set_source_quantity(&self, sku: &str, source: &str, qty: f64) {
        self.state
            .lock()
            .unwrap()
            .source_items
            .insert((sku.into(), source.into()), (qty, i64::from(qty > 0.0)));
    }

    /// A shopper buys on the Magento storefront: MSI adds a reservation; source
    /// quantities only change when the order ships.
    pub fn storefront_sale(&self, sku: &str, qty: i64) {
        *self
            .state
            .lock()
            .unwrap()
            .reservations
            .entry(sku.into())
            .or_default() -= qty;
    }

    /// Queues failures for the next requests to `endpoint`, in order.
    pub fn fail_next(&self, endpoint: Endpoint, failures: &[Failure]) {
        let mut shop = self.state.lock().unwrap();
        shop.failures
            .extend(failures.iter().map(|f| (endpoint, *f)));
    }

    /// Makes every request answer 500 (an outage) until turned off.
    pub fn fail_always(&self, on: bool) {
        self.state.lock().unwrap().fail_always = on;
    }

    /// Orders held by the store.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.state.lock().unwrap().orders.clone()
    }

    /// Requests received so far, by endpoint.
    pub fn requests(&self) -> Vec<Endpoint> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Guest carts created so far.
    pub fn carts(&self) -> usize {
        self.state.lock().unwrap().carts.len()
    }
}

fn salable(shop: &Commerce, sku: &str) -> i64 {
    let on_hand: f64 = shop
        .source_items
        .iter()
        .filter(|((s, source), (_, status))| {
            s == sku
                && *status == 1
                && shop
                    .sources
                    .iter()
                    .any(|x| x["source_code"] == source.as_str() && x["enabled"] == true)
        })
        .map(|(_, (q, _))| *q)
        .sum();
    on_hand.floor() as i64 + shop.reservations.get(sku).copied().unwrap_or(0)
}

fn order_json(o: &FakeOrder) -> Value {
    json!({
        "entity_id": o.entity_id, "increment_id": o.increment_id, "quote_id": o.quote_id,
        "customer_email": o.email, "customer_is_guest": 1, "created_at": o.created_at,
        "ext_order_id": null, "state": "new", "status": o.status, "email_sent": 1,
        "payment": o.payment,
        "status_histories": o.comments.iter().map(|c| json!({"comment": c, "parent_id": o.entity_id, "is_customer_notified": 0})).collect::<Vec<_>>(),
        "items": o.items.iter().map(|(sku, qty)| json!({"sku": sku, "qty_ordered": qty})).collect::<Vec<_>>(),
        "billing_address": o.billing,
    })
}

const REQUIRED_ADDRESS_FIELDS: [&str; 7] = [
    "firstname",
    "lastname",
    "city",
    "postcode",
    "country_id",
    "telephone",
    "street",
];

/// Checks an OAuth 1.0a `Authorization` header as Magento does: HMAC-SHA1 over
/// the method, URL and query parameters with the integration's secrets, for its
/// consumer key and access token. (The signature is recomputed with the
/// header's own nonce and timestamp.)
fn oauth1_valid(
    header: &str,
    method: &str,
    url: &str,
    query: &[(String, String)],
    token: &str,
    (consumer_key, consumer_secret, token_secret): &(String, String, String),
) -> bool {
    let Some(params) = header.strip_prefix("OAuth ") else {
        return false;
    };
    let fields: BTreeMap<&str, String> = params
        .split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| {
            let v = v.trim_matches('"');
            let decoded = percent_decode(v);
            (k, decoded)
        })
        .collect();
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    if field("oauth_signature_method") != "HMAC-SHA1"
        || field("oauth_consumer_key") != consumer_key
        || field("oauth_token") != token
    {
        return false;
    }
    let Some(timestamp) = field("oauth_timestamp")
        .parse()
        .ok()
        .and_then(std::num::NonZeroU64::new)
    else {
        return false;
    };
    let pairs: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let expected = oauth1_request::Builder::new(
        oauth1_request::Credentials::new(consumer_key.as_str(), consumer_secret.as_str()),
        oauth1_request::HMAC_SHA1,
    )
    .token(oauth1_request::Credentials::new(
        token,
        token_secret.as_str(),
    ))
    .nonce(field("oauth_nonce"))
    .timestamp(timestamp)
    .authorize(method, url, &oauth1_request::ParameterList::new(pairs));
    expected == header
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Regions the fake's directory lists (Magento's own ids): the United States and
/// Germany have lists, other countries none.
const REGIONS: &[(&str, &str, &str, &str)] = &[
    ("US", "12", "CA", "California"),
    ("US", "23", "IL", "Illinois"),
    ("US", "43", "NY", "New York"),
    ("US", "57", "TX", "Texas"),
    ("DE", "81", "BAY", "Bayern"),
    ("DE", "82", "BER", "Berlin"),
];

/// `GET /V1/directory/countries/{id}` as Magento answers it.
fn country(id: &str) -> Option<Value> {
    if id.len() != 2 || !id.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let regions: Vec<Value> = REGIONS
        .iter()
        .filter(|r| r.0 == id)
        .map(|r| json!({"id": r.1, "code": r.2, "name": r.3}))
        .collect();
    let mut answer = json!({"id": id, "two_letter_abbreviation": id, "three_letter_abbreviation": format!("{id}X"),
                            "full_name_locale": id, "full_name_english": id});
    if !regions.is_empty() {
        answer["available_regions"] = Value::Array(regions);
    }
    Some(answer)
}

/// Magento checks the region against the directory: a listed country needs a
/// listed `region_id`, and the id must agree with the code.
fn region_problem(a: &Value) -> Option<Response> {
    let country = a["country_id"].as_str().unwrap_or_default();
    let listed: Vec<_> = REGIONS.iter().filter(|r| r.0 == country).collect();
    let Some(id) = a["region_id"].as_i64() else {
        return Some(magento_error(
            StatusCode::BAD_REQUEST,
            "\"%fieldName\" is required. Enter and try again.",
            json!({"fieldName": "regionId"}),
        ));
    };
    let ok = if listed.is_empty() {
        id == 0
    } else {
        listed
            .iter()
            .any(|r| r.1 == id.to_string() && Some(r.2) == a["region_code"].as_str())
    };
    (!ok).then(|| {
        magento_error(
            StatusCode::BAD_REQUEST,
            "Invalid value of \"%value\" provided for the %fieldName field.",
            json!({"fieldName": "regionId", "value": id}),
        )
    })
}

fn address_problem(a: &Value) -> Option<Response> {
    if !a.is_object() {
        return Some(magento_error(
            StatusCode::BAD_REQUEST,
            "The shipping address is missing. Set the address and try again.",
            json!([]),
        ));
    }
    for f in REQUIRED_ADDRESS_FIELDS {
        let ok = match &a[f] {
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(l) => l.iter().any(|s| s.as_str().is_some_and(|s| !s.is_empty())),
            _ => false,
        };
        if !ok {
            return Some(magento_error(
                StatusCode::BAD_REQUEST,
                "\"%fieldName\" is required. Enter and try again.",
                json!({"fieldName": f}),
            ));
        }
    }
    if a["country_id"]
        .as_str()
        .is_none_or(|c| c.len() != 2 || c != c.to_ascii_uppercase())
    {
        return Some(magento_error(
            StatusCode::BAD_REQUEST,
            "Invalid value of \"%value\" provided for the %fieldName field.",
            json!({"fieldName": "country_id", "value": a["country_id"]}),
        ));
    }
    region_problem(a)
}

async fn handle(
    State(state): State<Arc<Mutex<Commerce>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["rest", store, "V1", rest @ ..] = segments.as_slice() else {
        return (StatusCode::NOT_FOUND, "<html>404 Not Found</html>").into_response();
    };
    if *store != "default" && *store != "en" {
        return magento_error(
            StatusCode::BAD_REQUEST,
            "The store that was requested wasn't found. Verify the store and try again.",
            json!([]),
        );
    }
    let endpoint = match (&method, rest) {
        (&Method::GET, ["products"]) => Endpoint::Products,
        (&Method::GET, ["configurable-products", _, "children"]) => Endpoint::Children,
        (&Method::GET, ["inventory", "sources"]) => Endpoint::Sources,
        (&Method::GET, ["inventory", "source-items"]) => Endpoint::SourceItems,
        (&Method::GET, ["inventory", "get-product-salable-quantity", _, _]) => Endpoint::Salable,
        (&Method::GET, ["directory", "currency"]) => Endpoint::Currency,
        (&Method::GET, ["directory", "countries", _]) => Endpoint::Country,
        (&Method::POST, ["guest-carts"]) => Endpoint::CreateCart,
        (&Method::GET, ["guest-carts", _]) => Endpoint::GetCart,
        (&Method::POST, ["guest-carts", _, "items"]) => Endpoint::AddItem,
        (&Method::POST, ["guest-carts", _, "shipping-information"]) => {
            Endpoint::ShippingInformation
        }
        (&Method::POST, ["guest-carts", _, "payment-information"]) => Endpoint::PaymentInformation,
        (&Method::GET, ["orders"]) => Endpoint::Orders,
        (&Method::GET, ["orders", _]) => Endpoint::Order,
        (&Method::POST, ["orders", _, "comments"]) => Endpoint::Comments,
        _ => {
            return magento_error(
                StatusCode::NOT_FOUND,
                "Request does not match any route.",
                json!([]),
            );
        }
    };
    let (failure, hang) = {
        let mut shop = state.lock().unwrap();
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let authorised = match &shop.oauth1 {
            None => authorization == format!("Bearer {}", shop.token),
            Some(credentials) => {
                let host = headers
                    .get("host")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let url = format!("http://{host}{}", uri.path());
                oauth1_valid(
                    authorization,
                    method.as_str(),
                    &url,
                    &q,
                    &shop.token,
                    credentials,
                )
            }
        };
        if !authorised {
            return magento_error(
                StatusCode::UNAUTHORIZED,
                "The consumer isn't authorized to access %resources.",
                json!({"resources": "Magento_Sales::actions_view"}),
            );
        }
        shop.requests.push(endpoint);
        let failure = if shop.fail_always {
            Some(Failure::Http500)
        } else {
            shop.failures
                .iter()
                .position(|(e, _)| *e == endpoint)
                .and_then(|i| shop.failures.remove(i))
                .map(|(_, f)| f)
        };
        (failure, shop.hang)
    };
    match failure {
        Some(Failure::Http500) => {
            return magento_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Error. Details are available in Magento log file. Report ID: webapi-%1",
                json!(["6571e0c2"]),
            );
        }
        Some(Failure::Http429 { retry_after_s }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("Retry-After", retry_after_s.to_string())],
                axum::Json(json!({"message": "Too many requests", "parameters": []})),
            )
                .into_response();
        }
        Some(Failure::Hang) => {
            tokio::time::sleep(hang).await;
            return magento_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                json!([]),
            );
        }
        _ => {}
    }
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                return magento_error(
                    StatusCode::BAD_REQUEST,
                    "Decoding error: %1",
                    json!(["Syntax error"]),
                );
            }
        }
    };
    let answer = {
        let mut shop = state.lock().unwrap();
        answer(&mut shop, endpoint, rest, &q, &body)
    };
    let answer = match answer {
        Ok(v) => v,
        Err(r) => return r,
    };
    match failure {
        Some(Failure::LostResponse) => {
            tokio::time::sleep(hang).await;
            axum::Json(answer).into_response()
        }
        Some(Failure::Garbage) => (
            StatusCode::OK,
            [("Content-Type", "text/html")],
            "<html><body>Varnish cache server</body></html>",
        )
            .into_response(),
        Some(Failure::Partial) => {
            let mut a = answer;
            if let Some(o) = a.as_object_mut() {
                o.remove("total_count");
                o.remove("id");
            }
            axum::Json(a).into_response()
        }
        _ => axum::Json(answer).into_response(),
    }
}

fn answer(
    shop: &mut Commerce,
    endpoint: Endpoint,
    rest: &[&str],
    q: &[(String, String)],
    body: &Value,
) -> Result<Value, Response> {
    let not_found_cart = |id: &str| {
        magento_error(
            StatusCode::NOT_FOUND,
            "No such entity with %fieldName = %fieldValue",
            json!({"fieldName": "cartId", "fieldValue": id}),
        )
    };
    match endpoint {
        Endpoint::Products => search(shop.products.clone(), &criteria(q)?),
        Endpoint::Children => {
            let Some(children) = shop.children.get(rest[1]) else {
                return Err(magento_error(
                    StatusCode::NOT_FOUND,
                    "The product that was requested doesn't exist. Verify the product and try again.",
                    json!([]),
                ));
            };
            Ok(Value::Array(
                shop.products
                    .iter()
                    .filter(|p| children.iter().any(|c| p["sku"] == c.as_str()))
                    .cloned()
                    .collect(),
            ))
        }
        Endpoint::Sources => search(shop.sources.clone(), &criteria(q)?),
        Endpoint::SourceItems => {
            let items = shop
                .source_items
                .iter()
                .map(|((sku, source), (qty, status))| json!({"sku": sku, "source_code": source, "quantity": qty, "status": status}))
                .collect();
            search(items, &criteria(q)?)
        }
        Endpoint::Salable => {
            let sku = rest[2];
            if rest[3] != "1" {
                return Err(magento_error(
                    StatusCode::NOT_FOUND,
                    "Stock with id \"%value\" does not exist.",
                    json!({"value": rest[3]}),
                ));
            }
            if shop.children.contains_key(sku) {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "Can't check requested quantity for products without Source Items support.",
                    json!([]),
                ));
            }
            if !shop.products.iter().any(|p| p["sku"] == sku) {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "The product that was requested doesn't exist. Verify the product and try again.",
                    json!([]),
                ));
            }
            Ok(json!(salable(shop, sku) as f64))
        }
        Endpoint::Country => country(rest[2]).ok_or_else(|| {
            magento_error(
                StatusCode::NOT_FOUND,
                "Requested country is not available.",
                json!([]),
            )
        }),
        Endpoint::Currency => Ok(json!({
            "base_currency_code": "USD", "base_currency_symbol": "$",
            "default_display_currency_code": "USD", "default_display_currency_symbol": "$",
            "available_currency_codes": ["USD"], "exchange_rates": [{"currency_to": "USD", "rate": 1}]
        })),
        Endpoint::CreateCart => {
            let quote_id = shop.next_id;
            shop.next_id += 1;
            let masked = format!("{:032x}", 0x5eed_0000_u128 + quote_id as u128 * 7_919);
            shop.carts.insert(
                masked.clone(),
                Cart {
                    quote_id,
                    active: true,
                    ..Default::default()
                },
            );
            Ok(json!(masked))
        }
        Endpoint::GetCart => {
            let id = rest[1];
            let cart = shop
                .carts
                .get(id)
                .filter(|c| c.active)
                .ok_or_else(|| not_found_cart(id))?;
            Ok(json!({
                "id": cart.quote_id, "created_at": now_datetime(), "updated_at": now_datetime(),
                "is_active": true, "is_virtual": false,
                "items": cart.items.iter().map(|(s, q)| json!({"sku": s, "qty": q})).collect::<Vec<_>>(),
                "items_count": cart.items.len(), "customer_is_guest": true,
                "currency": {"base_currency_code": "USD", "quote_currency_code": "USD"}
            }))
        }
        Endpoint::AddItem => {
            let id = rest[1];
            let item = &body["cartItem"];
            let (Some(sku), Some(qty)) = (item["sku"].as_str(), item["qty"].as_i64()) else {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "\"%fieldName\" is required. Enter and try again.",
                    json!({"fieldName": "sku"}),
                ));
            };
            if item["quote_id"].as_str() != Some(id) {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "\"%fieldName\" is required. Enter and try again.",
                    json!({"fieldName": "quote_id"}),
                ));
            }
            let is_simple = shop
                .products
                .iter()
                .any(|p| p["sku"] == sku && p["type_id"] == "simple");
            if !is_simple {
                return Err(magento_error(
                    StatusCode::NOT_FOUND,
                    "The product that was requested doesn't exist. Verify the product and try again.",
                    json!([]),
                ));
            }
            if qty <= 0 {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "The quantity for \"%1\" must be greater than 0.",
                    json!([sku]),
                ));
            }
            let available = salable(shop, sku);
            let cart = shop
                .carts
                .get_mut(id)
                .filter(|c| c.active)
                .ok_or_else(|| not_found_cart(id))?;
            let in_cart: i64 = cart
                .items
                .iter()
                .filter(|(s, _)| s == sku)
                .map(|(_, q)| q)
                .sum();
            if in_cart + qty > available {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "The requested qty is not available",
                    json!([]),
                ));
            }
            cart.items.push((sku.into(), qty));
            Ok(
                json!({"item_id": cart.items.len(), "sku": sku, "qty": qty, "name": sku, "price": 25, "product_type": "simple", "quote_id": id}),
            )
        }
        Endpoint::ShippingInformation => {
            let id = rest[1];
            let info = &body["addressInformation"];
            let cart = shop
                .carts
                .get_mut(id)
                .filter(|c| c.active)
                .ok_or_else(|| not_found_cart(id))?;
            if cart.items.is_empty() {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "The shipping method can't be set for an empty cart. Add an item to cart and try again.",
                    json!([]),
                ));
            }
            for a in [&info["shipping_address"], &info["billing_address"]] {
                if let Some(problem) = address_problem(a) {
                    return Err(problem);
                }
            }
            let (carrier, method) = (
                info["shipping_carrier_code"].as_str().unwrap_or_default(),
                info["shipping_method_code"].as_str().unwrap_or_default(),
            );
            if !matches!(
                (carrier, method),
                ("flatrate", "flatrate") | ("freeshipping", "freeshipping")
            ) {
                return Err(magento_error(
                    StatusCode::NOT_FOUND,
                    "Carrier with such method not found: %1, %2",
                    json!([carrier, method]),
                ));
            }
            cart.shipping = Some(info.clone());
            Ok(json!({
                "payment_methods": [{"code": "checkmo", "title": "Check / Money order"}, {"code": "purchaseorder", "title": "Purchase Order"}],
                "totals": {"grand_total": 30, "base_currency_code": "USD", "quote_currency_code": "USD", "items_qty": cart.items.len()}
            }))
        }
        Endpoint::PaymentInformation => {
            let id = rest[1];
            let cart = shop
                .carts
                .get(id)
                .filter(|c| c.active)
                .cloned()
                .ok_or_else(|| not_found_cart(id))?;
            let Some(shipping) = cart.shipping.clone() else {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "The shipping method is missing. Select the shipping method and try again.",
                    json!([]),
                ));
            };
            let email = body["email"].as_str().filter(|e| e.contains('@'));
            let Some(email) = email else {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "\"%fieldName\" is required. Enter and try again.",
                    json!({"fieldName": "email"}),
                ));
            };
            let payment = &body["paymentMethod"];
            let method = payment["method"].as_str().unwrap_or_default();
            if !["checkmo", "purchaseorder"].contains(&method) {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "The requested Payment Method is not available.",
                    json!([]),
                ));
            }
            let po = payment["po_number"].as_str().filter(|p| !p.is_empty());
            if method == "purchaseorder" && po.is_none() {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "Purchase order number is a required field.",
                    json!([]),
                ));
            }
            if let Some(problem) = address_problem(&body["billingAddress"]) {
                return Err(problem);
            }
            // Stock is checked again at placement (another shopper may have bought).
            for (sku, qty) in &cart.items {
                if salable(shop, sku) < *qty {
                    return Err(magento_error(
                        StatusCode::BAD_REQUEST,
                        "Not all of your products are available in the requested quantity.",
                        json!([]),
                    ));
                }
            }
            for (sku, qty) in &cart.items {
                *shop.reservations.entry(sku.clone()).or_default() -= qty;
            }
            let entity_id = shop.next_id;
            shop.next_id += 1;
            shop.orders.push(FakeOrder {
                entity_id,
                increment_id: format!("{:09}", entity_id),
                quote_id: cart.quote_id,
                email: email.into(),
                created_at: now_datetime(),
                status: Some("pending".into()),
                payment: json!({"method": method, "po_number": if method == "purchaseorder" { po.map(Value::from).unwrap_or(Value::Null) } else { Value::Null }, "additional_information": []}),
                items: cart.items.clone(),
                comments: vec![],
                shipping: shipping["shipping_address"].clone(),
                billing: body["billingAddress"].clone(),
                carrier: shipping["shipping_carrier_code"].as_str().unwrap_or_default().into(),
                method: shipping["shipping_method_code"].as_str().unwrap_or_default().into(),
            });
            if let Some(c) = shop.carts.get_mut(id) {
                c.active = false;
            }
            // Magento's webapi renders the int order id as a JSON string.
            Ok(json!(entity_id.to_string()))
        }
        Endpoint::Orders => {
            let orders = shop.orders.iter().map(order_json).collect();
            search(orders, &criteria(q)?)
        }
        Endpoint::Order => {
            let id: i64 = rest[1].parse().unwrap_or(-1);
            let order = shop.orders.iter().find(|o| o.entity_id == id).ok_or_else(|| {
                magento_error(StatusCode::NOT_FOUND, "The entity that was requested doesn't exist. Verify the entity and try again.", json!([]))
            })?;
            Ok(order_json(order))
        }
        Endpoint::Comments => {
            let id: i64 = rest[1].parse().unwrap_or(-1);
            let history = &body["statusHistory"];
            let Some(comment) = history["comment"].as_str() else {
                return Err(magento_error(
                    StatusCode::BAD_REQUEST,
                    "\"%fieldName\" is required. Enter and try again.",
                    json!({"fieldName": "comment"}),
                ));
            };
            let Some(order) = shop.orders.iter_mut().find(|o| o.entity_id == id) else {
                return Err(magento_error(
                    StatusCode::NOT_FOUND,
                    "The entity that was requested doesn't exist. Verify the entity and try again.",
                    json!([]),
                ));
            };
            // Magento 2.3/2.4 copies the comment's status onto the order, even none.
            order.status = history["status"].as_str().map(str::to_string);
            order.comments.push(comment.into());
            Ok(json!(true))
        }
    }
}
