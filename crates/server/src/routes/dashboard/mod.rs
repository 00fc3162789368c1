//! The merchant dashboard at `/dashboard`: its HTML shell, its built assets
//! (from `web/dashboard`, committed under `assets/dashboard/` and embedded, so
//! running anycart needs no Node), and its session-cookie sign-in
//! ([`session`]). Everything the dashboard shows comes from the admin API
//! (`/v1/…`), which takes the session cookie as well as secret keys.

pub mod session;

use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::routes::admin::placements::ThemeWire;
use crate::state::AppState;
use anycart_core::PlacementId;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The dashboard app (Svelte, built by `npm run build` in `web/dashboard`).
pub const APP_JS: &str = include_str!("../../../assets/dashboard/app.js");
/// The dashboard's styles.
pub const APP_CSS: &str = include_str!("../../../assets/dashboard/app.css");

/// The shell's Content-Security-Policy: only this origin's scripts and styles;
/// the live preview frames this origin's widget; nobody may frame the dashboard.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The dashboard routes.
pub fn router() -> OpenApiRouter<AppState> {
    // Only the assets are gzipped: redirects and JSON stay as they are.
    let assets = OpenApiRouter::new()
        .routes(routes!(dashboard_app_js))
        .routes(routes!(dashboard_app_css))
        .layer(tower_http::compression::CompressionLayer::new().gzip(true));
    OpenApiRouter::new()
        .routes(routes!(dashboard_page))
        .routes(routes!(dashboard_redirect))
        .routes(routes!(
            session::dashboard_sign_in,
            session::dashboard_session,
            session::dashboard_sign_out
        ))
        .routes(routes!(
            session::dashboard_sign_in_link,
            session::dashboard_spend_sign_in_link
        ))
        .routes(routes!(session::dashboard_set_password))
        .routes(routes!(dashboard_preview))
        .merge(assets)
}

/// A short hash of the assets, so a deploy is picked up despite caching.
fn asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(APP_JS.as_bytes());
        h.update(APP_CSS.as_bytes());
        hex::encode(&h.finalize()[..6])
    })
}

/// The dashboard's page: loads the app, which routes by the URL's hash.
#[utoipa::path(get, path = "/dashboard/", tag = "Dashboard",
    responses((status = 200, content_type = "text/html", description = "The dashboard app's page")))]
async fn dashboard_page() -> Response {
    let v = asset_version();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>anycart dashboard</title>\
         <link rel=\"stylesheet\" href=\"/dashboard/app.css?v={v}\"></head>\
         <body><div id=\"app\"><noscript>The anycart dashboard needs JavaScript.</noscript></div>\
         <script type=\"module\" src=\"/dashboard/app.js?v={v}\"></script></body></html>"
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ),
        ],
        html,
    )
        .into_response()
}

/// `/dashboard` without the slash: to the page.
#[utoipa::path(get, path = "/dashboard", tag = "Dashboard",
    responses((status = 308, description = "To /dashboard/")))]
async fn dashboard_redirect() -> Redirect {
    Redirect::permanent("/dashboard/")
}

/// The dashboard app.
#[utoipa::path(get, path = "/dashboard/app.js", tag = "Dashboard",
    responses((status = 200, content_type = "text/javascript", description = "The app script")))]
async fn dashboard_app_js() -> Response {
    asset(APP_JS, "text/javascript; charset=utf-8")
}

/// The dashboard's styles.
#[utoipa::path(get, path = "/dashboard/app.css", tag = "Dashboard",
    responses((status = 200, content_type = "text/css", description = "The app styles")))]
async fn dashboard_app_css() -> Response {
    asset(APP_CSS, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
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

/// `GET /dashboard/preview/{placement}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PreviewQuery {
    /// `compact` (300×250) or `fluid` (300×600 and article width).
    pub layout: Option<String>,
    /// The theme being edited, as JSON (`ThemeWire`); the saved one without it.
    pub theme: Option<String>,
}

/// The live preview of a placement in the dashboard's theme editor: the real
/// widget, themed with the unsaved edits (checked like a saved theme), framable
/// only by the dashboard. Needs the dashboard session.
#[utoipa::path(get, path = "/dashboard/preview/{placement}", tag = "Dashboard",
    params(("placement" = String, Path), PreviewQuery),
    responses((status = 200, content_type = "text/html", description = "The widget's page"),
        (status = 400, body = crate::routes::acp::wire::ErrorWire), (status = 401, body = crate::routes::acp::wire::ErrorWire),
        (status = 403, body = crate::routes::acp::wire::ErrorWire), (status = 404, body = crate::routes::acp::wire::ErrorWire)))]
async fn dashboard_preview(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(placement): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, ApiError> {
    let id = PlacementId::parse(&placement).map_err(|_| ApiError::not_found("placement"))?;
    let p = state
        .store
        .get_placement(caller.0.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("placement"))?;
    let theme = match q.theme.as_deref() {
        None | Some("") => None,
        Some(raw) => {
            let wire: ThemeWire = serde_json::from_str(raw)
                .map_err(|e| ApiError::invalid("theme", format!("not a theme: {e}")))?;
            Some(anycart_checkout::placements::theme(&(&wire).into())?)
        }
    };
    crate::routes::widget::page::preview_page(&state, &p, q.layout.as_deref(), theme).await
}
