//! Serves the Stripe.js stand-in (`assets/stripe-v3.js`) at `/v3` and its
//! stylesheet (`assets/stripe-v3.css`) at `/v3/stand-in.css`.

use axum::http::header;
use axum::response::IntoResponse;

/// The stand-in's source: see the comment at its top for what it fakes.
pub const STRIPE_JS: &str = include_str!("../assets/stripe-v3.js");

/// The stand-in's look, loaded by the script as a stylesheet from the fake's
/// origin so that pages whose CSP has no `'unsafe-inline'` can use it.
pub const STRIPE_JS_CSS: &str = include_str!("../assets/stripe-v3.css");

/// Where the stand-in finds its stylesheet (the script knows it too).
pub const STRIPE_JS_CSS_PATH: &str = "/v3/stand-in.css";

pub async fn serve() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        STRIPE_JS,
    )
}

pub async fn serve_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        STRIPE_JS_CSS,
    )
}
