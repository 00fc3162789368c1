//! PaymentMethods: created by Stripe.js from typed test numbers, retrieved,
//! attached to and detached from Customers; and how a PaymentIntent's
//! `payment_method` parameter is resolved (magic test ids make a fresh `pm_…`).

use super::{Auth, Done, Request, expand, list};
use crate::cards::{self, Behaviour, NumberProblem, TestCard};
use crate::error::ApiError;
use crate::ids::{new_id, year_month};
use crate::model::{CardDetails, PaymentMethod, empty_billing_details};
use crate::params::{Node, Params};
use crate::state::State;
use serde_json::Value;
use std::collections::BTreeMap;

const WALLETS: &[&str] = &["apple_pay", "google_pay"];

/// Stores a new PaymentMethod for a test card and returns its id.
pub(super) fn insert_for_card(
    state: &mut State,
    card: &TestCard,
    now: i64,
    expiry: Option<(i64, i64)>,
    wallet: Option<String>,
    billing_details: Value,
) -> String {
    let (year, month) = year_month(now);
    let (exp_month, exp_year) = expiry.unwrap_or((month, year + 1));
    let pm = PaymentMethod {
        id: new_id("pm"),
        created: now,
        test_card: card.name.to_string(),
        card: CardDetails::for_test_card(card, exp_month, exp_year, wallet),
        billing_details,
        customer: None,
        metadata: BTreeMap::new(),
        consumed: false,
        set_up: false,
    };
    let id = pm.id.clone();
    state.payment_methods.push(pm);
    id
}

/// The PaymentMethod a PaymentIntent will use for `id` (its `payment_method`
/// parameter): a magic test id gives a fresh PaymentMethod, as on Stripe; a stored
/// one must still be usable and belong to the intent's customer, if it has one.
pub(super) fn resolve_for_intent(
    state: &mut State,
    id: &str,
    customer: Option<&str>,
    now: i64,
) -> Result<String, ApiError> {
    if let Some(card) = cards::by_name(id) {
        return Ok(insert_for_card(
            state,
            card,
            now,
            None,
            None,
            empty_billing_details(),
        ));
    }
    let pm = state
        .payment_method(id)
        .ok_or_else(|| ApiError::no_such_param("payment_method", id, "payment_method"))?;
    if pm.consumed {
        return Err(ApiError::invalid_param(
            "payment_method",
            "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it to a Customer first.",
        ));
    }
    match (&pm.customer, customer) {
        (Some(owner), None) => Err(ApiError::invalid_param(
            "payment_method",
            format!(
                "The provided PaymentMethod is attached to a Customer. To use it, also pass that Customer ({owner}) in the customer parameter."
            ),
        )),
        (Some(owner), Some(c)) if owner != c => Err(ApiError::invalid_param(
            "payment_method",
            format!("The provided PaymentMethod ({id}) does not belong to the Customer {c}."),
        )),
        _ => Ok(id.to_string()),
    }
}

/// Attaches a stored PaymentMethod to a customer; true if it was not attached yet.
pub(super) fn attach_to(state: &mut State, pm_id: &str, customer: &str) -> bool {
    match state.payment_method_mut(pm_id) {
        Some(pm) if pm.customer.as_deref() != Some(customer) => {
            pm.customer = Some(customer.to_string());
            true
        }
        _ => false,
    }
}

