//! Orders sold through the UCP door: recorded when a checkout completes (with
//! the agent, its webhook URL and the `order_placed` event, in one
//! transaction), read and updated by the agent, and shipped by the merchant
//! (`order_shipped`).
//!
//! What an agent adds with `PUT` (fulfillment events, adjustments) is recorded
//! as reported, append-only: entries already there cannot change, and nothing
//! it reports moves money or stock. Refunds go through the merchant's refunds;
//! shipments come from the merchant (`POST /v1/ucp/orders/{id}/events`).

use super::convert::{self, OrderDoc};
use super::door::{Admitted, Incoming, admit};
use super::error::{InVersion, UcpError, UcpResult};
use super::order_log;
use super::version::UcpVersion;
use super::wire::CheckoutWire;
use crate::error::{ApiError, ErrorCode};
use crate::routes::acp::convert::order_url;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_core::order::Order;
use anycart_core::session::CheckoutSession;
use anycart_core::{MerchantId, OrderId};
use anycart_store::{NewUcpWebhook, OrderRecord, StoreError, UcpOrderRecord, new_ucp_webhook_id};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The channel recorded on orders sold through this door.
pub const CHANNEL: &str = "ucp";

/// A fulfillment event the merchant records.
#[derive(Clone, Debug, Default)]
pub struct NewEvent {
    /// `shipped`, `delivered`, …
    pub kind: String,
    /// (line id, quantity); `None` is every line in full.
    pub line_items: Option<Vec<(String, i64)>>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub carrier: Option<String>,
    pub description: Option<String>,
}

impl NewEvent {
    /// Every line shipped.
    pub fn shipped_in_full(description: &str) -> NewEvent {
        NewEvent {
            kind: "shipped".into(),
            description: Some(description.into()),
            ..NewEvent::default()
        }
    }
}

/// An order body in `version`'s shape.
fn order_body(
    base_url: &str,
    order: &Order,
    token: &str,
    doc: &OrderDoc,
    version: UcpVersion,
) -> Value {
    let wire = convert::order_wire(order, order_url(base_url, token), doc);
    let body = serde_json::to_value(wire).unwrap_or_default();
    match version {
        UcpVersion::V2026_01_11 => body,
        UcpVersion::V2026_04_08 => {
            convert::order_to_2026_04_08(body, &convert::currency(order.currency))
        }
    }
}

/// The body of an order webhook: the order itself (2026-04-08; its id and time
/// ride in `Webhook-Id`/`Webhook-Timestamp`), or the order with `event_id` and
/// `created_time` (2026-01-11) plus `event_type` and the order again under
/// `order`, which is how the official conformance suite reads events.
fn webhook_payload(
    order: Value,
    event_type: &str,
    id: &str,
    now_ms: i64,
    version: UcpVersion,
) -> String {
    match version {
        UcpVersion::V2026_04_08 => order.to_string(),
        UcpVersion::V2026_01_11 => {
            let mut body = order.clone();
            body["event_id"] = json!(id);
            body["created_time"] = json!(rfc3339(now_ms));
            body["event_type"] = json!(event_type);
            body["order"] = order;
            body.to_string()
        }
    }
}

/// The webhook reporting `event_type` for an order, if the agent wants events.
fn webhook(
    record: &UcpOrderRecord,
    body: Value,
    event_type: &str,
    version: UcpVersion,
    now_ms: i64,
) -> Option<NewUcpWebhook> {
    let url = record.webhook_url.clone()?;
    let id = new_ucp_webhook_id();
    Some(NewUcpWebhook {
        payload: webhook_payload(body, event_type, &id, now_ms, version),
        id,
        event_type: event_type.into(),
        url,
        ucp_version: version.as_str().into(),
    })
}

/// Sends a just-enqueued webhook now, off the request's path.
fn send_soon(state: &AppState, id: String) {
    let (sender, service) = (state.ucp.webhooks.clone(), state.checkout.clone());
    tokio::spawn(async move { sender.send_now(&service, &id).await });
}

