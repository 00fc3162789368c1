//! Salesforce B2C Commerce over the Shopper APIs of SCAPI: SLAS authentication
//! (private client, client credentials), catalogue import through Shopper Search
//! and Shopper Products, and orders through Shopper Baskets and Shopper Orders.
//! Wire types are in `wire`, the pure mapping in `convert`.
//!
//! Exactly-once: every anycart order is placed by its own SLAS guest shopper. The
//! first attempt asks SLAS for a new guest and records what SLAS returned (its
//! `customer_id`, `usid` and refresh token, sealed) in its own committed step
//! before anything is created on the platform (`Store::record_platform_guest`).
//! A retry acts as that very guest through the refresh-token grant, which SLAS
//! documents to issue tokens for the same shopper, and first looks at the guest's
//! orders (placed already: done) and baskets (a crash between "basket created" and
//! "order created": reuse it), so a lost response never leads to a second platform
//! order. Nothing relies on SLAS mapping a self-made `usid` to the same guest: its
//! spec does not promise that. A guest whose refresh token SLAS no longer takes
//! (30 days by default, far beyond the outbox's retries) cannot be looked up
//! through the Shopper APIs, so that attempt is dead-lettered for the merchant to
//! check instead of risking a second order.
//!
//! B2C Commerce has no signed stock webhooks; stock comes back through the
//! periodic reconciliation (`reconcile.rs`), and `verify_webhook` refuses.

pub mod convert;
mod slas;
pub mod wire;

use crate::{
    CataloguePage, Confirmation, Connector, ConnectorError, OrderPush, Platform, PushedOrder,
    WebhookEvent, http_client, request_timeout, transport_error,
};
use anycart_store::{SalesforceSettings, Store};
use async_trait::async_trait;
use convert::Placement;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use slas::{OrderShopper, Token};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
use wire::*;

/// Search hits per import page; also the most ids one Shopper Products request
/// takes (its documented limit is 24).
pub const IMPORT_PAGE_SIZE: usize = 24;
/// Longest anycart waits on a 429's `Retry-After` before retrying; beyond that (or
/// after [`THROTTLE_RETRIES_MAX`] waits) the call fails as transient and the
/// outbox / the next import run retries later.
pub const THROTTLE_WAIT_MS_MAX: u64 = 5_000;
/// 429 answers one call waits out before giving up.
pub const THROTTLE_RETRIES_MAX: usize = 2;
/// The default shipping method id (the reference storefront's ground shipping).
pub const DEFAULT_SHIPPING_METHOD_ID: &str = "001";
/// The default payment method id; the merchant creates it in Business Manager.
pub const DEFAULT_PAYMENT_METHOD_ID: &str = "ANYCART";
/// The storefront catalogue's root category, which search refines on to list everything.
pub const DEFAULT_ROOT_CATEGORY_ID: &str = "root";
/// Longest one order push may take, all requests and waits included.
pub const PUSH_DEADLINE_MS: u64 = 25_000;
// Compile-time constants, far below i64::MAX: the cast cannot wrap.
#[allow(clippy::cast_possible_wrap)]
const _: () = assert!(
    ((PUSH_DEADLINE_MS + crate::PLATFORM_REQUEST_TIMEOUT_MS) as i64)
        < crate::delivery::OUTBOX_LEASE_MS,
    "a push must end inside its outbox lease"
);
/// Longest error detail kept in a message.
const ERROR_DETAIL_CHARS_MAX: usize = 300;

/// A B2C Commerce site reached through a SLAS private client.
pub struct SalesforceConnector {
    base: String,
    organization_id: String,
    site_id: String,
    client_id: SecretString,
    client_secret: SecretString,
    shipping_method_id: String,
    payment_method_id: String,
    root_category_id: String,
    client: reqwest::Client,
    timeout: Duration,
    /// Shopper tokens by customer id ("" for the catalogue shopper).
    tokens: Mutex<HashMap<String, Token>>,
    /// Where the guest each order is placed as is recorded; only the outbox,
    /// which pushes orders, gives one (see [`SalesforceConnector::with_store`]).
    store: Option<Store>,
}

/// One SCAPI call: method, path below the organization, query, optional JSON body,
/// and the order shopper it is made as (`None`: the catalogue shopper).
struct Call<'a, B> {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<&'a B>,
    shopper: Option<&'a OrderShopper>,
    what: &'static str,
}

