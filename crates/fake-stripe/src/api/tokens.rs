//! Shared payment granted tokens (`GET /v1/shared_payment/granted_tokens/:id`, the
//! test helpers that grant and revoke them, their checks when a PaymentIntent uses
//! one), payment method domains, and disputes (sent only as webhooks).

use super::payment_methods::insert_for_card;
use super::{Done, Request, list};
use crate::cards;
use crate::error::ApiError;
use crate::ids::new_id;
use crate::model::{
    CardDetails, Dispute, GrantedToken, PaymentMethodDomain, empty_billing_details, format_amount,
};
use crate::state::State;
use serde_json::Value;

/// Grants this account a token (what an agent's `issued_token` becomes here).
pub fn create_granted_token(
    state: &mut State,
    max_amount: i64,
    currency: &str,
    expires_at: i64,
    test_card: &str,
    now: i64,
) -> Result<Value, ApiError> {
    let card = cards::by_name(test_card)
        .ok_or_else(|| ApiError::no_such_param("payment_method", test_card, "payment_method"))?;
    if max_amount <= 0 {
        return Err(ApiError::invalid_param(
            "usage_limits[max_amount]",
            "This value must be greater than or equal to 1.",
        ));
    }
    let currency = parse_currency(currency, "usage_limits[currency]")?;
    let (year, month) = crate::ids::year_month(now);
    let token = GrantedToken {
        id: new_id("spt"),
        created: now,
        max_amount,
        currency,
        expires_at,
        deactivated_at: None,
        deactivated_reason: None,
        test_card: card.name.to_string(),
        card: CardDetails::for_test_card(card, month, year + 1, None),
        amount_captured: 0,
    };
    let json = token.to_json(now);
    state.granted_tokens.push(token);
    Ok(json)
}

/// Revokes a token (what the agent does when the buyer withdraws it).
pub fn deactivate_granted_token(state: &mut State, id: &str, now: i64) -> Result<Value, ApiError> {
    let token = state
        .granted_token_mut(id)
        .ok_or_else(|| ApiError::no_such("shared_payment_granted_token", id))?;
    if token.deactivated_at.is_none() {
        token.deactivated_at = Some(now);
        token.deactivated_reason = Some("revoked".into());
    }
    Ok(token.to_json(now))
}

/// A three-letter ISO code, lowercased as Stripe stores it.
pub(super) fn parse_currency(currency: &str, param: &str) -> Result<String, ApiError> {
    let lower = currency.to_ascii_lowercase();
    if lower.len() != 3 || !lower.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(ApiError::invalid_param(
            param,
            format!(
                "Invalid currency: {currency}. Stripe currently supports these currencies: usd, eur, gbp, …"
            ),
        ));
    }
    Ok(lower)
}

/// May `id` pay `amount` `currency` now? The errors name `param`. The codes are this
/// fake's own (Stripe does not document the SPT failure codes).
pub(super) fn check_usable(
    state: &State,
    id: &str,
    amount: i64,
    currency: &str,
    now: i64,
    param: &str,
) -> Result<(), ApiError> {
    let token = state
        .granted_token(id)
        .ok_or_else(|| ApiError::no_such_param("shared_payment_granted_token", id, param))?;
    match token.deactivation(now) {
        Some((at, "expired")) => {
            return Err(ApiError::invalid_param(param, format!("The SharedPaymentGrantedToken {id} expired at {at} and can no longer be used to confirm a PaymentIntent."))
                .code("shared_payment_granted_token_expired"));
        }
        Some((_, reason)) => {
            return Err(ApiError::invalid_param(param, format!("The SharedPaymentGrantedToken {id} has been deactivated ({reason}) and can no longer be used to confirm a PaymentIntent."))
                .code("shared_payment_granted_token_deactivated"));
        }
        None => {}
    }
    if token.currency != currency {
        return Err(ApiError::invalid_param(param, format!(
            "The PaymentIntent's currency ({currency}) does not match the SharedPaymentGrantedToken's usage_limits[currency] ({}).", token.currency
        ))
        .code("shared_payment_granted_token_currency_mismatch"));
    }
    if amount > token.max_amount {
        return Err(ApiError::invalid_param(param, format!(
            "The PaymentIntent's amount ({}) exceeds the SharedPaymentGrantedToken's usage_limits[max_amount] ({}).",
            format_amount(amount, currency), format_amount(token.max_amount, currency)
        ))
        .code("shared_payment_granted_token_amount_too_large"));
    }
    Ok(())
}

/// A new PaymentMethod cloned from the token's card (Stripe does the same).
pub(super) fn clone_payment_method(
    state: &mut State,
    id: &str,
    now: i64,
) -> Result<String, ApiError> {
    let token = state
        .granted_token(id)
        .ok_or_else(|| ApiError::no_such("shared_payment_granted_token", id))?;
    let card = cards::by_name(&token.test_card)
        .ok_or_else(|| ApiError::no_such("shared_payment_granted_token", id))?;
    let expiry = Some((token.card.exp_month, token.card.exp_year));
    Ok(insert_for_card(
        state,
        card,
        now,
        expiry,
        None,
        empty_billing_details(),
    ))
}

/// A payment with the token went through: it is used up.
pub(super) fn consume(state: &mut State, id: &str, amount_captured: i64, now: i64) {
    if let Some(token) = state.granted_token_mut(id) {
        token.amount_captured += amount_captured;
        if token.deactivated_at.is_none() {
            token.deactivated_at = Some(now);
            token.deactivated_reason = Some("consumed".into());
        }
    }
}

