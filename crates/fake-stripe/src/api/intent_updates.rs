//! `/v1/payment_intents/:id` changes other than confirming: update, capture,
//! cancel.

use super::payment_intents::{amount, find, find_mut, finish};
use super::payment_methods::resolve_for_intent;
use super::tokens::{self, parse_currency};
use super::{Done, Request};
use crate::error::ApiError;
use crate::model::{CaptureMethod, PaymentIntentStatus};
use crate::params::Node;
use crate::state::State;
use std::collections::BTreeMap;

/// `POST /v1/payment_intents/:id`: metadata and description always; amount, currency,
/// payment method, capture method and future usage only before a payment is made.
pub(super) fn update(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "amount",
            "currency",
            "customer",
            "description",
            "metadata",
            "payment_method",
            "receipt_email",
            "setup_future_usage",
            "capture_method",
            "statement_descriptor",
            "expand",
        ],
        &[],
    )?;
    let status = find(state, id)?.status;
    for field in [
        "amount",
        "currency",
        "payment_method",
        "capture_method",
        "setup_future_usage",
        "customer",
    ] {
        if p.node(&[field]).is_some() && !status.confirmable() {
            return Err(ApiError::unexpected_state(format!(
                "This PaymentIntent's {field} could not be updated because it has a status of {status}. You may only update the {field} of a PaymentIntent with one of the following statuses: requires_payment_method, requires_confirmation, requires_action."
            )));
        }
    }
    let currency = match p.str("currency")? {
        Some(c) => parse_currency(c, "currency")?,
        None => find(state, id)?.currency.clone(),
    };
    let new_amount = if p.node(&["amount"]).is_some() {
        Some(amount(p, &currency)?)
    } else {
        None
    };
    let capture_method = match p.str("capture_method")? {
        None => None,
        Some(c) => Some(CaptureMethod::parse(c).ok_or_else(|| {
            ApiError::invalid_param(
                "capture_method",
                "Invalid capture_method: must be one of automatic, automatic_async, manual",
            )
        })?),
    };
    let setup_future_usage = p
        .enum_str("setup_future_usage", &["on_session", "off_session"])?
        .map(str::to_string);
    if let Some(c) = p.str("customer")?
        && state.customer(c).is_none()
    {
        return Err(ApiError::no_such_param("customer", c, "customer"));
    }
    if let Some(c) = p.str("customer")? {
        find_mut(state, id)?.customer = Some(c.to_string());
    }
    let new_pm = match p.str("payment_method")? {
        Some(pm) => {
            let customer = find(state, id)?.customer.clone();
            Some(resolve_for_intent(state, pm, customer.as_deref(), req.now)?)
        }
        None => None,
    };
    let metadata = p.metadata()?;
    let pi = find_mut(state, id)?;
    let changes_payment =
        new_amount.is_some() || new_pm.is_some() || p.node(&["currency"]).is_some();
    pi.currency = currency;
    if let Some(a) = new_amount {
        pi.amount = a;
    }
    if let Some(c) = capture_method {
        pi.capture_method = c;
    }
    if setup_future_usage.is_some() {
        pi.setup_future_usage = setup_future_usage;
    }
    if let Some(pm) = new_pm {
        pi.payment_method = Some(pm);
        pi.granted_token = None;
    }
    if changes_payment {
        pi.authenticated = false;
        pi.next_action = None;
        pi.status = if pi.payment_method.is_some() {
            PaymentIntentStatus::RequiresConfirmation
        } else {
            PaymentIntentStatus::RequiresPaymentMethod
        };
    }
    for (field, value) in [
        ("description", &mut pi.description),
        ("receipt_email", &mut pi.receipt_email),
        ("statement_descriptor", &mut pi.statement_descriptor),
    ] {
        if let Some(v) = p.node(&[field]) {
            *value = match v {
                Node::Value(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
        }
    }
    if let Some(md) = metadata {
        merge_metadata(&mut pi.metadata, md);
    }
    let done = Done::ok(pi.to_json()).about(id);
    finish(state, done, &p.expand())
}

/// Stripe's update semantics: an empty value unsets a key; `metadata=` unsets all.
fn merge_metadata(current: &mut BTreeMap<String, String>, update: BTreeMap<String, String>) {
    if update.is_empty() {
        current.clear();
    }
    for (k, v) in update {
        if v.is_empty() {
            current.remove(&k);
        } else {
            current.insert(k, v);
        }
    }
}

/// `POST /v1/payment_intents/:id/capture` (`amount_to_capture` ≤ `amount_capturable`;
/// the rest of the authorisation is released).
pub(super) fn capture(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "amount_to_capture",
            "metadata",
            "statement_descriptor",
            "final_capture",
            "expand",
        ],
        &[],
    )?;
    let pi = find(state, id)?;
    if pi.status != PaymentIntentStatus::RequiresCapture {
        return Err(ApiError::unexpected_state(format!(
            "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
            pi.status
        )));
    }
    let capturable = pi.amount_capturable;
    let amount = p.int("amount_to_capture")?.unwrap_or(capturable);
    if amount < 1 {
        return Err(ApiError::invalid_param(
            "amount_to_capture",
            "This value must be greater than or equal to 1.",
        ));
    }
    if amount > capturable {
        return Err(ApiError::invalid_param(
            "amount_to_capture",
            format!("The amount_to_capture ({amount}) must be less than or equal to the PaymentIntent's amount_capturable ({capturable})."),
        )
        .code("amount_too_large"));
    }
    let metadata = p.metadata()?;
    let charge_id = pi.latest_charge.clone().unwrap_or_default();
    let token = pi.granted_token.clone();
    let charge = state
        .charge_mut(&charge_id)
        .ok_or_else(|| ApiError::no_such("charge", &charge_id))?;
    charge.captured = true;
    charge.amount_captured = amount;
    let charge_json = charge.to_json();
    if let Some(token) = token {
        tokens::consume(state, &token, amount, req.now);
    }
    let pi = find_mut(state, id)?;
    pi.status = PaymentIntentStatus::Succeeded;
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    if let Some(md) = metadata {
        merge_metadata(&mut pi.metadata, md);
    }
    let json = pi.to_json();
    let done = Done {
        status: 200,
        body: json.clone(),
        events: vec![
            ("charge.captured".into(), charge_json),
            ("payment_intent.succeeded".into(), json),
        ],
        intent: Some(id.to_string()),
    };
    finish(state, done, &p.expand())
}