/// Records a completed UCP checkout's order (once: a retried completion finds
/// it recorded and sends nothing again) with its `order_placed` event. `written`
/// is the order when the caller just wrote it (else it is read).
pub async fn record_completion(
    state: &AppState,
    adm: &Admitted,
    session: &CheckoutSession,
    checkout: &CheckoutWire,
    written: Option<&OrderRecord>,
) -> UcpResult<()> {
    let v = adm.version;
    let order_id = session
        .order_id
        .ok_or_else(|| ApiError::internal("a completed session without its order"))
        .in_version(v)?;
    let stored = super::render::order_of(state, adm, order_id, written)
        .await?
        .ok_or_else(|| ApiError::internal("the order of a completed session is missing"))
        .in_version(v)?;
    let doc = OrderDoc {
        lines: checkout
            .line_items
            .iter()
            .map(|l| (l.id.clone(), json!({ "item": l.item, "totals": l.totals })))
            .collect(),
        totals: checkout
            .totals
            .iter()
            .filter_map(|t| serde_json::to_value(t).ok())
            .collect(),
        expectations: expectations(checkout),
        events: vec![],
        adjustments: vec![],
    };
    let now = state.now_ms();
    let record = UcpOrderRecord {
        order_id,
        merchant_id: adm.merchant,
        session_id: session.id,
        channel: CHANNEL.into(),
        agent_profile: Some(adm.agent_url.clone()),
        webhook_url: adm.webhook_url(state).await,
        ucp_version: v.as_str().into(),
        doc: serde_json::to_string(&doc).unwrap_or_default(),
        version: 1,
        created_at_ms: now,
        updated_at_ms: now,
    };
    let body = order_body(
        &state.config.base_url,
        &stored.order,
        &stored.access_token,
        &doc,
        v,
    );
    let hook = webhook(&record, body, "order_placed", v, now);
    if let Some(Some(id)) = state
        .store
        .record_ucp_order(&record, hook.as_ref())
        .await
        .in_version(v)?
    {
        send_soon(state, id);
    }
    Ok(())
}

/// What the order promises: the selected destination and option of the
/// checkout's shipping method, for all its lines.
fn expectations(checkout: &CheckoutWire) -> Vec<Value> {
    let Some(method) = checkout
        .fulfillment
        .as_ref()
        .and_then(|f| f.methods.iter().find(|m| m.kind == "shipping"))
    else {
        return vec![];
    };
    let destination = method.selected_destination_id.as_ref().and_then(|id| {
        method
            .destinations
            .iter()
            .flatten()
            .find(|d| d.id.as_ref() == Some(id))
    });
    let option = method.groups.iter().flatten().find_map(|g| {
        let chosen = g.selected_option_id.as_ref()?;
        g.options.iter().find(|o| &o.id == chosen)
    });
    let (Some(destination), Some(option)) = (destination, option) else {
        return vec![];
    };
    let mut address = serde_json::to_value(destination).unwrap_or_default();
    if let Some(a) = address.as_object_mut() {
        a.remove("id");
    }
    vec![json!({
        "id": format!("exp_{}", uuid::Uuid::now_v7().simple()),
        "line_items": checkout.line_items.iter().map(|l| json!({"id": l.id, "quantity": l.quantity})).collect::<Vec<_>>(),
        "method_type": "shipping",
        "destination": address,
        "description": option.title,
        "fulfillable_on": "now",
    })]
}

/// A UCP order of `merchant` with its anycart order, or a 404.
async fn load(
    state: &AppState,
    merchant: MerchantId,
    raw_id: &str,
    v: UcpVersion,
) -> UcpResult<(UcpOrderRecord, anycart_store::OrderRecord)> {
    let not_found = || UcpError::new(ApiError::not_found("order"), v);
    let id = OrderId::parse(raw_id).map_err(|_| not_found())?;
    let record = state
        .store
        .get_ucp_order(merchant, id)
        .await
        .in_version(v)?
        .ok_or_else(not_found)?;
    let order = state
        .store
        .get_order(merchant, id)
        .await
        .in_version(v)?
        .ok_or_else(not_found)?;
    Ok((record, order))
}

/// An order is the agent's that placed it (or anyone's holding the merchant's key).
fn check_agent(adm: &Admitted, record: &UcpOrderRecord) -> UcpResult<()> {
    let theirs = adm.keyed
        || record
            .agent_profile
            .as_deref()
            .is_none_or(|p| p == adm.agent_url);
    if theirs {
        Ok(())
    } else {
        Err(UcpError::new(ApiError::not_found("order"), adm.version))
    }
}

fn doc_of(record: &UcpOrderRecord) -> OrderDoc {
    serde_json::from_str(&record.doc).unwrap_or_default()
}

/// Get an order (its fulfillment expectations, events and adjustments).
#[utoipa::path(get, path = "/ucp/{merchant_id}/orders/{order_id}", tag = "UCP", operation_id = "ucp_get_order",
    params(("merchant_id" = String, Path), ("order_id" = String, Path), ("UCP-Agent" = String, Header)),
    responses((status = 200, body = Object), (status = "4XX", body = Object)))]
