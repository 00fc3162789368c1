//! The merchant's side of its UCP door (admin API, secret key, under `/v1`):
//! open it and choose how agents must identify themselves, see an order's
//! agent and webhooks, and record fulfillment events (which agents hear of as
//! `order_shipped` or `order_updated`).

use super::orders::{self, NewEvent};
use super::version::UcpVersion;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::ucp::{DoorSettings, UcpAccess, UcpDoor};
use anycart_core::OrderId;
use anycart_store::UcpWebhookState;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `/v1/ucp…` (nested under `/v1` with the rest of the admin API).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_door, put_door))
        .routes(routes!(get_order))
        .routes(routes!(record_event))
}

/// `PUT /v1/ucp`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UcpDoorRequest {
    /// Whether agents may use the door (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `open` (no credentials), `signed` (RFC 9421 signatures verified with the
    /// agent profile's keys) or `keyed` (the merchant's API key).
    pub access: String,
    #[serde(default)]
    pub terms_of_service_url: Option<String>,
    #[serde(default)]
    pub privacy_policy_url: Option<String>,
}

/// A merchant's UCP door.
#[derive(Debug, Serialize, ToSchema)]
pub struct UcpDoorWire {
    pub enabled: bool,
    pub access: String,
    /// The shopping endpoint agents call.
    pub endpoint: String,
    /// The profile agents discover the door by.
    pub profile_url: String,
    /// The public key order webhooks are signed with (a JWK).
    pub signing_key: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_of_service_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_policy_url: Option<String>,
    /// Versions served.
    pub versions: Vec<String>,
}

fn door_wire(state: &AppState, door: &UcpDoor) -> Result<UcpDoorWire, ApiError> {
    let key = anycart_checkout::ucp::keys::SigningKey::from_pkcs8_base64(
        &door.signing_kid,
        door.signing_key.expose(),
    )?;
    let settings = DoorSettings::of(door);
    Ok(UcpDoorWire {
        enabled: door.enabled,
        access: door.access.as_str().into(),
        endpoint: super::endpoint(&state.config.base_url, door.merchant_id),
        profile_url: super::profile_url(&state.config.base_url, door.merchant_id),
        signing_key: key.jwk(),
        terms_of_service_url: settings.terms_of_service_url,
        privacy_policy_url: settings.privacy_policy_url,
        versions: UcpVersion::ALL.iter().map(|v| v.as_str().into()).collect(),
    })
}

/// The merchant's UCP door.
#[utoipa::path(get, path = "/ucp", tag = "Admin", responses((status = 200, body = UcpDoorWire), (status = 404)), security(("bearer" = [])))]
async fn get_door(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<UcpDoorWire>, ApiError> {
    let door = state
        .store
        .get_ucp_door(caller.0.merchant)
        .await?
        .ok_or_else(|| ApiError::not_found("UCP door (open it with PUT /v1/ucp)"))?;
    Ok(Json(door_wire(&state, &door)?))
}

/// Open (or reconfigure) the merchant's UCP door.
#[utoipa::path(put, path = "/ucp", tag = "Admin", request_body = UcpDoorRequest, responses((status = 200, body = UcpDoorWire)), security(("bearer" = [])))]
async fn put_door(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<UcpDoorRequest>,
) -> Result<Json<UcpDoorWire>, ApiError> {
    let req = body.value;
    let access = UcpAccess::parse(&req.access).ok_or_else(|| {
        ApiError::invalid("$.access", "access must be `open`, `signed` or `keyed`")
    })?;
    let settings = DoorSettings {
        terms_of_service_url: req.terms_of_service_url,
        privacy_policy_url: req.privacy_policy_url,
    };
    let door = state
        .checkout
        .configure_ucp_door(
            caller.0.merchant,
            req.enabled.unwrap_or(true),
            access,
            &settings,
        )
        .await?;
    Ok(Json(door_wire(&state, &door)?))
}

/// An order sold through UCP: its channel, agent and webhooks.
#[derive(Debug, Serialize, ToSchema)]
pub struct UcpOrderWire {
    pub order_id: String,
    pub channel: String,
    pub agent_profile: Option<String>,
    pub webhook_url: Option<String>,
    pub ucp_version: String,
    pub webhooks: Vec<UcpWebhookWire>,
    /// The order as the agent sees it.
    #[schema(value_type = Object)]
    pub order: serde_json::Value,
}

/// One order webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct UcpWebhookWire {
    pub id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).map_err(|_| ApiError::not_found("order"))
}

