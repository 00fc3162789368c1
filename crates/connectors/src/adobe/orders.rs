//! The order half of the Adobe Commerce connector: the retry-safe search for an
//! order an earlier attempt placed, the guest-cart flow that places one, and the
//! comment that tags it.

use super::{
    AdobeConnector, CODE_CHARS_MAX, FIND_PAGE_SIZE, FIND_PAGES_MAX, PLACE_DEADLINE_MS, Throttle,
    convert, transient, wire,
};
use crate::{Confirmation, ConnectorError, PushedOrder};
use convert::Filter;
use reqwest::Method;
use std::time::{Duration, Instant};

impl AdobeConnector {
    /// Orders matching `filters`, every page up to [`FIND_PAGES_MAX`].
    pub(super) async fn orders(
        &self,
        filters: &[Filter<'_>],
    ) -> Result<Vec<wire::Order>, ConnectorError> {
        let mut out = Vec::new();
        for page in 1..=FIND_PAGES_MAX {
            let q = convert::search_criteria(filters, FIND_PAGE_SIZE, page, Some("entity_id"));
            let found: wire::SearchResults<wire::Order> = self
                .call(Method::GET, &["orders"], &q, None, Throttle::NoWait)
                .await?;
            out.extend(found.items);
            if convert::next_cursor(page, FIND_PAGE_SIZE, found.total_count).is_none() {
                return Ok(out);
            }
        }
        Err(ConnectorError::Transient(format!(
            "more than {} orders match the retry-safe search; cannot rule out an earlier push",
            FIND_PAGE_SIZE * FIND_PAGES_MAX
        )))
    }

    /// The platform order an earlier attempt created for this anycart order, if any.
    pub(super) async fn find_pushed(
        &self,
        plan: &convert::OrderPlan,
    ) -> Result<Option<wire::Order>, ConnectorError> {
        let orders = self
            .orders(&[
                ("customer_email", &plan.email, "eq"),
                ("created_at", &plan.created_since, "gteq"),
            ])
            .await?;
        Ok(orders
            .into_iter()
            .find(|o| convert::is_anycart_order(o, &plan.anycart_order_id)))
    }

    /// Adds the tagging comment. Best effort: the PO number already names the
    /// order, and failing the push here would only retry an order that exists.
    /// The comment repeats the order's current status: without one, Magento
    /// 2.3/2.4 clears the status (magento/magento2#34180) and the order drops out
    /// of the admin grid, so an order whose status is unknown is left untagged.
    pub(super) async fn tag(&self, order: &wire::Order, plan: &convert::OrderPlan) {
        let Some(status) = order.status.clone().filter(|s| !s.is_empty()) else {
            tracing::warn!(
                platform_order_id = order.entity_id,
                "order status unknown; anycart comment not added"
            );
            return;
        };
        let body = wire::CommentRequest {
            status_history: wire::CommentInput {
                comment: plan.comment.clone(),
                is_customer_notified: 0,
                is_visible_on_front: 0,
                parent_id: order.entity_id,
                status,
            },
        };
        let Ok(body) = serde_json::to_value(body) else {
            return;
        };
        let id = order.entity_id.to_string();
        if let Err(e) = self
            .call::<serde_json::Value>(
                Method::POST,
                &["orders", &id, "comments"],
                &[],
                Some(body),
                Throttle::NoWait,
            )
            .await
        {
            tracing::warn!(platform_order_id = order.entity_id, error = %e, "could not add the anycart comment to the Adobe Commerce order");
        }
    }

    /// Creates a guest cart, fills it, sets shipping and places the order.
    pub(super) async fn place(
        &self,
        plan: &convert::OrderPlan,
        started: Instant,
    ) -> Result<PushedOrder, ConnectorError> {
        let masked: String = self
            .call(
                Method::POST,
                &["guest-carts"],
                &[],
                None,
                Throttle::WaitOnce,
            )
            .await?;
        if masked.is_empty()
            || masked.len() > CODE_CHARS_MAX
            || !masked.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ConnectorError::Malformed(format!(
                "guest cart id `{}` is not a masked cart id",
                masked.chars().take(CODE_CHARS_MAX).collect::<String>()
            )));
        }
        let cart: wire::Cart = self.get(&["guest-carts", &masked], &[]).await?;
        for (sku, qty) in &plan.items {
            let item = wire::CartItemRequest {
                cart_item: wire::CartItem {
                    sku,
                    qty: *qty,
                    quote_id: &masked,
                },
            };
            let _: serde_json::Value = self
                .call(
                    Method::POST,
                    &["guest-carts", &masked, "items"],
                    &[],
                    Some(json(&item)?),
                    Throttle::WaitOnce,
                )
                .await?;
        }
        let shipping: wire::ShippingAnswer = self
            .call(
                Method::POST,
                &["guest-carts", &masked, "shipping-information"],
                &[],
                Some(json(&plan.shipping)?),
                Throttle::WaitOnce,
            )
            .await?;
        let method = &self.order_settings.payment_method;
        if !shipping.payment_methods.iter().any(|m| &m.code == method) {
            let offered: Vec<&str> = shipping
                .payment_methods
                .iter()
                .map(|m| m.code.as_str())
                .collect();
            return Err(ConnectorError::Permanent(format!(
                "payment method `{method}` is not available for this cart (offered: {})",
                offered.join(", ")
            )));
        }
        if started.elapsed() > Duration::from_millis(PLACE_DEADLINE_MS) {
            return Err(ConnectorError::Transient(
                "Adobe Commerce too slow to place the order inside the outbox lease; retrying later"
                    .into(),
            ));
        }
        let placed: Result<wire::PlacedOrderId, ConnectorError> = self
            .call(
                Method::POST,
                &["guest-carts", &masked, "payment-information"],
                &[],
                Some(json(&plan.payment)?),
                Throttle::NoWait,
            )
            .await;
        let (order_id, order) = match placed.and_then(placed_id) {
            Ok(id) => {
                // Placed; read it back for the status the comment must repeat.
                let path = id.to_string();
                let order = self
                    .call::<wire::Order>(
                        Method::GET,
                        &["orders", &path],
                        &[],
                        None,
                        Throttle::NoWait,
                    )
                    .await;
                if let Err(e) = &order {
                    tracing::warn!(platform_order_id = id, error = %e, "could not read the placed order back");
                }
                (id, order.ok())
            }
            Err(ConnectorError::Permanent(m)) => {
                // Magento rolled the placement back; the cart is simply abandoned.
                return Err(ConnectorError::Permanent(m));
            }
            Err(e) => {
                // The order may exist (a lost answer): its quote says for sure.
                tracing::warn!(error = %e, quote_id = cart.id, "placement outcome unknown; looking the order up by its quote");
                let quote_id = cart.id.to_string();
                let found = self.orders(&[("quote_id", &quote_id, "eq")]).await;
                match found.map(|o| o.into_iter().next()) {
                    Ok(Some(order)) => (order.entity_id, Some(order)),
                    Ok(None) => return Err(transient(e)),
                    Err(lookup) => {
                        tracing::warn!(error = %lookup, "lookup of a possibly placed order failed");
                        return Err(transient(e));
                    }
                }
            }
        };
        if let Some(order) = &order {
            self.tag(order, plan).await;
        }
        Ok(PushedOrder {
            platform_order_id: order_id.to_string(),
            confirmation: Confirmation::RequestedFromPlatform,
        })
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, ConnectorError> {
    serde_json::to_value(v).map_err(|e| ConnectorError::Malformed(format!("request body: {e}")))
}

fn placed_id(id: wire::PlacedOrderId) -> Result<i64, ConnectorError> {
    let parsed = match id {
        wire::PlacedOrderId::Number(n) => Some(n),
        wire::PlacedOrderId::Text(t) => t.trim().parse().ok(),
    };
    parsed
        .filter(|n| *n > 0)
        .ok_or_else(|| ConnectorError::Malformed("payment-information returned no order id".into()))
}
