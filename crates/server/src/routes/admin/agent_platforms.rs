//! Agent platforms admin API (`/v1/agent_platforms`, secret keys only): the AI
//! agent platforms a merchant sells through over ACP or MCP. Registering one
//! mints the key it calls with (shown once) and says where its signed order
//! webhooks and product feed pushes go. The rules live in
//! [`anycart_checkout::agents::platforms`]; this is the wire shape and the handlers.

use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::agents::platforms::{AgentPlatformSpec, AgentPlatformUpdate};
use anycart_checkout::clock::rfc3339;
use anycart_core::{AgentPlatformId, OrderId};
use anycart_store::{AffiliateClaim, AgentPlatform};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The agent platform routes, mounted under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent_platform, list_agent_platforms))
        .routes(routes!(get_agent_platform, update_agent_platform))
        .routes(routes!(disable_agent_platform))
        .routes(routes!(order_affiliate_attribution))
}

/// `POST /v1/agent_platforms`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgentPlatform {
    /// Lowercase letters, digits, `.`, `_`, `-`; unique per merchant (e.g. `openai`).
    pub name: String,
    /// Where `order_create` / `order_update` webhooks are posted (https).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Shared secret (32–512 printable characters): signs the webhooks
    /// (`Merchant-Signature`) and verifies the platform's signed requests.
    pub signing_secret: String,
    /// Refuse the platform's requests unless signed (`Signature` + `Timestamp`).
    #[serde(default)]
    pub verify_signatures: bool,
    /// The platform's ACP feed resource (`https://…/feeds/{id}`): changed
    /// products are PATCHed to `{feed_url}/products`.
    #[serde(default)]
    pub feed_url: Option<String>,
    /// Bearer token for the feed endpoint, if it wants one.
    #[serde(default)]
    pub feed_token: Option<String>,
}

/// `PATCH /v1/agent_platforms/{id}`: absent fields are unchanged; an empty
/// string removes `webhook_url`, `feed_url` or `feed_token`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPlatformPatch {
    pub webhook_url: Option<String>,
    pub signing_secret: Option<String>,
    pub verify_signatures: Option<bool>,
    pub feed_url: Option<String>,
    pub feed_token: Option<String>,
}

/// An agent platform as the admin API shows it (secrets never). Orders placed
/// through it name it by `id` in `attribution.agent.name`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentPlatformWire {
    pub id: String,
    pub name: String,
    pub webhook_url: Option<String>,
    pub feed_url: Option<String>,
    pub verify_signatures: bool,
    pub has_feed_token: bool,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    pub disabled_at: Option<String>,
}

/// A newly registered platform with its key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentPlatformCreatedWire {
    #[serde(flatten)]
    pub platform: AgentPlatformWire,
    /// The key the platform calls the checkout API, the MCP server and the
    /// feed with (`Authorization: Bearer ak_…`). Shown once.
    pub api_key: String,
}

/// `{ "data": [...] }`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentPlatformList {
    pub data: Vec<AgentPlatformWire>,
}

fn wire(p: &AgentPlatform) -> AgentPlatformWire {
    AgentPlatformWire {
        id: p.id.to_string(),
        name: p.name.clone(),
        webhook_url: p.webhook_url.clone(),
        feed_url: p.feed_url.clone(),
        verify_signatures: p.verify_signatures,
        has_feed_token: p.secrets.feed_token.is_some(),
        enabled: p.is_enabled(),
        created_at: rfc3339(p.created_at_ms),
        updated_at: rfc3339(p.updated_at_ms),
        disabled_at: p.disabled_at_ms.map(rfc3339),
    }
}

fn platform_id(raw: &str) -> Result<AgentPlatformId, ApiError> {
    AgentPlatformId::parse(raw).map_err(|_| ApiError::not_found("agent platform"))
}

/// Register an agent platform: its key (returned once), webhook endpoint,
/// signing secret and optional feed endpoint.
#[utoipa::path(post, path = "/agent_platforms", tag = "Admin", request_body = NewAgentPlatform,
    responses((status = 201, body = AgentPlatformCreatedWire), (status = 400, body = crate::routes::acp::wire::ErrorWire), (status = 409, body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
async fn create_agent_platform(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewAgentPlatform>,
) -> Result<(StatusCode, Json<AgentPlatformCreatedWire>), ApiError> {
    let b = body.value;
    let spec = AgentPlatformSpec {
        name: b.name,
        webhook_url: b.webhook_url,
        feed_url: b.feed_url,
        signing_secret: b.signing_secret,
        feed_token: b.feed_token,
        verify_signatures: b.verify_signatures,
    };
    let registered = state
        .checkout
        .register_agent_platform(caller.0.merchant, &spec, &state.config.base_url)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AgentPlatformCreatedWire {
            platform: wire(&registered.platform),
            api_key: registered.api_key.expose_secret().to_string(),
        }),
    ))
}

