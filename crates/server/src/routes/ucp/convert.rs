//! Sessions and orders to UCP's wire: the 2026-01-11 shapes, and what 2026-04-08
//! changes (map-shaped `ucp` envelopes with the payment handlers in them,
//! negative discount totals, the order's currency).

use super::payment::{Handler, handler_wire, handlers_by_name};
use super::state::{DoorState, MethodState};
use super::version::UcpVersion;
use super::wire::*;
use anycart_checkout::clock::rfc3339;
use anycart_core::Currency;
use anycart_core::session::{
    CheckoutSession, CheckoutStatus, ErrorCode as MessageCode, Message, MessageKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The capabilities a checkout response shows (checkout and its extensions).
const CHECKOUT_CAPABILITIES: [&str; 4] = [
    "dev.ucp.shopping.checkout",
    "dev.ucp.shopping.fulfillment",
    "dev.ucp.shopping.discount",
    "dev.ucp.shopping.buyer_consent",
];
/// The capability an order response shows.
pub const ORDER_CAPABILITY: &str = "dev.ucp.shopping.order";

/// UCP's currency spelling (ISO 4217, upper case).
pub fn currency(c: Currency) -> String {
    c.code_lower().to_ascii_uppercase()
}

/// `ucp` of a 2026-01-11 response naming `names`.
fn meta(names: &[&'static str]) -> UcpMeta {
    UcpMeta {
        version: UcpVersion::V2026_01_11.as_str(),
        capabilities: names
            .iter()
            .map(|n| CapabilityRef {
                name: n,
                version: UcpVersion::V2026_01_11.as_str(),
            })
            .collect(),
    }
}

fn total(kind: &'static str, text: &str, amount: i64) -> TotalWire {
    TotalWire {
        kind,
        display_text: text.to_string(),
        amount,
    }
}

/// UCP's checkout status for a session's.
pub fn status(s: CheckoutStatus) -> &'static str {
    match s {
        CheckoutStatus::NotReadyForPayment => "incomplete",
        CheckoutStatus::ReadyForPayment => "ready_for_complete",
        CheckoutStatus::AuthenticationRequired => "requires_escalation",
        CheckoutStatus::Completed => "completed",
        // 2026-01-11 has no `expired`: an expired checkout is over, like a canceled one.
        CheckoutStatus::Canceled | CheckoutStatus::Expired => "canceled",
    }
}

/// What a checkout is rendered with besides the session.
pub struct View<'a> {
    pub handlers: &'a [Handler],
    pub links: Vec<LinkWire>,
    /// The order's id and status page, once paid.
    pub order: Option<OrderConfirmationWire>,
}

/// A checkout in 2026-01-11's shape.
pub fn checkout_wire(session: &CheckoutSession, view: &View<'_>) -> CheckoutWire {
    let state = DoorState::of(session);
    let line_ids: Vec<String> = session.lines.iter().map(|l| l.id.to_string()).collect();
    let q = &session.quote;
    let line_items = session
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let base = l.unit_price.amount_minor * i64::from(l.quantity.get());
            let priced = q.lines.get(i);
            let discount = priced.map_or(0, |p| p.discount_minor);
            let tax = priced.map_or(0, |p| p.tax_minor);
            let mut totals = vec![total("subtotal", "Subtotal", base)];
            if discount > 0 {
                totals.push(total("items_discount", "Discount", discount));
            }
            if tax > 0 {
                totals.push(total("tax", "Tax", tax));
            }
            totals.push(total("total", "Total", base - discount + tax));
            LineItemWire {
                id: l.id.to_string(),
                item: ItemWire {
                    id: state
                        .item_ids
                        .get(&l.variant_id.to_string())
                        .cloned()
                        .unwrap_or_else(|| l.sku.clone()),
                    title: l.title.clone(),
                    price: l.unit_price.amount_minor,
                    image_url: l.image_url.clone(),
                },
                quantity: l.quantity.get(),
                totals,
            }
        })
        .collect();
    let fulfillment_selected = shipping_selected(session, &state);
    let t = q.totals;
    let mut totals = vec![total("subtotal", "Subtotal", t.items_base_minor)];
    if t.discount_minor > 0 {
        totals.push(total("items_discount", "Discounts", t.discount_minor));
    }
    if fulfillment_selected {
        totals.push(total("fulfillment", "Shipping", t.fulfillment_minor));
    }
    if t.tax_minor > 0 {
        totals.push(total("tax", "Tax", t.tax_minor));
    }
    totals.push(total("total", "Total", t.total_minor));
    let mut messages: Vec<MessageWire> = q.messages.iter().map(|m| message(m, &state)).collect();
    if let Some(m) = &session.payment_message {
        messages.push(message(m, &state));
    }
    CheckoutWire {
        ucp: meta(&CHECKOUT_CAPABILITIES),
        id: session.id.to_string(),
        line_items,
        buyer: buyer(session, &state),
        status: status(session.status),
        currency: currency(session.currency),
        totals,
        messages,
        links: view.links.clone(),
        expires_at: rfc3339(session.expires_at_ms),
        payment: PaymentWire {
            handlers: view
                .handlers
                .iter()
                .map(|h| handler_wire(h, UcpVersion::V2026_01_11))
                .collect(),
            selected_instrument_id: None,
            instruments: vec![],
        },
        order: view.order.clone(),
        fulfillment: (!state.methods.is_empty()).then(|| FulfillmentWire {
            methods: state
                .methods
                .iter()
                .map(|m| method(m, session, &line_ids))
                .collect(),
        }),
        discounts: DiscountsWire {
            codes: session.discount_codes.clone(),
            applied: q
                .applied_discounts
                .iter()
                .enumerate()
                .map(|(i, a)| AppliedDiscountWire {
                    code: a.code.clone(),
                    title: a.name.clone(),
                    amount: a.amount_minor,
                    automatic: false,
                    method: "across",
                    priority: i + 1,
                    allocations: a
                        .allocations_minor
                        .iter()
                        .enumerate()
                        .filter(|(_, amount)| **amount > 0)
                        .map(|(line, amount)| AllocationWire {
                            path: format!("$.line_items[{line}]"),
                            amount: *amount,
                        })
                        .collect(),
                })
                .collect(),
        },
    }
}

