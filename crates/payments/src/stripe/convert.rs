//! Pure mapping between Stripe's answers and anycart's payment outcomes, and the
//! form parameters of a charge.

use super::wire::{PaymentIntent, StripeError};
use crate::{AuthorizeOutcome, AuthorizeRequest, DeclineReason, FutureUse, PaymentError};

/// The form parameters that create and confirm a PaymentIntent for `request`
/// (bracket notation, as Stripe's API takes them).
pub fn payment_intent_params(request: &AuthorizeRequest) -> Vec<(String, String)> {
    let mut params = vec![
        ("amount".into(), request.amount.amount_minor.to_string()),
        ("currency".into(), request.amount.currency.code_lower()),
        ("confirm".into(), "true".into()),
        (
            "capture_method".into(),
            if request.capture {
                "automatic"
            } else {
                "manual"
            }
            .into(),
        ),
        // Cards confirm server-side; 3-D Secure comes back as `requires_action` for
        // the widget's Stripe.js, never as a redirect.
        ("automatic_payment_methods[enabled]".into(), "true".into()),
        (
            "automatic_payment_methods[allow_redirects]".into(),
            "never".into(),
        ),
        ("expand[]".into(), "payment_method".into()),
    ];
    if request.token.starts_with("spt_") {
        params.push(("payment_method_data[type]".into(), "card".into()));
        params.push((
            "payment_method_data[shared_payment_granted_token]".into(),
            request.token.clone(),
        ));
    } else {
        params.push(("payment_method".into(), request.token.clone()));
    }
    match &request.future_use {
        FutureUse::None => {}
        FutureUse::Save { customer } => {
            params.push(("customer".into(), customer.clone()));
            params.push(("setup_future_usage".into(), "off_session".into()));
        }
        FutureUse::SavedCard { customer } => {
            params.push(("customer".into(), customer.clone()));
            params.push(("off_session".into(), "true".into()));
        }
    }
    for (k, v) in &request.metadata {
        params.push((format!("metadata[{k}]"), v.clone()));
    }
    params
}

/// What a PaymentIntent's status means for the checkout.
pub fn outcome_of(pi: &PaymentIntent) -> Result<AuthorizeOutcome, PaymentError> {
    match pi.status.as_str() {
        "succeeded" => Ok(AuthorizeOutcome::Authorized {
            reference: pi.id.clone(),
            card_last4: pi.card_last4(),
            captured: true,
        }),
        // Authorised, to be captured later (capture on fulfilment). `processing`
        // only happens for asynchronous methods: the webhook settles them.
        "requires_capture" | "processing" => Ok(AuthorizeOutcome::Authorized {
            reference: pi.id.clone(),
            card_last4: pi.card_last4(),
            captured: false,
        }),
        "requires_action" => Ok(AuthorizeOutcome::RequiresAuthentication {
            reference: pi.id.clone(),
            client_secret: pi.client_secret.clone(),
        }),
        "requires_payment_method" | "canceled" => Ok(AuthorizeOutcome::Declined {
            reference: pi.id.clone(),
            reason: pi
                .last_payment_error
                .as_ref()
                .map_or(DeclineReason::Generic, decline_reason),
        }),
        other => Err(PaymentError::Unavailable(format!(
            "unexpected PaymentIntent status {other}"
        ))),
    }
}

/// The shopper-facing reason of a card error.
pub fn decline_reason(e: &StripeError) -> DeclineReason {
    match (e.decline_code.as_deref(), e.code.as_deref()) {
        (Some("insufficient_funds"), _) => DeclineReason::InsufficientFunds,
        (_, Some("authentication_required"))
        | (Some("authentication_required"), _)
        | (_, Some("payment_intent_authentication_failure")) => DeclineReason::AuthenticationFailed,
        _ => DeclineReason::Generic,
    }
}

