//! A fake Salesforce B2C Commerce API (SCAPI) on 127.0.0.1: SLAS token endpoint
//! (private client, Basic auth, `channel_id`; client credentials issue a new guest
//! every time, whatever `usid` is sent, since SLAS does not promise a self-made
//! `usid` maps to the same guest twice; the `refresh_token` grant issues tokens for
//! the same guest, with the refresh token unchanged as for a private client),
//! Shopper Search, Shopper Products, Shopper Customers (baskets, orders), Shopper
//! Baskets and Shopper Orders, at their real paths with Bearer tokens and RFC 7807
//! error bodies. It validates what B2C Commerce would refuse, keeps baskets, orders
//! and ATS (an order lowers ATS, as on the platform), and fails on command.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The site currency and the shipping / payment methods the fake site has.
pub const SITE_CURRENCY: &str = "USD";
pub const SHIPPING_METHODS: [&str; 2] = ["001", "002"];
pub const PAYMENT_METHODS: [&str; 2] = ["ANYCART", "CREDIT_CARD"];
/// Baskets a shopper may hold open (B2C Commerce's default for OAuth shoppers).
pub const OPEN_BASKETS_MAX: usize = 4;

/// A failure to inject into the next Shopper API request (token requests excepted).
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// 500 with a problem body, nothing done.
    Http500,
    /// 503, as during SCAPI load shedding.
    Http503,
    /// 429 with `Retry-After: n` seconds, nothing done.
    Http429(u64),
    /// Hang this long before answering, nothing done (a timeout).
    Hang(Duration),
    /// 401 as for an expired token (the token is revoked).
    ExpiredToken,
    /// 200 with a truncated JSON body, nothing done.
    Truncated,
}

/// A SCAPI call whose response can be lost after it commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    CreateBasket,
    AddPayment,
    CreateOrder,
}

/// An order the fake site holds.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub order_no: String,
    /// `new` once placed (what a site's placement hook does), else `created`.
    pub status: String,
    pub customer_id: String,
    pub anycart_order_id: Option<String>,
    pub basket: Value,
    pub payment_instruments: Vec<Value>,
}

#[derive(Clone, Debug)]
struct FakeBasket {
    customer_id: String,
    body: Value,
    payment_instruments: Vec<Value>,
}

/// A master with its variants (id, price, ATS, colour).
#[derive(Clone, Debug)]
struct Master {
    id: String,
    name: String,
    variants: Vec<(String, String, String)>,
}

#[derive(Default)]
struct Site {
    tokens: HashMap<String, (String, bool)>,
    /// Guest refresh tokens: customer id, usid, still accepted.
    refresh_tokens: HashMap<String, (String, String, bool)>,
    next_id: u64,
    baskets: BTreeMap<String, FakeBasket>,
    orders: Vec<FakeOrder>,
    failures: VecDeque<Failure>,
    lose: Option<(Op, Duration)>,
    fail_always: bool,
    requests: usize,
    token_requests: usize,
    masters: Vec<Master>,
    prices: HashMap<String, String>,
    ats: HashMap<String, f64>,
    /// Create orders without placing them (a site with no placement hook).
    leave_unplaced: bool,
}

/// A running fake B2C Commerce instance.
#[derive(Clone)]
pub struct FakeSalesforce {
    pub base_url: String,
    pub organization_id: String,
    pub site_id: String,
    pub client_id: String,
    pub client_secret: String,
    state: Arc<Mutex<Site>>,
}

type St = State<(Arc<Mutex<Site>>, Arc<FakeSalesforceConfig>)>;

struct FakeSalesforceConfig {
    organization_id: String,
    site_id: String,
    client_id: String,
    client_secret: String,
}

fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        Json(json!({
            "type": format!("https://api.commercecloud.salesforce.com/documentation/error/v1/errors/{kind}"),
            "title": title,
            "detail": detail,
        })),
    )
        .into_response()
}

