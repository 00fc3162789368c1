//! What every handler is given: the checkout service and the server's own settings.

use crate::ucp_runtime::{UcpRuntime, UcpSettings};
use anycart_checkout::CheckoutService;
use anycart_connectors::shopify_install::ShopifyApp;
use anycart_store::Store;
use std::sync::Arc;

/// Settings of the HTTP edge (the service has its own, [`anycart_checkout::CheckoutConfig`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Public base URL (used in permalinks, embed snippets and webhook URLs), no
    /// trailing slash.
    pub base_url: String,
    /// What slow or greedy clients are allowed (see [`crate::serve`]).
    pub limits: ServeLimits,
    /// A header a trusted proxy in front sets to the client's address
    /// (`X-Forwarded-For`); `None` uses the TCP peer. Only set it behind a proxy
    /// that overwrites the header, or any client can pick its own address.
    pub client_ip_header: Option<String>,
    /// anycart's public Shopify app (client id and secret), when the operator
    /// registered one: merchants then install it instead of making a custom app.
    pub shopify_app: Option<ShopifyApp>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_url: "http://127.0.0.1:8080".into(),
            limits: ServeLimits::default(),
            client_ip_header: None,
            shopify_app: None,
        }
    }
}

/// The listener's limits (see [`crate::serve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    pub connections_max: usize,
    pub header_read_timeout_ms: u64,
    pub body_read_timeout_ms: u64,
    /// The ceiling of the adaptive in-flight limit (see [`crate::admission`]).
    pub requests_in_flight_max: usize,
    /// The time a request should take: the in-flight limit shrinks when more
    /// than one request in ten takes longer.
    pub latency_target_ms: u64,
    /// The longest a request waits for a place before a `503 overloaded`.
    pub queue_wait_ms_max: u64,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            connections_max: 4_096,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            requests_in_flight_max: 1_024,
            latency_target_ms: 100,
            queue_wait_ms_max: 100,
        }
    }
}

/// Handler state. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Every checkout step goes through here.
    pub checkout: CheckoutService,
    /// The service's store, for the admin API's plain reads and writes.
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// The UCP door's settings, agent-profile cache and webhook sender.
    pub ucp: Arc<UcpRuntime>,
}

impl AppState {
    pub fn new(checkout: CheckoutService, config: ServerConfig) -> Self {
        let ucp = Arc::new(UcpRuntime::new(UcpSettings::default(), &config.base_url));
        AppState {
            store: checkout.store.clone(),
            checkout,
            config: Arc::new(config),
            ucp,
        }
    }

    /// The same state with these UCP settings (e.g. the conformance mode).
    pub fn with_ucp(self, settings: UcpSettings) -> Self {
        AppState {
            ucp: Arc::new(UcpRuntime::new(settings, &self.config.base_url)),
            ..self
        }
    }

    /// The same state with anycart's Shopify app configured.
    pub fn with_shopify_app(self, app: ShopifyApp) -> Self {
        AppState {
            config: Arc::new(ServerConfig {
                shopify_app: Some(app),
                ..(*self.config).clone()
            }),
            ..self
        }
    }

    /// Current time in unix ms (the service's clock).
    pub fn now_ms(&self) -> i64 {
        self.checkout.now_ms()
    }
}