/// `POST /v1/payment_methods`: what Stripe.js sends with the publishable key
/// (`type=card&card[number]=…&card[exp_month]=…&card[exp_year]=…&card[cvc]=…`).
pub(super) fn create(state: &mut State, req: &Request<'_>) -> Result<Done, ApiError> {
    let p = req.params;
    let publishable = matches!(req.auth, Auth::Publishable(_));
    // `fake_wallet` is this fake's own: how the Stripe.js stand-in marks a wallet card.
    let mut allowed = vec![
        "type",
        "card",
        "billing_details",
        "metadata",
        "expand",
        "payment_user_agent",
        "allow_redisplay",
    ];
    if publishable {
        allowed.push("fake_wallet");
    }
    p.check_allowed(
        &allowed,
        &[
            ("card", &["number", "exp_month", "exp_year", "cvc"]),
            ("billing_details", &["address", "email", "name", "phone"]),
        ],
    )?;
    let kind = p.required_str("type")?;
    if kind != "card" {
        return Err(ApiError::invalid_param(
            "type",
            format!("Invalid type: this fake makes only card PaymentMethods, not {kind}."),
        ));
    }
    if p.str_at(&["card", "number"])?.is_some() && !publishable {
        return Err(ApiError::invalid_param(
            "card[number]",
            "Sending credit card numbers directly to the Stripe API is generally unsafe. We suggest you use test tokens that map to the test card you are using, see https://stripe.com/docs/testing.",
        ));
    }
    let number = p
        .str_at(&["card", "number"])?
        .ok_or_else(|| ApiError::missing_param("card[number]"))?;
    let card = match cards::by_number(number) {
        Ok(c) => c,
        Err(NumberProblem::Incorrect) => {
            return Err(
                ApiError::card("incorrect_number", None, "Your card number is incorrect.")
                    .param("number"),
            );
        }
        Err(NumberProblem::LiveCardInTestMode) => {
            return Err(ApiError::card(
                "card_declined",
                Some("test_mode_live_card"),
                "Your card was declined. Your request was in test mode, but used a non test (live) card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
            ));
        }
    };
    let expiry = card_expiry(p, req.now)?;
    check_cvc(p, card)?;
    let wallet = match p.str("fake_wallet")? {
        None => None,
        Some(w) if WALLETS.contains(&w) => Some(w.to_string()),
        Some(w) => {
            return Err(ApiError::invalid_param(
                "fake_wallet",
                format!("Invalid fake_wallet: {w}"),
            ));
        }
    };
    let billing = billing_details(p)?;
    let id = insert_for_card(state, card, req.now, Some(expiry), wallet, billing);
    let metadata = p.metadata()?.unwrap_or_default();
    let pm = state
        .payment_method_mut(&id)
        .ok_or_else(|| ApiError::no_such("payment_method", &id))?;
    pm.metadata = metadata
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    Ok(Done::ok(pm.to_json()))
}

fn card_expiry(p: &Params, now: i64) -> Result<(i64, i64), ApiError> {
    let month = p
        .int_at(&["card", "exp_month"])?
        .ok_or_else(|| ApiError::missing_param("card[exp_month]"))?;
    let mut year = p
        .int_at(&["card", "exp_year"])?
        .ok_or_else(|| ApiError::missing_param("card[exp_year]"))?;
    if !(1..=12).contains(&month) {
        return Err(ApiError::card(
            "invalid_expiry_month",
            None,
            "Your card's expiration month is invalid.",
        )
        .param("exp_month"));
    }
    if (0..100).contains(&year) {
        year += 2000;
    }
    let (now_year, now_month) = year_month(now);
    if year < now_year || (year == now_year && month < now_month) || year > now_year + 50 {
        return Err(ApiError::card(
            "invalid_expiry_year",
            None,
            "Your card's expiration year is invalid.",
        )
        .param("exp_year"));
    }
    Ok((month, year))
}

fn check_cvc(p: &Params, card: &TestCard) -> Result<(), ApiError> {
    let Some(cvc) = p.str_at(&["card", "cvc"])? else {
        return Ok(());
    };
    let digits = if card.brand == "amex" { 4 } else { 3 };
    if cvc.len() != digits || !cvc.chars().all(|c| c.is_ascii_digit()) {
        return Err(
            ApiError::card("invalid_cvc", None, "Your card's security code is invalid.")
                .param("cvc"),
        );
    }
    Ok(())
}

/// `billing_details[…]` as Stripe shows it (every field present, unknown ones null).
fn billing_details(p: &Params) -> Result<Value, ApiError> {
    let mut out = empty_billing_details();
    let Some(Node::Map(given)) = p.node(&["billing_details"]) else {
        return Ok(out);
    };
    for key in ["email", "name", "phone"] {
        if let Some(v) = p.str_at(&["billing_details", key])? {
            out[key] = Value::String(v.to_string());
        }
    }
    if given.contains_key("address") {
        for key in ["city", "country", "line1", "line2", "postal_code", "state"] {
            if let Some(v) = p.str_at(&["billing_details", "address", key])? {
                out["address"][key] = Value::String(v.to_string());
            }
        }
    }
    Ok(out)
}

