//! What every handler is given: the checkout service and the server's own settings.

use anycart_checkout::CheckoutService;
use anycart_store::Store;
use std::sync::Arc;

/// Settings of the HTTP edge (the service has its own, [`anycart_checkout::CheckoutConfig`]).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Public base URL (used in permalinks, embed snippets and webhook URLs), no
    /// trailing slash.
    pub base_url: String,
    /// What slow or greedy clients are allowed (see [`crate::serve`]).
    pub limits: crate::serve::ServeLimits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_url: "http://127.0.0.1:8080".into(),
            limits: crate::serve::ServeLimits::default(),
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
}

impl AppState {
    pub fn new(checkout: CheckoutService, config: ServerConfig) -> Self {
        AppState {
            store: checkout.store.clone(),
            checkout,
            config: Arc::new(config),
        }
    }

    /// Current time in unix ms (the service's clock).
    pub fn now_ms(&self) -> i64 {
        self.checkout.now_ms()
    }
}
