//! The embeddable checkout widget's server side:
//!
//! - [`assets`]: `GET /embed.js`, `/widget/app.js`, `/widget/app.css`;
//! - [`page`]: `GET /widget/checkout/{placement}?origin=…`, the iframe document;
//! - [`shoppers`]: returning shoppers (`/widget/shoppers/…`);
//! - [`stream`]: live stock (`GET /availability/stream`);
//! - [`sandbox`]: `POST /v1/sandbox/tokens`, sandbox card fields → a token.

pub mod assets;
pub mod page;
pub mod sandbox;
pub mod shoppers;
pub mod stream;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The undocumented widget routes: static assets and the iframe page.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(assets::router())
        .route("/widget/checkout/{placement}", get(page::checkout_page))
}

/// The widget's API routes at the root (documented in the OpenAPI document).
pub fn api_router() -> OpenApiRouter<AppState> {
    shoppers::router().merge(stream::router())
}

/// The widget's routes under `/v1`.
pub fn v1_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sandbox::sandbox_token))
}
