//! The Stripe API's endpoints as plain functions over [`State`]: each takes the
//! decoded parameters and returns what to answer and which events happened. No I/O
//! here: the HTTP edge (`server`) authenticates, applies faults and idempotency,
//! persists, and delivers the events.

mod charging;
mod customers;
mod intent_updates;
mod payment_intents;
mod payment_methods;
mod refunds;
mod tokens;

pub use payment_intents::authenticate;
pub use tokens::{create_granted_token, deactivate_granted_token, dispute_event};

use crate::error::ApiError;
use crate::params::Params;
use crate::state::State;
use serde_json::Value;

/// The id of the one account this fake is (what `GET /v1/account` answers).
pub const ACCOUNT_ID: &str = "acct_1FakeAnycartTest";

/// Which key authorised the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// A secret key (the value: idempotency keys are scoped by it).
    Secret(String),
    /// The publishable key (Stripe.js).
    Publishable(String),
}

/// One API request, decoded.
pub struct Request<'a> {
    pub params: &'a Params,
    pub auth: &'a Auth,
    pub now: i64,
    pub idempotency_key: Option<&'a str>,
    /// The `Stripe-Version` in force (the account default when none was sent).
    pub api_version: &'a str,
}

/// The endpoint ran: what to answer (any status: a decline is a 402 that ran) and
/// what happened. Refusals before the endpoint runs are `Err(ApiError)` instead,
/// which Stripe never stores for an idempotency key.
#[derive(Debug)]
pub struct Done {
    pub status: u16,
    pub body: Value,
    /// Events to record and deliver: (type, the object as it is now).
    pub events: Vec<(String, Value)>,
    /// The PaymentIntent the request was about (for its idempotency keys).
    pub intent: Option<String>,
}

impl Done {
    pub fn ok(body: Value) -> Done {
        Done {
            status: 200,
            body,
            events: Vec::new(),
            intent: None,
        }
    }

    fn about(mut self, intent: &str) -> Done {
        self.intent = Some(intent.to_string());
        self
    }
}

/// An endpoint of the Stripe API this fake serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    CreateIntent,
    GetIntent(String),
    UpdateIntent(String),
    ConfirmIntent(String),
    CaptureIntent(String),
    CancelIntent(String),
    GetCharge(String),
    CreateRefund,
    ListRefunds,
    GetRefund(String),
    GetAccount,
    CreateCustomer,
    GetCustomer(String),
    UpdateCustomer(String),
    CustomerPaymentMethods(String),
    CreatePaymentMethod,
    ListPaymentMethods,
    GetPaymentMethod(String),
    AttachPaymentMethod(String),
    DetachPaymentMethod(String),
    GetGrantedToken(String),
    CreateTestGrantedToken,
    RevokeTestGrantedToken(String),
    CreateDomain,
    ListDomains,
    GetDomain(String),
    GetEvent(String),
}