impl FakeSalesforce {
    /// Starts the fake on a random port.
    pub async fn start() -> FakeSalesforce {
        let config = Arc::new(FakeSalesforceConfig {
            organization_id: "f_ecom_zzte_053".into(),
            site_id: "RefArch".into(),
            client_id: "a4d3b2c1-slas-private-client".into(),
            client_secret: "slas-private-secret".into(),
        });
        let state = Arc::new(Mutex::new(Site::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/shopper/auth/v1/organizations/{org}/oauth2/token",
                post(token),
            )
            .route(
                "/search/shopper-search/v1/organizations/{org}/product-search",
                get(product_search),
            )
            .route(
                "/product/shopper-products/v1/organizations/{org}/products",
                get(products),
            )
            .route(
                "/customer/shopper-customers/v1/organizations/{org}/customers/{customer}/{what}",
                get(customer_list),
            )
            .route(
                "/checkout/shopper-baskets/v1/organizations/{org}/baskets",
                post(create_basket),
            )
            .route(
                "/checkout/shopper-baskets/v1/organizations/{org}/baskets/{basket}/payment-instruments",
                post(add_payment),
            )
            .route(
                "/checkout/shopper-orders/v1/organizations/{org}/orders",
                post(create_order),
            )
            .with_state((state.clone(), config.clone()))
            .layer(axum::middleware::from_fn(|r, n| {
                super::record::exchange("salesforce", r, n)
            }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeSalesforce {
            base_url,
            organization_id: config.organization_id.clone(),
            site_id: config.site_id.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            state,
        }
    }

    /// Queues failures for the next Shopper API requests, in order.
    pub fn fail_next(&self, failures: &[Failure]) {
        self.state.lock().unwrap().failures.extend(failures);
    }

    /// Lets the next `op` commit and then hang for `d` (past the client's timeout):
    /// done on the platform, response lost.
    pub fn lose_next(&self, op: Op, d: Duration) {
        self.state.lock().unwrap().lose = Some((op, d));
    }

    /// Creates orders without placing them (`created`), as a site without a
    /// placement hook does, or places them again (`new`).
    pub fn leave_unplaced(&self, on: bool) {
        self.state.lock().unwrap().leave_unplaced = on;
    }

    /// Makes every Shopper API request answer 500 until turned off.
    pub fn fail_always(&self, on: bool) {
        self.state.lock().unwrap().fail_always = on;
    }

    /// Makes SLAS refuse every refresh token issued so far (their 30 days are up).
    pub fn expire_refresh_tokens(&self) {
        for t in self.state.lock().unwrap().refresh_tokens.values_mut() {
            t.2 = false;
        }
    }

    /// Revokes every issued token (they expired).
    pub fn expire_tokens(&self) {
        for t in self.state.lock().unwrap().tokens.values_mut() {
            t.1 = false;
        }
    }

    /// Fills the catalogue with `n` masters, two variants each (19.90, ATS 3 and 4).
    pub fn seed_catalogue(&self, n: usize) {
        let mut site = self.state.lock().unwrap();
        for i in 0..n {
            let variants: Vec<(String, String, String)> = (0..2)
                .map(|v| {
                    (
                        format!("70{i:03}{v}"),
                        "19.90".to_string(),
                        ["BLU", "RED"][v].to_string(),
                    )
                })
                .collect();
            for (k, (id, price, _)) in variants.iter().enumerate() {
                site.prices.insert(id.clone(), price.clone());
                site.ats.insert(id.clone(), 3.0 + k as f64);
            }
            site.masters.push(Master {
                id: format!("M{i:03}"),
                name: format!("Shirt {i}"),
                variants,
            });
        }
    }

    /// Adds a standalone product (no variants) sold at `price`, `ats` available.
    pub fn add_product(&self, id: &str, price: &str, ats: f64) {
        let mut site = self.state.lock().unwrap();
        site.prices.insert(id.into(), price.into());
        site.ats.insert(id.into(), ats);
    }

    /// Sets a product's ATS, as a storefront sale or a restock on the platform would.
    pub fn set_ats(&self, product_id: &str, ats: f64) {
        self.state
            .lock()
            .unwrap()
            .ats
            .insert(product_id.into(), ats);
    }

    /// A product's ATS.
    pub fn ats(&self, product_id: &str) -> f64 {
        self.state
            .lock()
            .unwrap()
            .ats
            .get(product_id)
            .copied()
            .unwrap_or(0.0)
    }

    /// Orders the site holds.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.state.lock().unwrap().orders.clone()
    }

    /// Open baskets.
    pub fn open_baskets(&self) -> usize {
        self.state.lock().unwrap().baskets.len()
    }

    /// Shopper API requests received so far (token requests not counted).
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// SLAS token requests received so far.
    pub fn token_requests(&self) -> usize {
        self.state.lock().unwrap().token_requests
    }
}

async fn token(
    State((state, config)): St,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    // SLAS's documented error body (Oauth2ErrorResponse).
    let slas_error = |status: StatusCode, message: &str| {
        let error = match status {
            StatusCode::UNAUTHORIZED => "invalid_client",
            StatusCode::NOT_FOUND => "invalid_tenant",
            _ => "invalid_request",
        };
        (
            status,
            Json(json!({"error": error, "error_description": message})),
        )
            .into_response()
    };
    if org != config.organization_id {
        return slas_error(StatusCode::NOT_FOUND, "Tenant not found");
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", config.client_id, config.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return slas_error(StatusCode::UNAUTHORIZED, "Unauthorized client");
    }
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return slas_error(
            StatusCode::BAD_REQUEST,
            "Content-Type must be form-urlencoded",
        );
    }
    let form: HashMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if form.get("channel_id") != Some(&config.site_id) {
        return slas_error(StatusCode::BAD_REQUEST, "Invalid channel_id");
    }
    let mut site = state.lock().unwrap();
    site.token_requests += 1;
    site.next_id += 1;
    let n = site.next_id;
    let (customer, usid, refresh) = match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {
            match form.get("usid") {
                Some(u) if u.is_empty() || u.len() > 128 => {
                    return slas_error(StatusCode::BAD_REQUEST, "Invalid usid");
                }
                // Not promised to be the same guest as before: a new one, always.
                _ => {}
            }
            let usid = random_uuid();
            let customer = format!("ab{}", &usid.replace('-', "")[..24]);
            let refresh = format!("{}.{n}", random_uuid().replace('-', ""));
            site.refresh_tokens
                .insert(refresh.clone(), (customer.clone(), usid.clone(), true));
            (customer, usid, refresh)
        }
        Some("refresh_token") => {
            let refresh = form.get("refresh_token").cloned().unwrap_or_default();
            match site.refresh_tokens.get(&refresh) {
                Some((customer, usid, true)) => (customer.clone(), usid.clone(), refresh),
                _ => {
                    return slas_error(StatusCode::BAD_REQUEST, "Bad or missing refresh token.");
                }
            }
        }
        _ => return slas_error(StatusCode::BAD_REQUEST, "Invalid grant_type"),
    };
    let access = format!("slas-token-{n}");
    site.tokens.insert(access.clone(), (customer.clone(), true));
    Json(json!({
        "access_token": access,
        "id_token": "",
        "refresh_token": refresh,
        "expires_in": 1800,
        "refresh_token_expires_in": 2592000,
        "token_type": "BEARER",
        "usid": usid,
        "customer_id": customer,
        "enc_user_id": "",
        "idp_access_token": null,
    }))
    .into_response()
}

