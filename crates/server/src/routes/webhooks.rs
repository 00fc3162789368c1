//! `POST /webhooks/{platform}/{merchant_id}`: platform webhooks in,
//! `POST /webhooks/shopify`: the Shopify app's webhooks for every shop, and
//! `POST /webhooks/stripe/{merchant_id}`: Stripe's events. The handlers only map
//! errors; verification, de-duplication and the changes live in
//! `anycart_connectors::webhooks::ingest` and `CheckoutService::receive_stripe_event`.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_checkout::refunds::PlatformRefundOutcome;
use anycart_checkout::stripe_events::StripeEventOutcome;
use anycart_connectors::shopify::oauth::ShopDomain;
use anycart_connectors::webhooks::{Forget, IngestError, IngestOutcome, ingest};
use anycart_connectors::{ConnectorError, Platform, WEBHOOK_BODY_BYTES_MAX};
use anycart_core::MerchantId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The webhook route, with a body limit of its own: platform order payloads can
/// outgrow the checkout API's.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .routes(routes!(receive_shopify_app))
        .routes(routes!(receive_stripe))
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_BYTES_MAX))
}

/// What anycart did with a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// Platforms: `applied`, `duplicate` (already seen: nothing changed),
    /// `refunded` (a platform refund carried out at the payment provider),
    /// `forgotten` (a redact request carried out) or `ignored`. Stripe: `captured`, `payment_failed`, `refunds_reconciled`,
    /// `dispute_recorded`, `awaiting_recovery` (charged, order not written yet:
    /// the recovery worker settles it), `not_an_anycart_payment`, `ignored` or
    /// `duplicate`.
    pub status: &'static str,
    /// Stock rows changed by an applied delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_rows_changed: Option<usize>,
}

/// Where a platform delivers one merchant's webhooks: [`receive`]'s route under
/// the server's base URL (shown on the connection, subscribed by the Shopify app).
pub(crate) fn merchant_webhook_url(base_url: &str, platform: &str, merchant: MerchantId) -> String {
    format!("{base_url}/webhooks/{platform}/{merchant}")
}

/// Receive a platform webhook (Shopify: `inventory_levels/update`, `orders/create`,
/// `products/update`, …, the compliance topics `customers/redact`,
/// `customers/data_request`, `shop/redact`, and `app/uninstalled`, which disables
/// the connection), verified by its signature and applied once. Answers 200
/// for applied and duplicate deliveries (so the platform stops retrying), 401 for a
/// bad signature, 400 for a malformed body or a platform that sends no webhooks.
#[utoipa::path(post, path = "/webhooks/{platform}/{merchant_id}", tag = "Webhooks",
    params(("platform" = String, Path, description = "`shopify` (Salesforce B2C and Adobe Commerce answer 400: their stock is reconciled)"),
           ("merchant_id" = String, Path, description = "The merchant's id, as in the connection's `webhook_url`")),
    request_body(content = Object, description = "The platform's own payload, signed in its headers (Shopify: `X-Shopify-Hmac-Sha256`)"),
    responses((status = 200, body = WebhookReceipt), (status = "4XX", body = crate::routes::acp::wire::ErrorWire)))]
pub async fn receive(
    State(state): State<AppState>,
    Path((platform, merchant)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<WebhookReceipt>), ApiError> {
    let platform = Platform::parse(&platform)
        .filter(|p| *p != Platform::Native)
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    let merchant: MerchantId = merchant
        .parse()
        .map_err(|_| ApiError::not_found("webhook endpoint"))?;
    if body.len() > WEBHOOK_BODY_BYTES_MAX {
        return Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            "Webhook body too large.",
        ));
    }
    let outcome = ingest(
        &state.store,
        platform,
        merchant,
        &headers,
        &body,
        state.now_ms(),
    )
    .await;
    Ok((
        StatusCode::OK,
        Json(receipt(&state, platform, merchant, outcome).await?),
    ))
}

/// Carries out what intake made of a delivery (refunds and forgetting go through
/// the checkout service) and says so.
async fn receipt(
    state: &AppState,
    platform: Platform,
    merchant: MerchantId,
    outcome: Result<IngestOutcome, IngestError>,
) -> Result<WebhookReceipt, ApiError> {
    Ok(match outcome {
        Ok(IngestOutcome::Applied { rows }) => WebhookReceipt {
            status: "applied",
            stock_rows_changed: Some(rows),
        },
        Ok(IngestOutcome::Duplicate) => WebhookReceipt {
            status: "duplicate",
            stock_rows_changed: None,
        },
        Ok(IngestOutcome::Refund(refund)) => {
            // Errors answer 4xx/5xx so the platform delivers again; the refund is
            // idempotent on the platform's refund id.
            let done = state
                .checkout
                .refund_from_platform(merchant, platform.as_str(), &refund)
                .await?;
            WebhookReceipt {
                status: match done {
                    PlatformRefundOutcome::Refunded(_) => "refunded",
                    PlatformRefundOutcome::Ignored(why) => {
                        tracing::info!(%merchant, platform_refund_id = %refund.platform_refund_id, why, "platform refund not carried out");
                        "ignored"
                    }
                },
                stock_rows_changed: None,
            }
        }
        Ok(IngestOutcome::Forget(Forget::Shopper { email })) => {
            state.checkout.forget_shopper(merchant, &email).await?;
            WebhookReceipt {
                status: "forgotten",
                stock_rows_changed: None,
            }
        }
        Ok(IngestOutcome::Forget(Forget::EveryShopper)) => {
            state.checkout.forget_every_shopper(merchant).await?;
            WebhookReceipt {
                status: "forgotten",
                stock_rows_changed: None,
            }
        }
        Err(IngestError::NotConnected(_)) => return Err(ApiError::not_found("webhook endpoint")),
        Err(IngestError::Connector(e)) => return Err(e.into()),
    })
}

