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
    let mut shop = Session { t, token: None };
    let item = json!({"variant": t.variant});
    shop.mutation(ADD_ITEM, item, "addItemToOrder").await?;
    let customer = json!({"input": {"emailAddress": format!("shopper{n}@bench.example"), "firstName": "Bench", "lastName": "Shopper"}});
    shop.mutation(SET_CUSTOMER, customer, "setCustomerForOrder")
        .await?;
    let address = json!({"input": {"fullName": "Bench Shopper", "streetLine1": "1 Market St", "city": "San Francisco", "province": "CA", "postalCode": "94105", "countryCode": "US"}});
    shop.mutation(SET_ADDRESS, address, "setOrderShippingAddress")
        .await?;
    let methods = shop
        .graphql(SHIPPING_METHODS, json!({}), "eligibleShippingMethods")
        .await?;
    let method = methods[0]["id"]
        .as_str()
        .context("no eligible shipping method")?;
    let ids = json!({"ids": [method]});
    shop.mutation(SET_SHIPPING, ids, "setOrderShippingMethod")
        .await?;
    shop.mutation(TO_PAYMENT, json!({}), "transitionOrderToState")
        .await?;
    let payment = json!({"input": {"method": PAYMENT_METHOD, "metadata": {}}});
    let paid = shop
        .mutation(ADD_PAYMENT, payment, "addPaymentToOrder")
        .await?;
    match paid["state"].as_str() {
        Some("PaymentSettled" | "PaymentAuthorized") => Ok(()),
        state => bail!("order not paid: state {state:?}"),
    }
}

/// One shopper's Shop API session: the token the server hands out on the
/// first request, sent back on the next ones.
struct Session<'a> {
    t: &'a VendureTarget,
    token: Option<String>,
}

impl Session<'_> {
    /// One Shop API request; `data[field]`.
    async fn graphql(&mut self, query: &str, variables: Value, field: &str) -> Result<Value> {
        let mut request = self
            .t
            .client
            .post(&self.t.shop_api)
            .json(&json!({"query": query, "variables": variables}));
        if let Some(token) = self.token.as_deref() {
            request = request.bearer_auth(token);
        }
        let resp = request.send().await?;
        let status = resp.status();
        if let Some(issued) = resp
            .headers()
            .get(AUTH_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            self.token = Some(issued.to_string());
        }
        let mut body: Value = resp.json().await.unwrap_or_default();
        if !status.is_success() || body.get("errors").is_some() {
            bail!("{field}: HTTP {status}: {}", body["errors"]);
        }
        Ok(body["data"][field].take())
    }

    /// A mutation that must answer with the order, not one of its
    /// `ErrorResult`s; the order's fields it selected.
    async fn mutation(&mut self, query: &str, variables: Value, field: &str) -> Result<Value> {
        let result = self.graphql(query, variables, field).await?;
        if result["__typename"] != "Order" {
            bail!(
                "{field}: {} {}",
                result["errorCode"].as_str().unwrap_or("no order"),
                result["message"].as_str().unwrap_or_default()
            );
        }
        Ok(result)
    }
}