impl Route {
    /// Parses `POST /v1/payment_intents/pi_123/confirm` and the like.
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let id = |s: &str| s.to_string();
        let r = match (method, segs.as_slice()) {
            ("POST", ["v1", "payment_intents"]) => Route::CreateIntent,
            ("GET", ["v1", "payment_intents", i]) => Route::GetIntent(id(i)),
            ("POST", ["v1", "payment_intents", i]) => Route::UpdateIntent(id(i)),
            ("POST", ["v1", "payment_intents", i, "confirm"]) => Route::ConfirmIntent(id(i)),
            ("POST", ["v1", "payment_intents", i, "capture"]) => Route::CaptureIntent(id(i)),
            ("POST", ["v1", "payment_intents", i, "cancel"]) => Route::CancelIntent(id(i)),
            ("GET", ["v1", "charges", i]) => Route::GetCharge(id(i)),
            ("POST", ["v1", "refunds"]) => Route::CreateRefund,
            ("GET", ["v1", "refunds"]) => Route::ListRefunds,
            ("GET", ["v1", "account"]) => Route::GetAccount,
            ("GET", ["v1", "refunds", i]) => Route::GetRefund(id(i)),
            ("POST", ["v1", "customers"]) => Route::CreateCustomer,
            ("GET", ["v1", "customers", i]) => Route::GetCustomer(id(i)),
            ("POST", ["v1", "customers", i]) => Route::UpdateCustomer(id(i)),
            ("GET", ["v1", "customers", i, "payment_methods"]) => {
                Route::CustomerPaymentMethods(id(i))
            }
            ("POST", ["v1", "payment_methods"]) => Route::CreatePaymentMethod,
            ("GET", ["v1", "payment_methods"]) => Route::ListPaymentMethods,
            ("GET", ["v1", "payment_methods", i]) => Route::GetPaymentMethod(id(i)),
            ("POST", ["v1", "payment_methods", i, "attach"]) => Route::AttachPaymentMethod(id(i)),
            ("POST", ["v1", "payment_methods", i, "detach"]) => Route::DetachPaymentMethod(id(i)),
            ("GET", ["v1", "shared_payment", "granted_tokens", i]) => Route::GetGrantedToken(id(i)),
            ("POST", ["v1", "test_helpers", "shared_payment", "granted_tokens"]) => {
                Route::CreateTestGrantedToken
            }
            (
                "POST",
                [
                    "v1",
                    "test_helpers",
                    "shared_payment",
                    "granted_tokens",
                    i,
                    "revoke",
                ],
            ) => Route::RevokeTestGrantedToken(id(i)),
            ("POST", ["v1", "payment_method_domains"]) => Route::CreateDomain,
            ("GET", ["v1", "payment_method_domains"]) => Route::ListDomains,
            ("GET", ["v1", "payment_method_domains", i]) => Route::GetDomain(id(i)),
            ("GET", ["v1", "events", i]) => Route::GetEvent(id(i)),
            _ => return None,
        };
        Some(r)
    }

    /// What Stripe.js may call with the publishable key.
    pub fn publishable_allowed(&self) -> bool {
        matches!(self, Route::CreatePaymentMethod | Route::GetIntent(_))
    }
}

/// Runs one endpoint.
pub fn execute(state: &mut State, route: &Route, req: &Request<'_>) -> Result<Done, ApiError> {
    match route {
        Route::CreateIntent => payment_intents::create(state, req),
        Route::GetIntent(id) => payment_intents::retrieve(state, req, id),
        Route::UpdateIntent(id) => intent_updates::update(state, req, id),
        Route::ConfirmIntent(id) => payment_intents::confirm(state, req, id),
        Route::CaptureIntent(id) => intent_updates::capture(state, req, id),
        Route::CancelIntent(id) => intent_updates::cancel(state, req, id),
        Route::GetCharge(id) => retrieve_charge(state, req, id),
        Route::CreateRefund => refunds::create(state, req),
        Route::ListRefunds => refunds::list(state, req),
        Route::GetAccount => {
            req.params.check_allowed(&["expand"], &[])?;
            Ok(Done::ok(serde_json::json!({
                "id": ACCOUNT_ID,
                "object": "account",
                "country": "US",
                "default_currency": "usd",
                "charges_enabled": true,
                "payouts_enabled": true,
                "details_submitted": true,
            })))
        }
        Route::GetRefund(id) => refunds::retrieve(state, req, id),
        Route::CreateCustomer => customers::create(state, req),
        Route::GetCustomer(id) => customers::retrieve(state, req, id),
        Route::UpdateCustomer(id) => customers::update(state, req, id),
        Route::CustomerPaymentMethods(id) => {
            payment_methods::list_for_customer(state, req, Some(id))
        }
        Route::CreatePaymentMethod => payment_methods::create(state, req),
        Route::ListPaymentMethods => payment_methods::list_for_customer(state, req, None),
        Route::GetPaymentMethod(id) => payment_methods::retrieve(state, req, id),
        Route::AttachPaymentMethod(id) => payment_methods::attach(state, req, id),
        Route::DetachPaymentMethod(id) => payment_methods::detach(state, req, id),
        Route::GetGrantedToken(id) => tokens::retrieve(state, req, id),
        Route::CreateTestGrantedToken => tokens::create_test_helper(state, req),
        Route::RevokeTestGrantedToken(id) => tokens::revoke_test_helper(state, req, id),
        Route::CreateDomain => tokens::create_domain(state, req),
        Route::ListDomains => tokens::list_domains(state, req),
        Route::GetDomain(id) => tokens::retrieve_domain(state, req, id),
        Route::GetEvent(id) => {
            req.params.check_allowed(&["expand"], &[])?;
            state
                .event(id)
                .cloned()
                .map(Done::ok)
                .ok_or_else(|| ApiError::no_such("event", id))
        }
    }
}

