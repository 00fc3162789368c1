//! `/v1/payment_intents`: create (and confirm), retrieve, confirm; and the end of a
//! 3-D Secure challenge (`authenticate`, what Stripe.js's `handleNextAction` does
//! after the shopper's answer). Update, capture and cancel are in `intent_updates`.

use super::charging::{self, Attempt};
use super::payment_methods::resolve_for_intent;
use super::tokens::{self, parse_currency};
use super::{Auth, Done, Request, expand};
use crate::error::ApiError;
use crate::ids::new_id;
use crate::model::{
    CaptureMethod, ConfirmationMethod, PaymentIntent, PaymentIntentStatus, format_amount,
    minimum_charge,
};
use crate::params::Params;
use crate::state::State;

/// Stripe's largest charge, in minor units ($999,999.99).
const AMOUNT_MAX: i64 = 99_999_999;
/// From this API version on, `automatic_payment_methods` is on unless
/// `payment_method_types` is given (Stripe changelog 2023-08-16).
const AUTOMATIC_PAYMENT_METHODS_DEFAULT_SINCE: &str = "2023-08-16";
const SPT_PARAM: &str = "payment_method_data[shared_payment_granted_token]";
const PAYMENT_METHOD_DATA_FIELDS: &[&str] = &[
    "type",
    "shared_payment_granted_token",
    "billing_details",
    "metadata",
];

const RETURN_URL_NEEDED: &str = "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.";

pub(super) fn find<'s>(state: &'s State, id: &str) -> Result<&'s PaymentIntent, ApiError> {
    state
        .intent(id)
        .ok_or_else(|| ApiError::no_such("payment_intent", id))
}

pub(super) fn find_mut<'s>(
    state: &'s mut State,
    id: &str,
) -> Result<&'s mut PaymentIntent, ApiError> {
    state
        .intent_mut(id)
        .ok_or_else(|| ApiError::no_such("payment_intent", id))
}

pub(super) fn amount(p: &Params, currency: &str) -> Result<i64, ApiError> {
    let amount = p
        .int("amount")?
        .ok_or_else(|| ApiError::missing_param("amount"))?;
    let min = minimum_charge(currency);
    if amount < min {
        return Err(ApiError::invalid_param(
            "amount",
            format!("Amount must be at least {}", format_amount(min, currency)),
        )
        .code("amount_too_small"));
    }
    if amount > AMOUNT_MAX {
        return Err(ApiError::invalid_param(
            "amount",
            format!(
                "Amount must be no more than {}",
                format_amount(AMOUNT_MAX, currency)
            ),
        )
        .code("amount_too_large"));
    }
    Ok(amount)
}

/// `off_session`: `true`/`false`, or Stripe's `one_off`/`recurring` (both mean true).
fn off_session(p: &Params) -> Result<Option<bool>, ApiError> {
    match p.str("off_session")? {
        None => Ok(None),
        Some("true" | "one_off" | "recurring") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::invalid_param(
            "off_session",
            format!("Invalid boolean: {v}"),
        )),
    }
}

/// The token in `payment_method_data[shared_payment_granted_token]` (or the
/// top-level `shared_payment_granted_token` Stripe's guide also shows).
fn granted_token(p: &Params) -> Result<Option<String>, ApiError> {
    if let Some(kind) = p.str_at(&["payment_method_data", "type"])?
        && kind != "card"
    {
        return Err(ApiError::invalid_param(
            "payment_method_data[type]",
            format!("Invalid payment_method_data[type]: this fake accepts only card, not {kind}."),
        ));
    }
    let nested = p.str_at(&["payment_method_data", "shared_payment_granted_token"])?;
    let top = p.str("shared_payment_granted_token")?;
    if p.node(&["payment_method_data"]).is_some() && nested.is_none() {
        return Err(ApiError::missing_param(SPT_PARAM));
    }
    Ok(nested.or(top).map(str::to_string))
}