/// The merchant's agent platforms, oldest first.
#[utoipa::path(get, path = "/agent_platforms", tag = "Admin", responses((status = 200, body = AgentPlatformList)), security(("bearer" = [])))]
async fn list_agent_platforms(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<AgentPlatformList>, ApiError> {
    let all = state.store.list_agent_platforms(caller.0.merchant).await?;
    Ok(Json(AgentPlatformList {
        data: all.iter().map(wire).collect(),
    }))
}

/// One agent platform.
#[utoipa::path(get, path = "/agent_platforms/{id}", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = AgentPlatformWire), (status = 404)), security(("bearer" = [])))]
async fn get_agent_platform(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<AgentPlatformWire>, ApiError> {
    let p = state
        .checkout
        .agent_platform(caller.0.merchant, platform_id(&id)?)
        .await?;
    Ok(Json(wire(&p)))
}

/// Change an agent platform's endpoints, secrets or signature checking.
#[utoipa::path(patch, path = "/agent_platforms/{id}", tag = "Admin", params(("id" = String, Path)), request_body = AgentPlatformPatch,
    responses((status = 200, body = AgentPlatformWire), (status = 400, body = crate::routes::acp::wire::ErrorWire), (status = 404)),
    security(("bearer" = [])))]
async fn update_agent_platform(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
    body: AcpJson<AgentPlatformPatch>,
) -> Result<Json<AgentPlatformWire>, ApiError> {
    let b = body.value;
    let update = AgentPlatformUpdate {
        webhook_url: b.webhook_url,
        feed_url: b.feed_url,
        signing_secret: b.signing_secret,
        feed_token: b.feed_token,
        verify_signatures: b.verify_signatures,
    };
    let p = state
        .checkout
        .update_agent_platform(
            caller.0.merchant,
            platform_id(&id)?,
            &update,
            &state.config.base_url,
        )
        .await?;
    Ok(Json(wire(&p)))
}

/// Disable an agent platform: its key stops working and nothing more is sent
/// to it (pending webhooks are dead-lettered).
#[utoipa::path(post, path = "/agent_platforms/{id}/disable", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = AgentPlatformWire), (status = 404)), security(("bearer" = [])))]
async fn disable_agent_platform(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<AgentPlatformWire>, ApiError> {
    let p = state
        .checkout
        .disable_agent_platform(caller.0.merchant, platform_id(&id)?)
        .await?;
    Ok(Json(wire(&p)))
}

/// An affiliate attribution claim an agent sent with an order's checkout.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AffiliateClaimWire {
    /// `first` (sent at creation) or `last` (sent at completion).
    pub touchpoint: &'static str,
    pub provider: String,
    /// The provider's token, to validate with the network (never logged,
    /// sealed at rest, never sent to agents or platforms).
    pub token: Option<String>,
    pub publisher_id: Option<String>,
    pub campaign_id: Option<String>,
    pub creative_id: Option<String>,
    pub sub_id: Option<String>,
    pub source_type: Option<String>,
    pub source_url: Option<String>,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// `{ "data": [...] }`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AffiliateClaimList {
    pub data: Vec<AffiliateClaimWire>,
}

fn claim_wire(c: AffiliateClaim) -> AffiliateClaimWire {
    AffiliateClaimWire {
        touchpoint: c.touchpoint.as_str(),
        provider: c.provider,
        token: c.token.map(|t| t.expose().to_string()),
        publisher_id: c.publisher_id,
        campaign_id: c.campaign_id,
        creative_id: c.creative_id,
        sub_id: c.sub_id,
        source_type: c.source_type,
        source_url: c.source_url,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        metadata: c.metadata,
    }
}

/// The affiliate attribution agents sent with an order (ACP
/// `affiliate_attribution`, write-only towards agents): first touch, then
/// last touch, for settling with the affiliate networks.
#[utoipa::path(get, path = "/orders/{id}/affiliate_attribution", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = AffiliateClaimList), (status = 404)), security(("bearer" = [])))]
async fn order_affiliate_attribution(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<AffiliateClaimList>, ApiError> {
    let order = OrderId::parse(&id).map_err(|_| ApiError::not_found("order"))?;
    let claims = state
        .checkout
        .order_affiliate_claims(caller.0.merchant, order)
        .await?;
    Ok(Json(AffiliateClaimList {
        data: claims.into_iter().map(claim_wire).collect(),
    }))
}