/// What every Shopper API request goes through: org, siteId, Bearer token, and
/// the injected failures. Returns the token's customer id, or the answer to send.
async fn gate(
    state: &Arc<Mutex<Site>>,
    config: &FakeSalesforceConfig,
    org: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<String, Response> {
    if org != config.organization_id {
        return Err(problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "Unknown organization.",
        ));
    }
    let failure = {
        let mut site = state.lock().unwrap();
        site.requests += 1;
        if site.fail_always {
            Some(Failure::Http500)
        } else {
            site.failures.pop_front()
        }
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let unauthorized = || {
        problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "Your access token is invalid or expired and can't be used to identify a user.",
        )
    };
    match failure {
        Some(Failure::Http500) => {
            return Err(problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-server-error",
                "Internal Server Error",
                "An unexpected error occurred.",
            ));
        }
        Some(Failure::Http503) => {
            return Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "service-unavailable",
                "Service Unavailable",
                "The service is temporarily unavailable.",
            ));
        }
        Some(Failure::Http429(s)) => {
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too Many Requests",
                "The request rate limit was exceeded.",
            );
            r.headers_mut()
                .insert("Retry-After", s.to_string().parse().unwrap());
            return Err(r);
        }
        Some(Failure::Hang(d)) => {
            tokio::time::sleep(d).await;
            return Err(problem(
                StatusCode::GATEWAY_TIMEOUT,
                "gateway-timeout",
                "Gateway Timeout",
                "Timed out.",
            ));
        }
        Some(Failure::ExpiredToken) => {
            if let Some(t) = state.lock().unwrap().tokens.get_mut(&bearer) {
                t.1 = false;
            }
            return Err(unauthorized());
        }
        Some(Failure::Truncated) => {
            return Err((
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"data\":[{\"id\":",
            )
                .into_response());
        }
        None => {}
    }
    let customer = match state.lock().unwrap().tokens.get(&bearer) {
        Some((c, true)) => c.clone(),
        _ => return Err(unauthorized()),
    };
    if query.get("siteId") != Some(&config.site_id) {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "site-id-not-found",
            "Site Id Not Found",
            "No site with this siteId.",
        ));
    }
    Ok(customer)
}