/// Resolves the payment method a confirmation will use (new `payment_method`, a
/// granted token, or the one already set), and sets it on the intent.
fn take_payment_method(
    state: &mut State,
    pi_id: &str,
    p: &Params,
    now: i64,
) -> Result<(), ApiError> {
    let (customer, amount, currency) = {
        let pi = find(state, pi_id)?;
        (pi.customer.clone(), pi.amount, pi.currency.clone())
    };
    let token = granted_token(p)?;
    if token.is_some() && p.str("payment_method")?.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: payment_method, payment_method_data.",
        ));
    }
    if let Some(token) = token {
        tokens::check_usable(state, &token, amount, &currency, now, SPT_PARAM)?;
        let pm = tokens::clone_payment_method(state, &token, now)?;
        let pi = find_mut(state, pi_id)?;
        pi.payment_method = Some(pm);
        pi.granted_token = Some(token);
        pi.authenticated = false;
    } else if let Some(pm) = p.str("payment_method")? {
        let pm = resolve_for_intent(state, pm, customer.as_deref(), now)?;
        let pi = find_mut(state, pi_id)?;
        if pi.payment_method.as_deref() != Some(pm.as_str()) {
            pi.authenticated = false;
        }
        pi.payment_method = Some(pm);
        pi.granted_token = None;
    } else if let Some(token) = find(state, pi_id)?.granted_token.clone() {
        // Confirming again later: the token's limits are checked again, now.
        tokens::check_usable(state, &token, amount, &currency, now, SPT_PARAM)?;
    }
    if find(state, pi_id)?.payment_method.is_none() {
        return Err(ApiError::unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        ));
    }
    Ok(())
}

/// `POST /v1/payment_intents`.
pub(super) fn create(state: &mut State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "amount",
            "currency",
            "payment_method",
            "confirm",
            "capture_method",
            "confirmation_method",
            "metadata",
            "customer",
            "setup_future_usage",
            "off_session",
            "payment_method_data",
            "shared_payment_granted_token",
            "automatic_payment_methods",
            "payment_method_types",
            "return_url",
            "description",
            "receipt_email",
            "statement_descriptor",
            "error_on_requires_action",
            "expand",
        ],
        &[
            ("payment_method_data", PAYMENT_METHOD_DATA_FIELDS),
            ("automatic_payment_methods", &["enabled", "allow_redirects"]),
        ],
    )?;
    let currency = parse_currency(p.required_str("currency")?, "currency")?;
    let amount = amount(p, &currency)?;
    let confirm = p.bool("confirm")?.unwrap_or(false);
    let capture_method = p
        .str("capture_method")?
        .map_or(Some(CaptureMethod::Automatic), CaptureMethod::parse)
        .ok_or_else(|| {
            ApiError::invalid_param(
                "capture_method",
                "Invalid capture_method: must be one of automatic, automatic_async, manual",
            )
        })?;
    let confirmation_method = match p.enum_str("confirmation_method", &["automatic", "manual"])? {
        Some("manual") => ConfirmationMethod::Manual,
        _ => ConfirmationMethod::Automatic,
    };
    let setup_future_usage = p
        .enum_str("setup_future_usage", &["on_session", "off_session"])?
        .map(str::to_string);
    let off_session = off_session(p)?;
    if off_session.is_some() && !confirm {
        return Err(ApiError::invalid_param(
            "off_session",
            "You may only specify `off_session` when `confirm` is true.",
        ));
    }
    let return_url = p.str("return_url")?.map(str::to_string);
    if return_url.is_some() && !confirm {
        return Err(ApiError::invalid_param(
            "return_url",
            "You may only specify `return_url` when `confirm` is true.",
        ));
    }
    let customer = p.str("customer")?.map(str::to_string);
    if let Some(c) = &customer
        && state.customer(c).is_none()
    {
        return Err(ApiError::no_such_param("customer", c, "customer"));
    }
    let types: Vec<String> = match p.node(&["payment_method_types"]) {
        None => Vec::new(),
        Some(_) => {
            let mut t = Vec::new();
            for v in list_values(p, "payment_method_types") {
                if v != "card" {
                    return Err(ApiError::invalid_param(
                        "payment_method_types",
                        format!(
                            "The payment method type \"{v}\" is invalid: this fake takes only card."
                        ),
                    ));
                }
                t.push(v);
            }
            t
        }
    };
    let apm_enabled = p.bool_at(&["automatic_payment_methods", "enabled"])?;
    if apm_enabled == Some(true) && !types.is_empty() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
        ));
    }
    let redirects = match p.str_at(&["automatic_payment_methods", "allow_redirects"])? {
        None => "always".to_string(),
        Some(v @ ("always" | "never")) => v.to_string(),
        Some(v) => {
            return Err(ApiError::invalid_param(
                "automatic_payment_methods[allow_redirects]",
                format!(
                    "Invalid automatic_payment_methods[allow_redirects]: must be one of always, never (not {v})"
                ),
            ));
        }
    };
    let apm = match apm_enabled {
        Some(true) => Some(redirects),
        Some(false) => None,
        None if types.is_empty() && req.api_version >= AUTOMATIC_PAYMENT_METHODS_DEFAULT_SINCE => {
            Some(redirects)
        }
        None => None,
    };
    // Off-session payments and shared payment tokens cannot redirect a shopper, and
    // Stripe's own examples for them send no return_url.
    let may_redirect = !off_session.unwrap_or(false) && granted_token(p)?.is_none();
    if confirm && may_redirect && apm.as_deref() == Some("always") && return_url.is_none() {
        return Err(ApiError::invalid_param("return_url", RETURN_URL_NEEDED));
    }
    if confirm && p.str("payment_method")?.is_none() && granted_token(p)?.is_none() {
        return Err(ApiError::unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent, pass a payment_method (or payment_method_data) along with confirm=true.",
        ));
    }
    let metadata = p
        .metadata()?
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();

    let id = new_id("pi");
    let pi = PaymentIntent {
        client_secret: format!("{id}_secret_{}", new_id("s").trim_start_matches("s_")),
        id: id.clone(),
        created: req.now,
        amount,
        currency,
        status: PaymentIntentStatus::RequiresPaymentMethod,
        capture_method,
        confirmation_method,
        customer,
        description: p.str("description")?.map(str::to_string),
        metadata,
        payment_method: None,
        setup_future_usage,
        automatic_payment_methods: apm.clone(),
        payment_method_types: if types.is_empty() {
            vec!["card".to_string()]
        } else {
            types
        },
        receipt_email: p.str("receipt_email")?.map(str::to_string),
        statement_descriptor: p.str("statement_descriptor")?.map(str::to_string),
        return_url,
        last_payment_error: None,
        next_action: None,
        latest_charge: None,
        amount_capturable: 0,
        amount_received: 0,
        canceled_at: None,
        cancellation_reason: None,
        idempotency_keys: Vec::new(),
        authenticated: false,
        granted_token: None,
    };
    state.payment_intents.push(pi);
    // Everything below may still refuse (a used PaymentMethod, an expired token):
    // then the intent is not kept, as nothing was created on Stripe's side either.
    let taken = if p.str("payment_method")?.is_some() || granted_token(p)?.is_some() {
        take_payment_method(state, &id, p, req.now)
    } else {
        Ok(())
    };
    if let Err(e) = taken {
        state.payment_intents.retain(|pi| pi.id != id);
        return Err(e);
    }
    let pi = find_mut(state, &id)?;
    if pi.payment_method.is_some() {
        pi.status = PaymentIntentStatus::RequiresConfirmation;
    }
    let created = pi.to_json();
    let mut done = if confirm {
        let attempt = Attempt {
            off_session: off_session.unwrap_or(false),
            error_on_requires_action: p.bool("error_on_requires_action")?.unwrap_or(false),
        };
        charging::confirm_payment(state, &id, attempt, req.now)?
    } else {
        Done::ok(created.clone()).about(&id)
    };
    done.events
        .insert(0, ("payment_intent.created".into(), created));
    finish(state, done, &p.expand())
}

