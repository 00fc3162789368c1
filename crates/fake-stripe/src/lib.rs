//! A fake Stripe for tests that cannot reach Stripe: a local HTTP server that
//! speaks Stripe API v1's wire format (form-encoded bodies with bracket notation,
//! JSON objects, Stripe's error envelope and statuses, `Idempotency-Key` replays,
//! `Stripe-Version`, signed webhooks) for PaymentIntents, refunds, customers, card
//! PaymentMethods, shared payment granted tokens and payment method domains; plus
//! a stand-in for Stripe.js served at `/v3`, and a control API (`/test_control/…`)
//! to inject faults and look inside.
//!
//! ```no_run
//! # async fn demo() {
//! use anycart_fake_stripe::{FakeStripe, Fault};
//! let stripe = FakeStripe::start().await;
//! // point the client at stripe.base_url with stripe.secret_key …
//! stripe.fail_next(Fault::LoseAnswer { path_prefix: "/v1/payment_intents".into() });
//! // … the first create charges but answers 500; a retry with the same
//! // Idempotency-Key gets the stored success.
//! assert!(stripe.payment_intents().iter().all(|pi| pi.status != "canceled"));
//! # }
//! ```
//!
//! Test cards: the magic ids Stripe documents (`pm_card_visa`,
//! `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`,
//! `pm_card_threeDSecure2Required`, `pm_card_authenticationRequired`, …) and the
//! numbers typed into the Stripe.js stand-in (4242 4242 4242 4242, 4000 0000 0000
//! 0002, 4000 0000 0000 9995, 4000 0027 6000 3184, …); see [`cards`].

mod api;
pub mod cards;
mod control;
mod error;
mod faults;
mod ids;
mod model;
mod params;
mod server;
mod shared;
mod state;
mod stripe_js;
mod views;
mod webhooks;

pub use api::ACCOUNT_ID;
pub use faults::{Fault, FaultSpec};
pub use model::{CaptureMethod, PaymentIntentStatus};
pub use server::DEFAULT_API_VERSION;
pub use state::{DeliveryLog, RequestLog};
pub use stripe_js::{STRIPE_JS, STRIPE_JS_CSS};
pub use views::{PaymentIntentView, RefundView};
pub use webhooks::{Forgery, signature_header as webhook_signature_header};

use serde_json::Value;
use shared::{Keys, Shared};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The fixed secret key (`Authorization: Bearer …`).
pub const SECRET_KEY: &str = "sk_test_fake_anycart_secret_key";
/// The fixed publishable key (what Stripe.js gets).
pub const PUBLISHABLE_KEY: &str = "pk_test_fake_anycart_publishable_key";
/// The fixed webhook signing secret.
pub const WEBHOOK_SECRET: &str = "whsec_fake_anycart_webhook_secret";

/// How to start the fake.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to listen (default `127.0.0.1:0`, a random port).
    pub addr: SocketAddr,
    /// Where to deliver webhooks (none by default).
    pub webhook_url: Option<String>,
    /// Persist the state to this JSON file after every change, and load it at start.
    pub state_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            webhook_url: None,
            state_file: None,
        }
    }
}

/// A running fake Stripe. Clones share it; the server stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`: the API base (`{base_url}/v1/…`), the Stripe.js
    /// stand-in (`{base_url}/v3`) and the control API (`{base_url}/test_control/…`).
    pub base_url: String,
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
    shared: Arc<Shared>,
    _server: Arc<ServerGuard>,
}

/// Stops the server when dropped.
struct ServerGuard(Option<oneshot::Sender<()>>);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

impl FakeStripe {
    /// Starts on 127.0.0.1, on a random port.
    ///
    /// # Panics
    /// If no port can be bound (a test cannot go on without its fake).
    pub async fn start() -> FakeStripe {
        FakeStripe::start_with(Options::default())
            .await
            .expect("the fake Stripe binds 127.0.0.1:0")
    }

