//! HTTP handlers of the ACP checkout API. Each parses, authorises, calls one
//! method of the checkout service and renders the result.

use crate::api_version::check_api_version;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::parse_json;
use crate::idempotency::{AcpPost, acp_post};
use crate::routes::acp::convert::{handlers_of, session_wire};
use crate::routes::acp::parse;
use crate::routes::acp::wire::{
    CancelSessionRequest, CheckoutSessionWire, CompleteSessionRequest, CreateSessionRequest,
    ErrorWire, UpdateSessionRequest,
};
use crate::state::AppState;
use anycart_checkout::SessionInput;
use anycart_core::session::CheckoutSession;
use anycart_core::{Currency, SessionId};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
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

fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).map_err(|_| ApiError::not_found("checkout session"))
}

/// The ACP view of a session, with its order once there is one.
pub async fn render(
    state: &AppState,
    session: &CheckoutSession,
) -> Result<CheckoutSessionWire, ApiError> {
    let order = match session.order_id {
        Some(id) => state.store.get_order(session.merchant_id, id).await?,
        None => None,
    };
    let provider = state.checkout.live_provider(session.merchant_id).await?;
    Ok(session_wire(
        session,
        order.as_ref().map(|o| (&o.order, o.access_token.as_str())),
        handlers_of(&provider.settings, &state.config.base_url),
        &state.config.base_url,
    ))
}

/// Create a checkout session.
#[utoipa::path(post, path = "/checkout_sessions", tag = "Checkout",
    request_body = CreateSessionRequest,
    params(("Idempotency-Key" = String, Header, description = "Required on every POST"), ("API-Version" = String, Header, description = "2026-04-17")),
    responses((status = 201, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn create_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    acp_post(
        &state,
        AcpPost {
            merchant: caller.merchant,
            headers: &headers,
            endpoint: "POST /checkout_sessions".into(),
            success: StatusCode::CREATED,
        },
        body,
        |state, raw| async move {
            let req: CreateSessionRequest = parse_json(&raw)?;
            let currency = Currency::parse(&req.currency).map_err(|e| {
                ApiError::new(ErrorCode::UnsupportedCurrency, e.to_string())
                    .with_param("$.currency")
            })?;
            let lines = parse::line_items(&req.line_items)?;
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
                attribution: Some(
                    state
                        .checkout
                        .key_attribution(caller.merchant, caller.kind, caller.placement)
                        .await?,
                ),
                client: caller.client.clone(),
            };
            let session = state
                .checkout
                .create(caller.merchant, currency, lines, input)
                .await?;
            render(&state, &session).await
        },
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
    let session = state
        .checkout
        .get(caller.merchant, session_id(&id)?)
        .await?;
    Ok(axum::Json(render(&state, &session).await?))
}

/// Update a checkout session (absent fields are unchanged).
#[utoipa::path(post, path = "/checkout_sessions/{checkout_session_id}", tag = "Checkout",
    request_body = UpdateSessionRequest,
    params(("checkout_session_id" = String, Path), ("Idempotency-Key" = String, Header), ("API-Version" = String, Header)),
    responses((status = 200, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn update_session(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    acp_post(
        &state,
        AcpPost {
            merchant: caller.merchant,
            headers: &headers,
            endpoint: format!("POST /checkout_sessions/{id}"),
            success: StatusCode::OK,
        },
        body,
        |state, raw| async move {
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
            };
            let session = state.checkout.update(caller.merchant, id, input).await?;
            render(&state, &session).await
        },
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
    acp_post(
        &state,
        AcpPost {
            merchant: caller.merchant,
            headers: &headers,
            endpoint: format!("POST /checkout_sessions/{id}/complete"),
            success: StatusCode::OK,
        },
        body,
        |state, raw| async move {
            let id = session_id(&id)?;
            let req: CompleteSessionRequest = parse_json(&raw)?;
            let mut payment = parse::payment(&req)?;
            payment.client = caller.client.clone();
            let session = state
                .checkout
                .complete(caller.merchant, id, payment)
                .await?;
            render(&state, &session).await
        },
    )
    .await
}

/// Cancel a checkout session and release its stock.
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
    acp_post(
        &state,
        AcpPost {
            merchant: caller.merchant,
            headers: &headers,
            endpoint: format!("POST /checkout_sessions/{id}/cancel"),
            success: StatusCode::OK,
        },
        body,
        |state, raw| async move {
            let id = session_id(&id)?;
            // The body is optional (an intent trace); if present it must be JSON.
            if !raw.iter().all(u8::is_ascii_whitespace) {
                parse_json::<serde_json::Value>(&raw)?;
            }
            let session = state.checkout.cancel(caller.merchant, id).await?;
            render(&state, &session).await
        },
    )
    .await
}