async fn product_search(
    State((state, config)): St,
    Path(org): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    // `refine` repeats; the other parameters do not.
    let refine: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "refine")
        .map(|(_, v)| v.as_str())
        .collect();
    let q: HashMap<String, String> = pairs.iter().cloned().collect();
    if let Err(r) = gate(&state, &config, &org, &q, &headers).await {
        return r;
    }
    if refine.len() > 9 {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid Parameter",
            "At most 9 refinements are accepted.",
        );
    }
    if !refine.contains(&"cgid=root") && !q.contains_key("q") {
        return problem(
            StatusCode::BAD_REQUEST,
            "missing-parameter",
            "Missing Parameter",
            "Either q or refine is required.",
        );
    }
    // Hit types to include (`htype=master|product`); all when not refined.
    let htypes: Option<Vec<&str>> = refine
        .iter()
        .find_map(|r| r.strip_prefix("htype="))
        .map(|t| t.split('|').collect());
    if htypes.as_ref().is_some_and(|t| !t.contains(&"master")) {
        return Json(json!({"limit": 0, "offset": 0, "total": 0, "query": ""})).into_response();
    }
    let num = |k: &str, d: usize| q.get(k).map_or(Some(d), |v| v.parse::<usize>().ok());
    let (Some(offset), Some(limit)) = (num("offset", 0), num("limit", 25)) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid Parameter",
            "offset and limit must be integers.",
        );
    };
    if !(1..=200).contains(&limit) {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid Parameter",
            "limit must be between 1 and 200.",
        );
    }
    let site = state.lock().unwrap();
    let total = site.masters.len();
    let hits: Vec<Value> = site
        .masters
        .iter()
        .skip(offset)
        .take(limit)
        .map(|m| json!({"productId": m.id, "productName": m.name, "hitType": "master", "currency": SITE_CURRENCY, "price": 19.9, "orderable": true, "representedProduct": {"id": m.variants[0].0}}))
        .collect();
    let mut body = json!({"limit": limit, "offset": offset, "total": total, "query": "", "refinements": [], "searchPhraseSuggestions": {}, "sortingOptions": []});
    if !hits.is_empty() {
        body["hits"] = json!(hits);
    }
    Json(body).into_response()
}

async fn products(
    State((state, config)): St,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&state, &config, &org, &q, &headers).await {
        return r;
    }
    let ids: Vec<&str> = q
        .get("ids")
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 24 {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid Parameter",
            "ids must name 1 to 24 products.",
        );
    }
    let expand = q.get("expand").cloned().unwrap_or_default();
    let site = state.lock().unwrap();
    let inventory = |id: &str| json!({"id": "inventory_m", "ats": site.ats.get(id).copied().unwrap_or(0.0), "orderable": site.ats.get(id).is_some_and(|a| *a > 0.0), "backorderable": false, "preorderable": false, "stockLevel": site.ats.get(id).copied().unwrap_or(0.0)});
    let price = |id: &str| {
        site.prices
            .get(id)
            .and_then(|p| p.parse::<serde_json::Number>().ok())
    };
    let mut data = vec![];
    for id in ids {
        if let Some(m) = site.masters.iter().find(|m| m.id == id) {
            let mut p = json!({
                "id": m.id, "name": m.name, "shortDescription": format!("{} in cotton", m.name),
                "currency": SITE_CURRENCY, "price": price(&m.variants[0].0), "type": {"master": true},
                "minOrderQuantity": 1, "stepQuantity": 1,
                "variationAttributes": [{"id": "color", "name": "Color", "values": [{"value": "BLU", "name": "Blue", "orderable": true}, {"value": "RED", "name": "Red", "orderable": true}]}],
                "variants": m.variants.iter().map(|(v, _, colour)| json!({"productId": v, "price": price(v), "orderable": true, "variationValues": {"color": colour}})).collect::<Vec<_>>(),
            });
            if expand.contains("images") {
                p["imageGroups"] = json!([{"viewType": "large", "images": [{"link": format!("https://example.com/{}_large.jpg", m.id), "alt": m.name}]}, {"viewType": "small", "images": [{"link": format!("https://example.com/{}_small.jpg", m.id)}]}]);
            }
            data.push(p);
        } else if site.prices.contains_key(id) {
            let variant = site
                .masters
                .iter()
                .any(|m| m.variants.iter().any(|v| v.0 == id));
            let mut p = json!({"id": id, "name": format!("Product {id}"), "currency": SITE_CURRENCY, "price": price(id), "type": if variant { json!({"variant": true}) } else { json!({"item": true}) }});
            if expand.contains("availability") {
                p["inventory"] = inventory(id);
            }
            data.push(p);
        }
    }
    Json(json!({"limit": data.len(), "data": data, "total": data.len()})).into_response()
}

