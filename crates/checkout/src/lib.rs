//! The checkout service: one place that runs a checkout, whichever door it came in by.
//!
//! The ACP API, the widget, the admin API (and later UCP, MCP and payment webhooks)
//! are thin doors in `anycart-server`: they parse their wire format, authorise, call
//! one method of [`CheckoutService`] and render its result. Nothing here knows about
//! HTTP; errors are [`CheckoutError`], which each door maps to its own shape.
//!
//! - [`sessions`]: a session's life (create, update, get, complete, cancel, expire).
//! - [`inventory`]: the group-committing hold engine; [`availability`]: live stock.
//! - [`shoppers`]: returning shoppers (one-time codes, saved details, one-tap pay).
//! - [`handoff`]: a TV's held session continued on the shopper's phone.
//! - [`ucp`]: the Universal Commerce Protocol door's settings, agents' profiles,
//!   message signatures and order webhooks.
//! - [`agents`]: agent platforms, signed requests, intent traces, affiliate
//!   attribution and the product feed.
//! - [`workers`]: expiry sweeps, outbox delivery and stock reconciliation.
//! - [`keys`], [`merchants`], [`placements`], [`demo`]: merchants and what they sell.
//!
//! Each step loads what it needs, lets `anycart_core` decide (quote, status
//! transition), and hands the result to the store to apply in one transaction.

pub mod agents;
pub mod analytics;
pub mod availability;
pub mod clock;
pub mod credentials;
pub mod demo;
pub mod error;
pub mod handoff;
pub mod inventory;
pub mod keys;
pub mod merchant_config;
pub mod merchants;
pub mod pause_points;
mod payment_journal;
pub mod payment_providers;
pub mod placements;
pub mod platform_jobs;
pub mod recovery;
pub mod refunds;
mod saved_cards;
pub mod sessions;
mod shopper_tokens;
pub mod shoppers;
pub mod stripe_events;
pub mod throttle;
pub mod ucp;
pub mod users;
pub mod waiting_room;
pub mod workers;

pub use error::{CheckoutError, CheckoutResult, Resource};
pub use sessions::{LineRequest, PaymentInput, SessionInput};

use crate::availability::AvailabilityHub;
use crate::clock::Clock;
use crate::inventory::InventoryEngine;
use crate::payment_providers::PaymentProviders;
use anycart_core::MerchantId;
use anycart_payments::PaymentProvider;
use anycart_store::Store;
use std::sync::Arc;

/// Default hold/session inactivity TTL (10 minutes).
pub const SESSION_TTL_MS_DEFAULT: i64 = anycart_core::inventory::HOLD_TTL_MS_DEFAULT;
/// How long an anonymous shopper's holds last without activity (2 minutes): long
/// enough to type an email, short enough that a bot cannot park a drop.
pub const ANONYMOUS_TTL_MS_DEFAULT: i64 = 120_000;
/// Stripes of [`CheckoutService::buyer_lock`]: bounded memory whatever the number
/// of buyers.
pub const BUYER_LOCK_STRIPES: usize = 256;

// A session can be kept alive by activity, but never past its absolute lifetime.
const _: () = assert!(
    SESSION_TTL_MS_DEFAULT > 0
        && SESSION_TTL_MS_DEFAULT <= anycart_core::session::SESSION_LIFETIME_MS_MAX
);

/// Settings of the checkout service.
#[derive(Clone, Debug)]
pub struct CheckoutConfig {
    /// How long holds and sessions live without activity.
    pub session_ttl_ms: i64,
    /// Capture at completion (true) or only authorise (false).
    pub auto_capture: bool,
    /// How often the expiry sweeper and the outbox worker run.
    pub sweep_interval_ms: u64,
    /// Key of the HMAC over returning shoppers' sign-in codes. Every node sharing a
    /// database needs the same one; the default is random per process.
    pub shopper_secret: secrecy::SecretString,
    /// Write sign-in codes to the log (demo mode only: there is no mailer there).
    pub log_sign_in_codes: bool,
    /// How long an anonymous shopper's session and holds live without activity
    /// (until they give an email, which buys the full `session_ttl_ms`).
    pub anonymous_ttl_ms: i64,
    /// Per-client limits on creating checkouts, completing them and asking for
    /// sign-in codes, and how many declines make a client a card tester.
    pub throttles: throttle::ThrottleConfig,
    /// How long idempotency keys, ended sessions and webhook ids are kept.
    pub retention: anycart_store::Retention,
    /// How long a payment attempt must sit untouched before the recovery worker
    /// settles it. Longer than any request may take, so recovery never races a
    /// live one ([`recovery::PAYMENT_RECOVERY_AFTER_MS`]); crash tests shorten it.
    pub payment_recovery_after_ms: i64,
}

