//! Payment handlers and instruments. A UCP door offers the handler of the
//! merchant's own provider (the sandbox's cards, or Stripe's tokens); the
//! conformance mode adds the suite's handlers, which all map onto the sandbox.
//! Whatever the handler, a completion pays through `CheckoutService::complete`
//! with the provider's own handler and a token it takes: one payment path.

use super::version::UcpVersion;
use crate::error::{ApiError, ErrorCode};
use anycart_checkout::PaymentInput;
use anycart_checkout::payment_providers::LiveProvider;
use anycart_core::{MerchantId, SessionId};
use anycart_store::PaymentProviderSettings;
use serde_json::{Value, json};

/// Longest token accepted.
pub const TOKEN_LEN_MAX: usize = 255;

/// One payment handler a door offers.
#[derive(Clone, Debug)]
pub struct Handler {
    pub id: String,
    /// Reverse-domain name (`com.google.pay`).
    pub name: String,
    pub spec: String,
    pub config_schema: String,
    pub instrument_schemas: Vec<String>,
    pub config: Value,
    /// Tokens of this handler go through the conformance mode's test map.
    pub test_tokens: bool,
}

/// The card instrument schema of UCP.
const CARD_INSTRUMENT: &str = "https://ucp.dev/schemas/shopping/types/card_payment_instrument.json";

/// The handlers a merchant on `provider` offers (plus the test ones in the
/// conformance mode, on the sandbox only: they map onto it).
pub fn handlers(
    provider: &LiveProvider,
    base_url: &str,
    merchant: MerchantId,
    test_mode: bool,
) -> Vec<Handler> {
    let docs = format!("{base_url}/manual/ucp.html#payment-handlers-and-instruments");
    let mut out = vec![match &*provider.settings {
        PaymentProviderSettings::Sandbox(_) => Handler {
            id: provider.handler_id().to_string(),
            name: "dev.anycart.sandbox".into(),
            spec: docs.clone(),
            config_schema: docs.clone(),
            instrument_schemas: vec![CARD_INSTRUMENT.into()],
            config: json!({
                "test_mode": true,
                "tokens": ["tok_visa", "tok_chargeDeclined", "tok_chargeDeclinedInsufficientFunds", "tok_threeDSecure2Required"],
                "test_card_numbers": true,
            }),
            test_tokens: false,
        },
        PaymentProviderSettings::Stripe(s) => Handler {
            id: provider.handler_id().to_string(),
            name: "com.stripe".into(),
            spec: docs.clone(),
            config_schema: docs.clone(),
            instrument_schemas: vec![CARD_INSTRUMENT.into()],
            config: json!({
                "psp": "stripe",
                "merchant_id": s.account_id,
                "publishable_key": s.publishable_key,
                "environment": if s.livemode() { "production" } else { "test" },
                "credentials": ["spt", "pm"],
            }),
            test_tokens: false,
        },
    }];
    let on_sandbox = matches!(&*provider.settings, PaymentProviderSettings::Sandbox(_));
    if test_mode && on_sandbox {
        out.extend(test_handlers(&docs, merchant));
    }
    out
}

/// A handler as a 2026-01-11 profile or checkout lists it.
pub fn handler_wire(h: &Handler, version: UcpVersion) -> Value {
    json!({
        "id": h.id,
        "name": h.name,
        "version": version.as_str(),
        "spec": h.spec,
        "config_schema": h.config_schema,
        "instrument_schemas": h.instrument_schemas,
        "config": h.config,
    })
}

/// Handlers as 2026-04-08 lists them: by name, each with its id and version.
pub fn handlers_by_name(handlers: &[Handler], with_spec: bool) -> Value {
    let mut map = serde_json::Map::new();
    for h in handlers {
        let mut entry = json!({
            "id": h.id,
            "version": UcpVersion::V2026_04_08.as_str(),
            "available_instruments": [{"type": "card"}],
            "config": h.config,
        });
        if with_spec {
            entry["spec"] = json!(h.spec);
            entry["schema"] = json!(h.config_schema);
        }
        match map.get_mut(&h.name).and_then(Value::as_array_mut) {
            Some(list) => list.push(entry),
            None => {
                map.insert(h.name.clone(), json!([entry]));
            }
        }
    }
    Value::Object(map)
}

/// The instrument a complete request pays with: `payment_data` (2026-01-11),
/// or the selected instrument of `payment.instruments` (2026-04-08).
pub fn chosen_instrument(
    req: &super::wire::CompleteRequest,
) -> Result<(&super::wire::Instrument, &'static str), ApiError> {
    if let Some(i) = &req.payment_data {
        return Ok((i, "$.payment_data"));
    }
    let missing = || {
        ApiError::new(
            ErrorCode::Missing,
            "A payment instrument is required (payment_data, or payment.instruments).",
        )
        .with_param("$.payment_data")
    };
    let payment = req.payment.as_ref().ok_or_else(missing)?;
    let chosen = payment
        .instruments
        .iter()
        .find(|i| i.selected == Some(true))
        .or_else(|| {
            payment.selected_instrument_id.as_deref().and_then(|id| {
                payment
                    .instruments
                    .iter()
                    .find(|i| i.id.as_deref() == Some(id))
            })
        })
        .or_else(|| payment.instruments.first())
        .ok_or_else(missing)?;
    Ok((chosen, "$.payment.instruments"))
}