/// Checks a short code / organization id / site id the way SCAPI spells them, so
/// a typo is refused at connect time instead of producing odd URLs.
pub fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SalesforceConnector {
    /// From a `salesforce` connection: `short_code`, `organization_id`, `site_id`
    /// (and optional `shipping_method_id`, `payment_method_id`,
    /// `root_category_id`); base URL
    /// `https://{short_code}.api.commercecloud.salesforce.com` unless `base_url`
    /// overrides it.
    pub fn from_settings(c: &SalesforceSettings) -> Result<Self, ConnectorError> {
        let required = |key: &str, value: &str| {
            let value = value.trim();
            if valid_identifier(value) {
                Ok(value.to_string())
            } else {
                Err(ConnectorError::Misconfigured(format!(
                    "{key} missing or invalid (letters, digits, `-` and `_`)"
                )))
            }
        };
        let short_code = required("short_code", &c.short_code)?;
        let organization_id = required("organization_id", &c.organization_id)?;
        let site_id = required("site_id", &c.site_id)?;
        let (client_id, client_secret) = (&c.client_id, &c.client_secret);
        if client_id.expose().trim().is_empty() || client_secret.expose().trim().is_empty() {
            return Err(ConnectorError::Misconfigured(
                "client_id and client_secret must not be empty".into(),
            ));
        }
        let base = c
            .base_url
            .clone()
            .unwrap_or_else(|| format!("https://{short_code}.api.commercecloud.salesforce.com"));
        let or = |value: &Option<String>, default: &str| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
                .to_string()
        };
        Ok(SalesforceConnector {
            base: base.trim_end_matches('/').to_string(),
            organization_id,
            site_id,
            client_id: client_id.to_secret_string(),
            client_secret: client_secret.to_secret_string(),
            shipping_method_id: or(&c.shipping_method_id, DEFAULT_SHIPPING_METHOD_ID),
            payment_method_id: or(&c.payment_method_id, DEFAULT_PAYMENT_METHOD_ID),
            root_category_id: or(&c.root_category_id, DEFAULT_ROOT_CATEGORY_ID),
            client: http_client()?,
            timeout: request_timeout(c.request_timeout_ms),
            tokens: Mutex::new(HashMap::new()),
            store: None,
        })
    }

    /// This connector recording the guest each order is placed as in `store`;
    /// without it orders cannot be pushed exactly once, so they are refused.
    pub fn with_store(self, store: Store) -> Self {
        SalesforceConnector {
            store: Some(store),
            ..self
        }
    }

    /// Sends one SCAPI call as the call's shopper: renews the token once on a 401,
    /// waits out a bounded 429 `Retry-After`, and maps every failure.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        call: Call<'_, B>,
    ) -> Result<T, ConnectorError> {
        let url = format!(
            "{}{}",
            self.base,
            call.path.replace("{organizationId}", &self.organization_id)
        );
        let mut query = call.query.clone();
        query.push(("siteId", self.site_id.clone()));
        let mut renewed = false;
        let mut throttled = 0;
        loop {
            let token = self.token(call.shopper, renewed).await?;
            let mut request = self
                .client
                .request(call.method.clone(), &url)
                .timeout(self.timeout)
                .bearer_auth(token.access.expose_secret())
                .query(&query);
            if let Some(b) = call.body {
                request = request.json(b);
            }
            let response = request.send().await.map_err(transport_error)?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                tracing::debug!(
                    what = call.what,
                    "SCAPI refused the token; renewing it once"
                );
                renewed = true;
                continue;
            }
            if status == StatusCode::TOO_MANY_REQUESTS && throttled < THROTTLE_RETRIES_MAX {
                let wait_ms = retry_after_ms(response.headers());
                if let Some(ms) = wait_ms.filter(|ms| *ms <= THROTTLE_WAIT_MS_MAX) {
                    tracing::debug!(what = call.what, wait_ms = ms, "SCAPI throttled; waiting");
                    throttled += 1;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    continue;
                }
            }
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(status_error(status, call.what, &body));
            }
            return response.json().await.map_err(|e| {
                ConnectorError::Transient(format!("unreadable SCAPI {} response: {e}", call.what))
            });
        }
    }

    fn get<'a>(
        path: String,
        query: Vec<(&'static str, String)>,
        shopper: Option<&'a OrderShopper>,
        what: &'static str,
    ) -> Call<'a, ()> {
        Call {
            method: Method::GET,
            path,
            query,
            body: None,
            shopper,
            what,
        }
    }

    /// Places the order once (see the module comment for how retries find it).
    async fn push(&self, push: &OrderPush) -> Result<PushedOrder, ConnectorError> {
        // Build first: an unmappable order fails before any network call.
        let basket_body = convert::basket_request(push, &self.shipping_method_id)?;
        let payment_body = convert::payment_request(push, &self.payment_method_id)?;
        let shopper = self.order_shopper(&push.order).await?;
        // Placed already (the response was lost, or the worker died after it)? A
        // guest SLAS has only just issued has placed nothing.
        if shopper.resumed
            && let Some(pushed) = self.placed_order(&shopper).await?
        {
            return Ok(pushed);
        }
        let basket = self.order_basket(&shopper, &basket_body).await?;
        check_basket(&basket, &shopper.anycart_id)?;
        if basket.payment_instruments.is_empty() {
            self.add_payment(&shopper, &basket.basket_id, &payment_body)
                .await?;
        }
        self.create_order(&shopper, basket.basket_id).await
    }

    /// The platform order an earlier attempt placed for this anycart order, if any.
    async fn placed_order(
        &self,
        shopper: &OrderShopper,
    ) -> Result<Option<PushedOrder>, ConnectorError> {
        let orders: CustomerOrderResult = self
            .call(Self::get(
                format!("{}/orders", shopper.customer_path),
                vec![],
                Some(shopper),
                "getCustomerOrders",
            ))
            .await?;
        // A failed order of an earlier attempt will never be placed: look past it.
        let Some(o) = orders.data.iter().find(|o| {
            o.anycart_order_id.as_deref() == Some(shopper.anycart_id.as_str())
                && convert::placement(o) != Placement::Failed
        }) else {
            return Ok(None);
        };
        if let Placement::NotPlaced(why) = convert::placement(o) {
            return Err(ConnectorError::Permanent(why));
        }
        tracing::info!(order_id = %shopper.anycart_id, platform_order_id = %o.order_no, "B2C Commerce already has this order");
        Ok(Some(PushedOrder {
            platform_order_id: o.order_no.clone(),
            confirmation: Confirmation::AlreadyOnPlatform,
        }))
    }

    /// The basket of an attempt that stopped before the order, else a new one.
    async fn order_basket(
        &self,
        shopper: &OrderShopper,
        basket_body: &BasketRequest,
    ) -> Result<Basket, ConnectorError> {
        if shopper.resumed {
            let baskets: BasketsResult = self
                .call(Self::get(
                    format!("{}/baskets", shopper.customer_path),
                    vec![],
                    Some(shopper),
                    "getCustomerBaskets",
                ))
                .await?;
            let existing = baskets
                .baskets
                .into_iter()
                .find(|b| b.anycart_order_id.as_deref() == Some(shopper.anycart_id.as_str()));
            if let Some(b) = existing {
                tracing::info!(order_id = %shopper.anycart_id, basket_id = %b.basket_id, "resuming an earlier attempt's basket");
                return Ok(b);
            }
        }
        self.call(Call {
            method: Method::POST,
            path: "/checkout/shopper-baskets/v1/organizations/{organizationId}/baskets".into(),
            query: vec![],
            body: Some(basket_body),
            shopper: Some(shopper),
            what: "createBasket",
        })
        .await
    }

    /// Adds the payment instrument to a basket that has none yet.
    async fn add_payment(
        &self,
        shopper: &OrderShopper,
        basket_id: &str,
        payment_body: &PaymentInstrumentRequest,
    ) -> Result<(), ConnectorError> {
        let _: Basket = self
            .call(Call {
                method: Method::POST,
                path: format!(
                    "/checkout/shopper-baskets/v1/organizations/{{organizationId}}/baskets/{basket_id}/payment-instruments"
                ),
                query: vec![],
                body: Some(payment_body),
                shopper: Some(shopper),
                what: "addPaymentInstrumentToBasket",
            })
            .await?;
        Ok(())
    }

    /// Turns the basket into the platform order.
    async fn create_order(
        &self,
        shopper: &OrderShopper,
        basket_id: String,
    ) -> Result<PushedOrder, ConnectorError> {
        let order: Order = self
            .call(Call {
                method: Method::POST,
                path: "/checkout/shopper-orders/v1/organizations/{organizationId}/orders".into(),
                query: vec![],
                body: Some(&OrderRequest { basket_id }),
                shopper: Some(shopper),
                what: "createOrder",
            })
            .await?;
        if order.order_no.is_empty() {
            return Err(ConnectorError::Transient(
                "createOrder answered without an order number".into(),
            ));
        }
        match convert::placement(&order) {
            Placement::Placed => {}
            Placement::NotPlaced(why) => return Err(ConnectorError::Permanent(why)),
            Placement::Failed => {
                return Err(ConnectorError::Permanent(format!(
                    "B2C Commerce failed order {} at creation",
                    order.order_no
                )));
            }
        }
        tracing::info!(order_id = %shopper.anycart_id, platform_order_id = %order.order_no, confirmation_status = order.confirmation_status.as_deref().unwrap_or("unknown"), "B2C Commerce order placed");
        Ok(PushedOrder {
            platform_order_id: order.order_no,
            // B2C Commerce sends its own order confirmation email on placement.
            confirmation: Confirmation::RequestedFromPlatform,
        })
    }

    /// Shopper Products for up to [`IMPORT_PAGE_SIZE`] ids at a time.
    async fn products(&self, ids: &[String]) -> Result<Vec<Product>, ConnectorError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IMPORT_PAGE_SIZE) {
            let page: ProductsResult = self
                .call(Self::get(
                    "/product/shopper-products/v1/organizations/{organizationId}/products".into(),
                    vec![
                        ("ids", chunk.join(",")),
                        ("expand", "availability,images,prices,variations".into()),
                        ("allImages", "false".into()),
                    ],
                    None,
                    "getProducts",
                ))
                .await?;
            out.extend(page.data);
        }
        Ok(out)
    }
}