/// Receive a webhook of anycart's Shopify app for any shop: the compliance
/// topics (`customers/data_request`, `customers/redact`, `shop/redact`), which an
/// app configures once (in its app configuration), not per shop. Verified with
/// the app's client secret; the merchant is the one whose Shopify connection is
/// to the shop in `X-Shopify-Shop-Domain`, and the delivery is then acted on as at
/// `/webhooks/shopify/{merchant_id}`. A signed delivery for a shop no merchant is
/// connected to answers 200 `ignored`: there is nothing of that shop to forget or
/// report, and any other answer makes Shopify retry it for 48 hours and count
/// it against the app's compliance. 401 for a bad signature, 404 when this server
/// has no Shopify app configured.
#[utoipa::path(post, path = "/webhooks/shopify", tag = "Webhooks",
    request_body(content = Object, description = "Shopify's payload, signed with the app's client secret in `X-Shopify-Hmac-Sha256`, the shop in `X-Shopify-Shop-Domain`"),
    responses((status = 200, body = WebhookReceipt), (status = "4XX", body = crate::routes::acp::wire::ErrorWire)))]
pub async fn receive_shopify_app(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<WebhookReceipt>), ApiError> {
    let app = state
        .config
        .shopify_app
        .as_ref()
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    if body.len() > WEBHOOK_BODY_BYTES_MAX {
        return Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            "Webhook body too large.",
        ));
    }
    app.verify_webhook(&headers, &body)?;
    let shop = headers
        .get("X-Shopify-Shop-Domain")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidWebhook, "X-Shopify-Shop-Domain missing."))
        .and_then(|s| ShopDomain::parse(s).map_err(ApiError::from))?;
    let mut done: Option<WebhookReceipt> = None;
    for merchant in state
        .store
        .merchants_of_shop(Platform::Shopify.as_str(), shop.as_ref())
        .await?
    {
        let outcome = ingest(
            &state.store,
            Platform::Shopify,
            merchant,
            &headers,
            &body,
            state.now_ms(),
        )
        .await;
        // A shop connected through a custom app verifies with that app's own
        // secret, and gets that app's webhooks at its own URL: not ours to act on.
        if let Err(IngestError::Connector(ConnectorError::Unauthorized)) = outcome {
            tracing::info!(merchant_id = %merchant, shop = shop.as_ref(), "app webhook for a shop connected through a custom app; left to that app's webhooks");
            continue;
        }
        done = Some(receipt(&state, Platform::Shopify, merchant, outcome).await?);
    }
    let receipt = done.unwrap_or_else(|| {
        tracing::info!(
            shop = shop.as_ref(),
            "app webhook for a shop no merchant is connected to; nothing to do"
        );
        WebhookReceipt {
            status: "ignored",
            stock_rows_changed: None,
        }
    });
    Ok((StatusCode::OK, Json(receipt)))
}

/// Receive a Stripe event for a merchant paid through Stripe (configure this URL
/// as the endpoint in the Stripe dashboard, with the events listed in the
/// manual). Verified with the merchant's `webhook_secret` (`Stripe-Signature`,
/// 5-minute tolerance) and acted on once per event id. 200 for acted-on and
/// duplicate events (Stripe stops retrying), 401 for a forged, tampered, stale or
/// unsigned delivery, 400 when the merchant has no Stripe settings or the event
/// cannot be read; 5xx (Stripe retries) when anycart could not finish.
#[utoipa::path(post, path = "/webhooks/stripe/{merchant_id}", tag = "Webhooks",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body(content = Object, description = "A Stripe `event` object, signed in `Stripe-Signature`"),
    responses((status = 200, body = WebhookReceipt), (status = "4XX", body = crate::routes::acp::wire::ErrorWire)))]
pub async fn receive_stripe(
    State(state): State<AppState>,
    Path(merchant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<WebhookReceipt>), ApiError> {
    let merchant: MerchantId = merchant
        .parse()
        .map_err(|_| ApiError::not_found("webhook endpoint"))?;
    let signature = headers
        .get("Stripe-Signature")
        .and_then(|v| v.to_str().ok());
    let outcome = state
        .checkout
        .receive_stripe_event(merchant, signature, &body)
        .await?;
    let status = match outcome {
        StripeEventOutcome::Applied(label) => label,
        StripeEventOutcome::Duplicate => "duplicate",
    };
    Ok((
        StatusCode::OK,
        Json(WebhookReceipt {
            status,
            stock_rows_changed: None,
        }),
    ))
}
