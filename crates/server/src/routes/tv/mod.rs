//! Checkout on screens without a keyboard, finished on the shopper's phone:
//!
//! - [`page`]: `GET /tv/{placement}`, the 10-foot page (D-pad and Enter only);
//! - [`handoff`]: `POST /widget/handoffs` (a code, URL and QR for the TV's held
//!   session), `GET /h/{code}` and `GET /h` (the phone continues that session).

pub mod handoff;
pub mod page;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The TV page, its assets and the hand-off routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(page::tv_page))
        .routes(routes!(page::tv_js))
        .routes(routes!(page::tv_css))
        .routes(routes!(handoff::issue_handoff))
        .routes(routes!(handoff::phone_page))
        .routes(routes!(handoff::entry_page))
}
