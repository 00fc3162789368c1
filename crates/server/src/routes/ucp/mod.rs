//! The Universal Commerce Protocol REST binding: each merchant's UCP door.
//!
//! Mounted under `/ucp/{merchant_id}` (the merchant's shopping endpoint, with its
//! own `/.well-known/ucp`), plus `/.well-known/ucp` at the root for the merchant
//! the operator names. Versions 2026-01-11 (what the official conformance suite
//! tests) and 2026-04-08 are served; each request is answered in the version its
//! agent asks for (`UCP-Agent: profile="…"; version="…"`, else its profile's).
//!
//! - [`door`]: admission (the merchant's door, its access mode, the agent's
//!   version and profile); [`version`]: versions and the `UCP-Agent` header.
//! - [`checkout`]: checkout sessions; [`orders`]: orders and their events
//!   ([`order_log`]: what agents report);
//!   [`discovery`]: profiles; [`admin`]: the merchant's door settings (`/v1/ucp`).
//! - [`plan`]: a request turned into the service's input (items, stock, buyer,
//!   door state).
//! - [`render`]: a checkout in the agent's version.
//! - [`wire`]: requests and the 2026-01-11 responses; [`convert`]: sessions and
//!   orders to the wire, and the 2026-04-08 differences; [`fulfillment`]:
//!   fulfillment methods and destinations; [`payment`]: handlers and
//!   instruments; [`error`]: UCP's error shapes.
//! - [`testing`] (`/testing/simulate-shipping`) and [`address_book`]: the
//!   conformance mode, which a production server never enables (its test
//!   payment handlers are in [`payment`]).
//!
//! Checkouts are ordinary sessions of the checkout service: one stock pool and
//! one order flow with every other door; what UCP adds (methods, destinations,
//! consent) is kept in the session's door state, written with it.

mod address_book;
pub mod admin;
mod checkout;
mod convert;
mod discovery;
mod door;
pub(crate) mod error;
mod fulfillment;
mod order_log;
mod orders;
mod payment;
mod plan;
mod render;
mod state;
pub mod testing;
mod version;
mod wire;

pub use crate::ucp_runtime::{UcpRuntime, UcpSettings, endpoint, profile_url};
pub use version::UcpVersion;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The UCP routes (documented; mounted at the root).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discovery::root_profile))
        .routes(routes!(discovery::root_profile_version))
        .routes(routes!(discovery::profile))
        .routes(routes!(discovery::profile_version))
        .routes(routes!(checkout::create))
        .routes(routes!(checkout::get, checkout::update))
        .routes(routes!(checkout::complete))
        .routes(routes!(checkout::cancel))
        .routes(routes!(orders::get, orders::update))
        .routes(routes!(testing::simulate_shipping))
}

/// Starts the order-webhook worker (retries after the first, immediate attempt);
/// it stops when `shutdown` turns true.
pub fn spawn_webhook_worker(
    state: &AppState,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let interval = std::time::Duration::from_millis(
        state
            .checkout
            .config
            .sweep_interval_ms
            .max(anycart_checkout::workers::SWEEP_INTERVAL_MS_MIN),
    );
    let sender = state.ucp.webhooks.clone();
    tokio::spawn(sender.run(state.checkout.clone(), interval, shutdown))
}
