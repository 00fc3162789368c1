//! `/docs`: the API reference, Scalar rendering `/openapi.json`. Its script is
//! served from this binary (`/docs/scalar.js`, embedded by Scalar's own crate)
//! and every feature that would call out — web fonts, the AI agent, the hosted
//! client and telemetry — is switched off, so the page works with the network off
//! and tells no third party who reads it.

use crate::state::AppState;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long browsers may cache the script (it changes only with the binary).
const SCRIPT_MAX_AGE_S: u32 = 3600;

pub fn router() -> OpenApiRouter<AppState> {
    let script = OpenApiRouter::new()
        .routes(routes!(script))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true));
    OpenApiRouter::new().routes(routes!(page)).merge(script)
}

/// Scalar's settings: our document, nothing fetched from elsewhere.
fn config() -> serde_json::Value {
    serde_json::json!({
        "url": "/openapi.json",
        "withDefaultFonts": false,
        "hideClientButton": true,
        "telemetry": false,
        "agent": { "disabled": true },
        "showDeveloperTools": "never",
        "metaData": { "title": "anycart API reference" },
    })
}

/// The API reference: this document rendered, with no request off this origin.
#[utoipa::path(get, path = "/docs", tag = "Pages",
    responses((status = 200, content_type = "text/html", description = "The reference page")))]
async fn page() -> Html<String> {
    static HTML: OnceLock<String> = OnceLock::new();
    Html(
        HTML.get_or_init(|| scalar_api_reference::scalar_html(&config(), Some("/docs/scalar.js")))
            .clone(),
    )
}

/// Scalar's script for `/docs`, served from this binary.
#[utoipa::path(get, path = "/docs/scalar.js", tag = "Pages",
    responses((status = 200, content_type = "text/javascript", description = "The reference's script")))]
async fn script() -> Response {
    static SCRIPT: OnceLock<Vec<u8>> = OnceLock::new();
    let body = SCRIPT
        .get_or_init(|| scalar_api_reference::get_asset("scalar.js").unwrap_or_default())
        .clone();
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={SCRIPT_MAX_AGE_S}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}
