//! Placements admin API (`/v1/placements`, secret keys only): where the embeddable
//! checkout widget may appear, what it sells, how it looks and which host origins
//! may frame it. The rules live in [`anycart_checkout::placements`]; this is the
//! wire shape and the handlers.

pub use super::wire::CampaignWire;
use super::wire::{Page, PageQuery, next_cursor};
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::placements::{self, PlacementSpec, channel_name};
use anycart_core::PlacementId;
use anycart_store::{Campaign, Placement, Theme};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The placement routes, mounted under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_placement, list_placements))
        .routes(routes!(get_placement, put_placement))
        .routes(routes!(disable_placement))
        .routes(routes!(enable_placement))
        .routes(routes!(get_widget_theme, put_widget_theme))
}

/// Theme overrides (all optional; unset keeps the widget default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThemeWire {
    /// `#rgb` or `#rrggbb`.
    pub primary_color: Option<String>,
    pub background_color: Option<String>,
    pub text_color: Option<String>,
    /// CSS font-family list, e.g. `Georgia, serif`.
    pub font_family: Option<String>,
    #[schema(minimum = 0, maximum = 32)]
    pub radius_px: Option<u32>,
    /// http(s) URL of the brand logo.
    pub logo_url: Option<String>,
    pub dark: Option<bool>,
}

/// `POST /v1/placements`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlacement {
    #[serde(default)]
    pub name: Option<String>,
    pub product_id: String,
    #[serde(default)]
    pub variant_id: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: Option<u32>,
    /// `display_ad`, `publisher`, `social`, `ctv` or `own_site`.
    pub channel: String,
    #[serde(default)]
    pub campaign: CampaignWire,
    /// Host page origins allowed to show the widget, e.g. `https://news.example`.
    pub allowed_origins: Vec<String>,
    /// Ad server origins trusted to place the widget on any publisher's page (the
    /// ad chain must pass through one of them); e.g. `https://ads.example`.
    #[serde(default)]
    pub ad_servers: Vec<String>,
    #[serde(default)]
    pub theme: ThemeWire,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A placement as the admin API shows it, with its embed snippet.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlacementWire {
    pub id: String,
    pub name: String,
    pub product_id: String,
    pub variant_id: Option<String>,
    pub quantity: u32,
    pub channel: String,
    pub campaign: CampaignWire,
    pub allowed_origins: Vec<String>,
    pub ad_servers: Vec<String>,
    pub theme: ThemeWire,
    pub enabled: bool,
    /// The placement's own publishable key (public by design).
    pub publishable_key: String,
    /// The two lines to paste into the host page.
    pub embed_snippet: String,
    /// Link checkout (`/buy/{id}`): the hosted page to link from social posts,
    /// bios, SMS and email, which previews with the product's image and price.
    pub link_url: String,
    pub created_at: String,
}

impl From<&CampaignWire> for Campaign {
    fn from(c: &CampaignWire) -> Campaign {
        Campaign {
            name: c.name.clone(),
            source: c.source.clone(),
            medium: c.medium.clone(),
            content: c.content.clone(),
        }
    }
}

impl From<&ThemeWire> for Theme {
    fn from(t: &ThemeWire) -> Theme {
        Theme {
            primary_color: t.primary_color.clone(),
            background_color: t.background_color.clone(),
            text_color: t.text_color.clone(),
            font_family: t.font_family.clone(),
            radius_px: t.radius_px,
            logo_url: t.logo_url.clone(),
            dark: t.dark,
        }
    }
}

impl From<&NewPlacement> for PlacementSpec {
    fn from(p: &NewPlacement) -> PlacementSpec {
        PlacementSpec {
            name: p.name.clone(),
            product_id: p.product_id.clone(),
            variant_id: p.variant_id.clone(),
            quantity: p.quantity,
            channel: p.channel.clone(),
            campaign: (&p.campaign).into(),
            allowed_origins: p.allowed_origins.clone(),
            ad_servers: p.ad_servers.clone(),
            theme: (&p.theme).into(),
            enabled: p.enabled,
        }
    }
}

/// The wire view of a theme.
pub fn theme_wire(t: &Theme) -> ThemeWire {
    ThemeWire {
        primary_color: t.primary_color.clone(),
        background_color: t.background_color.clone(),
        text_color: t.text_color.clone(),
        font_family: t.font_family.clone(),
        radius_px: t.radius_px,
        logo_url: t.logo_url.clone(),
        dark: t.dark,
    }
}

/// The two-line embed for a placement served from `base_url`.
pub fn embed_snippet(base_url: &str, id: PlacementId) -> String {
    format!(
        "<script src=\"{base_url}/embed.js\" async></script>\n<anycart-checkout placement=\"{id}\"></anycart-checkout>"
    )
}

/// The admin view of a placement.
pub fn placement_wire(base_url: &str, p: &Placement) -> PlacementWire {
    let s = &p.settings;
    PlacementWire {
        id: p.id.to_string(),
        name: s.name.clone(),
        product_id: p.product_id.to_string(),
        variant_id: s.variant_id.map(|v| v.to_string()),
        quantity: s.quantity,
        channel: channel_name(s.channel).to_string(),
        campaign: CampaignWire {
            name: s.campaign.name.clone(),
            source: s.campaign.source.clone(),
            medium: s.campaign.medium.clone(),
            content: s.campaign.content.clone(),
        },
        allowed_origins: s.allowed_origins.clone(),
        ad_servers: s.ad_servers.clone(),
        theme: theme_wire(&s.theme),
        enabled: p.enabled,
        publishable_key: s.publishable_key.clone(),
        embed_snippet: embed_snippet(base_url, p.id),
        link_url: format!("{}/buy/{}", base_url.trim_end_matches('/'), p.id),
        created_at: rfc3339(p.created_at_ms),
    }
}

