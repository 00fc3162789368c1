//! The merchant's own API keys (`/v1/api_keys`, owners only): listed by hint,
//! created, rotated and revoked. A new key's plaintext is in the response that
//! made it and nowhere else (only its SHA-256 is stored).

use crate::auth::OwnerCaller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_core::ApiKeyId;
use anycart_store::{ApiKeyKind, ApiKeyListing, ApiKeyRecord, StoreError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A key as listed: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyWire {
    pub id: String,
    /// `publishable` or `secret`.
    pub kind: String,
    /// e.g. `sk_…a1b2`.
    pub hint: String,
    pub created_at: String,
    /// When it stopped working; `null` while live (always sent).
    #[schema(required = true)]
    pub revoked_at: Option<String>,
}

/// A key just made: the only time its plaintext is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKeyWire {
    #[serde(flatten)]
    pub key: ApiKeyWire,
    /// The key itself: store it now, it is not shown again.
    pub secret: String,
}

/// `POST /v1/api_keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// `publishable` or `secret`.
    pub kind: String,
}

fn kind_name(kind: ApiKeyKind) -> &'static str {
    match kind {
        ApiKeyKind::Publishable => "publishable",
        ApiKeyKind::Secret => "secret",
    }
}

fn wire(record: &ApiKeyRecord, revoked_at_ms: Option<i64>) -> ApiKeyWire {
    ApiKeyWire {
        id: record.id.to_string(),
        kind: kind_name(record.kind).into(),
        hint: record.hint.clone(),
        created_at: rfc3339(record.created_at_ms),
        revoked_at: revoked_at_ms.map(rfc3339),
    }
}

fn made(key: SecretString, record: &ApiKeyRecord) -> (StatusCode, Json<NewApiKeyWire>) {
    (
        StatusCode::CREATED,
        Json(NewApiKeyWire {
            key: wire(record, None),
            secret: key.expose_secret().to_string(),
        }),
    )
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("live api key"),
        other => other.into(),
    }
}

/// The live key of the caller's merchant named `id`, or 404.
async fn live_key(
    state: &AppState,
    caller: &OwnerCaller,
    id: &str,
) -> Result<ApiKeyListing, ApiError> {
    let id = ApiKeyId::parse(id).map_err(|_| ApiError::not_found("api key"))?;
    state
        .store
        .list_api_keys(caller.0.merchant)
        .await?
        .into_iter()
        .find(|k| k.record.id == id && k.revoked_at_ms.is_none())
        .ok_or_else(|| ApiError::not_found("live api key"))
}

/// The merchant's own keys, newest first (placements' keys are on their placement).
#[utoipa::path(get, path = "/api_keys", tag = "Admin", responses((status = 200, body = Vec<ApiKeyWire>), (status = 403)), security(("bearer" = [])))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    caller: OwnerCaller,
) -> Result<Json<Vec<ApiKeyWire>>, ApiError> {
    let keys = state.store.list_api_keys(caller.0.merchant).await?;
    Ok(Json(
        keys.iter()
            .map(|k| wire(&k.record, k.revoked_at_ms))
            .collect(),
    ))
}

/// Create a key; its plaintext is in this response only.
#[utoipa::path(post, path = "/api_keys", tag = "Admin", request_body = NewApiKey, responses((status = 201, body = NewApiKeyWire), (status = 400), (status = 403)), security(("bearer" = [])))]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: OwnerCaller,
    body: AcpJson<NewApiKey>,
) -> Result<(StatusCode, Json<NewApiKeyWire>), ApiError> {
    let kind = match body.value.kind.as_str() {
        "publishable" => ApiKeyKind::Publishable,
        "secret" => ApiKeyKind::Secret,
        _ => return Err(ApiError::invalid("$.kind", "use `publishable` or `secret`")),
    };
    let (key, record) = state
        .checkout
        .create_api_key(caller.0.merchant, kind)
        .await?;
    Ok(made(key, &record))
}

/// Replace a key by a new one of the same kind: the old one stops working at once.
#[utoipa::path(post, path = "/api_keys/{id}/rotate", tag = "Admin", params(("id" = String, Path)), responses((status = 201, body = NewApiKeyWire), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn rotate_api_key(
    State(state): State<AppState>,
    caller: OwnerCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<NewApiKeyWire>), ApiError> {
    let old = live_key(&state, &caller, &id).await?;
    let (key, record) = state
        .checkout
        .rotate_api_key(caller.0.merchant, old.record.id, old.record.kind)
        .await
        .map_err(not_found)?;
    Ok(made(key, &record))
}

/// Revoke a key: it stops working at once.
#[utoipa::path(post, path = "/api_keys/{id}/revoke", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = ApiKeyWire), (status = 403), (status = 404)), security(("bearer" = [])))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: OwnerCaller,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyWire>, ApiError> {
    let key = live_key(&state, &caller, &id).await?;
    state
        .checkout
        .revoke_api_key(caller.0.merchant, key.record.id)
        .await
        .map_err(not_found)?;
    Ok(Json(wire(&key.record, Some(state.now_ms()))))
}