    /// Starts on `addr`.
    ///
    /// # Panics
    /// If `addr` cannot be bound.
    pub async fn start_on(addr: SocketAddr) -> FakeStripe {
        FakeStripe::start_with(Options {
            addr,
            ..Options::default()
        })
        .await
        .expect("the fake Stripe binds its address")
    }

    /// Starts with `options`; fails if the address cannot be bound or the state
    /// file cannot be read.
    pub async fn start_with(options: Options) -> std::io::Result<FakeStripe> {
        let listener = tokio::net::TcpListener::bind(options.addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut state = match &options.state_file {
            Some(path) => state::State::load(path)?.unwrap_or_default(),
            None => state::State::default(),
        };
        if options.webhook_url.is_some() {
            state.webhook_url = options.webhook_url.clone();
        }
        let keys = Keys {
            secret: SECRET_KEY.to_string(),
            publishable: PUBLISHABLE_KEY.to_string(),
            webhook_secret: WEBHOOK_SECRET.to_string(),
        };
        let shared = Shared::start(
            keys,
            base_url.clone(),
            DEFAULT_API_VERSION.to_string(),
            state,
            options.state_file.clone(),
        );
        shared.save(&shared.lock());
        let app = server::router(Arc::clone(&shared));
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let stopped = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                eprintln!("fake-stripe: server stopped: {e}");
            }
        });
        Ok(FakeStripe {
            base_url,
            secret_key: SECRET_KEY.to_string(),
            publishable_key: PUBLISHABLE_KEY.to_string(),
            webhook_secret: WEBHOOK_SECRET.to_string(),
            shared,
            _server: Arc::new(ServerGuard(Some(tx))),
        })
    }

    /// Where events are delivered (`None`: nowhere; they are still recorded).
    pub fn set_webhook_url(&self, url: Option<String>) {
        let mut state = self.shared.lock();
        state.webhook_url = url;
        self.shared.save(&state);
    }

    /// Which event types are delivered automatically (`None`: all, like `*`).
    pub fn set_enabled_events(&self, types: Option<Vec<String>>) {
        let mut state = self.shared.lock();
        state.enabled_events = types;
        self.shared.save(&state);
    }

    /// Queues a fault; faults are consumed in order, each by the first later API
    /// request whose path starts with its prefix.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.push_fault(fault);
    }

    /// Forgets the faults not consumed yet.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// Every PaymentIntent, oldest first.
    pub fn payment_intents(&self) -> Vec<PaymentIntentView> {
        views::payment_intents(&self.shared.lock())
    }

    /// Every Refund, oldest first.
    pub fn refunds(&self) -> Vec<RefundView> {
        views::refunds(&self.shared.lock())
    }

    /// Every API request answered (bounded), oldest first.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.lock().requests.clone()
    }

    /// Every event recorded (bounded), oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.shared.lock().events.clone()
    }

    /// Every webhook delivery attempt (bounded), oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryLog> {
        self.shared.lock().deliveries.clone()
    }

    /// A PaymentIntent's Stripe JSON, as `GET /v1/payment_intents/:id` gives it.
    pub fn payment_intent_json(&self, id: &str) -> Option<Value> {
        self.shared.lock().intent(id).map(|pi| pi.to_json())
    }

    /// Grants a shared payment token (`spt_…`) for a Visa that succeeds.
    pub fn create_granted_token(&self, max_amount: i64, currency: &str, expires_at: i64) -> String {
        self.create_granted_token_for(max_amount, currency, expires_at, "pm_card_visa")
    }

    /// Grants a shared payment token for the test card `payment_method`
    /// (`pm_card_chargeDeclined`, …).
    ///
    /// # Panics
    /// On limits Stripe would refuse (a bad currency, `max_amount` < 1, an unknown card).
    pub fn create_granted_token_for(
        &self,
        max_amount: i64,
        currency: &str,
        expires_at: i64,
        payment_method: &str,
    ) -> String {
        let mut state = self.shared.lock();
        let token = api::create_granted_token(
            &mut state,
            max_amount,
            currency,
            expires_at,
            payment_method,
            ids::now(),
        )
        .unwrap_or_else(|e| panic!("create_granted_token: {}", e.message));
        self.shared.save(&state);
        token["id"].as_str().unwrap_or_default().to_string()
    }

    /// Revokes a shared payment token.
    ///
    /// # Panics
    /// If there is no such token.
    pub fn deactivate_granted_token(&self, id: &str) {
        let mut state = self.shared.lock();
        api::deactivate_granted_token(&mut state, id, ids::now())
            .unwrap_or_else(|e| panic!("deactivate_granted_token: {}", e.message));
        self.shared.save(&state);
    }

    /// The shopper answers the 3-D Secure challenge of a PaymentIntent in
    /// `requires_action` (what Stripe.js's `handleNextAction` does). With Stripe's
    /// default `confirmation_method=automatic` success completes the payment
    /// (`succeeded`, or `requires_capture` for a manual capture) with no further call;
    /// with `confirmation_method=manual` it leaves `requires_confirmation` for the
    /// server's confirm. Failure: `requires_payment_method` with
    /// `last_payment_error.code = payment_intent_authentication_failure`.
    ///
    /// # Panics
    /// If there is no such PaymentIntent or it is not in `requires_action`.
    pub fn authenticate(&self, payment_intent: &str, success: bool) {
        control::authenticate_intent(&self.shared, payment_intent, success, None)
            .unwrap_or_else(|e| panic!("authenticate: {}", e.message));
    }

    /// Another secret key for the same account (idempotency keys are per API key).
    pub fn create_secret_key(&self) -> String {
        control::new_secret_key(&self.shared)
    }

    /// Records an event and delivers it once, signed; the endpoint's status (0: no
    /// endpoint configured, or unreachable).
    pub async fn send_event(&self, event_type: &str, object: Value) -> u16 {
        let event = control::record_on_demand(&self.shared, event_type, object);
        control::deliver_event(&self.shared, &event, "on_demand").await
    }

    /// Sends `charge.dispute.created` (status `needs_response`) or
    /// `charge.dispute.closed` (`lost`) with a dispute on the PaymentIntent's charge.
    ///
    /// # Panics
    /// If the PaymentIntent has no captured charge.
    pub async fn send_dispute_event(&self, event_type: &str, payment_intent: &str) -> u16 {
        let object = control::event_object(&self.shared, event_type, payment_intent, None)
            .unwrap_or_else(|e| panic!("send_dispute_event: {}", e.message));
        self.send_event(event_type, object).await
    }

    /// Records an event and delivers it once, forged (see [`Forgery`]).
    pub async fn send_forged_event(
        &self,
        event_type: &str,
        object: Value,
        forgery: Forgery,
    ) -> u16 {
        let event = control::record_on_demand(&self.shared, event_type, object);
        control::deliver_forged(&self.shared, &event, &forgery).await
    }

    /// Delivers an already recorded event again, with a fresh valid signature: the
    /// same event id twice, as Stripe's retries do.
    ///
    /// # Panics
    /// If there is no such event.
    pub async fn redeliver_event(&self, event_id: &str) -> u16 {
        let event = self
            .shared
            .lock()
            .event(event_id)
            .cloned()
            .unwrap_or_else(|| panic!("redeliver_event: no event {event_id}"));
        control::deliver_event(&self.shared, &event, "redelivery").await
    }

    /// POSTs `body` with `signature_header` as `Stripe-Signature` (none if empty).
    pub async fn send_raw_event(&self, body: &str, signature_header: &str) -> u16 {
        self.shared
            .deliver_once("", "", body, signature_header, "raw")
            .await
    }

    /// The `Stripe-Signature` this fake would send for `payload` at `timestamp`.
    pub fn sign_webhook(&self, payload: &str, timestamp: i64) -> String {
        webhooks::signature_header(&self.webhook_secret, timestamp, payload)
    }

    /// Waits until every automatic webhook delivery queued so far was attempted.
    pub async fn flush_webhooks(&self) {
        self.shared.flush().await;
    }
}