/// The JSON of a magic test id, as if it were a PaymentMethod (nothing is stored).
fn magic_json(card: &TestCard, now: i64) -> Value {
    let (year, month) = year_month(now);
    let pm = PaymentMethod {
        id: card.name.to_string(),
        created: now,
        test_card: card.name.to_string(),
        card: CardDetails::for_test_card(card, month, year + 1, None),
        billing_details: empty_billing_details(),
        customer: None,
        metadata: BTreeMap::new(),
        consumed: false,
        set_up: false,
    };
    pm.to_json()
}

pub(super) fn retrieve(state: &State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    if let Some(card) = cards::by_name(id) {
        return Ok(Done::ok(magic_json(card, req.now)));
    }
    let pm = state
        .payment_method(id)
        .ok_or_else(|| ApiError::no_such("payment_method", id))?;
    Ok(Done::ok(expand(state, pm.to_json(), &req.params.expand())?))
}

/// `POST /v1/payment_methods/:id/attach` (`customer`). A magic test id attaches a
/// fresh PaymentMethod. Cards that decline fail the check Stripe runs on attach.
pub(super) fn attach(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    let p = req.params;
    p.check_allowed(&["customer", "expand"], &[])?;
    let customer = p.required_str("customer")?;
    if state.customer(customer).is_none() {
        return Err(ApiError::no_such_param("customer", customer, "customer"));
    }
    let card = match cards::by_name(id) {
        Some(card) => card,
        None => {
            let pm = state
                .payment_method(id)
                .ok_or_else(|| ApiError::no_such("payment_method", id))?;
            if pm.consumed {
                return Err(ApiError::invalid_param(
                    "payment_method",
                    "This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.",
                ));
            }
            if let Some(owner) = &pm.customer
                && owner != customer
            {
                return Err(ApiError::invalid(
                    "The payment method you provided has already been attached to a customer.",
                ));
            }
            cards::by_name(&pm.test_card).ok_or_else(|| ApiError::no_such("payment_method", id))?
        }
    };
    if let Behaviour::Declines(d) = card.behaviour {
        return Err(ApiError::card(d.code, Some(d.decline_code), d.message));
    }
    let pm_id = if cards::by_name(id).is_some() {
        insert_for_card(state, card, req.now, None, None, empty_billing_details())
    } else {
        id.to_string()
    };
    let newly = attach_to(state, &pm_id, customer);
    let pm = state
        .payment_method(&pm_id)
        .ok_or_else(|| ApiError::no_such("payment_method", &pm_id))?;
    let json = pm.to_json();
    let mut done = Done::ok(expand(state, json.clone(), &p.expand())?);
    if newly {
        done.events.push(("payment_method.attached".into(), json));
    }
    Ok(done)
}

/// `POST /v1/payment_methods/:id/detach`: the PaymentMethod can never be used again.
pub(super) fn detach(state: &mut State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    let pm = state
        .payment_method_mut(id)
        .ok_or_else(|| ApiError::no_such("payment_method", id))?;
    if pm.customer.is_none() {
        return Err(ApiError::invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        ));
    }
    pm.customer = None;
    pm.consumed = true;
    pm.set_up = false;
    let json = pm.to_json();
    let mut done = Done::ok(json.clone());
    done.events.push(("payment_method.detached".into(), json));
    Ok(done)
}

/// `GET /v1/customers/:id/payment_methods` and `GET /v1/payment_methods?customer=…`.
pub(super) fn list_for_customer(
    state: &State,
    req: &Request<'_>,
    customer: Option<&str>,
) -> Result<Done, ApiError> {
    let p = req.params;
    let (customer, url) = match customer {
        Some(c) => {
            p.check_allowed(
                &[
                    "type",
                    "limit",
                    "expand",
                    "starting_after",
                    "ending_before",
                    "allow_redisplay",
                ],
                &[],
            )?;
            (c.to_string(), format!("/v1/customers/{c}/payment_methods"))
        }
        None => {
            p.check_allowed(
                &[
                    "customer",
                    "type",
                    "limit",
                    "expand",
                    "starting_after",
                    "ending_before",
                ],
                &[],
            )?;
            (
                p.required_str("customer")?.to_string(),
                "/v1/payment_methods".to_string(),
            )
        }
    };
    if state.customer(&customer).is_none() {
        return Err(ApiError::no_such("customer", &customer));
    }
    let data = state
        .payment_methods
        .iter()
        .rev()
        .filter(|pm| pm.customer.as_deref() == Some(customer.as_str()))
        .map(PaymentMethod::to_json)
        .collect();
    Ok(Done::ok(list(&url, data)))
}