/// `POST /v1/payment_intents/:id/cancel`: an uncaptured authorisation is released.
pub(super) fn cancel(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(&["cancellation_reason", "expand"], &[])?;
    let reason = p
        .enum_str(
            "cancellation_reason",
            &[
                "duplicate",
                "fraudulent",
                "requested_by_customer",
                "abandoned",
            ],
        )?
        .map(str::to_string);
    let pi = find(state, id)?;
    if !pi.status.cancelable() {
        return Err(ApiError::unexpected_state(format!(
            "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
            pi.status
        )));
    }
    if pi.status == PaymentIntentStatus::RequiresCapture
        && let Some(charge_id) = pi.latest_charge.clone()
        && let Some(charge) = state.charge_mut(&charge_id)
    {
        charge.amount_refunded = charge.amount;
    }
    let pi = find_mut(state, id)?;
    pi.status = PaymentIntentStatus::Canceled;
    pi.canceled_at = Some(req.now);
    pi.cancellation_reason = reason;
    pi.amount_capturable = 0;
    pi.next_action = None;
    let json = pi.to_json();
    let done = Done {
        status: 200,
        body: json.clone(),
        events: vec![("payment_intent.canceled".into(), json)],
        intent: Some(id.to_string()),
    };
    finish(state, done, &p.expand())
}