/// Whether a shipping option is selected for a selected destination.
fn shipping_selected(session: &CheckoutSession, state: &DoorState) -> bool {
    session.selected_shipping.is_some()
        && session.fulfillment.address.is_some()
        && state.shipping().and_then(MethodState::selected).is_some()
}

fn buyer(session: &CheckoutSession, state: &DoorState) -> Option<BuyerWire> {
    let b = &session.buyer;
    let wire = BuyerWire {
        first_name: b.first_name.clone(),
        last_name: b.last_name.clone(),
        full_name: state.full_name.clone(),
        email: b.email.as_ref().map(|e| e.as_ref().to_string()),
        phone_number: b.phone_number.clone(),
        consent: state.consent.clone(),
    };
    let empty = wire.first_name.is_none()
        && wire.last_name.is_none()
        && wire.full_name.is_none()
        && wire.email.is_none()
        && wire.phone_number.is_none()
        && wire.consent.is_none();
    (!empty).then_some(wire)
}

/// One fulfillment method, with its group and options once a destination is
/// selected and priced.
fn method(m: &MethodState, session: &CheckoutSession, line_ids: &[String]) -> MethodWire {
    let priced = m.selected().is_some() && session.fulfillment.address.is_some();
    let groups = priced.then(|| {
        let options = session
            .quote
            .fulfillment_options
            .iter()
            .map(|o| {
                // A rate that costs nothing here only thanks to a promotion says so.
                let free = o.amount_minor == 0 && o.rate.amount.amount_minor > 0;
                OptionWire {
                    id: option_id(&o.rate),
                    title: if free {
                        format!("{} (Free)", o.rate.title)
                    } else {
                        o.rate.title.clone()
                    },
                    description: Some(format!(
                        "Arrives in {}-{} business days",
                        o.rate.min_delivery_days, o.rate.max_delivery_days
                    )),
                    carrier: o.rate.carrier.clone(),
                    totals: vec![
                        total("subtotal", "Subtotal", o.amount_minor),
                        total("total", "Total", o.amount_minor),
                    ],
                }
            })
            .collect();
        let selected = session.selected_shipping.and_then(|id| {
            session
                .quote
                .fulfillment_options
                .iter()
                .find(|o| o.rate.id == id)
                .map(|o| option_id(&o.rate))
        });
        vec![GroupWire {
            id: m.group_id.clone(),
            line_item_ids: line_ids.to_vec(),
            options,
            selected_option_id: selected,
        }]
    });
    MethodWire {
        id: m.id.clone(),
        kind: m.kind.clone(),
        line_item_ids: line_ids.to_vec(),
        destinations: (!m.destinations.is_empty()).then(|| m.destinations.clone()),
        selected_destination_id: m.selected_destination_id.clone(),
        groups,
    }
}

/// A session message in UCP's shape: its path where UCP has the field.
fn message(m: &Message, state: &DoorState) -> MessageWire {
    let (kind, code, severity) = match m.kind {
        MessageKind::Info => ("info", "info".to_string(), None),
        MessageKind::Warning(c) => ("warning", snake(c), None),
        MessageKind::Error(c) => (
            "error",
            snake(c),
            Some(if m.blocking {
                "requires_buyer_input"
            } else {
                "recoverable"
            }),
        ),
    };
    let (path, content) = path_of(m, state);
    MessageWire {
        kind,
        code,
        path,
        content_type: "plain",
        content,
        severity,
    }
}