async fn customer_list(
    State((state, config)): St,
    Path((org, customer, what)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let me = match gate(&state, &config, &org, &q, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if me != customer {
        return problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "The customer in the path does not match the token.",
        );
    }
    let site = state.lock().unwrap();
    match what.as_str() {
        "baskets" => {
            let baskets: Vec<Value> = site
                .baskets
                .values()
                .filter(|b| b.customer_id == me)
                .map(basket_json)
                .collect();
            Json(json!({"baskets": baskets, "total": baskets.len()})).into_response()
        }
        "orders" => {
            let data: Vec<Value> = site
                .orders
                .iter()
                .filter(|o| o.customer_id == me)
                .map(order_json)
                .collect();
            Json(json!({"data": data, "limit": 10, "offset": 0, "total": data.len()}))
                .into_response()
        }
        _ => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "No such resource.",
        ),
    }
}

/// A version 4 UUID, as SLAS makes usids.
fn random_uuid() -> String {
    let b: [u8; 16] = rand::random();
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn basket_json(b: &FakeBasket) -> Value {
    let mut v = b.body.clone();
    v["paymentInstruments"] = json!(b.payment_instruments);
    v["customerInfo"]["customerId"] = json!(b.customer_id);
    v
}

fn order_json(o: &FakeOrder) -> Value {
    let mut v = o.basket.clone();
    v["orderNo"] = json!(o.order_no);
    v["status"] = json!(o.status);
    v["confirmationStatus"] = json!("not_confirmed");
    v["paymentStatus"] = json!("not_paid");
    v["paymentInstruments"] = json!(o.payment_instruments);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("basketId");
    }
    v
}

/// Hangs after committing if the response to `op` is to be lost.
async fn maybe_lose(state: &Arc<Mutex<Site>>, op: Op) {
    let hang = {
        let mut site = state.lock().unwrap();
        match site.lose {
            Some((o, d)) if o == op => {
                site.lose = None;
                Some(d)
            }
            _ => None,
        }
    };
    if let Some(d) = hang {
        tokio::time::sleep(d).await;
    }
}

