//! What confirming a PaymentIntent does to money: the test card decides between a
//! charge that succeeds (captured now or authorised for a manual capture), a decline
//! (a failed charge, a 402, the intent back to `requires_payment_method`), and a
//! 3-D Secure challenge (`requires_action`).

use super::Done;
use super::payment_methods::attach_to;
use super::tokens;
use crate::cards::{self, AUTHENTICATION_REQUIRED, Behaviour, Decline, GENERIC_DECLINE, ThreeDs};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::model::{CaptureMethod, Charge, PaymentIntentStatus};
use crate::state::State;
use serde_json::json;

/// How a confirmation is attempted.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Attempt {
    /// The customer is not there: a challenge cannot be shown.
    pub off_session: bool,
    /// `error_on_requires_action`: fail rather than ask for 3-D Secure.
    pub error_on_requires_action: bool,
}

/// Confirms `pi_id` with the payment method already set on it.
pub(super) fn confirm_payment(
    state: &mut State,
    pi_id: &str,
    attempt: Attempt,
    now: i64,
) -> Result<Done, ApiError> {
    let pi = state
        .intent(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?;
    let pm_id = pi
        .payment_method
        .clone()
        .ok_or_else(|| ApiError::unexpected_state("This PaymentIntent has no payment method."))?;
    let authenticated = pi.authenticated;
    let pm = state
        .payment_method(&pm_id)
        .ok_or_else(|| ApiError::no_such_param("payment_method", &pm_id, "payment_method"))?;
    let card = cards::by_name(&pm.test_card)
        .ok_or_else(|| ApiError::no_such_param("payment_method", &pm_id, "payment_method"))?;
    let set_up = pm.set_up;
    let done = match card.behaviour {
        Behaviour::Succeeds => succeed(state, pi_id, now)?,
        Behaviour::Declines(d) => decline(state, pi_id, d, now)?,
        Behaviour::AttachSucceedsChargeDeclines => decline(state, pi_id, GENERIC_DECLINE, now)?,
        Behaviour::ThreeDs(kind) => {
            let exempt = authenticated || (kind == ThreeDs::UnlessSetUp && set_up);
            if exempt {
                succeed(state, pi_id, now)?
            } else if attempt.off_session || attempt.error_on_requires_action {
                decline(state, pi_id, AUTHENTICATION_REQUIRED, now)?
            } else {
                require_action(state, pi_id)?
            }
        }
    };
    Ok(done)
}

/// The charge goes through.
pub(super) fn succeed(state: &mut State, pi_id: &str, now: i64) -> Result<Done, ApiError> {
    let pi = state
        .intent(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?
        .clone();
    let pm_id = pi.payment_method.clone().unwrap_or_default();
    let pm = state
        .payment_method(&pm_id)
        .ok_or_else(|| ApiError::no_such("payment_method", &pm_id))?
        .clone();
    let captured = pi.capture_method != CaptureMethod::Manual;
    let charge = Charge {
        id: new_id("ch"),
        created: now,
        amount: pi.amount,
        amount_captured: if captured { pi.amount } else { 0 },
        amount_refunded: 0,
        captured,
        currency: pi.currency.clone(),
        payment_intent: pi.id.clone(),
        payment_method: pm_id.clone(),
        customer: pi.customer.clone(),
        description: pi.description.clone(),
        metadata: pi.metadata.clone(),
        status: "succeeded".into(),
        failure_code: None,
        failure_message: None,
        decline_code: None,
        card: pm.card.clone(),
        billing_details: pm.billing_details.clone(),
        disputed: false,
    };
    let charge_json = charge.to_json();
    let charge_id = charge.id.clone();
    state.charges.push(charge);
    let mut events = vec![("charge.succeeded".to_string(), charge_json)];

    // Saving the card for later: `setup_future_usage` with a customer attaches it.
    let mut attached = false;
    if pi.setup_future_usage.is_some()
        && let Some(customer) = &pi.customer
    {
        attached = attach_to(state, &pm_id, customer);
        if let Some(stored) = state.payment_method_mut(&pm_id) {
            stored.set_up = true;
        }
    }
    if let Some(stored) = state.payment_method_mut(&pm_id) {
        if stored.customer.is_none() {
            stored.consumed = true;
        }
        if attached {
            events.push(("payment_method.attached".into(), stored.to_json()));
        }
    }
    if let Some(token) = &pi.granted_token {
        tokens::consume(state, token, if captured { pi.amount } else { 0 }, now);
    }

    let intent = state
        .intent_mut(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?;
    intent.latest_charge = Some(charge_id);
    intent.next_action = None;
    intent.last_payment_error = None;
    if captured {
        intent.status = PaymentIntentStatus::Succeeded;
        intent.amount_received = intent.amount;
        intent.amount_capturable = 0;
    } else {
        intent.status = PaymentIntentStatus::RequiresCapture;
        intent.amount_capturable = intent.amount;
    }
    let json = intent.to_json();
    let kind = if captured {
        "payment_intent.succeeded"
    } else {
        "payment_intent.amount_capturable_updated"
    };
    events.push((kind.into(), json.clone()));
    Ok(Done {
        status: 200,
        body: json,
        events,
        intent: Some(pi_id.to_string()),
    })
}

/// The issuer declines: a failed charge and a 402 carrying the PaymentIntent.
fn decline(state: &mut State, pi_id: &str, d: Decline, now: i64) -> Result<Done, ApiError> {
    let pi = state
        .intent(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?
        .clone();
    let pm_id = pi.payment_method.clone().unwrap_or_default();
    let pm = state
        .payment_method(&pm_id)
        .ok_or_else(|| ApiError::no_such("payment_method", &pm_id))?
        .clone();
    let charge = Charge {
        id: new_id("ch"),
        created: now,
        amount: pi.amount,
        amount_captured: 0,
        amount_refunded: 0,
        captured: false,
        currency: pi.currency.clone(),
        payment_intent: pi.id.clone(),
        payment_method: pm_id.clone(),
        customer: pi.customer.clone(),
        description: pi.description.clone(),
        metadata: pi.metadata.clone(),
        status: "failed".into(),
        failure_code: Some(d.code.into()),
        failure_message: Some(d.message.into()),
        decline_code: Some(d.decline_code.into()),
        card: pm.card.clone(),
        billing_details: pm.billing_details.clone(),
        disputed: false,
    };
    let charge_json = charge.to_json();
    let charge_id = charge.id.clone();
    state.charges.push(charge);
    let pm_json = match state.payment_method_mut(&pm_id) {
        Some(stored) => {
            if stored.customer.is_none() {
                stored.consumed = true;
            }
            stored.to_json()
        }
        None => serde_json::Value::Null,
    };
    let mut error = ApiError::card(d.code, Some(d.decline_code), d.message);
    error.charge = Some(charge_id.clone());
    error.payment_method = Some(pm_json);

    let intent = state
        .intent_mut(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?;
    intent.status = PaymentIntentStatus::RequiresPaymentMethod;
    intent.payment_method = None;
    intent.latest_charge = Some(charge_id);
    intent.next_action = None;
    intent.authenticated = false;
    intent.last_payment_error = Some(error.as_last_payment_error());
    let json = intent.to_json();
    error.payment_intent = Some(json.clone());
    let events = vec![
        ("charge.failed".to_string(), charge_json),
        ("payment_intent.payment_failed".to_string(), json),
    ];
    Ok(Done {
        status: 402,
        body: error.body(),
        events,
        intent: Some(pi_id.to_string()),
    })
}

/// 3-D Secure is needed: Stripe.js's `handleNextAction` takes it from here.
fn require_action(state: &mut State, pi_id: &str) -> Result<Done, ApiError> {
    let intent = state
        .intent_mut(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?;
    intent.status = PaymentIntentStatus::RequiresAction;
    intent.next_action = Some(json!({
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "three_d_secure_redirect",
            "source": new_id("src"),
            "stripe_js": format!("/test_control/payment_intents/{pi_id}/authenticate"),
        }
    }));
    let json = intent.to_json();
    Ok(Done {
        status: 200,
        body: json.clone(),
        events: vec![("payment_intent.requires_action".into(), json)],
        intent: Some(pi_id.to_string()),
    })
}

/// The shopper failed (or abandoned) 3-D Secure: no charge is made.
pub(super) fn authentication_failed(state: &mut State, pi_id: &str) -> Result<Done, ApiError> {
    let pm_id = state
        .intent(pi_id)
        .and_then(|pi| pi.payment_method.clone())
        .unwrap_or_default();
    let pm_json = match state.payment_method_mut(&pm_id) {
        Some(stored) => {
            if stored.customer.is_none() {
                stored.consumed = true;
            }
            stored.to_json()
        }
        None => serde_json::Value::Null,
    };
    let mut error = ApiError::invalid(
        "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
    )
    .code("payment_intent_authentication_failure");
    error.payment_method = Some(pm_json);
    let intent = state
        .intent_mut(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id))?;
    intent.status = PaymentIntentStatus::RequiresPaymentMethod;
    intent.payment_method = None;
    intent.next_action = None;
    intent.authenticated = false;
    intent.last_payment_error = Some(error.as_last_payment_error());
    let json = intent.to_json();
    Ok(Done {
        status: 200,
        body: json.clone(),
        events: vec![("payment_intent.payment_failed".into(), json)],
        intent: Some(pi_id.to_string()),
    })
}
