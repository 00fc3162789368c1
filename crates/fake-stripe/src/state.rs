//! Everything the fake remembers, in one value that serialises to the `--state`
//! file: the Stripe objects, stored idempotent responses, the event log, the request
//! and delivery logs, and the webhook endpoint. Every log has a bound.

use crate::model::{
    Charge, Customer, Dispute, GrantedToken, PaymentIntent, PaymentMethod, PaymentMethodDomain,
    Refund,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Requests kept in the log (oldest dropped first).
pub const REQUEST_LOG_MAX: usize = 10_000;
/// Events kept (for `GET /v1/events/:id` and the control API).
pub const EVENTS_MAX: usize = 10_000;
/// Webhook delivery attempts kept in the log.
pub const DELIVERY_LOG_MAX: usize = 10_000;
/// Stored idempotent responses (Stripe keeps keys at least 24 h; a test run is shorter).
pub const IDEMPOTENCY_KEYS_MAX: usize = 100_000;

/// One request the fake answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    /// The decoded form (or query) pairs, in order; card numbers masked.
    pub params: Vec<(String, String)>,
    /// The status the client got (0: the connection was dropped).
    pub status: u16,
    /// `secret`, `publishable`, `missing` or `invalid`.
    pub auth: String,
    pub stripe_version: Option<String>,
    /// Answered from the idempotency store.
    pub replayed: bool,
    pub request_id: String,
    pub at: i64,
}

/// One attempt to deliver an event to the webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub attempt: u32,
    /// The endpoint's status (0: not reachable).
    pub status: u16,
    /// `automatic`, `on_demand`, `redelivery`, `forged` or `raw`.
    pub kind: String,
    pub at: i64,
}

/// A response kept for an `Idempotency-Key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredResponse {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub fingerprint: String,
    pub status: u16,
    pub body: Value,
    /// The PaymentIntent the request was about.
    pub intent: Option<String>,
    /// The first request's `Request-Id` (sent back as `Original-Request`).
    #[serde(default)]
    pub request_id: String,
    /// The first request is still running (a `Hang` fault): retries get 409.
    pub in_flight: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub payment_intents: Vec<PaymentIntent>,
    pub charges: Vec<Charge>,
    pub refunds: Vec<Refund>,
    pub customers: Vec<Customer>,
    pub payment_methods: Vec<PaymentMethod>,
    pub granted_tokens: Vec<GrantedToken>,
    pub domains: Vec<PaymentMethodDomain>,
    pub disputes: Vec<Dispute>,
    pub events: Vec<Value>,
    /// Keyed by [`idempotency_slot`].
    pub idempotency: BTreeMap<String, StoredResponse>,
    pub idempotency_seq: u64,
    pub requests: Vec<RequestLog>,
    pub deliveries: Vec<DeliveryLog>,
    pub webhook_url: Option<String>,
    /// Event types delivered to the endpoint (`None`: all, like `*`).
    pub enabled_events: Option<Vec<String>>,
    /// Secret keys made with `create_secret_key`, beside the fixed one.
    pub extra_secret_keys: Vec<String>,
}

/// Where the response for `key` sent with `api_key` is kept: keys are scoped per API key.
pub fn idempotency_slot(api_key: &str, key: &str) -> String {
    format!("{api_key}\n{key}")
}

/// Pushes, dropping the oldest entries past `max`.
pub fn push_bounded<T>(items: &mut Vec<T>, item: T, max: usize) {
    items.push(item);
    if items.len() > max {
        let excess = items.len() - max;
        items.drain(..excess);
    }
}

macro_rules! finders {
    ($get:ident, $get_mut:ident, $field:ident, $ty:ty) => {
        // Generated for every collection; not each one is looked up both ways.
        #[allow(dead_code)]
        pub fn $get(&self, id: &str) -> Option<&$ty> {
            self.$field.iter().find(|o| o.id == id)
        }
        #[allow(dead_code)]
        pub fn $get_mut(&mut self, id: &str) -> Option<&mut $ty> {
            self.$field.iter_mut().find(|o| o.id == id)
        }
    };
}

impl State {
    finders!(intent, intent_mut, payment_intents, PaymentIntent);
    finders!(charge, charge_mut, charges, Charge);
    finders!(refund, refund_mut, refunds, Refund);
    finders!(customer, customer_mut, customers, Customer);
    finders!(
        payment_method,
        payment_method_mut,
        payment_methods,
        PaymentMethod
    );
    finders!(
        granted_token,
        granted_token_mut,
        granted_tokens,
        GrantedToken
    );
    finders!(domain, domain_mut, domains, PaymentMethodDomain);
    finders!(dispute, dispute_mut, disputes, Dispute);

    pub fn event(&self, id: &str) -> Option<&Value> {
        self.events.iter().find(|e| e["id"] == id)
    }

    /// Stores the response for an idempotency slot, evicting the oldest past the bound.
    pub fn store_response(&mut self, slot: String, mut response: StoredResponse) {
        self.idempotency_seq += 1;
        response.seq = self.idempotency_seq;
        self.idempotency.insert(slot, response);
        if self.idempotency.len() > IDEMPOTENCY_KEYS_MAX {
            let oldest = self
                .idempotency
                .iter()
                .min_by_key(|(_, r)| r.seq)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.idempotency.remove(&k);
            }
        }
    }

    /// Reads a `--state` file; `None` if there is none yet.
    pub fn load(path: &Path) -> io::Result<Option<State>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut state: State = serde_json::from_str(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        // A request that was running when the process died never answered: its key is free.
        state.idempotency.retain(|_, r| !r.in_flight);
        Ok(Some(state))
    }

    /// Writes the state atomically (temporary file, then rename), so a kill -9 leaves
    /// either the old or the new state.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let text =
            serde_json::to_vec(self).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_logs_drop_the_oldest() {
        let mut v = vec![1, 2, 3];
        push_bounded(&mut v, 4, 3);
        assert_eq!(v, vec![2, 3, 4]);
    }

    #[test]
    fn state_survives_a_round_trip_and_forgets_in_flight_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(State::load(&path).unwrap().is_none());
        let mut s = State {
            webhook_url: Some("http://x".into()),
            ..State::default()
        };
        let stored = |in_flight| StoredResponse {
            seq: 0,
            method: "POST".into(),
            path: "/v1/x".into(),
            fingerprint: String::new(),
            status: 200,
            body: Value::Null,
            intent: None,
            request_id: String::new(),
            in_flight,
        };
        s.store_response(idempotency_slot("sk", "a"), stored(false));
        s.store_response(idempotency_slot("sk", "b"), stored(true));
        s.save(&path).unwrap();
        let back = State::load(&path).unwrap().unwrap();
        assert_eq!(back.webhook_url.as_deref(), Some("http://x"));
        assert!(back.idempotency.contains_key(&idempotency_slot("sk", "a")));
        assert!(!back.idempotency.contains_key(&idempotency_slot("sk", "b")));
    }
}
