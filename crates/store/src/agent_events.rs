//! Order webhooks to agent platforms (ACP `order_create`, `order_update`),
//! through the transactional outbox.
//!
//! An order placed through an agent platform tells that platform of itself: an
//! `agent.webhook` outbox row is written in the order's own transaction, and
//! another whenever the order changes (its status moves on, a refund settles),
//! in the transaction of that change. The outbox worker posts them signed, with
//! back-off and dead-lettering, never in a checkout's way. The row carries only
//! which order and which event: the webhook's body is the order as it is when
//! delivered (ACP: "the full Order object, not incremental deltas").

use crate::script::Statement;
use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::order::{Order, OrderStatus};
use anycart_core::{AgentPlatformId, MerchantId, OrderId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// The kind of an outbox row that posts an order event to an agent platform.
pub const OUTBOX_KIND_AGENT_WEBHOOK: &str = "agent.webhook";

/// ACP's order event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentOrderEvent {
    OrderCreate,
    OrderUpdate,
}

impl AgentOrderEvent {
    /// The ACP wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderCreate => "order_create",
            Self::OrderUpdate => "order_update",
        }
    }
}

/// What an `agent.webhook` row carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentWebhookNotice {
    pub platform_id: AgentPlatformId,
    pub order_id: OrderId,
    pub event: AgentOrderEvent,
}

impl crate::OutboxItem {
    /// The event an `agent.webhook` item carries.
    pub fn agent_webhook(&self) -> StoreResult<AgentWebhookNotice> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

/// The platform of `merchant` with this id, if enabled and taking webhooks.
const SELECT_WEBHOOK_PLATFORM: &str = r"
SELECT id
  FROM agent_platforms
 WHERE id = $1 AND merchant_id = $2 AND disabled_at_ms IS NULL
   AND webhook_url IS NOT NULL";

const INSERT_AGENT_WEBHOOK: &str = r"
INSERT INTO outbox (id, merchant_id, kind, payload, external_reference, state, attempts,
                    next_attempt_at_ms, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8)";

/// The registered agent platform an order came through, if any (its
/// attribution names the platform by id; an agent known only by a profile URL
/// has none).
pub fn order_agent(order: &Order) -> Option<AgentPlatformId> {
    order
        .attribution
        .as_ref()?
        .agent
        .as_ref()?
        .name
        .as_deref()?
        .parse()
        .ok()
}

/// Writes the `event` webhook of `order` for the agent platform it came
/// through (if any, and if that platform takes webhooks), inside the caller's
/// transaction. An order's `order_create` is written at most once per platform
/// (its external reference is unique); updates each get their own row.
pub(crate) async fn enqueue_order_webhook(
    conn: &mut AnyConnection,
    order: &Order,
    event: AgentOrderEvent,
    now_ms: i64,
) -> StoreResult<()> {
    if let Some(insert) = order_webhook(conn, order, event, now_ms).await? {
        insert.run(conn).await?;
    }
    Ok(())
}

/// The INSERT of the order webhook [`enqueue_order_webhook`] writes, if the
/// order came through an agent platform that takes them (read here).
pub(crate) async fn order_webhook(
    conn: &mut AnyConnection,
    order: &Order,
    event: AgentOrderEvent,
    now_ms: i64,
) -> StoreResult<Option<Statement>> {
    let Some(agent) = order_agent(order) else {
        return Ok(None);
    };
    let platform: Option<String> = sqlx::query_scalar(SELECT_WEBHOOK_PLATFORM)
        .bind(agent.to_string())
        .bind(order.merchant_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(platform) = platform else {
        return Ok(None);
    };
    let notice = AgentWebhookNotice {
        platform_id: parse_id(&platform)?,
        order_id: order.id,
        event,
    };
    let id = format!("obx_{}", uuid::Uuid::now_v7().simple());
    let reference = match event {
        AgentOrderEvent::OrderCreate => create_reference(order.id, &platform),
        AgentOrderEvent::OrderUpdate => format!("{}:{platform}:order_update:{id}", order.id),
    };
    Ok(Some(
        Statement::new(INSERT_AGENT_WEBHOOK)
            .bind(id)
            .bind(order.merchant_id.to_string())
            .bind(OUTBOX_KIND_AGENT_WEBHOOK)
            .bind(serde_json::to_string(&notice)?)
            .bind(reference)
            .bind(now_ms)
            .bind(now_ms)
            .bind(now_ms),
    ))
}

/// Writes an `order_update` webhook for order `order` (which changed in the
/// caller's transaction without its status moving, e.g. a refund settled).
pub(crate) async fn enqueue_order_update(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    order: OrderId,
    now_ms: i64,
) -> StoreResult<()> {
    let doc: Option<String> = sqlx::query_scalar(SELECT_ORDER_DOC)
        .bind(order.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(doc) = doc else {
        return Err(StoreError::NotFound);
    };
    let order: Order = serde_json::from_str(&doc)?;
    enqueue_order_webhook(conn, &order, AgentOrderEvent::OrderUpdate, now_ms).await
}

/// The external reference of an order's `order_create` to a platform: unique,
/// so it is written once.
fn create_reference(order: OrderId, platform: &str) -> String {
    format!("{order}:{platform}:order_create")
}

/// How far along an order is; a status only ever moves forward.
fn rank(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Confirmed => 0,
        OrderStatus::Processing => 1,
        OrderStatus::Shipped => 2,
        OrderStatus::Completed => 3,
        OrderStatus::Canceled => 4,
    }
}

/// Whether an order in `from` may move to `to`: forward only, and never out of
/// `canceled`.
pub fn status_moves(from: OrderStatus, to: OrderStatus) -> bool {
    from != OrderStatus::Canceled && rank(to) > rank(from)
}

const SELECT_ORDER_DOC: &str = r"
SELECT doc FROM orders WHERE id = $1 AND merchant_id = $2";

/// Compare-and-set on the whole document: a concurrent change makes it miss.
const UPDATE_ORDER_DOC: &str = r"
UPDATE orders SET doc = $1 WHERE id = $2 AND merchant_id = $3 AND doc = $4";

/// Moves an order's status to `to` when that is forward, and writes its
/// `order_update` webhook, inside the caller's transaction. Returns whether it
/// moved.
pub(crate) async fn advance_order_status(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    order: OrderId,
    to: OrderStatus,
    now_ms: i64,
) -> StoreResult<bool> {
    let doc: Option<String> = sqlx::query_scalar(SELECT_ORDER_DOC)
        .bind(order.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(doc) = doc else {
        return Err(StoreError::NotFound);
    };
    let mut current: Order = serde_json::from_str(&doc)?;
    if !status_moves(current.status, to) {
        return Ok(false);
    }
    current.status = to;
    let done = sqlx::query(UPDATE_ORDER_DOC)
        .bind(serde_json::to_string(&current)?)
        .bind(order.to_string())
        .bind(merchant.to_string())
        .bind(doc)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::VersionConflict);
    }
    enqueue_order_webhook(conn, &current, AgentOrderEvent::OrderUpdate, now_ms).await?;
    Ok(true)
}

const SELECT_OUTBOX_STATE_BY_REFERENCE: &str = r"
SELECT state FROM outbox WHERE merchant_id = $1 AND external_reference = $2";

impl Store {
    /// Where the `order_create` webhook of `order` to `platform` stands (none:
    /// there was none, e.g. the platform took no webhooks when it was placed).
    pub async fn agent_create_state(
        &self,
        merchant: MerchantId,
        order: OrderId,
        platform: AgentPlatformId,
    ) -> StoreResult<Option<crate::OutboxState>> {
        let state: Option<String> = sqlx::query_scalar(SELECT_OUTBOX_STATE_BY_REFERENCE)
            .bind(merchant.to_string())
            .bind(create_reference(order, &platform.to_string()))
            .fetch_optional(&self.read)
            .await?;
        state.as_deref().map(crate::OutboxState::parse).transpose()
    }

