//! `GET /shopify/oauth/callback`: where Shopify sends the merchant back after
//! they approve anycart's app. Public (Shopify's redirect carries no anycart
//! credentials): the callback proves itself by its HMAC under the app's client
//! secret and by the single-use `state` nonce the install started with
//! (`GET /v1/connection/shopify/install`). The checks and the install live in
//! `anycart_connectors::shopify_install` (whose `CALLBACK_PATH` this is); this
//! handler maps the result to a page.

use crate::routes::pages::{escape, page};
use crate::routes::webhooks::merchant_webhook_url;
use crate::state::AppState;
use anycart_connectors::shopify_install::{InstallError, finish_install};
use anycart_connectors::{ConnectorError, Platform};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Longest callback query read (Shopify's is a few hundred bytes).
const CALLBACK_QUERY_BYTES_MAX: usize = 4_096;

/// The callback route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(shopify_oauth_callback))
}

/// Finish installing anycart's Shopify app: verifies the callback (HMAC with the
/// app's client secret, a recent timestamp, a `*.myshopify.com` shop), spends the
/// install's `state` nonce (unknown, expired or used: refused), checks the shop
/// is the one the install was started for, exchanges the code for the shop's
/// offline access token (every requested scope granted), subscribes the app's
/// webhooks and saves the connection, then redirects (303) to the dashboard's
/// Connections page. A refused callback answers a 4xx page and saves nothing.
#[utoipa::path(get, path = "/shopify/oauth/callback", tag = "Pages",
    params(("code" = String, Query), ("shop" = String, Query), ("state" = String, Query),
           ("timestamp" = String, Query), ("hmac" = String, Query)),
    responses((status = 303, description = "Installed: on to the dashboard's Connections page"),
              (status = 400, content_type = "text/html", description = "Unknown, expired or used install link; another shop; scopes not granted"),
              (status = 401, content_type = "text/html", description = "Not signed by Shopify for this app"),
              (status = 404, content_type = "text/html", description = "No Shopify app configured on this server"),
              (status = 502, content_type = "text/html", description = "Shopify could not be reached")))]
pub async fn shopify_oauth_callback(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(app) = state.config.shopify_app.as_ref() else {
        return refused(
            StatusCode::NOT_FOUND,
            "This server has no Shopify app configured.",
        );
    };
    let query = query.unwrap_or_default();
    if query.len() > CALLBACK_QUERY_BYTES_MAX {
        return refused(StatusCode::BAD_REQUEST, "The callback is too long.");
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let base = state.config.base_url.clone();
    let installed = finish_install(
        &state.store,
        app,
        &pairs,
        |merchant| merchant_webhook_url(&base, Platform::Shopify.as_str(), merchant),
        state.now_ms(),
    )
    .await;
    match installed {
        Ok(_) => Redirect::to(&format!("{base}/dashboard/#/connections")).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "Shopify app install refused");
            refused(status_of(&e), &e.to_string())
        }
    }
}

/// The status a refused install answers with.
fn status_of(e: &InstallError) -> StatusCode {
    match e {
        InstallError::BadCallback(ConnectorError::Unauthorized) => StatusCode::UNAUTHORIZED,
        InstallError::BadCallback(_)
        | InstallError::StateInvalid
        | InstallError::WrongShop { .. } => StatusCode::BAD_REQUEST,
        InstallError::Platform(ConnectorError::Transient(_)) => StatusCode::BAD_GATEWAY,
        InstallError::Platform(ConnectorError::Store(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        InstallError::Platform(_) => StatusCode::BAD_REQUEST,
    }
}

fn refused(status: StatusCode, why: &str) -> Response {
    (
        status,
        page(
            "Shopify app not installed",
            &format!(
                "<h1>The Shopify app was not installed</h1><p>{}</p><p class=\"muted\">Nothing was saved. Start the install again from the dashboard's Connections page.</p>",
                escape(why)
            ),
        ),
    )
        .into_response()
}
