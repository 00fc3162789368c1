//! Admin API for the merchant's platform connection and its order outbox:
//! connect a platform, link platform ids, see and re-queue dead-lettered pushes.

use crate::auth::{OwnerCaller, SecretCaller};
use crate::error::{ApiError, ErrorCode};
use crate::extract::AcpJson;
use crate::routes::webhooks::merchant_webhook_url;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_connectors::connect::connect;
use anycart_connectors::shopify_install::{CALLBACK_PATH, INSTALL_STATE_TTL_MS, begin_install};
use anycart_store::{ConnectionRecord, ExternalKind, OutboxItem, OutboxState, PlatformSettings};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A connection as the admin API shows it (no secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionWire {
    pub platform: String,
    pub shop_domain: String,
    pub base_url: Option<String>,
    /// Where to point the platform's webhook subscriptions.
    pub webhook_url: Option<String>,
    pub settings: serde_json::Value,
    pub updated_at: String,
}

/// `POST /v1/connection/links`: says which platform id is which anycart id.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// `variant`, `inventory_item`, `location` or `product`.
    pub kind: String,
    pub external_id: String,
    pub internal_id: String,
}

/// An outbox item (one order push) as the admin API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OutboxWire {
    pub id: String,
    pub order_id: String,
    pub kind: String,
    /// `pending`, `delivered` or `dead`.
    pub state: &'static str,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub platform_order_id: Option<String>,
    pub confirmation_status: Option<String>,
    pub next_attempt_at: String,
    pub updated_at: String,
}

/// `?state=dead&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// `pending`, `delivered` or `dead` (default `dead`).
    pub state: Option<String>,
    pub limit: Option<i64>,
}

fn connection_wire(state: &AppState, c: ConnectionRecord) -> ConnectionWire {
    // B2C Commerce sends no webhooks and Adobe Commerce's are not accepted: their
    // stock is reconciled instead.
    let webhook_url = matches!(c.settings, PlatformSettings::Shopify(_))
        .then(|| merchant_webhook_url(&state.config.base_url, c.platform(), c.merchant_id));
    ConnectionWire {
        platform: c.platform().to_string(),
        shop_domain: c.shop_domain().to_string(),
        base_url: c.base_url().map(String::from),
        webhook_url,
        settings: c.settings.public_view(),
        updated_at: rfc3339(c.updated_at_ms),
    }
}

/// The admin view of an outbox item (also embedded in a single order's view).
pub fn outbox_wire(i: OutboxItem) -> OutboxWire {
    OutboxWire {
        id: i.id,
        order_id: i.external_reference,
        kind: i.kind,
        state: match i.state {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Dead => "dead",
        },
        attempts: i.attempts,
        last_error: i.last_error,
        platform_order_id: i.platform_order_id,
        confirmation_status: i.confirmation_status,
        next_attempt_at: rfc3339(i.next_attempt_at_ms),
        updated_at: rfc3339(i.updated_at_ms),
    }
}

/// Connect (or reconnect) the merchant's commerce platform. The body is tagged by
/// `platform`; unknown fields are refused. Secrets are write-only: never returned.
#[utoipa::path(put, path = "/connection", tag = "Admin", request_body = PlatformSettings, responses((status = 200, body = ConnectionWire), (status = 400, body = crate::routes::acp::wire::ErrorWire)), security(("bearer" = [])))]
pub async fn put_connection(
    State(state): State<AppState>,
    caller: OwnerCaller,
    body: AcpJson<PlatformSettings>,
) -> Result<Json<ConnectionWire>, ApiError> {
    let record = connect(&state.store, caller.0.merchant, body.value, state.now_ms()).await?;
    Ok(Json(connection_wire(&state, record)))
}

/// The merchant's platform connection.
#[utoipa::path(get, path = "/connection", tag = "Admin", responses((status = 200, body = ConnectionWire)), security(("bearer" = [])))]
pub async fn get_connection(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<ConnectionWire>, ApiError> {
    let c = state
        .store
        .get_connection(caller.0.merchant)
        .await?
        .ok_or_else(|| ApiError::not_found("connection"))?;
    Ok(Json(connection_wire(&state, c)))
}

/// `?shop=acme.myshopify.com`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ShopifyInstallQuery {
    /// The shop to install the app on (`*.myshopify.com`).
    pub shop: String,
}

/// Where to send the merchant to install anycart's Shopify app.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShopifyInstallWire {
    /// Shopify's grant screen for this shop; open it in the merchant's browser.
    pub install_url: String,
    /// The link is good until then, and once.
    pub expires_at: String,
}