/// Turns the chosen instrument into what the checkout service pays with: the
/// provider's handler and a token it takes. A token credential is used as is
/// (test handlers' tokens through the test map); a card credential (a raw card
/// number) only on the sandbox, through its tokeniser, which neither stores nor
/// logs the number. A credential bound to another checkout is refused.
pub fn payment_input(
    instrument: &super::wire::Instrument,
    param: &str,
    handlers: &[Handler],
    provider: &LiveProvider,
    session: SessionId,
) -> Result<PaymentInput, ApiError> {
    let handler = handlers
        .iter()
        .find(|h| h.id == instrument.handler_id)
        .ok_or_else(|| {
            let offered: Vec<&str> = handlers.iter().map(|h| h.id.as_str()).collect();
            ApiError::new(
                ErrorCode::InvalidPaymentHandler,
                format!(
                    "Unknown payment handler; this business offers {}.",
                    offered.join(", ")
                ),
            )
            .with_param(format!("{param}.handler_id"))
        })?;
    let credential = instrument.credential.as_ref().ok_or_else(|| {
        ApiError::new(ErrorCode::Missing, "The instrument has no credential.")
            .with_param(format!("{param}.credential"))
    })?;
    let cred_param = format!("{param}.credential");
    if let Some(bound) = credential
        .pointer("/binding/checkout_id")
        .and_then(Value::as_str)
        && bound != session.to_string()
    {
        return Err(ApiError::new(
            ErrorCode::InvalidPaymentToken,
            "This credential is bound to another checkout.",
        )
        .with_param(format!("{cred_param}.binding.checkout_id")));
    }
    let kind = credential.get("type").and_then(Value::as_str).unwrap_or("");
    let token = if kind == "card" || credential.get("number").is_some() {
        card_token(credential, provider, &cred_param)?
    } else {
        let raw = credential
            .get("token")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= TOKEN_LEN_MAX)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidPaymentToken,
                    "The credential token is not valid.",
                )
                .with_param(format!("{cred_param}.token"))
            })?;
        if handler.test_tokens {
            sandbox_token(raw).to_string()
        } else {
            raw.to_string()
        }
    };
    Ok(PaymentInput {
        handler_id: provider.handler_id().to_string(),
        token,
        buyer: None,
        authenticated: None,
        // An agent's server pays for its user: no shopper client to throttle.
        client: None,
    })
}

/// A raw card through the sandbox's tokeniser (test cards only).
fn card_token(
    credential: &Value,
    provider: &LiveProvider,
    param: &str,
) -> Result<String, ApiError> {
    if !matches!(&*provider.settings, PaymentProviderSettings::Sandbox(_)) {
        return Err(ApiError::new(
            ErrorCode::InvalidCard,
            "Card numbers are not accepted here; present a token from the payment handler.",
        )
        .with_param(param.to_string()));
    }
    let number = credential
        .get("number")
        .and_then(Value::as_str)
        .unwrap_or_default();
    anycart_payments::sandbox::tokenize_card(number)
        .map(str::to_string)
        .map_err(|e| {
            ApiError::new(ErrorCode::InvalidCard, e.to_string())
                .with_param(format!("{param}.number"))
        })
}

/// The conformance suite's handlers (conformance mode only), all paid through
/// the sandbox.
fn test_handlers(docs: &str, merchant: MerchantId) -> Vec<Handler> {
    let handler = |id: &str, name: &str, config: serde_json::Value| Handler {
        id: id.into(),
        name: name.into(),
        spec: docs.to_string(),
        config_schema: docs.to_string(),
        instrument_schemas: vec![
            "https://ucp.dev/schemas/shopping/types/card_payment_instrument.json".into(),
        ],
        config,
        test_tokens: true,
    };
    vec![
        handler(
            "mock_payment_handler",
            "dev.anycart.mock_payment_handler",
            json!({"test_mode": true, "tokens": {"success_token": "authorised", "fail_token": "declined"}}),
        ),
        handler(
            "google_pay",
            "com.google.pay",
            json!({"test_mode": true, "api_version": 2, "api_version_minor": 0, "merchant_info": {"merchant_id": merchant.to_string()}}),
        ),
        handler(
            "shop_pay",
            "com.shopify.shop_pay",
            json!({"test_mode": true, "shop_id": merchant.to_string()}),
        ),
    ]
}

/// The sandbox token behind a test handler's token: `success_token` is a card
/// that pays, `fail_token` one that is declined; anything else is passed on
/// (sandbox tokens such as `tok_visa` work too).
fn sandbox_token(token: &str) -> &str {
    match token {
        "success_token" => "tok_visa",
        "fail_token" => "tok_chargeDeclinedInsufficientFunds",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_tokens_map_onto_sandbox_outcomes() {
        assert_eq!(sandbox_token("success_token"), "tok_visa");
        assert_eq!(
            sandbox_token("fail_token"),
            "tok_chargeDeclinedInsufficientFunds"
        );
        assert_eq!(sandbox_token("tok_visa"), "tok_visa");
    }
}
