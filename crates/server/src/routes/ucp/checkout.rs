//! Checkout sessions: create, get, update (`PUT`: what it names replaces, what it
//! omits is kept), complete and cancel. Each admits the request at the
//! merchant's door, runs once per idempotency key, calls one method of the
//! checkout service and renders the session in the agent's version.

use super::convert::{self, is_stock_message};
use super::door::{Admitted, Incoming, admit};
use super::error::{InVersion, UcpError, UcpResult};
use super::orders;
use super::payment;
use super::plan::{check_stock, plan, resolve_items};
use super::render::{Context, context, error_envelope, render, shaped, wire, wire_with_order};
use super::state::DoorState;
use super::version::UcpVersion;
use super::wire::{CheckoutRequest, CompleteRequest};
use crate::error::{ApiError, ErrorCode};
use crate::extract::{body_rejection, parse_json};
use crate::idempotency::{Outcome, Refusal, run_once};
use crate::state::AppState;
use anycart_checkout::{CheckoutError, LineRequest, Resource};
use anycart_core::session::{
    CheckoutSession, CheckoutStatus, ErrorCode as MessageCode, MessageKind,
};
use anycart_core::{Currency, MerchantId, SessionId, VariantId};
use anycart_store::{IdempotencyScope, OrderRecord};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a request brings.
struct Request<'a> {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    merchant: &'a str,
}

impl Request<'_> {
    /// Reads the body (a 400/413 in UCP's shape when it cannot be read) and
    /// admits the request at the merchant's door: every UCP POST and PUT
    /// starts here.
    async fn read_and_admit(
        &self,
        state: &AppState,
        body: Result<Bytes, BytesRejection>,
    ) -> UcpResult<(Bytes, Admitted)> {
        let body = body.map_err(|e| UcpError::new(body_rejection(e), UcpVersion::DEFAULT))?;
        let admitted = self.admit(state, &body).await?;
        Ok((body, admitted))
    }

    async fn admit(&self, state: &AppState, body: &[u8]) -> UcpResult<Admitted> {
        admit(
            state,
            self.merchant,
            Incoming {
                method: &self.method,
                uri: &self.uri,
                headers: &self.headers,
                body,
            },
        )
        .await
    }
}