/// Expands the body of a 200 (a 402 carries its intent unexpanded, as Stripe's does).
pub(super) fn finish(state: &State, mut done: Done, paths: &[String]) -> Result<Done, ApiError> {
    if done.status == 200 && !paths.is_empty() {
        done.body = expand(state, done.body, paths)?;
    }
    Ok(done)
}

fn list_values(p: &Params, name: &str) -> Vec<String> {
    use crate::params::Node;
    match p.node(&[name]) {
        Some(Node::List(items)) => items
            .iter()
            .filter_map(|n| {
                if let Node::Value(v) = n {
                    Some(v.clone())
                } else {
                    None
                }
            })
            .collect(),
        Some(Node::Map(m)) => m
            .values()
            .filter_map(|n| {
                if let Node::Value(v) = n {
                    Some(v.clone())
                } else {
                    None
                }
            })
            .collect(),
        Some(Node::Value(v)) if !v.is_empty() => vec![v.clone()],
        _ => Vec::new(),
    }
}

/// `GET /v1/payment_intents/:id`; with the publishable key, `client_secret` must match
/// and private fields (metadata, customer) are left out.
pub(super) fn retrieve(state: &State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(&["expand", "client_secret"], &[])?;
    let pi = find(state, id)?;
    if let Auth::Publishable(_) = req.auth {
        let secret = p
            .str("client_secret")?
            .ok_or_else(|| ApiError::missing_param("client_secret"))?;
        if secret != pi.client_secret {
            return Err(ApiError::invalid_param(
                "client_secret",
                "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
            ));
        }
        return Ok(Done::ok(pi.to_client_json()));
    }
    Ok(Done::ok(expand(state, pi.to_json(), &p.expand())?))
}

