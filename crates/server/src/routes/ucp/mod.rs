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
//! - [`checkout`]: checkout sessions; [`orders`]: orders and their events;
//!   [`discovery`]: profiles; [`admin`]: the merchant's door settings (`/v1/ucp`).
//! - [`wire`]: requests and the 2026-01-11 responses; [`convert`]: sessions and
//!   orders to the wire, and the 2026-04-08 differences; [`fulfillment`]:
//!   fulfillment methods and destinations; [`payment`]: handlers and
//!   instruments; [`error`]: UCP's error shapes.
//! - [`testing`]: the conformance mode (test payment handlers, the address
//!   book, `/testing/simulate-shipping`), which a production server never enables.
//!
//! Checkouts are ordinary sessions of the checkout service: one stock pool and
//! one order flow with every other door; what UCP adds (methods, destinations,
//! consent) is kept in the session's door state, written with it.

pub mod admin;
mod checkout;
mod convert;
mod discovery;
mod door;
mod error;
mod fulfillment;
mod orders;
mod payment;
mod state;
pub mod testing;
mod version;
mod wire;

pub use version::UcpVersion;

use crate::state::AppState;
use anycart_checkout::ucp::profiles::{FetchPolicy, ProfileFetcher};
use anycart_checkout::ucp::webhooks::WebhookSender;
use anycart_core::MerchantId;
use secrecy::SecretString;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How the UCP door runs on this server.
#[derive(Clone, Debug, Default)]
pub struct UcpSettings {
    /// The conformance (test) mode: test payment handlers on the sandbox, the
    /// address book, `/testing/simulate-shipping`, `http://localhost` agent
    /// profiles and webhooks, destinations without a street. Never in production.
    pub test_mode: bool,
    /// What `Simulation-Secret` must say in the conformance mode.
    pub simulation_secret: Option<SecretString>,
    /// Whose profile `/.well-known/ucp` at the root serves.
    pub root_merchant: Option<MerchantId>,
}

/// The UCP door's settings and what it keeps between requests.
#[derive(Debug)]
pub struct UcpRuntime {
    pub settings: UcpSettings,
    /// Agents' profiles (bounded cache).
    pub profiles: ProfileFetcher,
    /// Order webhooks to agents.
    pub webhooks: WebhookSender,
}

impl UcpRuntime {
    /// The runtime for `settings` on a server reachable at `base_url`.
    pub fn new(settings: UcpSettings, base_url: &str) -> UcpRuntime {
        let policy = if settings.test_mode {
            // The suite restarts its agent between files on new ports: re-read
            // profiles every time rather than trust a cached port.
            FetchPolicy {
                allow_insecure: true,
                cache_ttl_ms: 0,
            }
        } else {
            FetchPolicy::default()
        };
        let base = base_url.trim_end_matches('/').to_string();
        UcpRuntime {
            profiles: ProfileFetcher::new(policy),
            webhooks: WebhookSender::new(move |m| profile_url(&base, m)),
            settings,
        }
    }
}

/// The merchant's shopping endpoint (what its profile names as `endpoint`).
pub fn endpoint(base_url: &str, merchant: MerchantId) -> String {
    format!("{}/ucp/{merchant}", base_url.trim_end_matches('/'))
}

/// The merchant's profile URL.
pub fn profile_url(base_url: &str, merchant: MerchantId) -> String {
    format!("{}/.well-known/ucp", endpoint(base_url, merchant))
}

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
