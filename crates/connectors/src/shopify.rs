//! Shopify over the Admin GraphQL API (version pinned in the URL) and its
//! webhooks: transport, authentication, error mapping and cost-based throttling.
//! Wire types are in `wire`, the pure order/webhook mapping in `convert`.

pub mod convert;
pub mod oauth;
pub mod wire;

use crate::{
    Confirmation, Connector, ConnectorError, OrderPush, Platform, PlatformChange, PushedOrder,
    WebhookEvent, http_client, request_timeout, transport_error,
};
use anycart_store::ShopifySettings;
use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wire::*;

/// The Admin API version anycart speaks (Shopify supports each for a year).
pub const SHOPIFY_API_VERSION: &str = "2026-07";
/// The versions a connection's `api_version` may name instead: those whose
/// published Admin schema `scripts/check-platform-schemas` holds every document
/// anycart sends to (it checks each one listed here). Only versions Shopify
/// still supports from the pin on: 2026-07 and 2026-10, the ones at or after the
/// pin in `@shopify/dev-mcp` 1.16.0. Add a version here and the check covers it.
pub const SHOPIFY_API_VERSIONS_SUPPORTED: &[&str] = &[SHOPIFY_API_VERSION, "2026-10"];
/// Longest anycart waits for Shopify's cost bucket to refill before a request;
/// beyond that the call fails as transient and the outbox retries later.
pub const THROTTLE_WAIT_MS_MAX: u64 = 5_000;
/// Query cost assumed before Shopify has reported any (orderCreate costs ~10).
const QUERY_COST_ESTIMATE: f64 = 10.0;
/// Products per import page: with 100 variants and 10 levels each, a page's
/// requested cost stays well under Shopify's 1,000-point single-query limit.
pub const IMPORT_PAGE_SIZE: i64 = 5;
/// Longest error body kept in a message.
const ERROR_BODY_CHARS_MAX: usize = 300;

/// A Shopify store reached with an Admin API access token.
pub struct ShopifyConnector {
    graphql_url: String,
    shop_domain: String,
    access_token: SecretString,
    webhook_secret: SecretString,
    client: reqwest::Client,
    timeout: Duration,
    bucket: Mutex<Option<Bucket>>,
}

/// Shopify's leaky-bucket state as last reported in `extensions.cost`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Cost Shopify reported for the last query: what the next one likely needs.
    last_cost: f64,
    available: f64,
    restore_per_s: f64,
    at: Instant,
}

impl Bucket {
    /// How long to wait until `cost` points are available (zero if they are).
    fn wait_for(&self, cost: f64) -> Duration {
        let now_available = self.available + self.at.elapsed().as_secs_f64() * self.restore_per_s;
        if now_available >= cost || self.restore_per_s <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64((cost - now_available) / self.restore_per_s)
    }
}

impl ShopifyConnector {
    /// From a `shopify` connection: `https://{shop_domain}` unless `base_url`
    /// overrides it (tests, proxies).
    pub fn from_settings(c: &ShopifySettings) -> Result<Self, ConnectorError> {
        let base = c
            .base_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", c.shop_domain));
        let version = c.api_version.as_deref().unwrap_or(SHOPIFY_API_VERSION);
        Ok(ShopifyConnector {
            graphql_url: format!(
                "{}/admin/api/{version}/graphql.json",
                base.trim_end_matches('/')
            ),
            shop_domain: c.shop_domain.clone(),
            access_token: c.access_token.to_secret_string(),
            webhook_secret: c.webhook_secret.to_secret_string(),
            client: http_client()?,
            timeout: request_timeout(c.request_timeout_ms),
            bucket: Mutex::new(None),
        })
    }

    /// Sends one GraphQL operation, honouring and updating the cost bucket.
    async fn graphql<V: Serialize, D: DeserializeOwned>(
        &self,
        query: &str,
        variables: V,
    ) -> Result<D, ConnectorError> {
        self.wait_for_bucket().await?;
        let body = self.post(query, variables).await?;
        if let Some(cost) = body.extensions.and_then(|e| e.cost) {
            self.record_cost(&cost);
        }
        if let Some(e) = body.errors.first() {
            return Err(graphql_error(e));
        }
        let data = body
            .data
            .ok_or_else(|| ConnectorError::Transient("Shopify response without data".into()))?;
        serde_json::from_value(data)
            .map_err(|e| ConnectorError::Transient(format!("unreadable Shopify response: {e}")))
    }