/// A basket may only be used when its id is safe in a URL path and it still
/// carries the anycart order id (the attribute retries find it by).
fn check_basket(basket: &Basket, anycart_id: &str) -> Result<(), ConnectorError> {
    if !valid_identifier(&basket.basket_id) {
        return Err(ConnectorError::Malformed(format!(
            "basket id `{}` is not a plain identifier",
            basket.basket_id.chars().take(64).collect::<String>()
        )));
    }
    if basket.anycart_order_id.as_deref() != Some(anycart_id) {
        return Err(ConnectorError::Permanent(format!(
            "basket {} lost the {ORDER_ID_ATTRIBUTE} attribute; define it on the Basket and Order system objects",
            basket.basket_id
        )));
    }
    Ok(())
}

/// Reads `Retry-After` (delta seconds) in ms.
fn retry_after_ms(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1_000))
}

/// Maps a non-success status: 5xx, 429 and 408 are worth a retry; other 4xx mean
/// the request itself is wrong (validation, unknown product, revoked client).
fn status_error(status: StatusCode, what: &str, body: &str) -> ConnectorError {
    let e: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let detail: String = [
        e.title,
        e.detail.or(e.error_description).or(e.message),
        e.kind.or(e.error),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(": ")
    .chars()
    .take(ERROR_DETAIL_CHARS_MAX)
    .collect();
    let message = if detail.is_empty() {
        format!("SCAPI {what} answered {status}")
    } else {
        format!("SCAPI {what} answered {status}: {detail}")
    };
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        ConnectorError::Transient(message)
    } else {
        ConnectorError::Permanent(message)
    }
}

