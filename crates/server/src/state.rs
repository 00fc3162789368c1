//! Shared application state handed to every handler.

use crate::clock::Clock;
use anycart_payments::PaymentProvider;
use anycart_store::Store;
use std::sync::Arc;

/// Default hold/session inactivity TTL (10 minutes).
pub const SESSION_TTL_MS_DEFAULT: i64 = anycart_core::inventory::HOLD_TTL_MS_DEFAULT;

/// Server settings that handlers need.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Public base URL (used in permalinks and payment handler specs), no trailing slash.
    pub base_url: String,
    /// How long holds and sessions live without activity.
    pub session_ttl_ms: i64,
    /// Capture at completion (true) or only authorise (false).
    pub auto_capture: bool,
    /// How often the expiry sweeper runs.
    pub sweep_interval_ms: u64,
    /// Key of the HMAC over returning shoppers' sign-in codes. Every node sharing a
    /// database needs the same one; the default is random per process.
    pub shopper_secret: secrecy::SecretString,
    /// Write sign-in codes to the log (demo mode only: there is no mailer there).
    pub log_sign_in_codes: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            base_url: "http://127.0.0.1:8080".into(),
            session_ttl_ms: SESSION_TTL_MS_DEFAULT,
            auto_capture: true,
            sweep_interval_ms: 500,
            shopper_secret: random_secret(),
            log_sign_in_codes: false,
        }
    }
}

/// 32 random bytes, hex: a process-local secret when none is configured.
fn random_secret() -> secrecy::SecretString {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    secrecy::SecretString::from(hex::encode(bytes))
}

/// How stock holds are taken.
#[derive(Clone, Debug)]
pub enum HoldMode {
    /// Through the group-committing inventory engine (the default).
    Engine(crate::inventory::InventoryEngine),
    /// One transaction per request, holds written with the session (the naive
    /// baseline the benchmark compares against; also correct, just slower).
    PerRequest,
}

/// Everything a request handler may use. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub payments: Arc<dyn PaymentProvider>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub holds: HoldMode,
    pub availability: Arc<crate::availability::AvailabilityHub>,
    /// Striped locks that serialise one buyer's limit check and hold on this node
    /// (see [`AppState::buyer_lock`]).
    pub buyer_locks: Arc<Vec<tokio::sync::Mutex<()>>>,
}

/// Stripes of [`AppState::buyer_lock`]: bounded memory whatever the number of buyers.
pub const BUYER_LOCK_STRIPES: usize = 256;

impl AppState {
    /// Assembles the state and starts the live-availability hub (fed by the engine
    /// when there is one).
    pub fn new(
        store: Store,
        payments: Arc<dyn PaymentProvider>,
        clock: Arc<dyn Clock>,
        config: ServerConfig,
        holds: HoldMode,
    ) -> Self {
        let engine_changes = match &holds {
            HoldMode::Engine(engine) => Some(engine.subscribe()),
            HoldMode::PerRequest => None,
        };
        let availability =
            crate::availability::AvailabilityHub::start(store.clone(), engine_changes);
        AppState {
            store,
            payments,
            clock,
            config: Arc::new(config),
            holds,
            availability,
            buyer_locks: Arc::new(
                (0..BUYER_LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
            ),
        }
    }

    /// Serialises checkouts of one buyer (merchant + buyer key) on this node, so a
    /// bot opening many checkouts at once cannot slip past its per-buyer limit
    /// between "count what it has" and "hold more". Other buyers rarely share a stripe.
    pub async fn buyer_lock(
        &self,
        merchant: anycart_core::MerchantId,
        buyer_key: &str,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (merchant, buyer_key).hash(&mut h);
        self.buyer_locks[(h.finish() % BUYER_LOCK_STRIPES as u64) as usize]
            .lock()
            .await
    }

    /// Current time in unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