    /// Subscribes the app to every topic anycart acts on ([`oauth::WEBHOOK_TOPICS`]),
    /// delivered as JSON to `uri` (anycart's `/webhooks/shopify/{merchant}`): what
    /// an installed app does itself instead of the merchant clicking them in.
    /// Answers the subscription ids. Shopify refuses a duplicate with a user
    /// error "Address for this topic has already been taken", which counts as done.
    pub async fn subscribe_webhooks(&self, uri: &str) -> Result<Vec<String>, ConnectorError> {
        let mut ids = Vec::with_capacity(oauth::WEBHOOK_TOPICS.len());
        for topic in oauth::WEBHOOK_TOPICS {
            let created: oauth::WebhookSubscriptionCreateData = self
                .graphql(
                    oauth::WEBHOOK_SUBSCRIPTION_CREATE_MUTATION,
                    oauth::WebhookSubscriptionCreateVariables {
                        topic,
                        webhook_subscription: oauth::WebhookSubscriptionInput {
                            uri,
                            format: "JSON",
                        },
                    },
                )
                .await?;
            let payload = created.webhook_subscription_create.ok_or_else(|| {
                ConnectorError::Transient("webhookSubscriptionCreate answered null".into())
            })?;
            let taken = payload
                .user_errors
                .iter()
                .all(|e| e.message.contains("already been taken"));
            match payload.webhook_subscription {
                Some(s) => ids.push(s.id),
                None if !payload.user_errors.is_empty() && taken => {}
                None => {
                    let errors: Vec<&str> = payload
                        .user_errors
                        .iter()
                        .map(|e| e.message.as_str())
                        .collect();
                    return Err(ConnectorError::Permanent(format!(
                        "webhookSubscriptionCreate {topic} refused: {}",
                        errors.join("; ")
                    )));
                }
            }
        }
        Ok(ids)
    }

    /// Waits until the bucket likely holds the last query's cost again; a wait
    /// longer than [`THROTTLE_WAIT_MS_MAX`] fails as transient instead.
    async fn wait_for_bucket(&self) -> Result<(), ConnectorError> {
        let wait = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map_or(Duration::ZERO, |b| b.wait_for(b.last_cost));
        if wait > Duration::from_millis(THROTTLE_WAIT_MS_MAX) {
            return Err(ConnectorError::Transient(format!(
                "Shopify cost bucket needs {} ms to refill",
                wait.as_millis()
            )));
        }
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "waiting for Shopify's cost bucket"
            );
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    /// Posts the operation and reads the GraphQL envelope; HTTP-level failures
    /// map to transient (429, 5xx, unreadable) or permanent (other statuses).
    async fn post<V: Serialize>(
        &self,
        query: &str,
        variables: V,
    ) -> Result<GraphqlResponse, ConnectorError> {
        let response = self
            .client
            .post(&self.graphql_url)
            .timeout(self.timeout)
            .header("X-Shopify-Access-Token", self.access_token.expose_secret())
            .json(&GraphqlRequest { query, variables })
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(ConnectorError::Transient(format!(
                "Shopify answered {status}"
            )));
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(ConnectorError::Permanent(format!(
                "Shopify answered {status}: {}",
                body.chars().take(ERROR_BODY_CHARS_MAX).collect::<String>()
            )));
        }
        response
            .json()
            .await
            .map_err(|e| ConnectorError::Transient(format!("unreadable Shopify response: {e}")))
    }

    /// Remembers the bucket Shopify reported, for the next call's wait.
    fn record_cost(&self, cost: &Cost) {
        let t = &cost.throttle_status;
        debug_assert!(t.currently_available <= t.maximum_available);
        *self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Bucket {
            last_cost: cost.requested_query_cost.unwrap_or(QUERY_COST_ESTIMATE),
            available: t.currently_available,
            restore_per_s: t.restore_rate,
            at: Instant::now(),
        });
    }
}

/// A GraphQL-level error: throttling and Shopify's internal errors pass, anything
/// else (a missing access scope, an invalid variable) is the operation's own
/// fault and will not heal by retrying, so it is permanent, with Shopify's words
/// for the merchant.
fn graphql_error(e: &GraphqlError) -> ConnectorError {
    let code = e.extensions.as_ref().and_then(|x| x.code.as_deref());
    let field = e
        .path
        .iter()
        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
        .collect::<Vec<_>>()
        .join(".");
    let about = if field.is_empty() {
        String::new()
    } else {
        format!(" ({field})")
    };
    match code {
        Some("THROTTLED") | Some("INTERNAL_SERVER_ERROR") => {
            ConnectorError::Transient(format!("Shopify: {}", e.message))
        }
        Some("ACCESS_DENIED") => ConnectorError::Permanent(format!(
            "Shopify refused access{about}: {} Grant the app the scope it names, then retry the delivery.",
            e.message
        )),
        _ => ConnectorError::Permanent(format!("Shopify GraphQL error{about}: {}", e.message)),
    }
}