#[async_trait]
impl Connector for SalesforceConnector {
    fn platform(&self) -> Platform {
        Platform::Salesforce
    }

    /// The Shopper APIs anycart uses cannot refund or annotate an order (only
    /// Order Management's return flow can, where a merchant has it): the refund
    /// stays recorded in anycart, and the delivery says so.
    async fn push_refund(&self, push: &crate::RefundPush) -> Result<PushedOrder, ConnectorError> {
        tracing::info!(refund_id = %push.notice.refund_id, platform_order_id = %push.platform_order_id, "B2C Commerce has no Shopper API to record a refund; recorded in anycart only");
        Ok(PushedOrder {
            platform_order_id: push.notice.refund_id.to_string(),
            confirmation: Confirmation::NotSupportedByPlatform,
        })
    }

    async fn push_order(&self, push: &OrderPush) -> Result<PushedOrder, ConnectorError> {
        // A push is up to six requests plus throttle waits: bound the whole of it
        // so it always ends well inside the outbox lease (no second worker starts
        // on the same order while this one still talks to the platform).
        tokio::time::timeout(Duration::from_millis(PUSH_DEADLINE_MS), self.push(push))
            .await
            .map_err(|_| {
                ConnectorError::Transient(format!(
                    "B2C Commerce push took longer than {PUSH_DEADLINE_MS} ms"
                ))
            })?
    }