/// Where a session message points, in UCP's terms (the session speaks of one
/// address; UCP of the selected destination of a method).
fn path_of(m: &Message, state: &DoorState) -> (Option<String>, String) {
    let Some(param) = m.param.as_deref() else {
        return (None, m.content.clone());
    };
    let Some(rest) = param.strip_prefix("$.fulfillment_details") else {
        return (Some(param.to_string()), m.content.clone());
    };
    let shipping = state
        .methods
        .iter()
        .position(|m| m.kind == "shipping")
        .map(|i| (i, &state.methods[i]));
    let Some((mi, method)) = shipping else {
        return (Some("$.fulfillment".into()), m.content.clone());
    };
    let base = format!("$.fulfillment.methods[{mi}]");
    let Some((di, dest)) = method.selected() else {
        return (
            Some(format!("{base}.selected_destination_id")),
            "Select a shipping destination.".into(),
        );
    };
    let dest_path = format!("{base}.destinations[{di}]");
    match rest {
        ".address.line_one" if dest.street_address.is_some() && dest.name().is_none() => (
            Some(format!("{dest_path}.full_name")),
            "A recipient name is needed for this destination.".into(),
        ),
        ".address.line_one" => (
            Some(format!("{dest_path}.street_address")),
            "A street address, city and postal code are needed for this destination.".into(),
        ),
        ".address.country" => (
            Some(format!("{dest_path}.address_country")),
            m.content.clone(),
        ),
        _ => (Some(dest_path), m.content.clone()),
    }
}

/// The id agents see for a rate: its code, else its id.
pub fn option_id(rate: &anycart_core::pricing::ShippingRate) -> String {
    rate.code.clone().unwrap_or_else(|| rate.id.to_string())
}

/// A message code as its snake-case wire name.
fn snake(code: impl Serialize) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Whether a session message says an item is out of stock or short.
pub fn is_stock_message(m: &Message) -> bool {
    matches!(
        m.kind,
        MessageKind::Error(MessageCode::OutOfStock | MessageCode::QuantityExceeded)
    )
}

/// A 2026-01-11 body in 2026-04-08's shape.
pub fn checkout_to_2026_04_08(mut body: Value, handlers: &[Handler]) -> Value {
    let capabilities: serde_json::Map<String, Value> = CHECKOUT_CAPABILITIES
        .iter()
        .map(|n| {
            (
                n.to_string(),
                json!([{ "version": UcpVersion::V2026_04_08.as_str() }]),
            )
        })
        .collect();
    body["ucp"] = json!({
        "version": UcpVersion::V2026_04_08.as_str(),
        "status": "success",
        "capabilities": capabilities,
        "payment_handlers": handlers_by_name(handlers, false),
    });
    if let Some(obj) = body.as_object_mut() {
        obj.remove("payment");
    }
    negate_discounts(&mut body);
    body
}

/// Discounts are negative in 2026-04-08's totals (positive in 2026-01-11's).
fn negate_discounts(body: &mut Value) {
    let fix = |totals: &mut Value| {
        for t in totals.as_array_mut().into_iter().flatten() {
            let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
            if matches!(kind, "discount" | "items_discount")
                && let Some(a) = t.get("amount").and_then(Value::as_i64)
            {
                t["amount"] = json!(-a.abs());
            }
        }
    };
    if let Some(t) = body.get_mut("totals") {
        fix(t);
    }
    for line in body
        .get_mut("line_items")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(t) = line.get_mut("totals") {
            fix(t);
        }
    }
}

/// What UCP adds to an order, kept in `ucp_orders.doc`: a snapshot of the
/// checkout's lines and totals as the agent saw them, the expectations
/// promised, and the append-only logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderDoc {
    /// Per line (by line id): the item as shown and its totals.
    #[serde(default)]
    pub lines: BTreeMap<String, Value>,
    #[serde(default)]
    pub totals: Vec<Value>,
    #[serde(default)]
    pub expectations: Vec<Value>,
    #[serde(default)]
    pub events: Vec<Value>,
    #[serde(default)]
    pub adjustments: Vec<Value>,
}

impl OrderDoc {
    /// Units of each line shipped so far, from the `shipped` events.
    pub fn fulfilled(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for e in &self.events {
            if e.get("type").and_then(Value::as_str) != Some("shipped") {
                continue;
            }
            for li in e
                .get("line_items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(id), Some(q)) = (
                    li.get("id").and_then(Value::as_str),
                    li.get("quantity").and_then(Value::as_i64),
                ) {
                    *out.entry(id.to_string()).or_insert(0) += q;
                }
            }
        }
        out
    }
}