/// What an error answer means: a decline (with the PaymentIntent it left), a bad
/// token, or a failure worth retrying with the same idempotency key.
pub fn error_outcome(status: u16, e: &StripeError) -> Result<AuthorizeOutcome, PaymentError> {
    match (status, e.kind.as_str()) {
        (402, "card_error") | (_, "card_error") => Ok(AuthorizeOutcome::Declined {
            reference: e
                .payment_intent
                .as_ref()
                .map(|pi| pi.id.clone())
                .unwrap_or_default(),
            reason: decline_reason(e),
        }),
        (400 | 404, "invalid_request_error")
            if matches!(
                e.param.as_deref(),
                Some("payment_method" | "payment_method_data[shared_payment_granted_token]")
            ) || e.code.as_deref() == Some("resource_missing") =>
        {
            Err(PaymentError::InvalidToken)
        }
        _ => Err(PaymentError::Unavailable(format!(
            "stripe {status} {}: {}",
            e.kind,
            e.message.as_deref().unwrap_or("")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_core::{Currency, Money};

    fn pi(status: &str) -> PaymentIntent {
        serde_json::from_value(serde_json::json!({
            "id": "pi_1", "status": status, "amount": 1000, "currency": "usd",
            "payment_method": {"id": "pm_1", "card": {"brand": "visa", "last4": "4242"}}
        }))
        .unwrap()
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert!(matches!(
            outcome_of(&pi("succeeded")),
            Ok(AuthorizeOutcome::Authorized { captured: true, card_last4: Some(ref l), .. }) if l == "4242"
        ));
        assert!(matches!(
            outcome_of(&pi("requires_capture")),
            Ok(AuthorizeOutcome::Authorized {
                captured: false,
                ..
            })
        ));
        assert!(matches!(
            outcome_of(&pi("requires_action")),
            Ok(AuthorizeOutcome::RequiresAuthentication { .. })
        ));
        assert!(matches!(
            outcome_of(&pi("requires_payment_method")),
            Ok(AuthorizeOutcome::Declined { .. })
        ));
    }

    #[test]
    fn card_errors_are_declines_and_other_errors_are_retryable() {
        let e: StripeError = serde_json::from_value(serde_json::json!({
            "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
            "payment_intent": {"id": "pi_9", "status": "requires_payment_method", "amount": 5, "currency": "usd"}
        }))
        .unwrap();
        assert_eq!(
            error_outcome(402, &e),
            Ok(AuthorizeOutcome::Declined {
                reference: "pi_9".into(),
                reason: DeclineReason::InsufficientFunds
            })
        );
        let missing: StripeError = serde_json::from_value(serde_json::json!({
            "type": "invalid_request_error", "code": "resource_missing", "param": "payment_method"
        }))
        .unwrap();
        assert_eq!(
            error_outcome(400, &missing),
            Err(PaymentError::InvalidToken)
        );
        let api: StripeError =
            serde_json::from_value(serde_json::json!({"type": "api_error"})).unwrap();
        assert!(matches!(
            error_outcome(500, &api),
            Err(PaymentError::Unavailable(_))
        ));
    }

    #[test]
    fn charges_carry_metadata_and_the_right_credential_field() {
        let request = AuthorizeRequest {
            amount: Money::new(1234, Currency::parse("eur").unwrap()).unwrap(),
            token: "spt_abc".into(),
            idempotency_key: "k".into(),
            capture: false,
            metadata: vec![("anycart_order_id".into(), "ord_1".into())],
            future_use: FutureUse::None,
        };
        let params = payment_intent_params(&request);
        let get = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
        assert_eq!(get("amount"), Some("1234"));
        assert_eq!(get("currency"), Some("eur"));
        assert_eq!(get("capture_method"), Some("manual"));
        assert_eq!(
            get("payment_method_data[shared_payment_granted_token]"),
            Some("spt_abc")
        );
        assert_eq!(get("payment_method"), None);
        assert_eq!(get("metadata[anycart_order_id]"), Some("ord_1"));
    }

    #[test]
    fn saved_cards_are_set_up_on_the_customer_and_charged_off_session() {
        let mut request = AuthorizeRequest {
            amount: Money::new(500, Currency::parse("usd").unwrap()).unwrap(),
            token: "pm_1".into(),
            idempotency_key: "k".into(),
            capture: true,
            metadata: vec![],
            future_use: FutureUse::Save {
                customer: "cus_1".into(),
            },
        };
        let params = payment_intent_params(&request);
        let get = |params: &[(String, String)], k: &str| {
            params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone())
        };
        assert_eq!(get(&params, "customer").as_deref(), Some("cus_1"));
        assert_eq!(
            get(&params, "setup_future_usage").as_deref(),
            Some("off_session")
        );
        assert_eq!(get(&params, "off_session"), None);
        request.future_use = FutureUse::SavedCard {
            customer: "cus_1".into(),
        };
        let params = payment_intent_params(&request);
        assert_eq!(get(&params, "off_session").as_deref(), Some("true"));
        assert_eq!(get(&params, "setup_future_usage"), None);
        assert_eq!(get(&params, "payment_method").as_deref(), Some("pm_1"));
    }
}
