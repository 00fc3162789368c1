//! HTTP handlers of the ACP checkout API. Each parses, authorises, calls one
//! method of the checkout service and renders the result.
//!
//! The work of each endpoint is an `*_op` function that the MCP tools call too
//! (through [`post`] for the POSTs, so both bindings share authentication,
//! request signing, idempotency and errors).

use crate::api_version::check_api_version;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::{body_rejection, parse_json};
use crate::idempotency::{AcpPost, acp_post};
use crate::routes::acp::agent::AcpCaller;
use crate::routes::acp::convert::{handlers_of, session_wire};
use crate::routes::acp::parse;
use crate::routes::acp::wire::{
    CancelSessionRequest, CheckoutSessionWire, CompleteSessionRequest, CreateSessionRequest,
    ErrorWire, UpdateSessionRequest,
};
use crate::state::AppState;
use anycart_checkout::SessionInput;
use anycart_core::attribution::AgentProtocol;
use anycart_core::session::CheckoutSession;
use anycart_core::{Currency, SessionId};
use anycart_store::{OrderRecord, Touchpoint};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The checkout routes (mounted at the root, as ACP expects).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_session))
        .routes(routes!(get_session, update_session))
        .routes(routes!(complete_session))
        .routes(routes!(cancel_session))
}

pub(crate) fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).map_err(|_| ApiError::not_found("checkout session"))
}

/// The ACP view of a session, with its order once there is one.
pub async fn render(
    state: &AppState,
    session: &CheckoutSession,
) -> Result<CheckoutSessionWire, ApiError> {
    render_with_order(state, session, None).await
}

/// [`render`], with the session's order when the caller has it (it just wrote
/// it), instead of reading it back.
async fn render_with_order(
    state: &AppState,
    session: &CheckoutSession,
    written: Option<OrderRecord>,
) -> Result<CheckoutSessionWire, ApiError> {
    let order = match (session.order_id, written) {
        (Some(id), Some(written)) if written.order.id == id => Some(written),
        (Some(id), _) => state.store.get_order(session.merchant_id, id).await?,
        (None, _) => None,
    };
    let provider = state.checkout.live_provider(session.merchant_id).await?;
    Ok(session_wire(
        session,
        order.as_ref().map(|o| (&o.order, o.access_token.as_str())),
        handlers_of(&provider.settings, &state.config.base_url),
        &state.config.base_url,
    ))
}

/// One checkout POST, whichever binding it came through: the body is read, the
/// caller's agent platform resolved (and its signature of `POST {path}` checked
/// when it must sign), then `op` runs under the ACP idempotency contract.
#[allow(clippy::too_many_arguments)] // the parts of one request, each used once
pub(crate) async fn post<F, Fut>(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    path: &str,
    body: Result<Bytes, BytesRejection>,
    protocol: AgentProtocol,
    success: StatusCode,
    op: F,
) -> Response
where
    F: FnOnce(AppState, AcpCaller, Bytes) -> Fut,
    Fut: Future<Output = Result<CheckoutSessionWire, ApiError>>,
{
    let checked = check_api_version(headers).and_then(|()| body.map_err(body_rejection));
    let raw = match checked {
        Ok(raw) => raw,
        Err(e) => return e.into_response(),
    };
    let merchant = caller.merchant;
    let who = match AcpCaller::resolve(state, caller, headers, "POST", path, &raw, protocol).await {
        Ok(who) => who,
        Err(e) => return e.into_response(),
    };
    let post = AcpPost {
        merchant,
        headers,
        endpoint: format!("POST {path}"),
        success,
    };
    acp_post(state, post, Ok(raw), |state, raw| op(state, who, raw)).await
}

