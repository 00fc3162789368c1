//! The embeddable checkout widget's server side:
//!
//! - [`assets`]: `GET /embed.js`, `/widget/app.js`, `/widget/app.css`;
//! - [`page`]: `GET /widget/checkout/{placement}?origin=…`, the iframe document;
//! - [`link`]: `GET /buy/{placement}`, link checkout (the app as a page of its own);
//! - [`payment`]: what the iframe pays with (sandbox fields or Stripe.js) and
//!   what that adds to its CSP;
//! - [`shoppers`]: returning shoppers (`/widget/shoppers/…`);
//! - [`stream`]: live stock (`GET /availability/stream`);
//! - [`sandbox`]: `POST /v1/sandbox/tokens`, sandbox card fields → a token.

pub mod assets;
pub mod link;
pub mod page;
pub mod payment;
pub mod sandbox;
pub mod shoppers;
pub mod stream;
pub mod waiting_room;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The widget's routes at the root: assets, the iframe page, returning shoppers
/// and live stock.
pub fn router() -> OpenApiRouter<AppState> {
    assets::router()
        .routes(routes!(page::checkout_page))
        .routes(routes!(link::buy_page))
        .merge(shoppers::router())
        .merge(stream::router())
        .merge(waiting_room::router())
}

/// The widget's routes under `/v1`.
pub fn v1_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sandbox::sandbox_token))
}
