//! What tests read back: PaymentIntents and Refunds as plain structs, with the
//! totals Stripe spreads over charges gathered in one place.

use crate::model::{CaptureMethod, PaymentIntent, PaymentIntentStatus, Refund};
use crate::state::State;
use serde::Serialize;
use std::collections::BTreeMap;

/// A PaymentIntent as the fake holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentIntentView {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    /// Compares with strings too: `view.status == "succeeded"`.
    pub status: PaymentIntentStatus,
    /// Captured on its latest charge.
    pub amount_captured: i64,
    /// Sum of its refunds.
    pub amount_refunded: i64,
    pub amount_capturable: i64,
    pub capture_method: CaptureMethod,
    pub metadata: BTreeMap<String, String>,
    /// Every `Idempotency-Key` sent with a request about this intent, in order.
    pub idempotency_keys: Vec<String>,
    pub customer: Option<String>,
    /// The `pm_…` it pays with (a fresh id even for `pm_card_visa`, as on Stripe;
    /// `None` after a decline).
    pub payment_method: Option<String>,
    pub latest_charge: Option<String>,
    pub description: Option<String>,
    pub client_secret: String,
    pub setup_future_usage: Option<String>,
    pub cancellation_reason: Option<String>,
    pub created: i64,
}

/// A Refund as the fake holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundView {
    pub id: String,
    pub payment_intent: String,
    pub charge: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    pub created: i64,
}

pub fn payment_intent(state: &State, pi: &PaymentIntent) -> PaymentIntentView {
    let amount_captured = pi
        .latest_charge
        .as_deref()
        .and_then(|c| state.charge(c))
        .filter(|c| c.status == "succeeded")
        .map_or(0, |c| c.amount_captured);
    let amount_refunded = state
        .refunds
        .iter()
        .filter(|r| r.payment_intent == pi.id)
        .map(|r| r.amount)
        .sum();
    PaymentIntentView {
        id: pi.id.clone(),
        amount: pi.amount,
        currency: pi.currency.clone(),
        status: pi.status,
        amount_captured,
        amount_refunded,
        amount_capturable: pi.amount_capturable,
        capture_method: pi.capture_method,
        metadata: pi.metadata.clone(),
        idempotency_keys: pi.idempotency_keys.clone(),
        customer: pi.customer.clone(),
        payment_method: pi.payment_method.clone(),
        latest_charge: pi.latest_charge.clone(),
        description: pi.description.clone(),
        client_secret: pi.client_secret.clone(),
        setup_future_usage: pi.setup_future_usage.clone(),
        cancellation_reason: pi.cancellation_reason.clone(),
        created: pi.created,
    }
}

pub fn payment_intents(state: &State) -> Vec<PaymentIntentView> {
    state
        .payment_intents
        .iter()
        .map(|pi| payment_intent(state, pi))
        .collect()
}

pub fn refund(r: &Refund) -> RefundView {
    RefundView {
        id: r.id.clone(),
        payment_intent: r.payment_intent.clone(),
        charge: r.charge.clone(),
        amount: r.amount,
        currency: r.currency.clone(),
        status: r.status.clone(),
        reason: r.reason.clone(),
        metadata: r.metadata.clone(),
        idempotency_key: r.idempotency_key.clone(),
        created: r.created,
    }
}

pub fn refunds(state: &State) -> Vec<RefundView> {
    state.refunds.iter().map(refund).collect()
}
