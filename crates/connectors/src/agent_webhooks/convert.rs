//! An anycart order (with its refunds) → the ACP order webhook. Pure.
//!
//! Affiliate attribution is write-only in ACP and never appears here.

use super::wire::*;
use anycart_core::order::{Order, OrderStatus};
use anycart_store::{AgentOrderEvent, Refund, RefundState};

/// RFC 3339 (UTC, seconds) of a unix-ms time.
pub fn rfc3339(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

fn total(kind: &'static str, text: &str, amount: i64) -> TotalWire {
    TotalWire {
        kind,
        display_text: text.to_string(),
        amount,
    }
}

/// Whether the order's goods have left: capture on fulfilment moved it to
/// `shipped` (or further).
fn shipped(status: OrderStatus) -> bool {
    matches!(status, OrderStatus::Shipped | OrderStatus::Completed)
}

fn adjustment(r: &Refund) -> Option<AdjustmentWire> {
    let status = match r.state {
        RefundState::Requested => return None,
        RefundState::Pending => "pending",
        RefundState::Succeeded => "completed",
        RefundState::Failed => "failed",
    };
    Some(AdjustmentWire {
        id: r.id.to_string(),
        kind: "refund",
        occurred_at: rfc3339(r.updated_at_ms),
        status,
        line_items: r
            .lines
            .iter()
            .filter_map(|l| {
                Some(LineItemReferenceWire {
                    id: l.line_item_id.clone(),
                    quantity: u32::try_from(l.quantity).ok().filter(|q| *q > 0)?,
                })
            })
            .collect(),
        amount: r.amount_minor,
        currency: r.currency.to_ascii_lowercase(),
        description: r.reason.clone(),
    })
}

/// The order's lines, fulfilled once it has shipped.
fn line_items(order: &Order, fulfilled: bool) -> Vec<OrderLineItemWire> {
    order
        .lines
        .iter()
        .map(|l| {
            let ordered = l.quantity.get();
            OrderLineItemWire {
                id: l.id.to_string(),
                title: l.title.clone(),
                product_id: l.product_id.to_string(),
                image_url: l.image_url.clone(),
                quantity: QuantityWire {
                    ordered,
                    current: ordered,
                    fulfilled: if fulfilled { ordered } else { 0 },
                },
                unit_price: l.unit_price.amount_minor,
                subtotal: l.unit_price.amount_minor.saturating_mul(i64::from(ordered)),
                status: if fulfilled { "fulfilled" } else { "processing" },
            }
        })
        .collect()
}

/// The one shipment anycart knows of: the whole order, once shipped.
fn shipment(order: &Order, lines: &[OrderLineItemWire]) -> FulfillmentWire {
    FulfillmentWire {
        id: format!("ful_{}", order.id.to_string().trim_start_matches("ord_")),
        kind: "shipping",
        status: "shipped",
        line_items: lines
            .iter()
            .map(|l| LineItemReferenceWire {
                id: l.id.clone(),
                quantity: l.quantity.ordered,
            })
            .collect(),
        description: order.shipping_title.clone(),
    }
}

/// The order's totals as charged, and what was refunded of it.
fn totals(order: &Order, refunds: &[Refund]) -> Vec<TotalWire> {
    let t = order.totals;
    let mut totals = vec![total("subtotal", "Subtotal", t.subtotal_minor)];
    if t.discount_minor > 0 {
        totals.push(total("discount", "Discount", t.discount_minor));
    }
    totals.extend([
        total("fulfillment", "Shipping", t.fulfillment_minor),
        total("tax", "Tax", t.tax_minor),
        total("total", "Total", t.total_minor),
    ]);
    let refunded: i64 = refunds
        .iter()
        .filter(|r| r.state == RefundState::Succeeded)
        .map(|r| r.amount_minor)
        .sum();
    if refunded > 0 {
        totals.push(total("amount_refunded", "Refunded", refunded));
    }
    totals
}

/// The webhook body for `event` about `order` as it is now.
pub fn event(
    event: AgentOrderEvent,
    order: &Order,
    refunds: &[Refund],
    permalink_url: &str,
) -> WebhookEventWire {
    let fulfilled = shipped(order.status);
    let line_items = line_items(order, fulfilled);
    let fulfillments = if fulfilled {
        vec![shipment(order, &line_items)]
    } else {
        vec![]
    };
    WebhookEventWire {
        kind: event.as_str(),
        data: OrderWire {
            kind: "order",
            id: order.id.to_string(),
            checkout_session_id: order.session_id.to_string(),
            permalink_url: permalink_url.to_string(),
            order_number: order.number.to_string(),
            status: order.status.as_str(),
            confirmation: ConfirmationWire {
                confirmation_number: order.display_number(),
                receipt_url: permalink_url.to_string(),
            },
            line_items,
            fulfillments,
            adjustments: refunds.iter().filter_map(adjustment).collect(),
            totals: totals(order, refunds),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_in_utc_to_the_second() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600_123), "2026-01-01T00:00:00Z");
    }
}
