//! The widget's static files, built from `web/widget` and committed under
//! `assets/widget/` so `cargo run` needs no Node: the loader (`embed.js`) and the
//! checkout app that runs inside the iframe (`app.js`, `app.css`).

use crate::state::AppState;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The loader script host pages include.
pub const EMBED_JS: &str = include_str!("../../../assets/widget/embed.js");
/// The checkout app that runs inside the iframe.
pub const APP_JS: &str = include_str!("../../../assets/widget/app.js");
/// The checkout app's styles.
pub const APP_CSS: &str = include_str!("../../../assets/widget/app.css");
/// How long browsers may cache the widget assets (short: deploys must reach ads fast).
const ASSET_MAX_AGE_S: u32 = 300;

/// The asset routes, gzipped for clients that accept it (what the weight budget
/// counts); the API and the SSE stream are left alone.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(embed_js))
        .routes(routes!(app_js))
        .routes(routes!(app_css))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
}

/// The loader a host page includes: defines `<anycart-checkout placement="…">`,
/// which mounts the checkout iframe (a few KB gzipped).
#[utoipa::path(get, path = "/embed.js", tag = "Widget",
    responses((status = 200, content_type = "text/javascript", description = "The loader script")))]
async fn embed_js() -> Response {
    asset(EMBED_JS, "text/javascript; charset=utf-8")
}

/// The checkout app that runs inside the iframe.
#[utoipa::path(get, path = "/widget/app.js", tag = "Widget",
    responses((status = 200, content_type = "text/javascript", description = "The app script")))]
async fn app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

/// The checkout app's styles (themed through CSS custom properties).
#[utoipa::path(get, path = "/widget/app.css", tag = "Widget",
    responses((status = 200, content_type = "text/css", description = "The app styles")))]
async fn app_css() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_str(&format!("public, max-age={ASSET_MAX_AGE_S}"))
                    .unwrap_or(HeaderValue::from_static("no-cache")),
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

/// A short content hash of the app assets, appended to their URLs so a deploy is
/// picked up at once despite caching.
pub fn asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(APP_JS.as_bytes());
        h.update(APP_CSS.as_bytes());
        hex::encode(&h.finalize()[..6])
    })
}
