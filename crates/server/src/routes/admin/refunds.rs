//! Admin API for the money side of orders: refunds (`POST/GET
//! /v1/orders/{id}/refunds`) and captures (`POST /v1/orders/{id}/capture`).

use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::idempotency::{fingerprint, idempotency_key};
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::refunds::RefundInput;
use anycart_core::OrderId;
use anycart_store::{Dispute, OrderPayment, Refund};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/orders/{id}/refunds`. Nothing named: the whole order (what is left
/// of it). Lines: their share of the total, tax included. `amount`: exactly
/// that (with lines, the lines say which units come back).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    #[serde(default)]
    pub line_items: Vec<RefundLineBody>,
    /// Minor units (cents).
    #[serde(default)]
    pub amount: Option<i64>,
    /// Give the units back to stock (a connected platform restocks on its side).
    #[serde(default)]
    pub restock: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineBody {
    /// The order's line item id (`li_…`).
    pub id: String,
    pub quantity: i64,
}

/// A refund as the admin API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RefundWire {
    pub id: String,
    pub order_id: String,
    /// `anycart`, `provider` (made in the Stripe dashboard) or `platform` (made
    /// in the platform's admin).
    pub source: &'static str,
    /// `requested` (the provider has not answered yet), `pending`, `succeeded` or
    /// `failed`.
    pub status: &'static str,
    pub amount: i64,
    pub currency: String,
    pub line_items: Vec<RefundLineWire>,
    pub restock: bool,
    pub reason: Option<String>,
    /// The provider's refund id (`re_…`).
    pub provider_reference: Option<String>,
    pub platform_reference: Option<String>,
    pub failure: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RefundLineWire {
    pub id: String,
    pub variant_id: String,
    pub quantity: i64,
}

/// What an order's payment came to.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrderPaymentWire {
    pub provider: String,
    pub reference: String,
    /// `authorized` (capture on fulfilment), `captured`, `failed` or `canceled`.
    pub status: &'static str,
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    /// What is left to refund.
    pub refundable: i64,
    pub currency: String,
}

/// A dispute (chargeback) on the order's payment.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DisputeWire {
    pub id: String,
    pub status: String,
    pub reason: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to a refund: the refund and the order's payment after it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RefundResultWire {
    pub refund: RefundWire,
    pub payment: OrderPaymentWire,
}

pub fn refund_wire(r: Refund) -> RefundWire {
    RefundWire {
        id: r.id.to_string(),
        order_id: r.order_id.to_string(),
        source: r.source.as_str(),
        status: r.state.as_str(),
        amount: r.amount_minor,
        currency: r.currency,
        line_items: r
            .lines
            .into_iter()
            .map(|l| RefundLineWire {
                id: l.line_item_id,
                variant_id: l.variant_id.to_string(),
                quantity: l.quantity,
            })
            .collect(),
        restock: r.restock,
        reason: r.reason,
        provider_reference: r.provider_reference,
        platform_reference: r.platform_reference,
        failure: r.failure,
        created_at: rfc3339(r.created_at_ms),
        updated_at: rfc3339(r.updated_at_ms),
    }
}

pub fn payment_wire(p: &OrderPayment) -> OrderPaymentWire {
    OrderPaymentWire {
        provider: p.provider.clone(),
        reference: p.provider_reference.clone(),
        status: p.status.as_str(),
        amount: p.amount_minor,
        captured: p.captured_minor,
        refunded: p.refunded_minor,
        refundable: p.refundable_minor(),
        currency: p.currency.clone(),
    }
}

pub fn dispute_wire(d: Dispute) -> DisputeWire {
    DisputeWire {
        id: d.dispute_id,
        status: d.status,
        reason: d.reason,
        amount: d.amount_minor,
        currency: d.currency,
        created_at: rfc3339(d.created_at_ms),
        updated_at: rfc3339(d.updated_at_ms),
    }
}

fn order_id(id: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(id).map_err(|_| ApiError::not_found("order"))
}

/// Refund an order, or part of it, through the provider that was paid. The
/// `Idempotency-Key` header is required: the same key never refunds twice (and
/// resumes a refund the provider did not answer). Refunds never add up to more
/// than was captured.
#[utoipa::path(post, path = "/orders/{id}/refunds", tag = "Admin", request_body = RefundBody,
    params(("id" = String, Path), ("Idempotency-Key" = String, Header, description = "Required")),
    responses((status = 201, body = RefundResultWire), (status = "4XX", body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub(super) async fn create_refund(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: AcpJson<RefundBody>,
) -> Result<(StatusCode, Json<RefundResultWire>), ApiError> {
    let key = idempotency_key(&headers)?;
    let order = order_id(&id)?;
    let b = body.value;
    let input = RefundInput {
        lines: b
            .line_items
            .into_iter()
            .map(|l| (l.id, l.quantity))
            .collect(),
        amount_minor: b.amount,
        restock: b.restock,
        reason: b.reason,
        idempotency_key: key,
        request_hash: fingerprint(&body.raw),
        platform_reference: None,
    };
    let done = state
        .checkout
        .refund_order(caller.0.merchant, order, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RefundResultWire {
            payment: payment_wire(&done.payment),
            refund: refund_wire(done.refund),
        }),
    ))
}

/// An order's refunds, oldest first.
#[utoipa::path(get, path = "/orders/{id}/refunds", tag = "Admin", params(("id" = String, Path)),
    responses((status = 200, body = Vec<RefundWire>), (status = 404)), security(("bearer" = [])))]
pub(super) async fn list_refunds(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<RefundWire>>, ApiError> {
    let order = order_id(&id)?;
    if state
        .store
        .get_order(caller.0.merchant, order)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("order"));
    }
    let refunds = state.store.order_refunds(caller.0.merchant, order).await?;
    Ok(Json(refunds.into_iter().map(refund_wire).collect()))
}

/// Capture an order's payment authorised at completion (merchants on
/// `capture: on_fulfilment` call this when they ship). Capturing twice is a no-op.
#[utoipa::path(post, path = "/orders/{id}/capture", tag = "Admin", params(("id" = String, Path)),
    responses((status = 200, body = OrderPaymentWire), (status = "4XX", body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub(super) async fn capture_order(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<OrderPaymentWire>, ApiError> {
    let order = order_id(&id)?;
    let payment = state
        .checkout
        .capture_order(caller.0.merchant, order)
        .await?;
    Ok(Json(payment_wire(&payment)))
}