    /// Moves an order's status forward to `to` and tells its agent platform, in
    /// one transaction. Returns whether it moved (false: it was already there or
    /// further along).
    pub async fn advance_order(
        &self,
        merchant: MerchantId,
        order: OrderId,
        to: OrderStatus,
        now_ms: i64,
    ) -> StoreResult<bool> {
        self.write_tx(move |conn| {
            Box::pin(async move {
                let mut tx = sqlx::Connection::begin(conn).await?;
                let moved = advance_order_status(&mut tx, merchant, order, to, now_ms).await?;
                tx.commit().await?;
                Ok(moved)
            })
        })
        .await
    }

    /// Records the delivery of an order to the merchant's platform (the outbox
    /// item `item_id`) and, in the same transaction, moves the order to
    /// `processing` (the platform has it and is preparing it) and tells its
    /// agent platform.
    pub async fn order_reached_platform(
        &self,
        item_id: &str,
        order: &Order,
        platform_order_id: &str,
        confirmation_status: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (item_id, merchant, order_id) = (item_id.to_string(), order.merchant_id, order.id);
        let (platform_order_id, confirmation) = (
            platform_order_id.to_string(),
            confirmation_status.to_string(),
        );
        self.write_tx(move |conn| {
            Box::pin(async move {
                let mut tx = sqlx::Connection::begin(conn).await?;
                let done = sqlx::query(crate::outbox::UPDATE_OUTBOX_DELIVERED)
                    .bind(platform_order_id)
                    .bind(confirmation)
                    .bind(now_ms)
                    .bind(item_id)
                    .execute(&mut *tx)
                    .await?;
                crate::found(done)?;
                advance_order_status(&mut tx, merchant, order_id, OrderStatus::Processing, now_ms)
                    .await?;
                tx.commit().await?;
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward_and_never_leave_canceled() {
        use OrderStatus::*;
        let all = [Confirmed, Processing, Shipped, Completed, Canceled];
        for from in all {
            assert!(!status_moves(from, from), "{from:?} to itself");
            for to in all {
                if from == Canceled {
                    assert!(!status_moves(from, to));
                }
            }
        }
        assert!(status_moves(Confirmed, Processing));
        assert!(status_moves(Processing, Shipped));
        assert!(!status_moves(Shipped, Processing));
        assert!(status_moves(Shipped, Canceled));
    }

    #[test]
    fn event_names_are_acp_s() {
        assert_eq!(AgentOrderEvent::OrderCreate.as_str(), "order_create");
        assert_eq!(
            serde_json::to_value(AgentOrderEvent::OrderUpdate).unwrap(),
            "order_update"
        );
    }
}