/// Start installing anycart's Shopify app on a shop (needs the app configured on
/// the server: `shopify_app_client_id` / `shopify_app_client_secret`). Answers
/// Shopify's grant-screen link; after the merchant approves, Shopify comes back
/// to `/shopify/oauth/callback`, which saves the connection and subscribes the
/// app's webhooks. Custom-app access tokens (`PUT /v1/connection`) keep working.
#[utoipa::path(get, path = "/connection/shopify/install", tag = "Admin", params(ShopifyInstallQuery),
    responses((status = 200, body = ShopifyInstallWire), (status = 400, body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub async fn shopify_install(
    State(state): State<AppState>,
    caller: OwnerCaller,
    Query(q): Query<ShopifyInstallQuery>,
) -> Result<Json<ShopifyInstallWire>, ApiError> {
    let app = state.config.shopify_app.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::ShopifyAppNotConfigured,
            "This server has no Shopify app configured (shopify_app_client_id and shopify_app_client_secret); connect with a custom app's access token instead.",
        )
    })?;
    let now_ms = state.now_ms();
    let redirect_uri = format!("{}{CALLBACK_PATH}", state.config.base_url);
    let url = begin_install(
        &state.store,
        app,
        caller.0.merchant,
        &q.shop,
        &redirect_uri,
        now_ms,
    )
    .await
    .map_err(|e| ApiError::from(e).with_param("shop"))?;
    Ok(Json(ShopifyInstallWire {
        install_url: url.to_string(),
        expires_at: rfc3339(now_ms + INSTALL_STATE_TTL_MS),
    }))
}

/// Link a platform id to an anycart id (what import does for every item).
#[utoipa::path(post, path = "/connection/links", tag = "Admin", request_body = LinkBody, responses((status = 204)), security(("bearer" = [])))]
pub async fn create_link(
    State(state): State<AppState>,
    caller: OwnerCaller,
    body: AcpJson<LinkBody>,
) -> Result<StatusCode, ApiError> {
    let merchant = caller.0.merchant;
    let c = state
        .store
        .get_connection(merchant)
        .await?
        .ok_or_else(|| ApiError::not_found("connection"))?;
    let b = body.value;
    let kind = match b.kind.as_str() {
        "variant" => ExternalKind::Variant,
        "inventory_item" => ExternalKind::InventoryItem,
        "location" => ExternalKind::Location,
        "product" => ExternalKind::Product,
        _ => {
            return Err(ApiError::invalid(
                "$.kind",
                "kind must be variant, inventory_item, location or product",
            ));
        }
    };
    let field_ok = |s: &str| !s.is_empty() && s.len() <= 255;
    if !field_ok(&b.external_id) {
        return Err(ApiError::invalid(
            "$.external_id",
            "external_id must be 1-255 characters",
        ));
    }
    // The anycart side must be this merchant's own variant / location / product.
    let owned = match kind {
        ExternalKind::Variant | ExternalKind::InventoryItem => match b.internal_id.parse() {
            Ok(v) => !state.store.get_variants(merchant, &[v]).await?.is_empty(),
            Err(_) => false,
        },
        ExternalKind::Location => state
            .store
            .list_locations(merchant)
            .await?
            .iter()
            .any(|l| l.id.to_string() == b.internal_id),
        ExternalKind::Product => match b.internal_id.parse() {
            Ok(p) => state.store.get_product(merchant, p).await?.is_some(),
            Err(_) => false,
        },
    };
    if !owned {
        return Err(ApiError::not_found("internal_id").with_param("$.internal_id"));
    }
    state
        .store
        .link_external_id(merchant, c.platform(), kind, &b.external_id, &b.internal_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Order pushes in a state (default: dead-lettered ones, which need an operator).
#[utoipa::path(get, path = "/outbox", tag = "Admin", params(OutboxQuery), responses((status = 200, body = Vec<OutboxWire>)), security(("bearer" = [])))]
pub async fn list_outbox(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<OutboxQuery>,
) -> Result<Json<Vec<OutboxWire>>, ApiError> {
    let wanted = match q.state.as_deref().unwrap_or("dead") {
        "pending" => OutboxState::Pending,
        "delivered" => OutboxState::Delivered,
        "dead" => OutboxState::Dead,
        _ => {
            return Err(ApiError::invalid(
                "state",
                "state must be pending, delivered or dead",
            ));
        }
    };
    let items = state
        .store
        .list_outbox(caller.0.merchant, wanted, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(items.into_iter().map(outbox_wire).collect()))
}

/// Re-queue a dead-lettered push (after fixing its cause).
#[utoipa::path(post, path = "/outbox/{id}/retry", tag = "Admin", params(("id" = String, Path)), responses((status = 204)), security(("bearer" = [])))]
pub async fn retry_outbox(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .outbox_retry(caller.0.merchant, &id, state.now_ms())
        .await
        .map_err(|e| match e {
            anycart_store::StoreError::NotFound => ApiError::not_found("dead-lettered outbox item"),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