/// An order in 2026-01-11's shape.
pub fn order_wire(
    order: &anycart_core::order::Order,
    permalink_url: String,
    doc: &OrderDoc,
) -> OrderWire {
    let fulfilled = doc.fulfilled();
    let line_items = order
        .lines
        .iter()
        .map(|l| {
            let id = l.id.to_string();
            let snapshot = doc.lines.get(&id);
            let total_qty = l.quantity.get();
            let done = u32::try_from(fulfilled.get(&id).copied().unwrap_or(0).max(0))
                .unwrap_or(u32::MAX)
                .min(total_qty);
            let base = l.unit_price.amount_minor * i64::from(total_qty);
            OrderLineItemWire {
                id,
                item: ItemWire {
                    id: snapshot
                        .and_then(|s| s.pointer("/item/id"))
                        .and_then(Value::as_str)
                        .map_or_else(|| l.sku.clone(), String::from),
                    title: l.title.clone(),
                    price: l.unit_price.amount_minor,
                    image_url: l.image_url.clone(),
                },
                quantity: OrderQuantityWire {
                    total: total_qty,
                    fulfilled: done,
                },
                totals: snapshot
                    .and_then(|s| s.get("totals"))
                    .and_then(|t| serde_json::from_value::<Vec<TotalSnapshot>>(t.clone()).ok())
                    .map(|ts| ts.into_iter().map(TotalSnapshot::wire).collect())
                    .unwrap_or_else(|| {
                        vec![
                            total("subtotal", "Subtotal", base),
                            total("total", "Total", base),
                        ]
                    }),
                status: if done >= total_qty {
                    "fulfilled"
                } else if done > 0 {
                    "partial"
                } else {
                    "processing"
                },
            }
        })
        .collect();
    let t = order.totals;
    let totals = if doc.totals.is_empty() {
        vec![
            total("subtotal", "Subtotal", t.items_base_minor),
            total("total", "Total", t.total_minor),
        ]
    } else {
        doc.totals
            .iter()
            .filter_map(|v| serde_json::from_value::<TotalSnapshot>(v.clone()).ok())
            .map(TotalSnapshot::wire)
            .collect()
    };
    OrderWire {
        ucp: meta(&[ORDER_CAPABILITY]),
        id: order.id.to_string(),
        checkout_id: order.session_id.to_string(),
        permalink_url,
        line_items,
        fulfillment: OrderFulfillmentWire {
            expectations: doc.expectations.clone(),
            events: doc.events.clone(),
        },
        adjustments: doc.adjustments.clone(),
        totals,
    }
}

/// A total as snapshotted (its type read back into one of UCP's).
#[derive(Deserialize)]
struct TotalSnapshot {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    display_text: String,
    amount: i64,
}

impl TotalSnapshot {
    fn wire(self) -> TotalWire {
        let kind = match self.kind.as_str() {
            "subtotal" => "subtotal",
            "items_discount" => "items_discount",
            "discount" => "discount",
            "fulfillment" => "fulfillment",
            "tax" => "tax",
            "fee" => "fee",
            _ => "total",
        };
        TotalWire {
            kind,
            display_text: self.display_text,
            amount: self.amount,
        }
    }
}

/// An order body in 2026-04-08's shape.
pub fn order_to_2026_04_08(mut body: Value, currency_code: &str) -> Value {
    body["ucp"] = json!({
        "version": UcpVersion::V2026_04_08.as_str(),
        "status": "success",
        "capabilities": { ORDER_CAPABILITY: [{ "version": UcpVersion::V2026_04_08.as_str() }] },
    });
    body["currency"] = json!(currency_code);
    negate_discounts(&mut body);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_turn_negative_in_2026_04_08_and_the_envelope_becomes_maps() {
        let body = json!({
            "ucp": {"version": "2026-01-11", "capabilities": []},
            "totals": [{"type": "subtotal", "amount": 3500}, {"type": "items_discount", "amount": 350}, {"type": "total", "amount": 3150}],
            "line_items": [{"totals": [{"type": "items_discount", "amount": 350}]}],
            "payment": {"handlers": []},
        });
        let out = checkout_to_2026_04_08(body, &[]);
        assert_eq!(out["totals"][1]["amount"], -350);
        assert_eq!(out["line_items"][0]["totals"][0]["amount"], -350);
        assert_eq!(out["totals"][2]["amount"], 3150);
        assert!(out.get("payment").is_none());
        assert_eq!(out["ucp"]["status"], "success");
        assert!(out["ucp"]["capabilities"]["dev.ucp.shopping.checkout"].is_array());
    }

    #[test]
    fn statuses_map_onto_ucps() {
        assert_eq!(status(CheckoutStatus::NotReadyForPayment), "incomplete");
        assert_eq!(
            status(CheckoutStatus::ReadyForPayment),
            "ready_for_complete"
        );
        assert_eq!(status(CheckoutStatus::Expired), "canceled");
    }
}
