//! Placements admin API (`/v1/placements`, secret keys only): where the embeddable
//! checkout widget may appear, what it sells, how it looks and which host origins may
//! frame it. Creating a placement also mints its own publishable key, so one embed
//! can be revoked without touching the merchant's other integrations.

use crate::auth::{SecretCaller, generate_key};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_core::{MerchantId, PlacementId, ProductId, VariantId};
use anycart_store::{ApiKeyKind, Campaign, Channel, Placement, PlacementSettings, Store, Theme};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{Page, PageQuery};

/// Most host origins one placement may list (an allow-list, not a wildcard).
pub const ALLOWED_ORIGINS_MAX: usize = 20;
/// Largest preselected quantity (the checkout API's own bound).
pub const QUANTITY_MAX: u32 = 999;
/// Longest free-text field (name, campaign fields, font family).
pub const TEXT_CHARS_MAX: usize = 100;
/// Largest corner radius a theme may ask for, in CSS pixels.
pub const RADIUS_PX_MAX: u32 = 32;

/// The placement routes, mounted under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_placement, list_placements))
        .routes(routes!(get_placement))
        .routes(routes!(disable_placement))
        .routes(routes!(enable_placement))
        .routes(routes!(get_widget_theme, put_widget_theme))
}

/// Campaign and attribution fields (all optional).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignWire {
    pub name: Option<String>,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub content: Option<String>,
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
    pub theme: ThemeWire,
    pub enabled: bool,
    /// The placement's own publishable key (public by design).
    pub publishable_key: String,
    /// The two lines to paste into the host page.
    pub embed_snippet: String,
    pub created_at: String,
}

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid", message).with_param(param.to_string())
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::DisplayAd => "display_ad",
        Channel::Publisher => "publisher",
        Channel::Social => "social",
        Channel::Ctv => "ctv",
        Channel::OwnSite => "own_site",
    }
}

fn parse_channel(s: &str) -> Result<Channel, ApiError> {
    Ok(match s {
        "display_ad" => Channel::DisplayAd,
        "publisher" => Channel::Publisher,
        "social" => Channel::Social,
        "ctv" => Channel::Ctv,
        "own_site" => Channel::OwnSite,
        _ => {
            return Err(invalid(
                "$.channel",
                "channel must be one of display_ad, publisher, social, ctv, own_site",
            ));
        }
    })
}

/// Normalises a host origin (`scheme://host[:port]`, lower case, no path) or says
/// why not. Exact origins only: a wildcard would let any page frame the checkout.
pub fn parse_origin(value: &str) -> Option<String> {
    let v = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    (host_ok && port_ok).then_some(v)
}

fn opt_text(value: &Option<String>, param: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > TEXT_CHARS_MAX || v.chars().any(char::is_control) {
        return Err(invalid(
            param,
            format!("must be at most {TEXT_CHARS_MAX} printable characters"),
        ));
    }
    Ok(Some(v.to_string()))
}

fn colour(value: &Option<String>, param: &str) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let hex = v.strip_prefix('#').unwrap_or("");
    if !matches!(hex.len(), 3 | 6) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid(param, "colours are #rgb or #rrggbb"));
    }
    Ok(Some(v.to_ascii_lowercase()))
}

fn theme(t: &ThemeWire) -> Result<Theme, ApiError> {
    let font_family = opt_text(&t.font_family, "$.theme.font_family")?;
    if let Some(f) = &font_family {
        // The font list ends up in a CSS custom property: refuse anything that could
        // close the declaration or load a resource.
        if !f
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ,-'\"".contains(c))
        {
            return Err(invalid(
                "$.theme.font_family",
                "a font-family list may only hold letters, digits, spaces, commas, hyphens and quotes",
            ));
        }
    }
    if t.radius_px.is_some_and(|r| r > RADIUS_PX_MAX) {
        return Err(invalid(
            "$.theme.radius_px",
            format!("radius_px must be 0–{RADIUS_PX_MAX}"),
        ));
    }
    let logo_url = match &t.logo_url {
        Some(u) => {
            let ok = (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2048
                && !u
                    .chars()
                    .any(|c| c.is_whitespace() || "\"'<>()\\".contains(c));
            if !ok {
                return Err(invalid("$.theme.logo_url", "must be an http(s) URL"));
            }
            Some(u.clone())
        }
        None => None,
    };
    Ok(Theme {
        primary_color: colour(&t.primary_color, "$.theme.primary_color")?,
        background_color: colour(&t.background_color, "$.theme.background_color")?,
        text_color: colour(&t.text_color, "$.theme.text_color")?,
        font_family,
        radius_px: t.radius_px,
        logo_url,
        dark: t.dark,
    })
}

fn theme_wire(t: &Theme) -> ThemeWire {
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
        theme: theme_wire(&s.theme),
        enabled: p.enabled,
        publishable_key: s.publishable_key.clone(),
        embed_snippet: embed_snippet(base_url, p.id),
        created_at: rfc3339(p.created_at_ms),
    }
}

