//! The peer: the same guest checkout against Vendure's Shop API (GraphQL), one
//! HTTP request per step, the way a Vendure storefront makes it. The session is
//! the `vendure-auth-token` response header, sent back as `Authorization:
//! Bearer` (Vendure configured with `authOptions.tokenMethod: 'bearer'`, see
//! `bench/vendure/server.mjs`).
//!
//! Steps: addItemToOrder (opens the session), setCustomerForOrder,
//! setOrderShippingAddress, eligibleShippingMethods, setOrderShippingMethod,
//! transitionOrderToState("ArrangingPayment"), addPaymentToOrder with the
//! dummy handler (settles at once); the order must end PaymentSettled or
//! PaymentAuthorized.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Code of the payment method `server.mjs` seeds (the dummy handler, settling).
const PAYMENT_METHOD: &str = "dummy-payment";
const AUTH_TOKEN_HEADER: &str = "vendure-auth-token";

/// What a shopper needs to check out on Vendure.
#[derive(Clone)]
pub struct VendureTarget {
    pub client: reqwest::Client,
    /// The Shop API's URL, e.g. `http://127.0.0.1:3100/shop-api`.
    pub shop_api: String,
    pub variant: String,
    /// Tells shoppers apart (e-mails) across phases.
    pub next_shopper: Arc<AtomicU64>,
}

const ADD_ITEM: &str = "mutation($variant: ID!) { addItemToOrder(productVariantId: $variant, quantity: 1) { __typename ... on Order { id } ... on ErrorResult { errorCode message } } }";
const SET_CUSTOMER: &str = "mutation($input: CreateCustomerInput!) { setCustomerForOrder(input: $input) { __typename ... on ErrorResult { errorCode message } } }";
const SET_ADDRESS: &str = "mutation($input: CreateAddressInput!) { setOrderShippingAddress(input: $input) { __typename ... on ErrorResult { errorCode message } } }";
const SHIPPING_METHODS: &str = "{ eligibleShippingMethods { id } }";
const SET_SHIPPING: &str = "mutation($ids: [ID!]!) { setOrderShippingMethod(shippingMethodId: $ids) { __typename ... on ErrorResult { errorCode message } } }";
const TO_PAYMENT: &str = "mutation { transitionOrderToState(state: \"ArrangingPayment\") { __typename ... on Order { state } ... on ErrorResult { errorCode message } } }";
const ADD_PAYMENT: &str = "mutation($input: PaymentInput!) { addPaymentToOrder(input: $input) { __typename ... on Order { state } ... on ErrorResult { errorCode message } } }";

/// One full guest checkout: seven requests.
pub async fn checkout(t: &VendureTarget) -> Result<()> {
    let n = t.next_shopper.fetch_add(1, Ordering::Relaxed);
    let mut token = None;
    let added = graphql(
        t,
        &mut token,
        ADD_ITEM,
        json!({"variant": t.variant}),
        "addItemToOrder",
    )
    .await?;
    expect_order(&added, "addItemToOrder")?;
    let customer = json!({"input": {"emailAddress": format!("shopper{n}@bench.example"), "firstName": "Bench", "lastName": "Shopper"}});
    let set = graphql(t, &mut token, SET_CUSTOMER, customer, "setCustomerForOrder").await?;
    expect_order(&set, "setCustomerForOrder")?;
    let address = json!({"input": {"fullName": "Bench Shopper", "streetLine1": "1 Market St", "city": "San Francisco", "province": "CA", "postalCode": "94105", "countryCode": "US"}});
    let set = graphql(
        t,
        &mut token,
        SET_ADDRESS,
        address,
        "setOrderShippingAddress",
    )
    .await?;
    expect_order(&set, "setOrderShippingAddress")?;
    let methods = graphql(
        t,
        &mut token,
        SHIPPING_METHODS,
        json!({}),
        "eligibleShippingMethods",
    )
    .await?;
    let method = methods[0]["id"]
        .as_str()
        .context("no eligible shipping method")?;
    let set = graphql(
        t,
        &mut token,
        SET_SHIPPING,
        json!({"ids": [method]}),
        "setOrderShippingMethod",
    )
    .await?;
    expect_order(&set, "setOrderShippingMethod")?;
    let moved = graphql(
        t,
        &mut token,
        TO_PAYMENT,
        json!({}),
        "transitionOrderToState",
    )
    .await?;
    expect_order(&moved, "transitionOrderToState")?;
    let payment = json!({"input": {"method": PAYMENT_METHOD, "metadata": {}}});
    let paid = graphql(t, &mut token, ADD_PAYMENT, payment, "addPaymentToOrder").await?;
    expect_order(&paid, "addPaymentToOrder")?;
    match paid["state"].as_str() {
        Some("PaymentSettled" | "PaymentAuthorized") => Ok(()),
        state => bail!("order not paid: state {state:?}"),
    }
}

/// One Shop API request; `data[field]`. Keeps the session token the server
/// hands out (on the first request) and sends it on the next ones.
async fn graphql(
    t: &VendureTarget,
    token: &mut Option<String>,
    query: &str,
    variables: Value,
    field: &str,
) -> Result<Value> {
    let mut request = t
        .client
        .post(&t.shop_api)
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token.as_deref() {
        request = request.bearer_auth(token);
    }
    let resp = request.send().await?;
    let status = resp.status();
    if let Some(issued) = resp
        .headers()
        .get(AUTH_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        *token = Some(issued.to_string());
    }
    let mut body: Value = resp.json().await.unwrap_or_default();
    if !status.is_success() || body.get("errors").is_some() {
        bail!("{field}: HTTP {status}: {}", body["errors"]);
    }
    Ok(body["data"][field].take())
}

/// A mutation answered with the order, not one of its `ErrorResult`s.
fn expect_order(result: &Value, field: &str) -> Result<()> {
    if result["__typename"] != "Order" {
        bail!(
            "{field}: {} {}",
            result["errorCode"].as_str().unwrap_or("no order"),
            result["message"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}