/// `POST /checkout_sessions`.
pub(crate) async fn create_op(
    state: AppState,
    who: AcpCaller,
    raw: Bytes,
) -> Result<CheckoutSessionWire, ApiError> {
    let req: CreateSessionRequest = parse_json(&raw)?;
    let currency = Currency::parse(&req.currency).map_err(|e| {
        ApiError::new(ErrorCode::UnsupportedCurrency, e.to_string()).with_param("$.currency")
    })?;
    let lines = parse::line_items(&req.line_items)?;
    let claim = parse::affiliate(req.affiliate_attribution.as_ref(), Touchpoint::First)?;
    let input = SessionInput {
        lines: None,
        buyer: req.buyer.as_ref().map(parse::buyer).transpose()?,
        fulfillment: req
            .fulfillment_details
            .as_ref()
            .map(parse::fulfillment)
            .transpose()?,
        selected_shipping: None,
        codes: parse::codes(req.discounts.as_ref(), req.coupons.as_ref())?,
        locale: parse::locale(req.locale.as_ref())?,
        client_interventions: Some(parse::interventions(req.capabilities.as_ref())),
        attribution: Some(who.attribution(&state).await?),
        client: who.caller.client.clone(),
        waiting_room_ticket: who.waiting_room_ticket.clone(),
        ..SessionInput::default()
    };
    let session = state
        .checkout
        .create_with_claim(who.caller.merchant, currency, lines, input, claim)
        .await?;
    render(&state, &session).await
}

/// `GET /checkout_sessions/{id}`.
pub(crate) async fn get_op(
    state: &AppState,
    who: &AcpCaller,
    id: &str,
) -> Result<CheckoutSessionWire, ApiError> {
    let session = state
        .checkout
        .get(who.caller.merchant, session_id(id)?)
        .await?;
    render(state, &session).await
}

/// `POST /checkout_sessions/{id}`.
pub(crate) async fn update_op(
    state: AppState,
    who: AcpCaller,
    id: String,
    raw: Bytes,
) -> Result<CheckoutSessionWire, ApiError> {
    let id = session_id(&id)?;
    let req: UpdateSessionRequest = parse_json(&raw)?;
    let input = SessionInput {
        lines: req
            .line_items
            .as_deref()
            .map(parse::line_items)
            .transpose()?,
        buyer: req.buyer.as_ref().map(parse::buyer).transpose()?,
        fulfillment: req
            .fulfillment_details
            .as_ref()
            .map(parse::fulfillment)
            .transpose()?,
        selected_shipping: parse::selected_option(&req)?,
        codes: parse::codes(req.discounts.as_ref(), req.coupons.as_ref())?,
        locale: None,
        client_interventions: None,
        attribution: None,
        client: None,
        waiting_room_ticket: who.waiting_room_ticket.clone(),
        ..SessionInput::default()
    };
    let session = state
        .checkout
        .update(who.caller.merchant, id, input)
        .await?;
    render(&state, &session).await
}

/// `POST /checkout_sessions/{id}/complete`.
pub(crate) async fn complete_op(
    state: AppState,
    who: AcpCaller,
    id: String,
    raw: Bytes,
) -> Result<CheckoutSessionWire, ApiError> {
    let id = session_id(&id)?;
    let req: CompleteSessionRequest = parse_json(&raw)?;
    let mut payment = parse::payment(&req)?;
    payment.client = who.caller.client.clone();
    let claim = parse::affiliate(req.affiliate_attribution.as_ref(), Touchpoint::Last)?;
    let (session, order) = state
        .checkout
        .complete_with_claim(who.caller.merchant, id, payment, claim)
        .await?;
    render_with_order(&state, &session, order).await
}

/// `POST /checkout_sessions/{id}/cancel` (the body, an intent trace, is optional).
pub(crate) async fn cancel_op(
    state: AppState,
    who: AcpCaller,
    id: String,
    raw: Bytes,
) -> Result<CheckoutSessionWire, ApiError> {
    let id = session_id(&id)?;
    let agent = who.platform.as_ref().map(|p| p.id);
    let trace = parse::intent_trace(&raw, agent, state.now_ms())?;
    let session = state
        .checkout
        .cancel_with_trace(who.caller.merchant, id, trace)
        .await?;
    render(&state, &session).await
}