/// Validates a new placement against `merchant`'s catalogue and stores it with a
/// fresh publishable key. Shared by the admin API and the demo seeding.
pub async fn create(
    store: &Store,
    merchant: MerchantId,
    req: &NewPlacement,
    now_ms: i64,
) -> Result<Placement, ApiError> {
    let product_id = ProductId::parse(&req.product_id)
        .map_err(|_| invalid("$.product_id", "not a product id"))?;
    let product = store
        .get_product(merchant, product_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| invalid("$.product_id", "no such active product"))?;
    let variant_id = match &req.variant_id {
        Some(v) => {
            let id = VariantId::parse(v)
                .ok()
                .filter(|id| product.variants.iter().any(|x| x.id == *id));
            Some(id.ok_or_else(|| invalid("$.variant_id", "not a variant of this product"))?)
        }
        None => None,
    };
    let quantity = req.quantity.unwrap_or(1);
    if !(1..=QUANTITY_MAX).contains(&quantity) {
        return Err(invalid(
            "$.quantity",
            format!("quantity must be 1–{QUANTITY_MAX}"),
        ));
    }
    let channel = parse_channel(&req.channel)?;
    if req.allowed_origins.is_empty() || req.allowed_origins.len() > ALLOWED_ORIGINS_MAX {
        return Err(invalid(
            "$.allowed_origins",
            format!("list 1–{ALLOWED_ORIGINS_MAX} host origins such as https://news.example"),
        ));
    }
    let mut allowed_origins = Vec::with_capacity(req.allowed_origins.len());
    for (i, o) in req.allowed_origins.iter().enumerate() {
        let origin = parse_origin(o).ok_or_else(|| {
            invalid(
                &format!("$.allowed_origins[{i}]"),
                "an origin is scheme://host[:port] with no path or wildcard",
            )
        })?;
        if !allowed_origins.contains(&origin) {
            allowed_origins.push(origin);
        }
    }
    let campaign = Campaign {
        name: opt_text(&req.campaign.name, "$.campaign.name")?,
        source: opt_text(&req.campaign.source, "$.campaign.source")?,
        medium: opt_text(&req.campaign.medium, "$.campaign.medium")?,
        content: opt_text(&req.campaign.content, "$.campaign.content")?,
    };
    let name = opt_text(&req.name, "$.name")?.unwrap_or_else(|| product.title.clone());
    let (key, key_record) = generate_key(merchant, ApiKeyKind::Publishable, now_ms);
    let placement = Placement {
        id: PlacementId::new(),
        merchant_id: merchant,
        product_id,
        enabled: req.enabled,
        settings: PlacementSettings {
            name,
            variant_id,
            quantity,
            channel,
            campaign,
            allowed_origins,
            theme: theme(&req.theme)?,
            publishable_key: key.expose_secret().to_string(),
        },
        created_at_ms: now_ms,
    };
    store.create_placement(&placement, &key_record).await?;
    Ok(placement)
}

/// Create a placement (an embed of the checkout widget) and get its embed snippet.
#[utoipa::path(post, path = "/placements", tag = "Admin", request_body = NewPlacement, responses((status = 201, body = PlacementWire), (status = 400)), security(("bearer" = [])))]
async fn create_placement(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewPlacement>,
) -> Result<(StatusCode, Json<PlacementWire>), ApiError> {
    let p = create(&state.store, caller.0.merchant, &body.value, state.now_ms()).await?;
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
        .map(|a| PlacementId::parse(a).map_err(|_| invalid("after", "not a placement id")))
        .transpose()?;
    let limit = q.limit.unwrap_or(20).clamp(1, anycart_store::PAGE_SIZE_MAX);
    let found = state
        .store
        .list_placements(caller.0.merchant, after, limit)
        .await?;
    let next_cursor = (found.len() as i64 == limit)
        .then(|| found.last().map(|p| p.id.to_string()))
        .flatten();
    let data = found
        .iter()
        .map(|p| placement_wire(&state.config.base_url, p))
        .collect();
    Ok(Json(Page { data, next_cursor }))
}

async fn load(state: &AppState, caller: &SecretCaller, id: &str) -> Result<Placement, ApiError> {
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
    let t = theme(&body.value).map_err(|mut e| {
        e.param = e.param.map(|p| p.replacen("$.theme.", "$.", 1));
        e
    })?;
    state
        .store
        .set_widget_theme(caller.0.merchant, &t, state.now_ms())
        .await?;
    Ok(Json(theme_wire(&t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_scheme_host_port() {
        assert_eq!(
            parse_origin("https://News.Example/").as_deref(),
            Some("https://news.example")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8081").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        for bad in [
            "*",
            "https://*.example",
            "news.example",
            "https://a.example/path",
            "ftp://a.example",
            "https://a.example:0",
            "https://a.example:99999",
            "javascript:alert(1)",
            "https://",
            "https://a b",
        ] {
            assert_eq!(parse_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn themes_refuse_css_injection() {
        let t = |f: ThemeWire| theme(&f).map_err(|e| e.param.unwrap_or_default());
        assert!(
            t(ThemeWire {
                primary_color: Some("#0a7".into()),
                font_family: Some("\"Inter\", sans-serif".into()),
                radius_px: Some(8),
                ..Default::default()
            })
            .is_ok()
        );
        assert_eq!(
            t(ThemeWire {
                primary_color: Some("red;x".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.primary_color"
        );
        assert_eq!(
            t(ThemeWire {
                font_family: Some("a;}body{x:url(y)".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.font_family"
        );
        assert_eq!(
            t(ThemeWire {
                radius_px: Some(99),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.radius_px"
        );
        assert_eq!(
            t(ThemeWire {
                logo_url: Some("javascript:x".into()),
                ..Default::default()
            })
            .unwrap_err(),
            "$.theme.logo_url"
        );
    }
}
