//! Per-client limits that one client cannot turn against every other shopper.
//!
//! A *client* is who is asking: the address a request came from and the key it
//! presented (a placement's publishable key), as a keyed hash ([`ClientId`]), so
//! one client exhausts only its own budget — never the merchant's, never another
//! shopper's. Limits are GCRA rate limits (the `governor` crate) per node: with N
//! nodes behind a load balancer a client gets up to N times the rate, which still
//! bounds it.
//!
//! - creating checkouts, completing them, asking for sign-in codes and opening
//!   hand-off codes are rate limited per client ([`ThrottleConfig`]);
//! - a client whose cards keep being declined is a card tester: past
//!   [`ThrottleConfig::declines_max`] declines in [`ThrottleConfig::decline_window_ms`]
//!   its payments are refused until the window has passed;
//! - one checkout takes at most [`SESSION_DECLINES_MAX`] declined cards.
//!
//! Merchants' own servers and agents (secret keys) are not throttled here: they
//! are authenticated, and their traffic is the merchant's to shape.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Declined cards one checkout session takes before it refuses more.
pub const SESSION_DECLINES_MAX: u32 = 8;
/// Clients a limiter tracks before forgetting the ones it has not seen lately
/// (bounded memory whatever the traffic).
const TRACKED_CLIENTS_MAX: usize = 100_000;

/// Who is asking, for limits: a keyed hash of the address and the presented key.
/// Never the address itself, so it can be kept with a session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// The client at `address` presenting `key` (a publishable key, or none).
    pub fn of(address: &str, key: Option<&str>) -> ClientId {
        let mut h = Sha256::new();
        h.update(b"anycart-client\0");
        h.update(address.as_bytes());
        h.update(b"\0");
        h.update(key.unwrap_or("").as_bytes());
        ClientId(hex::encode(&h.finalize()[..12]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a client is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    CreateSession,
    CompleteSession,
    SignInCode,
    /// A phone opening a TV's hand-off code (`/h/{code}`): each try is a guess.
    OpenHandoff,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateSession => "create_session",
            Action::CompleteSession => "complete_session",
            Action::SignInCode => "sign_in_code",
            Action::OpenHandoff => "open_handoff",
        }
    }
}

/// A sustained rate with a burst on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    fn quota(self) -> Quota {
        let per_minute = NonZeroU32::new(self.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(self.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Quota::per_minute(per_minute).allow_burst(burst)
    }
}

/// The limits per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// New checkout sessions. A shopper opens one per purchase; the burst
    /// covers a family behind one address.
    pub create: Rate,
    /// Complete calls (each a payment attempt).
    pub complete: Rate,
    /// Sign-in codes asked for (each is an email sent on the merchant's behalf).
    pub sign_in_codes: Rate,
    /// Hand-off codes tried (each is a guess at a live code; a shopper opens one
    /// or two per purchase).
    pub handoff_codes: Rate,
    /// Declined cards a client may have in the window before it is refused.
    pub declines_max: u32,
    pub decline_window_ms: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            create: Rate {
                per_minute: 30,
                burst: 10,
            },
            complete: Rate {
                per_minute: 20,
                burst: 10,
            },
            sign_in_codes: Rate {
                per_minute: 2,
                burst: 5,
            },
            handoff_codes: Rate {
                per_minute: 6,
                burst: 10,
            },
            declines_max: 5,
            decline_window_ms: 10 * 60_000,
        }
    }
}

/// The limiters of one node.
#[derive(Debug)]
pub struct Throttles {
    config: ThrottleConfig,
    create: DefaultKeyedRateLimiter<ClientId>,
    complete: DefaultKeyedRateLimiter<ClientId>,
    sign_in_codes: DefaultKeyedRateLimiter<ClientId>,
    handoff_codes: DefaultKeyedRateLimiter<ClientId>,
    declines: DefaultKeyedRateLimiter<ClientId>,
    /// Card testers, refused until the instant given.
    refused_until: Mutex<HashMap<ClientId, Instant>>,
}

