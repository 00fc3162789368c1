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

    /// Notes an anycart refund on the order (Adobe Commerce's offline refund
    /// needs an invoice, which orders placed by anycart do not have): a comment
    /// tagged with the refund id, added once (a retry finds the tag).
    pub(super) async fn note_refund(
        &self,
        push: &crate::RefundPush,
    ) -> Result<PushedOrder, ConnectorError> {
        let id = &push.platform_order_id;
        let order: wire::Order = self.get(&["orders", id], &[]).await?;
        let refund_id = push.notice.refund_id.to_string();
        let done = PushedOrder {
            platform_order_id: refund_id.clone(),
            confirmation: Confirmation::NotedOnPlatform,
        };
        if convert::has_tag_comment(&order, &refund_id) {
            return Ok(done);
        }
        let status = order
            .status
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                // Commenting without a status clears it (magento/magento2#34180).
                ConnectorError::Permanent(
                    "the order's status is unknown; refund note not added".into(),
                )
            })?;
        let body = wire::CommentRequest {
            status_history: wire::CommentInput {
                comment: convert::refund_comment(&push.notice),
                is_customer_notified: 0,
                is_visible_on_front: 0,
                parent_id: order.entity_id,
                status,
            },
        };
        self.call::<serde_json::Value>(
            Method::POST,
            &["orders", id, "comments"],
            &[],
            Some(json(&body)?),
            Throttle::WaitOnce,
        )
        .await?;
        Ok(done)
    }

    /// Creates a guest cart, fills it, sets shipping and places the order.
    pub(super) async fn place(
        &self,
        plan: &convert::OrderPlan,
        started: Instant,
    ) -> Result<PushedOrder, ConnectorError> {
        let masked = self.create_guest_cart().await?;
        let cart: wire::Cart = self.get(&["guest-carts", &masked], &[]).await?;
        self.add_items(&masked, plan).await?;
        let shipping: wire::ShippingAnswer = self
            .call(
                Method::POST,
                &["guest-carts", &masked, "shipping-information"],
                &[],
                Some(json(&plan.shipping)?),
                Throttle::WaitOnce,
            )
            .await?;
        check_payment_method(&shipping, &self.order_settings.payment_method)?;
        check_place_deadline(started)?;
        let (order_id, order) = self.submit_payment(&masked, &cart, plan).await?;
        if let Some(order) = &order {
            self.tag(order, plan).await;
        }
        Ok(PushedOrder {
            platform_order_id: order_id.to_string(),
            confirmation: Confirmation::RequestedFromPlatform,
        })
    }

    /// A new guest cart's masked id. It goes into URL paths, so anything but a
    /// short alphanumeric token is refused rather than sent back.
    async fn create_guest_cart(&self) -> Result<String, ConnectorError> {
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
        Ok(masked)
    }

    /// Adds the plan's items to the guest cart, one request per SKU.
    async fn add_items(
        &self,
        masked: &str,
        plan: &convert::OrderPlan,
    ) -> Result<(), ConnectorError> {
        for (sku, qty) in &plan.items {
            let item = wire::CartItemRequest {
                cart_item: wire::CartItem {
                    sku,
                    qty: *qty,
                    quote_id: masked,
                },
            };
            let _: serde_json::Value = self
                .call(
                    Method::POST,
                    &["guest-carts", masked, "items"],
                    &[],
                    Some(json(&item)?),
                    Throttle::WaitOnce,
                )
                .await?;
        }
        Ok(())
    }

    /// Places the order (the one request that creates it) and returns its id with
    /// the order as read back, for the tagging comment. An answer that was lost
    /// is settled by looking the order up by its quote.
    async fn submit_payment(
        &self,
        masked: &str,
        cart: &wire::Cart,
        plan: &convert::OrderPlan,
    ) -> Result<(i64, Option<wire::Order>), ConnectorError> {
        let placed: Result<wire::PlacedOrderId, ConnectorError> = self
            .call(
                Method::POST,
                &["guest-carts", masked, "payment-information"],
                &[],
                Some(json(&plan.payment)?),
                Throttle::NoWait,
            )
            .await;
        match placed.and_then(placed_id) {
            Ok(id) => Ok((id, self.read_back(id).await)),
            Err(ConnectorError::Permanent(m)) => {
                // Magento rolled the placement back; the cart is simply abandoned.
                Err(ConnectorError::Permanent(m))
            }
            Err(e) => self.find_by_quote(cart, e).await,
        }
    }

    /// The placed order, read back for the status the comment must repeat; `None`
    /// (logged) when that fails, as the order exists either way.
    async fn read_back(&self, id: i64) -> Option<wire::Order> {
        let path = id.to_string();
        let order = self
            .call::<wire::Order>(Method::GET, &["orders", &path], &[], None, Throttle::NoWait)
            .await;
        if let Err(e) = &order {
            tracing::warn!(platform_order_id = id, error = %e, "could not read the placed order back");
        }
        order.ok()
    }

    /// After a placement with no usable answer (`e`) the order may exist: its
    /// quote says for sure. Not found, or not looked up, the push fails with `e`
    /// as transient so the outbox retries (and first searches for the order).
    async fn find_by_quote(
        &self,
        cart: &wire::Cart,
        e: ConnectorError,
    ) -> Result<(i64, Option<wire::Order>), ConnectorError> {
        tracing::warn!(error = %e, quote_id = cart.id, "placement outcome unknown; looking the order up by its quote");
        let quote_id = cart.id.to_string();
        let found = self.orders(&[("quote_id", &quote_id, "eq")]).await;
        match found.map(|o| o.into_iter().next()) {
            Ok(Some(order)) => Ok((order.entity_id, Some(order))),
            Ok(None) => Err(transient(e)),
            Err(lookup) => {
                tracing::warn!(error = %lookup, "lookup of a possibly placed order failed");
                Err(transient(e))
            }
        }
    }
}

/// The configured payment method must be one Magento offers for this cart, or
/// placing would fail after the cart is already filled.
fn check_payment_method(
    shipping: &wire::ShippingAnswer,
    method: &str,
) -> Result<(), ConnectorError> {
    if shipping.payment_methods.iter().any(|m| m.code == method) {
        return Ok(());
    }
    let offered: Vec<&str> = shipping
        .payment_methods
        .iter()
        .map(|m| m.code.as_str())
        .collect();
    Err(ConnectorError::Permanent(format!(
        "payment method `{method}` is not available for this cart (offered: {})",
        offered.join(", ")
    )))
}

/// No order is placed past [`PLACE_DEADLINE_MS`]: what follows placement must
/// still end inside the outbox lease.
fn check_place_deadline(started: Instant) -> Result<(), ConnectorError> {
    if started.elapsed() > Duration::from_millis(PLACE_DEADLINE_MS) {
        return Err(ConnectorError::Transient(
            "Adobe Commerce too slow to place the order inside the outbox lease; retrying later"
                .into(),
        ));
    }
    Ok(())
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
