//! Orders admin: the merchant's orders with their platform delivery, and
//! returning shoppers forgotten on request.

use super::wire::*;
use super::{connections, invalid, refunds};
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::routes::acp::convert::order_url;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_core::OrderId;
use anycart_store::OrderRecord;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

fn order_wire(state: &AppState, r: OrderRecord) -> AdminOrderWire {
    let o = r.order;
    AdminOrderWire {
        id: o.id.to_string(),
        number: o.number,
        status: o.status.as_str(),
        checkout_session_id: o.session_id.to_string(),
        currency: o.currency.code_lower(),
        email: o.email.map(|e| e.to_string()),
        totals: serde_json::to_value(o.totals).unwrap_or_default(),
        line_items: serde_json::to_value(&o.lines).unwrap_or_default(),
        shipping_address: serde_json::to_value(&o.fulfillment.address).unwrap_or_default(),
        shipping_title: o.shipping_title,
        payment_provider: o.payment.provider,
        payment_reference: o.payment.provider_reference,
        permalink_url: order_url(&state.config.base_url, &r.access_token),
        attribution: o.attribution.as_ref().map(super::wire::attribution_wire),
        created_at: rfc3339(o.created_at_ms),
        platform: None,
        payment: None,
        refunds: None,
        disputes: None,
    }
}

/// List orders (newest first).
#[utoipa::path(get, path = "/orders", tag = "Admin", params(PageQuery), responses((status = 200, body = Page<AdminOrderWire>)), security(("bearer" = [])))]
pub(super) async fn list_orders(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AdminOrderWire>>, ApiError> {
    let before = q
        .before
        .as_deref()
        .map(|b| OrderId::parse(b).map_err(|_| invalid("before", "not an order id")))
        .transpose()?;
    let limit = q.limit.unwrap_or(20).clamp(1, anycart_store::PAGE_SIZE_MAX);
    let orders = state
        .store
        .list_orders(caller.0.merchant, before, limit)
        .await?;
    let next_cursor = next_cursor(&orders, limit, |o| o.order.id.to_string());
    Ok(Json(Page {
        data: orders.into_iter().map(|o| order_wire(&state, o)).collect(),
        next_cursor,
    }))
}

/// Forgets a returning shopper (a privacy request handled by the merchant): their
/// saved address and payment token, sign-in tokens and pending codes. Orders stay.
#[utoipa::path(delete, path = "/shoppers/{email}", tag = "Admin", params(("email" = String, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub(super) async fn forget_shopper(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(email): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .checkout
        .forget_shopper(caller.0.merchant, &email)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("saved shopper"))
    }
}

/// One order.
#[utoipa::path(get, path = "/orders/{id}", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = AdminOrderWire), (status = 404)), security(("bearer" = [])))]
pub(super) async fn get_order(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminOrderWire>, ApiError> {
    let id = OrderId::parse(&id).map_err(|_| ApiError::not_found("order"))?;
    let r = state
        .store
        .get_order(caller.0.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let merchant = caller.0.merchant;
    let delivery = state.store.order_delivery(merchant, id).await?;
    let payment = state.store.order_payment(&r.order).await?;
    let refunds = state.store.order_refunds(merchant, id).await?;
    let disputes = state.store.order_disputes(merchant, id).await?;
    let mut wire = order_wire(&state, r);
    wire.platform = delivery.map(connections::outbox_wire);
    wire.payment = Some(refunds::payment_wire(&payment));
    wire.refunds = Some(refunds.into_iter().map(refunds::refund_wire).collect());
    wire.disputes = Some(disputes.into_iter().map(refunds::dispute_wire).collect());
    Ok(Json(wire))
}
