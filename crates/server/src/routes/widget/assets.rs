//! The widget's static files, built from `web/widget` and committed under
//! `assets/widget/` so `cargo run` needs no Node: the loader (`embed.js`) and the
//! checkout app that runs inside the iframe (`app.js`, `app.css`).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

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
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/embed.js",
            get(|| async { asset(EMBED_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/widget/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/widget/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
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