/// Create a checkout session.
#[utoipa::path(post, path = "/checkout_sessions", tag = "Checkout",
    request_body = CreateSessionRequest,
    params(("Idempotency-Key" = String, Header, description = "Required on every POST"), ("API-Version" = String, Header, description = "2026-04-17"),
        ("Anycart-Waiting-Room-Ticket" = Option<String>, Header, description = "An admitted waiting-room ticket (`wrt_…`), needed when a line item's variant is behind a waiting room"), ("Signature" = Option<String>, Header, description = "base64url HMAC-SHA256 (agent platforms that sign their requests)"), ("Timestamp" = Option<String>, Header, description = "RFC 3339, signed with the request")),
    responses((status = 201, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/checkout_sessions";
    post(
        &state,
        caller,
        &headers,
        path,
        body,
        AgentProtocol::Acp,
        StatusCode::CREATED,
        create_op,
    )
    .await
}

/// Retrieve a checkout session.
#[utoipa::path(get, path = "/checkout_sessions/{checkout_session_id}", tag = "Checkout",
    params(("checkout_session_id" = String, Path), ("API-Version" = String, Header)),
    responses((status = 200, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn get_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::Json<CheckoutSessionWire>, ApiError> {
    check_api_version(&headers)?;
    let path = format!("/checkout_sessions/{id}");
    let who = AcpCaller::resolve(
        &state,
        caller,
        &headers,
        "GET",
        &path,
        b"",
        AgentProtocol::Acp,
    )
    .await?;
    Ok(axum::Json(get_op(&state, &who, &id).await?))
}

/// Update a checkout session (absent fields are unchanged).
#[utoipa::path(post, path = "/checkout_sessions/{checkout_session_id}", tag = "Checkout",
    request_body = UpdateSessionRequest,
    params(("checkout_session_id" = String, Path), ("Idempotency-Key" = String, Header), ("API-Version" = String, Header),
        ("Anycart-Waiting-Room-Ticket" = Option<String>, Header, description = "An admitted waiting-room ticket, needed to add a variant behind a waiting room")),
    responses((status = 200, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn update_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = format!("/checkout_sessions/{id}");
    post(
        &state,
        caller,
        &headers,
        &path,
        body,
        AgentProtocol::Acp,
        StatusCode::OK,
        |s, w, raw| update_op(s, w, id, raw),
    )
    .await
}

/// Complete a checkout session: pay and place the order.
#[utoipa::path(post, path = "/checkout_sessions/{checkout_session_id}/complete", tag = "Checkout",
    request_body = CompleteSessionRequest,
    params(("checkout_session_id" = String, Path), ("Idempotency-Key" = String, Header), ("API-Version" = String, Header)),
    responses((status = 200, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn complete_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = format!("/checkout_sessions/{id}/complete");
    post(
        &state,
        caller,
        &headers,
        &path,
        body,
        AgentProtocol::Acp,
        StatusCode::OK,
        |s, w, raw| complete_op(s, w, id, raw),
    )
    .await
}

/// Cancel a checkout session and release its stock; an optional intent trace
/// says why (recorded, never returned).
#[utoipa::path(post, path = "/checkout_sessions/{checkout_session_id}/cancel", tag = "Checkout",
    request_body = CancelSessionRequest,
    params(("checkout_session_id" = String, Path), ("Idempotency-Key" = String, Header), ("API-Version" = String, Header)),
    responses((status = 200, body = CheckoutSessionWire), (status = 405, body = ErrorWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn cancel_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = format!("/checkout_sessions/{id}/cancel");
    post(
        &state,
        caller,
        &headers,
        &path,
        body,
        AgentProtocol::Acp,
        StatusCode::OK,
        |s, w, raw| cancel_op(s, w, id, raw),
    )
    .await
}