pub(super) fn retrieve(state: &State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    let token = state
        .granted_token(id)
        .ok_or_else(|| ApiError::no_such("shared_payment_granted_token", id))?;
    Ok(Done::ok(token.to_json(req.now)))
}

/// `POST /v1/test_helpers/shared_payment/granted_tokens`.
pub(super) fn create_test_helper(state: &mut State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "payment_method",
            "usage_limits",
            "seller_details",
            "customer",
            "metadata",
            "expand",
        ],
        &[
            ("usage_limits", &["currency", "max_amount", "expires_at"]),
            ("seller_details", &["network_id", "external_id"]),
        ],
    )?;
    let pm = p.required_str("payment_method")?;
    let test_card = match state.payment_method(pm) {
        Some(stored) => stored.test_card.clone(),
        None => pm.to_string(),
    };
    let currency = p
        .str_at(&["usage_limits", "currency"])?
        .ok_or_else(|| ApiError::missing_param("usage_limits[currency]"))?;
    let max_amount = p
        .int_at(&["usage_limits", "max_amount"])?
        .ok_or_else(|| ApiError::missing_param("usage_limits[max_amount]"))?;
    let expires_at = p
        .int_at(&["usage_limits", "expires_at"])?
        .ok_or_else(|| ApiError::missing_param("usage_limits[expires_at]"))?;
    Ok(Done::ok(create_granted_token(
        state, max_amount, currency, expires_at, &test_card, req.now,
    )?))
}

/// `POST /v1/test_helpers/shared_payment/granted_tokens/:id/revoke`.
pub(super) fn revoke_test_helper(
    state: &mut State,
    req: &Request<'_>,
    id: &str,
) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    Ok(Done::ok(deactivate_granted_token(state, id, req.now)?))
}

/// `POST /v1/payment_method_domains` (`domain_name`, `enabled`).
pub(super) fn create_domain(state: &mut State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(&["domain_name", "enabled", "expand"], &[])?;
    let name = p.required_str("domain_name")?.to_ascii_lowercase();
    let valid_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.len() > 253 || !name.contains('.') || !name.split('.').all(valid_label) {
        return Err(ApiError::invalid_param(
            "domain_name",
            format!(
                "Invalid domain_name: '{name}' is not a domain name (give the host only, e.g. shop.example.com)."
            ),
        ));
    }
    if state.domains.iter().any(|d| d.domain_name == name) {
        return Err(ApiError::invalid_param(
            "domain_name",
            format!("A payment method domain with domain_name '{name}' already exists."),
        ));
    }
    let domain = PaymentMethodDomain {
        id: new_id("pmd"),
        created: req.now,
        domain_name: name,
        enabled: p.bool("enabled")?.unwrap_or(true),
    };
    let json = domain.to_json();
    state.domains.push(domain);
    Ok(Done::ok(json))
}

pub(super) fn list_domains(state: &State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "domain_name",
            "enabled",
            "limit",
            "starting_after",
            "ending_before",
            "expand",
        ],
        &[],
    )?;
    let name = p.str("domain_name")?;
    let enabled = p.bool("enabled")?;
    let data = state
        .domains
        .iter()
        .rev()
        .filter(|d| {
            name.is_none_or(|n| d.domain_name == n) && enabled.is_none_or(|e| d.enabled == e)
        })
        .map(PaymentMethodDomain::to_json)
        .collect();
    Ok(Done::ok(list("/v1/payment_method_domains", data)))
}

pub(super) fn retrieve_domain(
    state: &State,
    req: &Request<'_>,
    id: &str,
) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    let d = state
        .domain(id)
        .ok_or_else(|| ApiError::no_such("payment_method_domain", id))?;
    Ok(Done::ok(d.to_json()))
}

/// A dispute on the PaymentIntent's charge, as `charge.dispute.created` (status
/// `needs_response`) or `charge.dispute.closed` (`lost` unless `status` says
/// otherwise) carries it. The same dispute id is reused for one charge.
pub fn dispute_event(
    state: &mut State,
    payment_intent: &str,
    event_type: &str,
    status: Option<&str>,
    now: i64,
) -> Result<Value, ApiError> {
    let intent = state
        .intent(payment_intent)
        .ok_or_else(|| ApiError::no_such("payment_intent", payment_intent))?;
    let charge_id = intent.latest_charge.clone().unwrap_or_default();
    let charge = state
        .charge_mut(&charge_id)
        .filter(|c| c.status == "succeeded" && c.captured)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "PaymentIntent {payment_intent} has no captured charge to dispute."
            ))
        })?;
    charge.disputed = true;
    let (amount, currency) = (charge.amount_captured, charge.currency.clone());
    let default_status = if event_type == "charge.dispute.closed" {
        "lost"
    } else {
        "needs_response"
    };
    let status = status.unwrap_or(default_status).to_string();
    if let Some(d) = state.disputes.iter_mut().find(|d| d.charge == charge_id) {
        d.status = status;
        return Ok(d.to_json());
    }
    let dispute = Dispute {
        id: new_id("du"),
        created: now,
        amount,
        currency,
        charge: charge_id,
        payment_intent: payment_intent.to_string(),
        status,
        reason: "fraudulent".into(),
    };
    let json = dispute.to_json();
    state.disputes.push(dispute);
    Ok(json)
}