/// An order sold through the UCP door, with its webhooks.
#[utoipa::path(get, path = "/ucp/orders/{order_id}", tag = "Admin", operation_id = "get_ucp_order", params(("order_id" = String, Path)), responses((status = 200, body = UcpOrderWire), (status = 404)), security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(raw): Path<String>,
) -> Result<Json<UcpOrderWire>, ApiError> {
    let merchant = caller.0.merchant;
    let id = order_id(&raw)?;
    let record = state
        .store
        .get_ucp_order(merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("UCP order"))?;
    let stored = state
        .store
        .get_order(merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let doc: super::convert::OrderDoc = serde_json::from_str(&record.doc).unwrap_or_default();
    let wire = super::convert::order_wire(
        &stored.order,
        crate::routes::acp::convert::order_url(&state.config.base_url, &stored.access_token),
        &doc,
    );
    let webhooks = state
        .store
        .ucp_webhooks_of_order(merchant, id)
        .await?
        .into_iter()
        .map(|w| UcpWebhookWire {
            id: w.id,
            event_type: w.event_type,
            state: match w.state {
                UcpWebhookState::Pending => "pending",
                UcpWebhookState::Delivered => "delivered",
                UcpWebhookState::Dead => "dead",
            }
            .into(),
            attempts: w.attempts,
            last_error: w.last_error,
        })
        .collect();
    Ok(Json(UcpOrderWire {
        order_id: record.order_id.to_string(),
        channel: record.channel,
        agent_profile: record.agent_profile,
        webhook_url: record.webhook_url,
        ucp_version: record.ucp_version,
        webhooks,
        order: serde_json::to_value(wire).unwrap_or_default(),
    }))
}

/// `POST /v1/ucp/orders/{order_id}/events`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FulfillmentEventRequest {
    /// `shipped` (agents hear `order_shipped`), `delivered`, … (`order_updated`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Lines and quantities; every line in full when absent.
    #[serde(default)]
    pub line_items: Option<Vec<EventLine>>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A line of a fulfillment event.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventLine {
    pub id: String,
    pub quantity: i64,
}

/// Record a fulfillment event (shipping, delivery) on a UCP order; the agent is
/// told by webhook.
#[utoipa::path(post, path = "/ucp/orders/{order_id}/events", tag = "Admin", params(("order_id" = String, Path)), request_body = FulfillmentEventRequest, responses((status = 200, body = Object), (status = 404), (status = 422)), security(("bearer" = [])))]
async fn record_event(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(raw): Path<String>,
    body: AcpJson<FulfillmentEventRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let req = body.value;
    if req.kind.trim().is_empty() || req.kind.len() > 64 {
        return Err(ApiError::invalid(
            "$.type",
            "type must be 1 to 64 characters",
        ));
    }
    let event = NewEvent {
        kind: req.kind.trim().to_string(),
        line_items: req
            .line_items
            .map(|lines| lines.into_iter().map(|l| (l.id, l.quantity)).collect()),
        tracking_number: req.tracking_number,
        tracking_url: req.tracking_url,
        carrier: req.carrier,
        description: req.description,
    };
    let order = orders::record_event(&state, caller.0.merchant, order_id(&raw)?, event)
        .await
        .map_err(|e| *e.api)?;
    Ok(Json(order))
}