/// Runs `run` once per idempotency key (when the agent sends one: UCP makes it
/// optional) and answers with its outcome.
async fn once<F, Fut>(
    state: &AppState,
    adm: &Admitted,
    headers: &HeaderMap,
    endpoint: String,
    body: &[u8],
    run: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Outcome>,
{
    let v = adm.version;
    let key = match headers.get("idempotency-key").map(|h| h.to_str()) {
        None => return run().await.into_response(""),
        Some(Ok(k))
            if !k.trim().is_empty() && k.len() <= crate::idempotency::IDEMPOTENCY_KEY_LEN_MAX =>
        {
            k.to_string()
        }
        Some(_) => {
            return UcpError::new(
                ApiError::new(
                    ErrorCode::InvalidIdempotencyKey,
                    "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                ),
                v,
            )
            .into_response();
        }
    };
    let scope = IdempotencyScope {
        merchant: adm.merchant,
        endpoint: format!("UCP {endpoint}"),
        key,
    };
    let refuse = move |r: Refusal| {
        let api = match r {
            Refusal::Conflict => ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used with different parameters.",
            ),
            Refusal::InFlight { retry_after_s } => ApiError::new(
                ErrorCode::IdempotencyInFlight,
                "A request with this Idempotency-Key is still being processed.",
            )
            .retry_after(retry_after_s),
        };
        UcpError::new(api, v).into_response()
    };
    run_once(state, scope, body, refuse, run).await
}

/// A result as the idempotency layer stores it.
fn outcome(result: UcpResult<(StatusCode, Value)>) -> Outcome {
    match result {
        Ok((status, body)) => Outcome::of_success(status, &body),
        Err(e) => e.outcome(),
    }
}

fn session_id(raw: &str, v: UcpVersion) -> UcpResult<SessionId> {
    SessionId::parse(raw).map_err(|_| UcpError::new(ApiError::not_found("checkout session"), v))
}

/// A session the UCP door opened (another door's is not found here).
async fn load(state: &AppState, adm: &Admitted, id: SessionId) -> UcpResult<CheckoutSession> {
    let session = state
        .checkout
        .get(adm.merchant, id)
        .await
        .map_err(|e| service_error(e, &BTreeMap::new()))
        .in_version(adm.version)?;
    if !DoorState::opened(&session) {
        return Err(UcpError::new(
            ApiError::not_found("checkout session"),
            adm.version,
        ));
    }
    Ok(session)
}

/// A service error in UCP's terms.
fn service_error(e: CheckoutError, items: &BTreeMap<VariantId, String>) -> ApiError {
    match e {
        CheckoutError::UnknownItem { line, id } | CheckoutError::ItemUnavailable { line, id } => {
            let named = items.get(&id).cloned().unwrap_or_else(|| id.to_string());
            ApiError::new(
                ErrorCode::ItemNotFound,
                format!("Item '{named}' not found (or no longer for sale)."),
            )
            .with_param(format!("$.line_items[{line}].item.id"))
        }
        CheckoutError::SessionEnded(s) | CheckoutError::NotCancelable(s) => not_modifiable(s),
        CheckoutError::NotFound(Resource::CheckoutSession) => {
            ApiError::not_found("checkout session")
        }
        other => other.into(),
    }
}

fn not_modifiable(s: CheckoutStatus) -> ApiError {
    ApiError::new(
        ErrorCode::CheckoutNotModifiable,
        format!(
            "This checkout is {} and can no longer change.",
            convert::status(s).replace('_', " ")
        ),
    )
}

/// Create a checkout session.
#[utoipa::path(post, path = "/ucp/{merchant_id}/checkout-sessions", tag = "UCP", operation_id = "ucp_create_checkout",
    params(("merchant_id" = String, Path), ("UCP-Agent" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = Object,
    responses((status = 201, body = Object), (status = "4XX", body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    Path(merchant): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
        merchant: &merchant,
    };
    let (body, adm) = match req.read_and_admit(&state, body).await {
        Ok(admitted) => admitted,
        Err(e) => return e.into_response(),
    };
    let work = async {
        let v = adm.version;
        let r: CheckoutRequest = parse_json(&body).in_version(v)?;
        let resolved = match r.line_items.as_deref() {
            Some(list) => resolve_items(&state, adm.merchant, list).await,
            None => Err(ApiError::new(ErrorCode::Missing, "line_items is required.")
                .with_param("$.line_items")),
        };
        let (lines, items) = match resolved {
            Ok(ok) => ok,
            // 2026-04-08: no checkout can be made of these items, a business
            // outcome answered with the error envelope.
            Err(e) if v.outcomes_are_200s() && e.code == ErrorCode::ItemNotFound => {
                return Ok((StatusCode::OK, error_envelope(&e, v)));
            }
            Err(e) => return Err(UcpError::new(e, v)),
        };
        let lines = check_stock(
            &state,
            adm.merchant,
            &lines,
            &items,
            None,
            !v.outcomes_are_200s(),
        )
        .await
        .in_version(v)?;
        let currency = currency_of(&state, adm.merchant, &r, &lines)
            .await
            .in_version(v)?;
        let input = plan(&state, &adm, &r, None, &items).await.in_version(v)?;
        let session = state
            .checkout
            .create(adm.merchant, currency, lines, input)
            .await
            .map_err(|e| service_error(e, &items))
            .in_version(v)?;
        Ok((StatusCode::CREATED, render(&state, &adm, &session).await?))
    };
    once(
        &state,
        &adm,
        &req.headers,
        "POST /checkout-sessions".into(),
        &body,
        || async { outcome(work.await) },
    )
    .await
}

/// The checkout's currency: the one named (it must be what the items are sold
/// in), else the items'.
async fn currency_of(
    state: &AppState,
    merchant: MerchantId,
    req: &CheckoutRequest,
    lines: &[LineRequest],
) -> Result<Currency, ApiError> {
    if let Some(c) = &req.currency {
        return Currency::parse(c).map_err(|e| {
            ApiError::new(ErrorCode::UnsupportedCurrency, e.to_string()).with_param("$.currency")
        });
    }
    let ids: Vec<VariantId> = lines.iter().map(|(v, _)| *v).take(1).collect();
    state
        .store
        .get_variants(merchant, &ids)
        .await?
        .first()
        .map(|v| v.price.currency)
        .ok_or_else(|| {
            ApiError::new(ErrorCode::ItemNotFound, "Item not found.")
                .with_param("$.line_items[0].item.id")
        })
}

/// Get a checkout session.
#[utoipa::path(get, path = "/ucp/{merchant_id}/checkout-sessions/{id}", tag = "UCP", operation_id = "ucp_get_checkout",
    params(("merchant_id" = String, Path), ("id" = String, Path), ("UCP-Agent" = String, Header)),
    responses((status = 200, body = Object), (status = "4XX", body = Object)))]
pub async fn get(
    State(state): State<AppState>,
    Path((merchant, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
        merchant: &merchant,
    };
    let run = async {
        let adm = req.admit(&state, &[]).await?;
        let v = adm.version;
        let session = load(&state, &adm, session_id(&id, v)?).await?;
        UcpResult::Ok(axum::Json(render(&state, &adm, &session).await?).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Update a checkout session: line items, buyer, fulfillment and discount codes
/// it names replace the session's; what it omits is kept.
#[utoipa::path(put, path = "/ucp/{merchant_id}/checkout-sessions/{id}", tag = "UCP", operation_id = "ucp_update_checkout",
    params(("merchant_id" = String, Path), ("id" = String, Path), ("UCP-Agent" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = Object,
    responses((status = 200, body = Object), (status = "4XX", body = Object)))]
pub async fn update(
    State(state): State<AppState>,
    Path((merchant, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
        merchant: &merchant,
    };
    let (body, adm) = match req.read_and_admit(&state, body).await {
        Ok(admitted) => admitted,
        Err(e) => return e.into_response(),
    };
    let work = async {
        let v = adm.version;
        let sid = session_id(&id, v)?;
        let r: CheckoutRequest = parse_json(&body).in_version(v)?;
        let current = load(&state, &adm, sid).await?;
        if current.status.is_terminal() {
            return Err(UcpError::new(not_modifiable(current.status), v));
        }
        if let Some(c) = &r.currency
            && !c.eq_ignore_ascii_case(&current.currency.code_lower())
        {
            return Err(UcpError::new(
                ApiError::new(
                    ErrorCode::UnsupportedCurrency,
                    "A checkout's currency cannot change.",
                )
                .with_param("$.currency"),
                v,
            ));
        }
        let (lines, items) = match r.line_items.as_deref() {
            Some(list) => {
                let (lines, items) = resolve_items(&state, adm.merchant, list)
                    .await
                    .in_version(v)?;
                let lines = check_stock(
                    &state,
                    adm.merchant,
                    &lines,
                    &items,
                    Some(sid),
                    !v.outcomes_are_200s(),
                )
                .await
                .in_version(v)?;
                (Some(lines), items)
            }
            None => (None, BTreeMap::new()),
        };
        let mut input = plan(&state, &adm, &r, Some(&current), &items)
            .await
            .in_version(v)?;
        input.lines = lines;
        let session = state
            .checkout
            .update(adm.merchant, sid, input)
            .await
            .map_err(|e| service_error(e, &items))
            .in_version(v)?;
        Ok((StatusCode::OK, render(&state, &adm, &session).await?))
    };
    let endpoint = format!("PUT /checkout-sessions/{id}");
    once(&state, &adm, &req.headers, endpoint, &body, || async {
        outcome(work.await)
    })
    .await
}

/// Complete a checkout session: pay with the instrument given and place the order.
#[utoipa::path(post, path = "/ucp/{merchant_id}/checkout-sessions/{id}/complete", tag = "UCP", operation_id = "ucp_complete_checkout",
    params(("merchant_id" = String, Path), ("id" = String, Path), ("UCP-Agent" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 402, body = Object), (status = "4XX", body = Object)))]
pub async fn complete(
    State(state): State<AppState>,
    Path((merchant, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
        merchant: &merchant,
    };
    let (body, adm) = match req.read_and_admit(&state, body).await {
        Ok(admitted) => admitted,
        Err(e) => return e.into_response(),
    };
    let work = async {
        let v = adm.version;
        let sid = session_id(&id, v)?;
        let r: CompleteRequest = parse_json(&body).in_version(v)?;
        let current = load(&state, &adm, sid).await?;
        let ctx = context(&state, &adm).await?;
        if current.status == CheckoutStatus::Completed {
            // Paid before: refused, unless the order was never recorded here (a
            // crash after payment), which this request now finishes.
            let recorded = match current.order_id {
                Some(o) => state
                    .store
                    .get_ucp_order(adm.merchant, o)
                    .await
                    .in_version(v)?
                    .is_some(),
                None => true,
            };
            if recorded {
                return Err(UcpError::new(not_modifiable(current.status), v));
            }
            return finish(&state, &adm, &ctx, &current, None).await;
        }
        if current.status.is_terminal() {
            return Err(UcpError::new(not_modifiable(current.status), v));
        }
        let door = DoorState::of(&current);
        let chosen = door.shipping().and_then(|m| m.selected()).is_some()
            && current.selected_shipping.is_some()
            && current.fulfillment.address.is_some();
        if !chosen {
            return Err(UcpError::new(
                ApiError::new(
                    ErrorCode::FulfillmentRequired,
                    "Fulfillment address and option must be selected before completion.",
                )
                .with_param("$.fulfillment"),
                v,
            ));
        }
        let (instrument, param) = payment::chosen_instrument(&r).in_version(v)?;
        let input = payment::payment_input(instrument, param, &ctx.handlers, &ctx.provider, sid)
            .in_version(v)?;
        let (done, written) = state
            .checkout
            .complete_with_order(adm.merchant, sid, input)
            .await
            .map_err(|e| service_error(e, &BTreeMap::new()))
            .in_version(v)?;
        match done.status {
            CheckoutStatus::Completed => finish(&state, &adm, &ctx, &done, written.as_ref()).await,
            _ if v.outcomes_are_200s() => {
                let w = wire(&state, &adm, &ctx, &done).await?;
                Ok((StatusCode::OK, shaped(&adm, &ctx, &w)))
            }
            CheckoutStatus::AuthenticationRequired => {
                let w = wire(&state, &adm, &ctx, &done).await?;
                Ok((StatusCode::OK, shaped(&adm, &ctx, &w)))
            }
            _ => Err(UcpError::new(not_paid(&done), v)),
        }
    };
    let endpoint = format!("POST /checkout-sessions/{id}/complete");
    once(&state, &adm, &req.headers, endpoint, &body, || async {
        outcome(work.await)
    })
    .await
}

/// Records the order of a completed checkout and answers with the checkout.
async fn finish(
    state: &AppState,
    adm: &Admitted,
    ctx: &Context,
    session: &CheckoutSession,
    written: Option<&OrderRecord>,
) -> UcpResult<(StatusCode, Value)> {
    let w = wire_with_order(state, adm, ctx, session, written).await?;
    orders::record_completion(state, adm, session, &w, written).await?;
    Ok((StatusCode::OK, shaped(adm, ctx, &w)))
}

/// Why a completion did not pay, for 2026-01-11: a declined card (402), stock
/// that went away (400), or whatever else keeps the checkout from payment.
fn not_paid(session: &CheckoutSession) -> ApiError {
    if let Some(m) = &session.payment_message
        && matches!(m.kind, MessageKind::Error(MessageCode::PaymentDeclined))
    {
        return ApiError::new(
            ErrorCode::PaymentDeclined,
            format!("Payment declined: {}", m.content),
        )
        .with_param("$.payment_data");
    }
    if let Some(m) = session.quote.messages.iter().find(|m| is_stock_message(m)) {
        return ApiError::new(
            ErrorCode::InsufficientStock,
            format!("Insufficient stock: {}", m.content),
        )
        .with_param(m.param.clone().unwrap_or_else(|| "$.line_items".into()));
    }
    let reason = session
        .payment_message
        .iter()
        .chain(session.quote.messages.iter().filter(|m| m.blocking))
        .map(|m| m.content.clone())
        .next()
        .unwrap_or_else(|| "The checkout is not ready for payment.".into());
    ApiError::new(ErrorCode::InvalidState, reason)
}

/// Cancel a checkout session and release its stock.
#[utoipa::path(post, path = "/ucp/{merchant_id}/checkout-sessions/{id}/cancel", tag = "UCP", operation_id = "ucp_cancel_checkout",
    params(("merchant_id" = String, Path), ("id" = String, Path), ("UCP-Agent" = String, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = Object,
    responses((status = 200, body = Object), (status = "4XX", body = Object)))]
pub async fn cancel(
    State(state): State<AppState>,
    Path((merchant, id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let req = Request {
        method,
        uri,
        headers,
        merchant: &merchant,
    };
    let (body, adm) = match req.read_and_admit(&state, body).await {
        Ok(admitted) => admitted,
        Err(e) => return e.into_response(),
    };
    let work = async {
        let v = adm.version;
        let sid = session_id(&id, v)?;
        if !body.iter().all(u8::is_ascii_whitespace) {
            parse_json::<Value>(&body).in_version(v)?;
        }
        load(&state, &adm, sid).await?;
        let session = state
            .checkout
            .cancel(adm.merchant, sid)
            .await
            .map_err(|e| service_error(e, &BTreeMap::new()))
            .in_version(v)?;
        Ok((StatusCode::OK, render(&state, &adm, &session).await?))
    };
    let endpoint = format!("POST /checkout-sessions/{id}/cancel");
    once(&state, &adm, &req.headers, endpoint, &body, || async {
        outcome(work.await)
    })
    .await
}