fn retrieve_charge(state: &State, req: &Request<'_>, id: &str) -> Result<Done, ApiError> {
    req.params.check_allowed(&["expand"], &[])?;
    let charge = state
        .charge(id)
        .ok_or_else(|| ApiError::no_such("charge", id))?;
    Ok(Done::ok(expand(
        state,
        charge.to_json(),
        &req.params.expand(),
    )?))
}

/// `{"object": "list", "data": […], "has_more": false, "url": …}`.
fn list(url: &str, data: Vec<Value>) -> Value {
    serde_json::json!({"object": "list", "data": data, "has_more": false, "url": url})
}

/// Applies `expand[]`: each path names a field holding an id (or null), which is
/// replaced by the object; `a.b` expands `b` inside the expanded `a`.
fn expand(state: &State, mut object: Value, paths: &[String]) -> Result<Value, ApiError> {
    for path in paths {
        expand_path(state, &mut object, path, path)?;
    }
    Ok(object)
}

fn expand_path(state: &State, object: &mut Value, path: &str, whole: &str) -> Result<(), ApiError> {
    let cannot = || {
        ApiError::invalid_param(
            "expand",
            format!("This property cannot be expanded ({whole})."),
        )
    };
    let (field, rest) = match path.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (path, None),
    };
    let slot = object.get_mut(field).ok_or_else(cannot)?;
    match slot {
        Value::String(id) => {
            let expanded = lookup(state, id).ok_or_else(cannot)?;
            *slot = expanded;
        }
        // Null stays null; an object was expanded by an earlier path.
        Value::Null | Value::Object(_) => {}
        _ => return Err(cannot()),
    }
    match (rest, &mut *slot) {
        (None, _) | (Some(_), Value::Null) => Ok(()),
        (Some(rest), child @ Value::Object(_)) => expand_path(state, child, rest, whole),
        _ => Err(cannot()),
    }
}

/// The object an id names, by its prefix.
fn lookup(state: &State, id: &str) -> Option<Value> {
    let prefix = id.split('_').next().unwrap_or_default();
    match prefix {
        "pi" => state.intent(id).map(|o| o.to_json()),
        "ch" => state.charge(id).map(|o| o.to_json()),
        "pm" => state.payment_method(id).map(|o| o.to_json()),
        "cus" => state.customer(id).map(|o| o.to_json()),
        "re" => state.refund(id).map(|o| o.to_json()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_with_ids_and_reject_unknown_paths_and_methods() {
        assert_eq!(
            Route::parse("POST", "/v1/payment_intents"),
            Some(Route::CreateIntent)
        );
        assert_eq!(
            Route::parse("POST", "/v1/payment_intents/pi_1/confirm"),
            Some(Route::ConfirmIntent("pi_1".into()))
        );
        assert_eq!(
            Route::parse("GET", "/v1/shared_payment/granted_tokens/spt_1"),
            Some(Route::GetGrantedToken("spt_1".into()))
        );
        assert_eq!(Route::parse("DELETE", "/v1/payment_intents/pi_1"), None);
        assert_eq!(Route::parse("GET", "/v1/nope"), None);
    }
}