impl Default for CheckoutConfig {
    fn default() -> Self {
        CheckoutConfig {
            session_ttl_ms: SESSION_TTL_MS_DEFAULT,
            auto_capture: true,
            sweep_interval_ms: 500,
            shopper_secret: keys::random_secret(),
            log_sign_in_codes: false,
            payment_recovery_after_ms: recovery::PAYMENT_RECOVERY_AFTER_MS,
            anonymous_ttl_ms: ANONYMOUS_TTL_MS_DEFAULT,
            throttles: throttle::ThrottleConfig::default(),
            retention: anycart_store::Retention::default(),
        }
    }
}

/// How stock holds are taken.
#[derive(Clone, Debug)]
pub enum HoldMode {
    /// Through the group-committing inventory engine (the default).
    Engine(InventoryEngine),
    /// One transaction per request, holds written with the session (the naive
    /// baseline the benchmark compares against; also correct, just slower).
    PerRequest,
}

/// The checkout service and everything it runs on. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CheckoutService {
    pub store: Store,
    /// Each merchant's payment provider (the sandbox unless it configured Stripe).
    pub payments: Arc<PaymentProviders>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<CheckoutConfig>,
    pub holds: HoldMode,
    pub availability: Arc<AvailabilityHub>,
    /// Striped locks that serialise one buyer's limit check and hold on this node
    /// (see [`CheckoutService::buyer_lock`]).
    buyer_locks: Arc<Vec<tokio::sync::Mutex<()>>>,
    /// Per-client limits (see [`throttle`]).
    throttles: Arc<throttle::Throttles>,
    /// Catalogue imports started from the dashboard on this node.
    platform_jobs: Arc<platform_jobs::PlatformJobs>,
    /// What checkouts read of each merchant's configuration, kept per generation
    /// (see [`merchant_config`]).
    merchant_configs: Arc<merchant_config::MerchantConfigCache>,
}

impl CheckoutService {
    /// Assembles the service and starts the live-availability hub (fed by the
    /// engine when there is one). `sandbox` serves merchants on the sandbox (tests
    /// pass a wrapper that injects faults). Needs a Tokio runtime.
    pub fn new(
        store: Store,
        sandbox: Arc<dyn PaymentProvider>,
        clock: Arc<dyn Clock>,
        config: CheckoutConfig,
        holds: HoldMode,
    ) -> Self {
        let engine_changes = match &holds {
            HoldMode::Engine(engine) => Some(engine.subscribe()),
            HoldMode::PerRequest => None,
        };
        let availability = AvailabilityHub::start(store.clone(), engine_changes);
        let throttles = Arc::new(throttle::Throttles::new(config.throttles));
        CheckoutService {
            throttles,
            platform_jobs: Arc::new(platform_jobs::PlatformJobs::default()),
            merchant_configs: Arc::default(),
            store,
            payments: Arc::new(PaymentProviders::new(sandbox)),
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
        merchant: MerchantId,
        buyer_key: &str,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = stripe_of(&(merchant, buyer_key), self.buyer_locks.len());
        self.buyer_locks[stripe].lock().await
    }

    /// Serves each merchant's catalogue, zones, tax rates, discount codes,
    /// waiting rooms and API keys from memory while their generation is current
    /// (the default), or reads them on every request (`false`: the path before the cache, which the benchmark
    /// measures in the same run).
    pub fn set_config_cache(&self, enabled: bool) {
        self.merchant_configs.set_enabled(enabled);
    }

    /// The merchant's configuration for one request (see [`merchant_config`]).
    pub(crate) async fn merchant_config(
        &self,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<merchant_config::MerchantConfig>> {
        self.merchant_configs.current(&self.store, merchant).await
    }

    /// The same service (same store, engine, hub and locks) with other settings.
    pub fn with_config(&self, config: CheckoutConfig) -> CheckoutService {
        CheckoutService {
            config: Arc::new(config),
            ..self.clone()
        }
    }

    /// Current time in unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Which of `stripes` buckets `key` falls in (a stable hash within one process).
pub(crate) fn stripe_of(key: &impl std::hash::Hash, stripes: usize) -> usize {
    use std::hash::Hasher;
    debug_assert!(stripes > 0);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    // The remainder is below `stripes`, which is a usize: the conversion cannot fail.
    usize::try_from(h.finish() % stripes as u64).unwrap_or(0)
}

impl CheckoutService {
    /// Takes one unit of `client`'s budget for `action`, or refuses with how long
    /// to wait (a 429 with `Retry-After` at the door).
    pub fn throttle(
        &self,
        action: throttle::Action,
        client: &throttle::ClientId,
    ) -> error::CheckoutResult<()> {
        self.throttles.check(action, client).map_err(|wait| {
            metrics::counter!("anycart_throttled_total", "action" => action.as_str()).increment(1);
            error::CheckoutError::RateLimited {
                action,
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            }
        })
    }
}