impl Throttles {
    pub fn new(config: ThrottleConfig) -> Self {
        let max = NonZeroU32::new(config.declines_max.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_millis(config.decline_window_ms.max(1)) / max.get();
        let declines = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(max);
        Throttles {
            config,
            create: RateLimiter::keyed(config.create.quota()),
            complete: RateLimiter::keyed(config.complete.quota()),
            sign_in_codes: RateLimiter::keyed(config.sign_in_codes.quota()),
            handoff_codes: RateLimiter::keyed(config.handoff_codes.quota()),
            declines: RateLimiter::keyed(declines),
            refused_until: Mutex::new(HashMap::new()),
        }
    }

    fn limiter(&self, action: Action) -> &DefaultKeyedRateLimiter<ClientId> {
        match action {
            Action::CreateSession => &self.create,
            Action::CompleteSession => &self.complete,
            Action::SignInCode => &self.sign_in_codes,
            Action::OpenHandoff => &self.handoff_codes,
        }
    }

    fn refusals(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Instant>> {
        self.refused_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one unit of `client`'s budget for `action`, or says how long to wait.
    pub fn check(&self, action: Action, client: &ClientId) -> Result<(), Duration> {
        if action == Action::CompleteSession
            && let Some(until) = self.refusals().get(client).copied()
        {
            let now = Instant::now();
            if until > now {
                return Err(until - now);
            }
        }
        let limiter = self.limiter(action);
        if limiter.len() > TRACKED_CLIENTS_MAX {
            limiter.retain_recent();
        }
        limiter
            .check_key(client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Counts a declined card of `client`; past the allowance the client is
    /// refused payments for the rest of the window.
    pub fn record_decline(&self, client: &ClientId) {
        if self.declines.check_key(client).is_err() {
            let until = Instant::now() + Duration::from_millis(self.config.decline_window_ms);
            let mut refused = self.refusals();
            let now = Instant::now();
            if refused.len() > TRACKED_CLIENTS_MAX {
                refused.retain(|_, t| *t > now);
            }
            refused.insert(client.clone(), until);
            metrics::counter!("anycart_card_testers_refused_total").increment(1);
            tracing::warn!(
                client = client.as_str(),
                "client refused payments: too many declined cards"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_keyed_hashes_of_address_and_key() {
        let a = ClientId::of("203.0.113.7", Some("pk_1"));
        assert_eq!(a, ClientId::of("203.0.113.7", Some("pk_1")));
        assert_ne!(a, ClientId::of("203.0.113.7", Some("pk_2")));
        assert_ne!(a, ClientId::of("203.0.113.8", Some("pk_1")));
        assert!(!a.as_str().contains("203"), "the address is not kept");
    }

    #[test]
    fn one_client_spends_only_its_own_budget() {
        let t = Throttles::new(ThrottleConfig::default());
        let (bot, shopper) = (ClientId::of("a", None), ClientId::of("b", None));
        let burst = ThrottleConfig::default().sign_in_codes.burst;
        for _ in 0..burst {
            assert!(t.check(Action::SignInCode, &bot).is_ok());
        }
        let wait = t.check(Action::SignInCode, &bot).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        assert!(t.check(Action::SignInCode, &shopper).is_ok());
        assert!(
            t.check(Action::CreateSession, &bot).is_ok(),
            "budgets are per action"
        );
    }

    #[test]
    fn a_card_tester_is_refused_payments_for_the_window() {
        let t = Throttles::new(ThrottleConfig::default());
        let tester = ClientId::of("c", None);
        for _ in 0..ThrottleConfig::default().declines_max {
            t.record_decline(&tester);
            assert!(t.check(Action::CompleteSession, &tester).is_ok());
        }
        t.record_decline(&tester);
        let wait = t.check(Action::CompleteSession, &tester).unwrap_err();
        assert!(wait > Duration::from_secs(500), "{wait:?}");
        assert!(t.check(Action::CreateSession, &tester).is_ok());
    }
}
