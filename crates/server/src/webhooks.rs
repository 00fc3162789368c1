//! `POST /webhooks/{platform}/{merchant_id}`: platform webhooks in. The handler
//! only maps errors; verification, de-duplication and the stock change live in
//! `anycart_connectors::webhooks::ingest`.

use crate::error::ApiError;
use crate::state::AppState;
use anycart_connectors::webhooks::{IngestError, IngestOutcome, ingest};
use anycart_connectors::{ConnectorError, Platform};
use anycart_core::MerchantId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

/// Receives one webhook. Answers 200 for applied and duplicate deliveries (so the
/// platform stops retrying), 401 for a bad signature, 400 for a malformed body.
pub async fn receive(
    State(state): State<AppState>,
    Path((platform, merchant)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let platform = Platform::parse(&platform)
        .filter(|p| *p != Platform::Native)
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    let merchant: MerchantId = merchant
        .parse()
        .map_err(|_| ApiError::not_found("webhook endpoint"))?;
    if body.len() > anycart_connectors::WEBHOOK_BODY_BYTES_MAX {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "Webhook body too large.",
        ));
    }
    match ingest(
        &state.store,
        platform,
        merchant,
        &headers,
        &body,
        state.now_ms(),
    )
    .await
    {
        Ok(IngestOutcome::Applied { rows }) => Ok((
            StatusCode::OK,
            Json(serde_json::json!({"status": "applied", "stock_rows_changed": rows})),
        )),
        Ok(IngestOutcome::Duplicate) => Ok((
            StatusCode::OK,
            Json(serde_json::json!({"status": "duplicate"})),
        )),
        Err(IngestError::NotConnected(_)) => Err(ApiError::not_found("webhook endpoint")),
        Err(IngestError::Connector(e)) => Err(connector_error(e)),
    }
}

/// Maps a connector error onto the ACP error shape (shared with the admin API).
pub fn connector_error(e: ConnectorError) -> ApiError {
    match e {
        ConnectorError::Unauthorized => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "The webhook signature is missing or does not match the body.",
        ),
        ConnectorError::Malformed(m) => {
            tracing::warn!(error = %m, "malformed webhook");
            ApiError::bad_request("invalid_webhook", m)
        }
        ConnectorError::Misconfigured(m) => ApiError::bad_request("invalid_connection", m),
        ConnectorError::Store(e) => e.into(),
        ConnectorError::Transient(m) | ConnectorError::Permanent(m) => {
            tracing::error!(error = %m, "platform error");
            ApiError::new(StatusCode::BAD_GATEWAY, "platform_error", m)
        }
    }
}
