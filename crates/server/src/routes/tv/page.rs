//! `GET /tv/{placement}`: the 10-foot checkout for smart-TV apps and CTV ad
//! units. Arrow keys (a remote's D-pad) move a large focus ring, Enter presses;
//! nothing needs a pointer or typed text. "Buy" opens the session through the ACP
//! API with the placement's publishable key (the same door the widget uses, so
//! the same holds and limits), then shows a hand-off code and its QR for the
//! shopper's phone, and follows the session until it is paid.
//!
//! The page's script (`assets/tv/tv.js`) is built from `web/widget/src/tv/` on
//! `@anycart/sdk`, the widget's client (`npm run build` in web/widget; committed,
//! so the server needs no Node). No framework: TV browsers are old and slow.

use crate::error::ApiError;
use crate::routes::widget::page::{Refusal, app_config, refuse, script_json};
use crate::state::AppState;
use anycart_checkout::placements::parse_origin;
use anycart_core::PlacementId;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The TV page's script.
pub const TV_JS: &str = include_str!("../../../assets/tv/tv.js");
/// The TV page's styles: 1920×1080 and 1280×720 with title-safe margins.
pub const TV_CSS: &str = include_str!("../../../assets/tv/tv.css");

/// A short content hash of the TV assets, so a deploy is picked up at once.
fn tv_asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(TV_JS.as_bytes());
        h.update(TV_CSS.as_bytes());
        hex::encode(&h.finalize()[..6])
    })
}

/// The TV checkout for a placement. Framable by the placement's allowed origins
/// (a TV app's web view or a CTV ad unit), or opened as a page of its own.
#[utoipa::path(get, path = "/tv/{placement}", tag = "Widget",
    params(("placement" = String, Path, description = "`plc_…`")),
    responses((status = 200, content_type = "text/html", description = "The TV checkout page"),
              (status = 404, content_type = "text/html", description = "No such placement"),
              (status = 410, content_type = "text/html", description = "Disabled, or the product is off sale")))]
pub async fn tv_page(
    State(state): State<AppState>,
    Path(placement): Path<String>,
) -> Result<Response, ApiError> {
    let Ok(id) = PlacementId::parse(&placement) else {
        return Ok(refuse(Refusal::UnknownPlacement));
    };
    let Some(p) = state.store.find_placement(id).await? else {
        return Ok(refuse(Refusal::UnknownPlacement));
    };
    if !p.enabled {
        return Ok(refuse(Refusal::Disabled));
    }
    let live = state.checkout.live_provider(p.merchant_id).await?;
    let origin = parse_origin(&state.config.base_url).unwrap_or_default();
    let Some(config) = app_config(&state, &p, origin, None, &live).await? else {
        return Ok(refuse(Refusal::ProductUnavailable));
    };
    let v = tv_asset_version();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Checkout</title>\
<link rel=\"stylesheet\" href=\"/tv/assets/tv.css?v={v}\">\
<script type=\"application/json\" id=\"anycart-config\">{}</script>\
<script src=\"/tv/assets/tv.js?v={v}\" defer></script></head>\
<body><main id=\"tv\" class=\"safe\" aria-live=\"polite\"></main></body></html>",
        script_json(&config)?
    );
    let ancestors = if p.settings.allowed_origins.is_empty() {
        "'none'".to_string()
    } else {
        p.settings.allowed_origins.join(" ")
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    let mut res = Html(body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp)
            .map_err(|_| ApiError::internal("placement origins make an invalid CSP header"))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// The TV page's script.
#[utoipa::path(get, path = "/tv/assets/tv.js", tag = "Widget",
    responses((status = 200, content_type = "text/javascript", description = "The TV page's script")))]
pub async fn tv_js() -> Response {
    static_asset(TV_JS, "text/javascript; charset=utf-8")
}

/// The TV page's styles.
#[utoipa::path(get, path = "/tv/assets/tv.css", tag = "Widget",
    responses((status = 200, content_type = "text/css", description = "The TV page's styles")))]
pub async fn tv_css() -> Response {
    static_asset(TV_CSS, "text/css; charset=utf-8")
}

fn static_asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}
