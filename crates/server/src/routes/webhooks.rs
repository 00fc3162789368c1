//! `POST /webhooks/{platform}/{merchant_id}`: platform webhooks in. The handler
//! only maps errors; verification, de-duplication and the stock change live in
//! `anycart_connectors::webhooks::ingest`.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_checkout::refunds::PlatformRefundOutcome;
use anycart_connectors::webhooks::{IngestError, IngestOutcome, ingest};
use anycart_connectors::{Platform, WEBHOOK_BODY_BYTES_MAX};
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
        .layer(DefaultBodyLimit::max(WEBHOOK_BODY_BYTES_MAX))
}

/// What anycart did with a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// `applied`, `duplicate` (already seen: nothing changed), `refunded` (a
    /// platform refund carried out at the payment provider) or `ignored`.
    pub status: &'static str,
    /// Stock rows changed by an applied delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_rows_changed: Option<usize>,
}

/// Receive a platform webhook (Shopify: `inventory_levels/update`, `orders/create`,
/// `products/update`, …), verified by its signature and applied once. Answers 200
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
    let receipt = match outcome {
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
        Err(IngestError::NotConnected(_)) => return Err(ApiError::not_found("webhook endpoint")),
        Err(IngestError::Connector(e)) => return Err(e.into()),
    };
    Ok((StatusCode::OK, Json(receipt)))
}