/// `POST /v1/payment_intents/:id/confirm`.
pub(super) fn confirm(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(
        &[
            "payment_method",
            "payment_method_data",
            "shared_payment_granted_token",
            "off_session",
            "return_url",
            "setup_future_usage",
            "capture_method",
            "receipt_email",
            "error_on_requires_action",
            "expand",
        ],
        &[("payment_method_data", PAYMENT_METHOD_DATA_FIELDS)],
    )?;
    let pi = find(state, id)?;
    match pi.status {
        PaymentIntentStatus::Succeeded => {
            return Err(ApiError::unexpected_state(
                "You cannot confirm this PaymentIntent because it has already succeeded after being previously confirmed.",
            ));
        }
        s if !s.confirmable() => {
            return Err(ApiError::unexpected_state(format!(
                "You cannot confirm this PaymentIntent because it has a status of {s}. Only a PaymentIntent with one of the following statuses may be confirmed: requires_confirmation, requires_action, requires_payment_method."
            )));
        }
        _ => {}
    }
    let return_url = p
        .str("return_url")?
        .map(str::to_string)
        .or_else(|| pi.return_url.clone());
    let may_redirect = !off_session(p)?.unwrap_or(false)
        && granted_token(p)?.is_none()
        && pi.granted_token.is_none();
    if may_redirect
        && pi.automatic_payment_methods.as_deref() == Some("always")
        && return_url.is_none()
    {
        return Err(ApiError::invalid_param("return_url", RETURN_URL_NEEDED));
    }
    let setup_future_usage = p
        .enum_str("setup_future_usage", &["on_session", "off_session"])?
        .map(str::to_string);
    let capture_method = match p.str("capture_method")? {
        None => None,
        Some(c) => Some(CaptureMethod::parse(c).ok_or_else(|| {
            ApiError::invalid_param(
                "capture_method",
                "Invalid capture_method: must be one of automatic, automatic_async, manual",
            )
        })?),
    };
    let attempt = Attempt {
        off_session: off_session(p)?.unwrap_or(false),
        error_on_requires_action: p.bool("error_on_requires_action")?.unwrap_or(false),
    };
    take_payment_method(state, id, p, req.now)?;
    let pi = find_mut(state, id)?;
    pi.return_url = return_url;
    if setup_future_usage.is_some() {
        pi.setup_future_usage = setup_future_usage;
    }
    if let Some(c) = capture_method {
        pi.capture_method = c;
    }
    let done = charging::confirm_payment(state, id, attempt, req.now)?;
    finish(state, done, &p.expand())
}

/// The shopper answered the 3-D Secure challenge of `id`. Success completes the
/// payment when `confirmation_method` is `automatic` (Stripe's default: the server
/// confirms nothing more); with `manual` the intent waits in
/// `requires_confirmation` for the server's confirm. Failure sends the intent back
/// to `requires_payment_method` with `payment_intent_authentication_failure`.
pub fn authenticate(
    state: &mut State,
    id: &str,
    success: bool,
    client_secret: Option<&str>,
    now: i64,
) -> Result<Done, ApiError> {
    let pi = find(state, id)?;
    if let Some(secret) = client_secret
        && secret != pi.client_secret
    {
        return Err(ApiError::invalid_param(
            "client_secret",
            "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
        ));
    }
    if pi.status != PaymentIntentStatus::RequiresAction {
        return Err(ApiError::unexpected_state(format!(
            "PaymentIntent {id} has a status of {}, not requires_action: there is no 3-D Secure challenge to answer.",
            pi.status
        )));
    }
    if !success {
        return charging::authentication_failed(state, id);
    }
    let manual = pi.confirmation_method == ConfirmationMethod::Manual;
    let pi = find_mut(state, id)?;
    pi.authenticated = true;
    pi.next_action = None;
    if manual {
        pi.status = PaymentIntentStatus::RequiresConfirmation;
        return Ok(Done::ok(pi.to_json()).about(id));
    }
    charging::succeed(state, id, now)
}