/// Create a placement (an embed of the checkout widget) and get its embed snippet.
#[utoipa::path(post, path = "/placements", tag = "Admin", request_body = NewPlacement, responses((status = 201, body = PlacementWire), (status = 400)), security(("bearer" = [])))]
async fn create_placement(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewPlacement>,
) -> Result<(StatusCode, Json<PlacementWire>), ApiError> {
    let p = state
        .checkout
        .create_placement(caller.0.merchant, &PlacementSpec::from(&body.value))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(placement_wire(&state.config.base_url, &p)),
    ))
}

/// List placements (oldest first).
#[utoipa::path(get, path = "/placements", tag = "Admin", params(PageQuery), responses((status = 200, body = Page<PlacementWire>)), security(("bearer" = [])))]
async fn list_placements(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<PlacementWire>>, ApiError> {
    let after = q
        .after
        .as_deref()
        .map(|a| {
            PlacementId::parse(a).map_err(|_| ApiError::invalid("after", "not a placement id"))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(20).clamp(1, anycart_store::PAGE_SIZE_MAX);
    let found = state
        .store
        .list_placements(caller.0.merchant, after, limit)
        .await?;
    let next_cursor = next_cursor(&found, limit, |p| p.id.to_string());
    let data = found
        .iter()
        .map(|p| placement_wire(&state.config.base_url, p))
        .collect();
    Ok(Json(Page { data, next_cursor }))
}

pub(super) async fn load(
    state: &AppState,
    caller: &SecretCaller,
    id: &str,
) -> Result<Placement, ApiError> {
    let id = PlacementId::parse(id).map_err(|_| ApiError::not_found("placement"))?;
    state
        .store
        .get_placement(caller.0.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("placement"))
}

/// One placement with its embed snippet.
#[utoipa::path(get, path = "/placements/{id}", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = PlacementWire), (status = 404)), security(("bearer" = [])))]
async fn get_placement(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<PlacementWire>, ApiError> {
    let p = load(&state, &caller, &id).await?;
    Ok(Json(placement_wire(&state.config.base_url, &p)))
}

/// Replace a placement's settings (same body as creation; its id, key and embed
/// snippet stay, so live embeds pick up the change on their next load).
#[utoipa::path(put, path = "/placements/{id}", tag = "Admin", params(("id" = String, Path)), request_body = NewPlacement, responses((status = 200, body = PlacementWire), (status = 400), (status = 404)), security(("bearer" = [])))]
async fn put_placement(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
    body: AcpJson<NewPlacement>,
) -> Result<Json<PlacementWire>, ApiError> {
    let current = load(&state, &caller, &id).await?;
    let p = state
        .checkout
        .update_placement(
            caller.0.merchant,
            current.id,
            &PlacementSpec::from(&body.value),
        )
        .await?;
    Ok(Json(placement_wire(&state.config.base_url, &p)))
}

async fn set_enabled(
    state: &AppState,
    caller: &SecretCaller,
    id: &str,
    enabled: bool,
) -> Result<Json<PlacementWire>, ApiError> {
    let p = load(state, caller, id).await?;
    if !state
        .store
        .set_placement_enabled(caller.0.merchant, p.id, enabled)
        .await?
    {
        return Err(ApiError::not_found("placement"));
    }
    let p = load(state, caller, id).await?;
    Ok(Json(placement_wire(&state.config.base_url, &p)))
}

/// Disable a placement: its widget refuses to start a checkout from now on.
#[utoipa::path(post, path = "/placements/{id}/disable", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = PlacementWire), (status = 404)), security(("bearer" = [])))]
async fn disable_placement(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<PlacementWire>, ApiError> {
    set_enabled(&state, &caller, &id, false).await
}

/// Enable a placement again.
#[utoipa::path(post, path = "/placements/{id}/enable", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = PlacementWire), (status = 404)), security(("bearer" = [])))]
async fn enable_placement(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<PlacementWire>, ApiError> {
    set_enabled(&state, &caller, &id, true).await
}

/// The merchant's default widget theme (placements override it field by field).
#[utoipa::path(get, path = "/widget_theme", tag = "Admin", responses((status = 200, body = ThemeWire)), security(("bearer" = [])))]
async fn get_widget_theme(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<ThemeWire>, ApiError> {
    Ok(Json(theme_wire(
        &state.store.widget_theme(caller.0.merchant).await?,
    )))
}

/// Replace the merchant's default widget theme.
#[utoipa::path(put, path = "/widget_theme", tag = "Admin", request_body = ThemeWire, responses((status = 200, body = ThemeWire), (status = 400)), security(("bearer" = [])))]
async fn put_widget_theme(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<ThemeWire>,
) -> Result<Json<ThemeWire>, ApiError> {
    // Reuses the placement validation; its params name `$.theme.…`, so re-root them.
    let t = placements::theme(&Theme::from(&body.value)).map_err(|e| {
        let mut e = ApiError::from(e);
        e.param = e.param.map(|p| p.replacen("$.theme.", "$.", 1));
        e
    })?;
    state
        .store
        .set_widget_theme(caller.0.merchant, &t, state.now_ms())
        .await?;
    Ok(Json(theme_wire(&t)))
}
