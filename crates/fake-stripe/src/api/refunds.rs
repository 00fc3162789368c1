//! `/v1/refunds`: refunds of captured charges, never more than was captured.

use super::{Done, Request, expand};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::model::{PaymentIntentStatus, Refund, format_amount};
use crate::state::State;

/// `POST /v1/refunds` (`payment_intent` or `charge`, `amount` = the rest by default).
pub(super) fn create(state: &mut State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "payment_intent",
            "charge",
            "amount",
            "metadata",
            "reason",
            "expand",
        ],
        &[],
    )?;
    let reason = p
        .enum_str(
            "reason",
            &["duplicate", "fraudulent", "requested_by_customer"],
        )?
        .map(str::to_string);
    let charge_id = match (p.str("payment_intent")?, p.str("charge")?) {
        (None, None) => {
            return Err(ApiError::invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
            ));
        }
        (Some(pi_id), charge) => {
            let pi = state.intent(pi_id).ok_or_else(|| {
                ApiError::no_such_param("payment_intent", pi_id, "payment_intent")
            })?;
            let captured = pi.status == PaymentIntentStatus::Succeeded
                && pi
                    .latest_charge
                    .as_deref()
                    .and_then(|c| state.charge(c))
                    .is_some_and(|c| c.captured);
            if !captured {
                return Err(ApiError::unexpected_state(format!(
                    "This PaymentIntent ({pi_id}) does not have a successful charge to refund (its status is {}).", pi.status
                ))
                .param("payment_intent"));
            }
            let latest = pi.latest_charge.clone().unwrap_or_default();
            if let Some(c) = charge
                && c != latest
            {
                return Err(ApiError::invalid_param(
                    "charge",
                    format!("The charge {c} does not belong to the PaymentIntent {pi_id}."),
                ));
            }
            latest
        }
        (None, Some(c)) => c.to_string(),
    };
    let charge = state
        .charge(&charge_id)
        .ok_or_else(|| ApiError::no_such_param("charge", &charge_id, "charge"))?;
    if !charge.captured {
        return Err(ApiError::invalid_param(
            "charge",
            format!("Charge {charge_id} has not been captured: cancel its PaymentIntent instead."),
        ));
    }
    if charge.disputed {
        return Err(ApiError::invalid_param(
            "charge",
            format!("Charge {charge_id} has been charged back; cannot issue a refund."),
        )
        .code("charge_disputed"));
    }
    let remaining = charge.amount_captured - charge.amount_refunded;
    if remaining <= 0 {
        return Err(
            ApiError::invalid(format!("Charge {charge_id} has already been refunded."))
                .code("charge_already_refunded"),
        );
    }
    let amount = match p.int("amount")? {
        None => remaining,
        Some(a) if a < 1 => {
            return Err(ApiError::invalid_param(
                "amount",
                "Invalid positive integer",
            ));
        }
        Some(a) if a > remaining => {
            return Err(ApiError::invalid_param(
                "amount",
                format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    format_amount(a, &charge.currency),
                    format_amount(remaining, &charge.currency)
                ),
            )
            .code("amount_too_large"));
        }
        Some(a) => a,
    };
    let metadata = p
        .metadata()?
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let refund = Refund {
        id: new_id("re"),
        created: req.now,
        amount,
        charge: charge_id.clone(),
        payment_intent: charge.payment_intent.clone(),
        currency: charge.currency.clone(),
        reason,
        metadata,
        status: "succeeded".into(),
        idempotency_key: req.idempotency_key.map(str::to_string),
    };
    let refund_json = refund.to_json();
    state.refunds.push(refund);
    let charge = state
        .charge_mut(&charge_id)
        .ok_or_else(|| ApiError::no_such("charge", &charge_id))?;
    charge.amount_refunded += amount;
    debug_assert!(
        charge.amount_refunded <= charge.amount_captured,
        "refunds never exceed the capture"
    );
    let charge_json = charge.to_json();
    let body = expand(state, refund_json.clone(), &p.expand())?;
    Ok(Done {
        status: 200,
        body,
        events: vec![
            ("refund.created".into(), refund_json),
            ("charge.refunded".into(), charge_json),
        ],
        intent: None,
    })
}

pub(super) fn retrieve(state: &State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    let refund = state
        .refund(id)
        .ok_or_else(|| ApiError::no_such("refund", id))?;
    Ok(Done::ok(expand(
        state,
        refund.to_json(),
        &req.params.expand(),
    )?))
}

/// `GET /v1/refunds` (`payment_intent` or `charge` to filter; newest first, as
/// Stripe lists; `limit` up to 100).
pub(super) fn list(state: &State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(&["payment_intent", "charge", "limit", "expand"], &[])?;
    let pi = p.str("payment_intent")?;
    let charge = p.str("charge")?;
    let limit = p
        .str("limit")?
        .map(|l| {
            l.parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| ApiError::invalid_param("limit", "Invalid integer: limit"))
        })
        .transpose()?
        .unwrap_or(10);
    let data = state
        .refunds
        .iter()
        .rev()
        .filter(|r| pi.is_none_or(|pi| r.payment_intent == pi))
        .filter(|r| charge.is_none_or(|c| r.charge == c))
        .take(limit)
        .map(Refund::to_json)
        .collect();
    Ok(Done::ok(super::list("/v1/refunds", data)))
}
