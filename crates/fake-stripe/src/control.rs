//! The control API under `/test_control/…` (JSON): what tests and the Stripe.js
//! stand-in use to inject faults, read what happened, grant tokens, answer 3-D
//! Secure challenges and send webhooks. It mirrors the library's methods.

use crate::api;
use crate::error::ApiError;
use crate::faults::{Fault, FaultSpec};
use crate::ids::now;
use crate::shared::Shared;
use crate::views;
use crate::webhooks::{self, Forgery};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type Shrd = State<Arc<Shared>>;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/config", get(config))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/payment_intents", get(payment_intents))
        .route("/payment_intents/{id}/authenticate", post(authenticate))
        .route("/refunds", get(refunds))
        .route("/requests", get(requests))
        .route("/events", get(events).post(send_event))
        .route("/events/raw", post(send_raw_event))
        .route("/events/{id}/redeliver", post(redeliver))
        .route("/deliveries", get(deliveries))
        .route("/flush_webhooks", post(flush_webhooks))
        .route("/granted_tokens", post(create_granted_token))
        .route(
            "/granted_tokens/{id}/deactivate",
            post(deactivate_granted_token),
        )
        .route("/webhook_url", put(set_webhook_url))
        .route("/api_keys", post(create_api_key))
}

/// A control error: Stripe's envelope, so one parser reads both APIs.
struct ControlError(ApiError);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.0.body())).into_response()
    }
}

impl From<ApiError> for ControlError {
    fn from(e: ApiError) -> ControlError {
        ControlError(e)
    }
}

type Answer = Result<Json<Value>, ControlError>;

fn to_json<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

async fn config(State(s): Shrd) -> Json<Value> {
    Json(json!({
        "base_url": s.base_url,
        "secret_key": s.keys.secret,
        "publishable_key": s.keys.publishable,
        "webhook_secret": s.keys.webhook_secret,
    }))
}

async fn list_faults(State(s): Shrd) -> Json<Value> {
    let specs: Vec<FaultSpec> = s.faults().iter().map(FaultSpec::from).collect();
    to_json(&specs)
}

async fn add_fault(State(s): Shrd, Json(spec): Json<FaultSpec>) -> Json<Value> {
    s.push_fault(Fault::from(spec));
    Json(json!({"queued": s.faults().len()}))
}

async fn clear_faults(State(s): Shrd) -> Json<Value> {
    s.clear_faults();
    Json(json!({"queued": 0}))
}

async fn payment_intents(State(s): Shrd) -> Json<Value> {
    to_json(&views::payment_intents(&s.lock()))
}

async fn refunds(State(s): Shrd) -> Json<Value> {
    to_json(&views::refunds(&s.lock()))
}

async fn requests(State(s): Shrd) -> Json<Value> {
    to_json(&s.lock().requests)
}

async fn events(State(s): Shrd) -> Json<Value> {
    to_json(&s.lock().events)
}

async fn deliveries(State(s): Shrd) -> Json<Value> {
    to_json(&s.lock().deliveries)
}

async fn flush_webhooks(State(s): Shrd) -> Json<Value> {
    s.flush().await;
    Json(json!({}))
}

#[derive(Deserialize)]
struct AuthenticateBody {
    success: bool,
    /// Sent by the Stripe.js stand-in; checked when present.
    client_secret: Option<String>,
}

/// Answers the 3-D Secure challenge of a PaymentIntent.
async fn authenticate(
    State(s): Shrd,
    Path(id): Path<String>,
    Json(body): Json<AuthenticateBody>,
) -> Answer {
    let browser = body.client_secret.is_some();
    let pi = authenticate_intent(&s, &id, body.success, body.client_secret.as_deref())?;
    Ok(Json(if browser {
        client_view(&s, &id).unwrap_or(pi)
    } else {
        pi
    }))
}

fn client_view(s: &Shared, id: &str) -> Option<Value> {
    s.lock().intent(id).map(|pi| pi.to_client_json())
}

/// Shared by the control API and `FakeStripe::authenticate`.
pub fn authenticate_intent(
    s: &Shared,
    id: &str,
    success: bool,
    client_secret: Option<&str>,
) -> Result<Value, ApiError> {
    let mut state = s.lock();
    let done = api::authenticate(&mut state, id, success, client_secret, now())?;
    s.record_events(&mut state, done.events, None, None, true);
    s.save(&state);
    Ok(done.body)
}

#[derive(Deserialize)]
struct GrantBody {
    max_amount: i64,
    currency: String,
    expires_at: i64,
    /// A test card id (`pm_card_visa` by default).
    payment_method: Option<String>,
}

async fn create_granted_token(State(s): Shrd, Json(b): Json<GrantBody>) -> Answer {
    let mut state = s.lock();
    let pm = b.payment_method.as_deref().unwrap_or("pm_card_visa");
    let token = api::create_granted_token(
        &mut state,
        b.max_amount,
        &b.currency,
        b.expires_at,
        pm,
        now(),
    )?;
    s.save(&state);
    Ok(Json(token))
}

async fn deactivate_granted_token(State(s): Shrd, Path(id): Path<String>) -> Answer {
    let mut state = s.lock();
    let token = api::deactivate_granted_token(&mut state, &id, now())?;
    s.save(&state);
    Ok(Json(token))
}

#[derive(Deserialize)]
struct WebhookUrlBody {
    url: Option<String>,
    /// Event types to deliver (`None` or `["*"]`: all).
    enabled_events: Option<Vec<String>>,
}