#[async_trait]
impl Connector for ShopifyConnector {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    async fn push_order(&self, push: &OrderPush) -> Result<PushedOrder, ConnectorError> {
        let anycart_id = push.order.id.to_string();
        // Build first: an unmappable order fails before any network call.
        let variables = convert::order_create_variables(push)?;
        // An earlier attempt may have created the order and lost the response.
        let found: FindOrderData = self
            .graphql(
                FIND_ORDER_QUERY,
                FindOrderVariables {
                    query: convert::find_order_query(&anycart_id),
                    first: FIND_ORDER_CANDIDATES_MAX,
                },
            )
            .await?;
        let tag = convert::order_tag(&anycart_id);
        if let Some(existing) = found
            .orders
            .nodes
            .into_iter()
            .find(|o| o.tags.contains(&tag))
        {
            tracing::info!(order_id = %anycart_id, platform_order_id = %existing.id, "Shopify already has this order");
            return Ok(PushedOrder {
                platform_order_id: existing.id,
                confirmation: Confirmation::AlreadyOnPlatform,
            });
        }
        let created: OrderCreateData = self.graphql(ORDER_CREATE_MUTATION, variables).await?;
        let payload = created.order_create.ok_or_else(|| {
            ConnectorError::Transient("orderCreate answered null without an error".into())
        })?;
        if !payload.user_errors.is_empty() {
            let errors: Vec<String> = payload
                .user_errors
                .iter()
                .map(|e| {
                    format!(
                        "{}{}: {}",
                        e.field.as_ref().map(|f| f.join(".")).unwrap_or_default(),
                        e.code
                            .as_ref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default(),
                        e.message
                    )
                })
                .collect();
            return Err(ConnectorError::Permanent(format!(
                "orderCreate refused: {}",
                errors.join("; ")
            )));
        }
        let order = payload
            .order
            .ok_or_else(|| ConnectorError::Transient("orderCreate returned no order".into()))?;
        Ok(PushedOrder {
            platform_order_id: order.id,
            confirmation: Confirmation::RequestedFromPlatform,
        })
    }

    async fn push_refund(&self, push: &crate::RefundPush) -> Result<PushedOrder, ConnectorError> {
        let refund_id = push.notice.refund_id.to_string();
        let context: RefundContextData = self
            .graphql(
                REFUND_CONTEXT_QUERY,
                RefundContextVariables {
                    id: push.platform_order_id.clone(),
                },
            )
            .await?;
        let order = context.order.ok_or_else(|| {
            ConnectorError::Permanent(format!("Shopify has no order {}", push.platform_order_id))
        })?;
        // An earlier attempt may have recorded it and lost the response.
        if let Some(existing) = convert::find_refund(&order, &refund_id) {
            return Ok(PushedOrder {
                platform_order_id: existing.id.clone(),
                confirmation: Confirmation::RefundRecorded,
            });
        }
        let location = context.locations.nodes.first().map(|l| l.id.as_str());
        let variables = convert::refund_create_variables(push, &order, location)?;
        let created: RefundCreateData = self.graphql(REFUND_CREATE_MUTATION, variables).await?;
        let payload = created.refund_create;
        if !payload.user_errors.is_empty() {
            let errors: Vec<String> = payload
                .user_errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.field.as_ref().map(|f| f.join(".")).unwrap_or_default(),
                        e.message
                    )
                })
                .collect();
            return Err(ConnectorError::Permanent(format!(
                "refundCreate refused: {}",
                errors.join("; ")
            )));
        }
        let refund = payload
            .refund
            .ok_or_else(|| ConnectorError::Transient("refundCreate returned no refund".into()))?;
        Ok(PushedOrder {
            platform_order_id: refund.id,
            confirmation: Confirmation::RefundRecorded,
        })
    }

    async fn import_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<crate::CataloguePage, ConnectorError> {
        let data: ImportData = self
            .graphql(
                IMPORT_PRODUCTS_QUERY,
                ImportVariables {
                    first: IMPORT_PAGE_SIZE,
                    after: cursor.map(str::to_string),
                },
            )
            .await?;
        convert::catalogue_page(data)
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookEvent, ConnectorError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        verify_webhook_signature(self.webhook_secret.expose_secret(), headers, body)?;
        // Signed by the right secret; now make sure it is about this shop.
        if let Some(shop) = header("X-Shopify-Shop-Domain")
            && !shop.eq_ignore_ascii_case(&self.shop_domain)
        {
            return Err(ConnectorError::Malformed(format!(
                "webhook for another shop ({shop})"
            )));
        }
        let event_id = header("X-Shopify-Webhook-Id")
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .ok_or_else(|| ConnectorError::Malformed("X-Shopify-Webhook-Id missing".into()))?
            .to_string();
        let topic = header("X-Shopify-Topic")
            .ok_or_else(|| ConnectorError::Malformed("X-Shopify-Topic missing".into()))?;
        let (change, at) = convert::webhook_change(topic, body)?;
        let triggered = header("X-Shopify-Triggered-At")
            .map(convert::unix_ms)
            .transpose()?;
        let platform_time_ms = at.or(triggered).unwrap_or(0);
        if let PlatformChange::Ignored { topic } = &change {
            tracing::debug!(topic, "Shopify webhook topic not acted on");
        }
        Ok(WebhookEvent {
            event_id,
            platform_time_ms,
            change,
        })
    }
}

/// Checks `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body) with
/// `secret`: a connection's webhook secret, or the app's client secret for the
/// app-wide compliance webhooks.
pub fn verify_webhook_signature(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), ConnectorError> {
    let signature = headers
        .get("X-Shopify-Hmac-Sha256")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or(ConnectorError::Unauthorized)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| ConnectorError::Misconfigured("webhook secret".into()))?;
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| ConnectorError::Unauthorized)
}

/// Signs a body as Shopify does (base64 HMAC-SHA256 with the app secret); used by
/// the test fakes and handy for replaying a webhook by hand.
pub fn sign_webhook(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