pub async fn get(
    State(state): State<AppState>,
    Path((merchant, order)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let adm = admit(
            &state,
            &merchant,
            Incoming {
                method: &method,
                uri: &uri,
                headers: &headers,
                body: &[],
            },
        )
        .await?;
        let (record, stored) = load(&state, adm.merchant, &order, adm.version).await?;
        check_agent(&adm, &record)?;
        let body = order_body(
            &state.config.base_url,
            &stored.order,
            &stored.access_token,
            &doc_of(&record),
            adm.version,
        );
        UcpResult::Ok(axum::Json(body).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Report fulfillment events or adjustments on an order (appended; recorded as
/// the agent reports them).
#[utoipa::path(put, path = "/ucp/{merchant_id}/orders/{order_id}", tag = "UCP", operation_id = "ucp_update_order",
    params(("merchant_id" = String, Path), ("order_id" = String, Path), ("UCP-Agent" = String, Header)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 422, body = Object), (status = "4XX", body = Object)))]
pub async fn update(
    State(state): State<AppState>,
    Path((merchant, order)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let run = async {
        let adm = admit(
            &state,
            &merchant,
            Incoming {
                method: &method,
                uri: &uri,
                headers: &headers,
                body: &body,
            },
        )
        .await?;
        let v = adm.version;
        let request: Value = crate::extract::parse_json(&body).in_version(v)?;
        let (record, stored) = load(&state, adm.merchant, &order, v).await?;
        check_agent(&adm, &record)?;
        let mut doc = doc_of(&record);
        order_log::apply_reported(&mut doc, &request, &stored.order).in_version(v)?;
        let text = serde_json::to_string(&doc).unwrap_or_default();
        state
            .store
            .update_ucp_order(
                adm.merchant,
                record.order_id,
                record.version,
                &text,
                None,
                state.now_ms(),
            )
            .await
            .in_version(v)?;
        let body = order_body(
            &state.config.base_url,
            &stored.order,
            &stored.access_token,
            &doc,
            v,
        );
        UcpResult::Ok(axum::Json(body).into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// Records a fulfillment event on an order (the merchant shipping it) and sends
/// `order_shipped` (`order_updated` for other events). Returns the order in
/// 2026-01-11's shape.
pub async fn record_event(
    state: &AppState,
    merchant: MerchantId,
    order: OrderId,
    event: NewEvent,
) -> UcpResult<Value> {
    let v = UcpVersion::DEFAULT;
    let (record, stored) = load(state, merchant, &order.to_string(), v).await?;
    let order_version = UcpVersion::parse(&record.ucp_version).unwrap_or(v);
    let mut doc = doc_of(&record);
    if doc.events.len() >= order_log::ORDER_LOG_ENTRIES_MAX {
        return Err(UcpError::new(
            order_log::unprocessable("$".into(), "This order has too many events."),
            v,
        ));
    }
    let now = state.now_ms();
    let line_items: Vec<Value> = match &event.line_items {
        Some(list) => list
            .iter()
            .map(|(id, q)| json!({"id": id, "quantity": q}))
            .collect(),
        None => stored
            .order
            .lines
            .iter()
            .map(|l| json!({"id": l.id.to_string(), "quantity": l.quantity.get()}))
            .collect(),
    };
    let mut entry = json!({
        "id": format!("evt_{}", uuid::Uuid::now_v7().simple()),
        "occurred_at": rfc3339(now),
        "type": event.kind,
        "line_items": line_items,
    });
    for (field, value) in [
        ("tracking_number", &event.tracking_number),
        ("tracking_url", &event.tracking_url),
        ("carrier", &event.carrier),
        ("description", &event.description),
    ] {
        if let Some(v) = value {
            entry[field] = json!(v);
        }
    }
    if let Some(obj) = entry.as_object() {
        order_log::check_event(obj, "$", &stored.order).in_version(v)?;
    }
    doc.events.push(entry);
    let event_type = if event.kind == "shipped" {
        "order_shipped"
    } else {
        "order_updated"
    };
    let hook_body = order_body(
        &state.config.base_url,
        &stored.order,
        &stored.access_token,
        &doc,
        order_version,
    );
    let hook = webhook(&record, hook_body, event_type, order_version, now);
    let text = serde_json::to_string(&doc).unwrap_or_default();
    let written = state
        .store
        .update_ucp_order(
            merchant,
            record.order_id,
            record.version,
            &text,
            hook.as_ref(),
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::VersionConflict => ApiError::new(
                ErrorCode::ConcurrentUpdate,
                "The order changed meanwhile; retry.",
            )
            .retry_after(1),
            other => other.into(),
        })
        .in_version(v)?;
    if let Some(id) = written {
        send_soon(state, id);
    }
    Ok(order_body(
        &state.config.base_url,
        &stored.order,
        &stored.access_token,
        &doc,
        v,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2026_01_11_webhook_carries_the_order_twice_and_the_event_fields() {
        let order = json!({"id": "ord_1", "checkout_id": "cs_1"});
        let body: Value = serde_json::from_str(&webhook_payload(
            order.clone(),
            "order_placed",
            "evt_1",
            0,
            UcpVersion::V2026_01_11,
        ))
        .unwrap();
        assert_eq!(body["event_type"], "order_placed");
        assert_eq!(body["checkout_id"], "cs_1");
        assert_eq!(body["order"]["id"], "ord_1");
        assert_eq!(body["event_id"], "evt_1");
        let newer = webhook_payload(
            order.clone(),
            "order_placed",
            "evt_1",
            0,
            UcpVersion::V2026_04_08,
        );
        assert_eq!(serde_json::from_str::<Value>(&newer).unwrap(), order);
    }
}