async fn set_webhook_url(State(s): Shrd, Json(b): Json<WebhookUrlBody>) -> Json<Value> {
    let mut state = s.lock();
    state.webhook_url = b.url;
    state.enabled_events = b.enabled_events;
    s.save(&state);
    Json(json!({"url": state.webhook_url, "enabled_events": state.enabled_events}))
}

async fn create_api_key(State(s): Shrd) -> Json<Value> {
    let key = new_secret_key(&s);
    Json(json!({"secret_key": key}))
}

/// Another secret key of the same account (idempotency keys are scoped per API key).
pub fn new_secret_key(s: &Shared) -> String {
    let key = format!(
        "sk_test_fake_{}",
        crate::ids::new_id("k").trim_start_matches("k_")
    );
    let mut state = s.lock();
    state.extra_secret_keys.push(key.clone());
    s.save(&state);
    key
}

#[derive(Deserialize)]
struct EventBody {
    #[serde(rename = "type")]
    event_type: String,
    /// The `data.object`; or give `payment_intent` and it is built from it.
    object: Option<Value>,
    payment_intent: Option<String>,
    /// For `charge.dispute.closed`: `won`, `lost`, … (default `lost`).
    status: Option<String>,
    forgery: Option<Forgery>,
}

/// Sends an event now: `{"type", "object"}` or `{"type", "payment_intent"}` (a
/// `payment_intent.*` event carries the intent, `charge.*` its latest charge,
/// `charge.dispute.*` a dispute on it). `forgery` sends a bad delivery instead.
async fn send_event(State(s): Shrd, Json(b): Json<EventBody>) -> Answer {
    let object = match (b.object, &b.payment_intent) {
        (Some(o), _) => o,
        (None, Some(pi)) => event_object(&s, &b.event_type, pi, b.status.as_deref())?,
        (None, None) => return Err(ApiError::missing_param("object").into()),
    };
    let event = record_on_demand(&s, &b.event_type, object);
    let status = match b.forgery {
        None => deliver_event(&s, &event, "on_demand").await,
        Some(f) => deliver_forged(&s, &event, &f).await,
    };
    Ok(Json(json!({"status": status, "event": event})))
}

/// The object an event about `payment_intent` carries.
pub fn event_object(
    s: &Shared,
    event_type: &str,
    payment_intent: &str,
    status: Option<&str>,
) -> Result<Value, ApiError> {
    let mut state = s.lock();
    if event_type.starts_with("charge.dispute.") {
        let dispute = api::dispute_event(&mut state, payment_intent, event_type, status, now())?;
        s.save(&state);
        return Ok(dispute);
    }
    let pi = state
        .intent(payment_intent)
        .ok_or_else(|| ApiError::no_such("payment_intent", payment_intent))?;
    if event_type.starts_with("charge.") {
        let charge = pi.latest_charge.as_deref().and_then(|c| state.charge(c));
        return charge.map(|c| c.to_json()).ok_or_else(|| {
            ApiError::invalid(format!("PaymentIntent {payment_intent} has no charge."))
        });
    }
    Ok(pi.to_json())
}

/// Records an event made on demand (no automatic delivery).
pub fn record_on_demand(s: &Shared, event_type: &str, object: Value) -> Value {
    let mut state = s.lock();
    let event = s
        .record_events(
            &mut state,
            vec![(event_type.to_string(), object)],
            None,
            None,
            false,
        )
        .pop()
        .unwrap_or(Value::Null);
    s.save(&state);
    event
}

/// Delivers a recorded event once, correctly signed.
pub async fn deliver_event(s: &Shared, event: &Value, kind: &str) -> u16 {
    let body = webhooks::body(event);
    let signature = webhooks::signature_header(&s.keys.webhook_secret, now(), &body);
    let (id, kind_of) = ids_of(event);
    s.deliver_once(&id, &kind_of, &body, &signature, kind).await
}

/// Delivers a recorded event once, badly.
pub async fn deliver_forged(s: &Shared, event: &Value, forgery: &Forgery) -> u16 {
    let body = webhooks::body(event);
    let t = now();
    let (body, signature) = match forgery {
        Forgery::WrongSecret => {
            let sig = webhooks::signature_header("whsec_not_the_endpoint_secret", t, &body);
            (body, sig)
        }
        Forgery::Stale { age_secs } => {
            let sig = webhooks::signature_header(&s.keys.webhook_secret, t - age_secs, &body);
            (body, sig)
        }
        Forgery::TamperedBody => {
            let sig = webhooks::signature_header(&s.keys.webhook_secret, t, &body);
            (
                body.replacen("\"livemode\": false", "\"livemode\": true", 1),
                sig,
            )
        }
        Forgery::Unsigned => (body, String::new()),
    };
    let (id, kind_of) = ids_of(event);
    s.deliver_once(&id, &kind_of, &body, &signature, "forged")
        .await
}

fn ids_of(event: &Value) -> (String, String) {
    (
        event["id"].as_str().unwrap_or_default().to_string(),
        event["type"].as_str().unwrap_or_default().to_string(),
    )
}

async fn redeliver(State(s): Shrd, Path(id): Path<String>) -> Answer {
    let event = s
        .lock()
        .event(&id)
        .cloned()
        .ok_or_else(|| ApiError::no_such("event", &id))?;
    let status = deliver_event(&s, &event, "redelivery").await;
    Ok(Json(json!({"status": status})))
}

#[derive(Deserialize)]
struct RawBody {
    body: String,
    /// The whole `Stripe-Signature` value; empty sends none.
    signature: String,
}

async fn send_raw_event(State(s): Shrd, Json(b): Json<RawBody>) -> Json<Value> {
    let status = s.deliver_once("", "", &b.body, &b.signature, "raw").await;
    Json(json!({"status": status}))
}