    async fn import_page(&self, cursor: Option<&str>) -> Result<CataloguePage, ConnectorError> {
        let offset = convert::parse_cursor(cursor)?;
        let search: ProductSearchResult = self
            .call(Self::get(
                "/search/shopper-search/v1/organizations/{organizationId}/product-search".into(),
                vec![
                    ("refine", format!("cgid={}", self.root_category_id)),
                    // Only what anycart can sell as variants: no sets or bundles.
                    ("refine", "htype=master|product".into()),
                    ("offset", offset.to_string()),
                    ("limit", IMPORT_PAGE_SIZE.to_string()),
                ],
                None,
                "productSearch",
            ))
            .await?;
        if search.offset != offset || search.hits.len() > IMPORT_PAGE_SIZE {
            return Err(ConnectorError::Malformed(format!(
                "productSearch answered offset {} with {} hits for offset {offset}",
                search.offset,
                search.hits.len()
            )));
        }
        let ids = convert::importable_ids(&search);
        let mut products = self.products(&ids).await?;
        // Keep search order; drop anything not asked for.
        let mut by_id: BTreeMap<String, Product> =
            products.drain(..).map(|p| (p.id.clone(), p)).collect();
        let ordered: Vec<Product> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        let variants: BTreeMap<String, Product> = self
            .products(&convert::variant_ids(&ordered))
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        convert::catalogue_page(&search, ordered, &variants)
    }

    fn verify_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
    ) -> Result<WebhookEvent, ConnectorError> {
        // B2C Commerce has no standard signed stock or order webhooks; anything
        // posted here is unauthenticated, so it is refused before its body is read
        // (a 400 for the caller). Stock is kept right by reconciliation instead.
        Err(ConnectorError::Malformed(
            "Salesforce B2C Commerce sends no webhooks anycart can verify; stock is reconciled periodically instead".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_retry_or_dead_letter_with_the_problem_text() {
        let body = r#"{"type":"https://api.commercecloud.salesforce.com/documentation/error/v1/errors/invalid-shipping-method-id","title":"Invalid Shipping Method Id","detail":"No shipping method '999'."}"#;
        let e = status_error(StatusCode::BAD_REQUEST, "createBasket", body);
        assert!(
            matches!(&e, ConnectorError::Permanent(m) if m.contains("createBasket") && m.contains("Invalid Shipping Method Id: No shipping method '999'.")),
            "{e}"
        );
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::REQUEST_TIMEOUT,
        ] {
            assert!(matches!(
                status_error(status, "x", "not json"),
                ConnectorError::Transient(_)
            ));
        }
        let slas = status_error(
            StatusCode::UNAUTHORIZED,
            "SLAS token",
            r#"{"status_code":"Unauthorized","message":"Unauthorized client"}"#,
        );
        assert!(
            matches!(&slas, ConnectorError::Permanent(m) if m.ends_with("Unauthorized client"))
        );
        // SLAS's documented shape (Oauth2ErrorResponse): the reason is kept.
        let oauth = status_error(
            StatusCode::BAD_REQUEST,
            "SLAS token",
            r#"{"error":"invalid_request","error_description":"The channel_id is missing or invalid."}"#,
        );
        assert!(
            matches!(&oauth, ConnectorError::Permanent(m) if m.ends_with("The channel_id is missing or invalid.: invalid_request")),
            "{oauth}"
        );
        let long = format!(r#"{{"title":"{}"}}"#, "x".repeat(5_000));
        assert!(
            status_error(StatusCode::BAD_REQUEST, "x", &long)
                .to_string()
                .len()
                < 500
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_garbage_ignored() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_ms(&h), None);
        h.insert("Retry-After", "2".parse().unwrap());
        assert_eq!(retry_after_ms(&h), Some(2_000));
        h.insert(
            "Retry-After",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after_ms(&h), None);
        h.insert("Retry-After", u64::MAX.to_string().parse().unwrap());
        assert_eq!(retry_after_ms(&h), Some(u64::MAX));
    }
}
