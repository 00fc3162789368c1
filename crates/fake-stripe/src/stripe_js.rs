//! Serves the Stripe.js stand-in (`assets/stripe-v3.js`) at `/v3`.

use axum::http::header;
use axum::response::IntoResponse;

/// The stand-in's source: see the comment at its top for what it fakes.
pub const STRIPE_JS: &str = include_str!("../assets/stripe-v3.js");

pub async fn serve() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        STRIPE_JS,
    )
}