async fn create_basket(
    State((state, config)): St,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let me = match gate(&state, &config, &org, &q, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let bad = |kind: &str, title: &str, detail: &str| {
        problem(StatusCode::BAD_REQUEST, kind, title, detail)
    };
    let basket_id = {
        let mut site = state.lock().unwrap();
        if site
            .baskets
            .values()
            .filter(|b| b.customer_id == me)
            .count()
            >= OPEN_BASKETS_MAX
        {
            return bad(
                "customer-baskets-quota-exceeded",
                "Customer Baskets Quota Exceeded",
                "The maximum number of baskets per customer was exceeded.",
            );
        }
        if body["currency"].as_str() != Some(SITE_CURRENCY) {
            return bad(
                "unsupported-currency",
                "Unsupported Currency",
                "The currency is not allowed for the site.",
            );
        }
        if !body["c_anycartOrderId"].is_string() && !body["c_anycartOrderId"].is_null() {
            return bad(
                "invalid-custom-property",
                "Invalid Custom Property",
                "c_anycartOrderId must be a string.",
            );
        }
        if body["customerInfo"]["email"]
            .as_str()
            .is_none_or(|e| !e.contains('@'))
        {
            return bad(
                "invalid-email",
                "Invalid Email",
                "customerInfo.email is not a valid email address.",
            );
        }
        let items = body["productItems"].as_array().cloned().unwrap_or_default();
        for item in &items {
            let id = item["productId"].as_str().unwrap_or_default();
            let master = site.masters.iter().any(|m| m.id == id);
            if master || !site.prices.contains_key(id) {
                return bad(
                    "product-item-not-available",
                    "Product Item Not Available",
                    &format!("The product '{id}' is not available."),
                );
            }
            if item["quantity"].as_i64().is_none_or(|n| n < 1) {
                return bad(
                    "invalid-product-item-quantity",
                    "Invalid Product Item Quantity",
                    "quantity must be at least 1.",
                );
            }
        }
        let shipments = body["shipments"].as_array().cloned().unwrap_or_default();
        for s in &shipments {
            let method = s["shippingMethod"]["id"].as_str().unwrap_or_default();
            if !SHIPPING_METHODS.contains(&method) {
                return bad(
                    "invalid-shipping-method-id",
                    "Invalid Shipping Method Id",
                    &format!("No shipping method '{method}'."),
                );
            }
        }
        site.next_id += 1;
        let id = format!("bc{:016x}", site.next_id);
        let mut stored = body.clone();
        stored["basketId"] = json!(id);
        stored["productItems"] = json!(items.iter().enumerate().map(|(n, i)| {
            let price = site.prices.get(i["productId"].as_str().unwrap_or_default()).cloned().unwrap_or_default();
            json!({"itemId": format!("item{n}"), "productId": i["productId"], "quantity": i["quantity"], "price": price.parse::<serde_json::Number>().ok()})
        }).collect::<Vec<_>>());
        site.baskets.insert(
            id.clone(),
            FakeBasket {
                customer_id: me.clone(),
                body: stored,
                payment_instruments: vec![],
            },
        );
        id
    };
    maybe_lose(&state, Op::CreateBasket).await;
    let site = state.lock().unwrap();
    (StatusCode::OK, Json(basket_json(&site.baskets[&basket_id]))).into_response()
}

async fn add_payment(
    State((state, config)): St,
    Path((org, basket_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let me = match gate(&state, &config, &org, &q, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    {
        let mut site = state.lock().unwrap();
        let Some(basket) = site
            .baskets
            .get_mut(&basket_id)
            .filter(|b| b.customer_id == me)
        else {
            return problem(
                StatusCode::NOT_FOUND,
                "basket-not-found",
                "Basket Not Found",
                &format!("No basket with ID '{basket_id}' could be found."),
            );
        };
        let method = body["paymentMethodId"].as_str().unwrap_or_default();
        if !PAYMENT_METHODS.contains(&method) {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-payment-method-id",
                "Invalid Payment Method Id",
                &format!("No payment method '{method}'."),
            );
        }
        if !body["amount"].is_number() {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-property",
                "Invalid Property",
                "amount must be a number.",
            );
        }
        let n = basket.payment_instruments.len();
        basket.payment_instruments.push(json!({"paymentInstrumentId": format!("pi{n}"), "paymentMethodId": method, "amount": body["amount"]}));
    }
    maybe_lose(&state, Op::AddPayment).await;
    let site = state.lock().unwrap();
    (StatusCode::OK, Json(basket_json(&site.baskets[&basket_id]))).into_response()
}

async fn create_order(
    State((state, config)): St,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let me = match gate(&state, &config, &org, &q, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let order = {
        let mut site = state.lock().unwrap();
        let basket_id = body["basketId"].as_str().unwrap_or_default().to_string();
        let Some(basket) = site
            .baskets
            .get(&basket_id)
            .filter(|b| b.customer_id == me)
            .cloned()
        else {
            return problem(
                StatusCode::NOT_FOUND,
                "basket-not-found",
                "Basket Not Found",
                &format!("No basket with ID '{basket_id}' could be found."),
            );
        };
        if basket.payment_instruments.is_empty() {
            return problem(
                StatusCode::BAD_REQUEST,
                "order-creation-failed",
                "Order Creation Failed",
                "The basket has no payment instrument.",
            );
        }
        site.baskets.remove(&basket_id);
        for item in basket.body["productItems"].as_array().into_iter().flatten() {
            let id = item["productId"].as_str().unwrap_or_default().to_string();
            let qty = item["quantity"].as_f64().unwrap_or(0.0);
            *site.ats.entry(id).or_insert(0.0) -= qty;
        }
        let order = FakeOrder {
            order_no: format!("{:08}", 1000 + site.orders.len() + 1),
            status: if site.leave_unplaced {
                "created"
            } else {
                "new"
            }
            .into(),
            customer_id: me,
            anycart_order_id: basket.body["c_anycartOrderId"].as_str().map(str::to_string),
            basket: basket.body.clone(),
            payment_instruments: basket.payment_instruments.clone(),
        };
        site.orders.push(order.clone());
        order
    };
    maybe_lose(&state, Op::CreateOrder).await;
    (StatusCode::OK, Json(order_json(&order))).into_response()
}
