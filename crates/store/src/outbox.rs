//! The transactional outbox: work for a merchant's platform (today: "push this
//! order"), written in the same transaction as the order itself and delivered later
//! by a worker, at least once, with the platform de-duplicating on
//! `external_reference` so "at least once" becomes "exactly one platform order".
//!
//! Claims use a lease column instead of row locks so the same SQL works on SQLite
//! and PostgreSQL and several anycart nodes can share one queue: a claim is a
//! conditional UPDATE that only one node can win, and a node that dies mid-delivery
//! simply lets its lease run out.

use crate::script::Statement;
use crate::{Store, StoreError, StoreResult, page_limit, parse_id};
use anycart_core::order::Order;
use anycart_core::{MerchantId, OrderId, RefundId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// The kind of an outbox item that pushes a new order to the platform.
pub const OUTBOX_KIND_ORDER_CREATED: &str = "order.created";
/// The kind of an outbox item that records a refund on the platform order.
pub const OUTBOX_KIND_REFUND_CREATED: &str = "refund.created";
/// Longest error text kept on a row (platform bodies can be large).
pub const OUTBOX_ERROR_CHARS_MAX: usize = 1_000;

/// Where an outbox item is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// The platform accepted it.
    Delivered,
    /// Gave up after too many attempts or a permanent error; needs an operator.
    Dead,
}

impl OutboxState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            other => Err(StoreError::Corrupt(format!("outbox state `{other}`"))),
        }
    }
}

/// One outbox row as the worker and the admin API see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: String,
    pub merchant_id: MerchantId,
    pub kind: String,
    /// JSON document (for `order.created`: the [`Order`]).
    pub payload: String,
    /// What the platform de-duplicates on (the anycart order id).
    pub external_reference: String,
    pub state: OutboxState,
    /// Attempts started so far (counted at claim time, so a crash counts too).
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
    pub platform_order_id: Option<String>,
    pub confirmation_status: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl OutboxItem {
    /// The order an `order.created` item carries.
    pub fn order(&self) -> StoreResult<Order> {
        Ok(serde_json::from_str(&self.payload)?)
    }

    /// The refund a `refund.created` item carries.
    pub fn refund(&self) -> StoreResult<RefundNotice> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

/// A refund made through anycart, as the platform is told of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    pub refund_id: RefundId,
    pub order: Order,
    pub amount_minor: i64,
    pub lines: Vec<crate::RefundLine>,
    /// The merchant asked for the units back in stock (the platform restocks).
    pub restock: bool,
    pub reason: Option<String>,
    /// The provider's refund id (`re_…`), for the platform's transaction record.
    pub provider_reference: Option<String>,
}

/// Inserts the `refund.created` item inside the caller's transaction (the
/// transaction that settles the refund, so an accepted refund is always told).
pub(crate) async fn enqueue_refund(
    conn: &mut AnyConnection,
    notice: &RefundNotice,
    now_ms: i64,
) -> StoreResult<()> {
    let id = format!("obx_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(INSERT_OUTBOX_ITEM)
        .bind(id)
        .bind(notice.order.merchant_id.to_string())
        .bind(OUTBOX_KIND_REFUND_CREATED)
        .bind(serde_json::to_string(notice)?)
        .bind(notice.refund_id.to_string())
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const INSERT_OUTBOX_ITEM: &str = r"
INSERT INTO outbox (id, merchant_id, kind, payload, external_reference, state, attempts,
                    next_attempt_at_ms, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8)";

/// [`INSERT_OUTBOX_ITEM`] for an order numbered in the same SQLite script: the
/// payload gets the merchant's current order number (see
/// `checkout::INSERT_ORDER_NUMBERED`).
const INSERT_ORDER_CREATED_NUMBERED: &str = r"
INSERT INTO outbox (id, merchant_id, kind, payload, external_reference, state, attempts,
                    next_attempt_at_ms, created_at_ms, updated_at_ms)
SELECT $1, $2, $3, json_set($4, '$.number', order_seq), $5, 'pending', 0, $6, $7, $8
  FROM merchants
 WHERE id = $2";

/// [`order_created`] for an order whose number the same SQLite script takes.
pub(crate) fn order_created_numbered(order: &Order) -> StoreResult<Statement> {
    order_created_with(INSERT_ORDER_CREATED_NUMBERED, order)
}

/// The INSERT of the `order.created` item for `order`, run in the order's own
/// transaction (by `complete_checkout`, so an order never exists without its
/// outbox row).
pub(crate) fn order_created(order: &Order) -> StoreResult<Statement> {
    order_created_with(INSERT_OUTBOX_ITEM, order)
}

fn order_created_with(sql: &'static str, order: &Order) -> StoreResult<Statement> {
    let id = format!("obx_{}", uuid::Uuid::now_v7().simple());
    Ok(Statement::new(sql)
        .bind(id)
        .bind(order.merchant_id.to_string())
        .bind(OUTBOX_KIND_ORDER_CREATED)
        .bind(serde_json::to_string(order)?)
        .bind(order.id.to_string())
        .bind(order.created_at_ms)
        .bind(order.created_at_ms)
        .bind(order.created_at_ms))
}

/// An `outbox` row as every outbox read returns it.
#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: String,
    merchant_id: String,
    kind: String,
    payload: String,
    external_reference: String,
    state: String,
    attempts: i64,
    next_attempt_at_ms: i64,
    last_error: Option<String>,
    platform_order_id: Option<String>,
    confirmation_status: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<OutboxRow> for OutboxItem {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> StoreResult<Self> {
        Ok(OutboxItem {
            id: row.id,
            merchant_id: parse_id(&row.merchant_id)?,
            kind: row.kind,
            payload: row.payload,
            external_reference: row.external_reference,
            state: OutboxState::parse(&row.state)?,
            attempts: row.attempts,
            next_attempt_at_ms: row.next_attempt_at_ms,
            last_error: row.last_error,
            platform_order_id: row.platform_order_id,
            confirmation_status: row.confirmation_status,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        })
    }
}

fn truncate(error: &str) -> String {
    error.chars().take(OUTBOX_ERROR_CHARS_MAX).collect()
}

/// Candidates only: the claim below decides who gets each one.
const SELECT_DUE_OUTBOX_IDS: &str = r"
SELECT id
  FROM outbox
 WHERE state = 'pending'
   AND next_attempt_at_ms <= $1
   AND (lease_until_ms IS NULL OR lease_until_ms < $2)
 ORDER BY next_attempt_at_ms, id
 LIMIT $3";

/// Repeats the due check so only one worker (on any node) wins the row.
const CLAIM_OUTBOX_ITEM: &str = r"
UPDATE outbox
   SET lease_until_ms = $1, attempts = attempts + 1, updated_at_ms = $2
 WHERE id = $3
   AND state = 'pending'
   AND (lease_until_ms IS NULL OR lease_until_ms < $4)
RETURNING id, merchant_id, kind, payload, external_reference, state, attempts,
          next_attempt_at_ms, last_error, platform_order_id, confirmation_status,
          created_at_ms, updated_at_ms";

pub(crate) const UPDATE_OUTBOX_DELIVERED: &str = r"
UPDATE outbox
   SET state = 'delivered',
       lease_until_ms = NULL,
       last_error = NULL,
       platform_order_id = $1,
       confirmation_status = $2,
       updated_at_ms = $3
 WHERE id = $4 AND state = 'pending'";

const UPDATE_OUTBOX_FAILED: &str = r"
UPDATE outbox
   SET state = $1,
       lease_until_ms = NULL,
       last_error = $2,
       next_attempt_at_ms = $3,
       updated_at_ms = $4
 WHERE id = $5 AND state = 'pending'";

const UPDATE_OUTBOX_RETRY: &str = r"
UPDATE outbox
   SET state = 'pending', attempts = 0, next_attempt_at_ms = $1, updated_at_ms = $2
 WHERE id = $3 AND merchant_id = $4 AND state = 'dead'";

const SELECT_OUTBOX_BY_STATE: &str = r"
SELECT id, merchant_id, kind, payload, external_reference, state, attempts,
       next_attempt_at_ms, last_error, platform_order_id, confirmation_status,
       created_at_ms, updated_at_ms
  FROM outbox
 WHERE merchant_id = $1 AND state = $2
 ORDER BY id
 LIMIT $3";

const SELECT_OUTBOX_BY_REFERENCE: &str = r"
SELECT id, merchant_id, kind, payload, external_reference, state, attempts,
       next_attempt_at_ms, last_error, platform_order_id, confirmation_status,
       created_at_ms, updated_at_ms
  FROM outbox
 WHERE merchant_id = $1 AND external_reference = $2";

/// No index on `platform_order_id`: platform refunds are rare and the scan is
/// per merchant.
const SELECT_ORDER_BY_PLATFORM_ID: &str = r"
SELECT external_reference
  FROM outbox
 WHERE merchant_id = $1 AND kind = 'order.created' AND platform_order_id = $2
 LIMIT 1";

impl Store {
    /// The anycart order delivered to the platform as `platform_order_id`.
    pub async fn order_by_platform_id(
        &self,
        merchant: MerchantId,
        platform_order_id: &str,
    ) -> StoreResult<Option<OrderId>> {
        sqlx::query_scalar::<_, String>(SELECT_ORDER_BY_PLATFORM_ID)
            .bind(merchant.to_string())
            .bind(platform_order_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|id| parse_id(&id))
            .transpose()
    }

    /// Claims up to `limit` due items for `lease_ms`: each claim is a conditional
    /// UPDATE that only one worker (on any node) can win, and it counts the attempt.
    /// Items whose lease ran out (a worker died mid-delivery) are due again.
    pub async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<OutboxItem>> {
        assert!(lease_ms > 0, "a lease must last");
        let candidates: Vec<String> = sqlx::query_scalar(SELECT_DUE_OUTBOX_IDS)
            .bind(now_ms)
            .bind(now_ms)
            .bind(page_limit(limit))
            .fetch_all(&self.read)
            .await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for id in candidates {
            let row = sqlx::query_as::<_, OutboxRow>(CLAIM_OUTBOX_ITEM)
                .bind(now_ms + lease_ms)
                .bind(now_ms)
                .bind(&id)
                .bind(now_ms)
                .fetch_optional(&self.write)
                .await?;
            if let Some(row) = row {
                claimed.push(row.try_into()?);
            }
        }
        Ok(claimed)
    }

    /// Records a successful delivery and releases the lease.
    pub async fn outbox_delivered(
        &self,
        id: &str,
        platform_order_id: &str,
        confirmation_status: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let done = sqlx::query(UPDATE_OUTBOX_DELIVERED)
            .bind(platform_order_id.to_string())
            .bind(confirmation_status.to_string())
            .bind(now_ms)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// Records a failed attempt: back to `pending` due at `next_attempt_at_ms`, or
    /// `dead` when `dead` is set (attempts exhausted or a permanent error).
    pub async fn outbox_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at_ms: i64,
        dead: bool,
        now_ms: i64,
    ) -> StoreResult<()> {
        let state = if dead {
            OutboxState::Dead
        } else {
            OutboxState::Pending
        };
        let done = sqlx::query(UPDATE_OUTBOX_FAILED)
            .bind(state.as_str())
            .bind(truncate(error))
            .bind(next_attempt_at_ms)
            .bind(now_ms)
            .bind(id.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// Puts a dead item back in the queue (an operator fixed the cause).
    pub async fn outbox_retry(
        &self,
        merchant: MerchantId,
        id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let done = sqlx::query(UPDATE_OUTBOX_RETRY)
            .bind(now_ms)
            .bind(now_ms)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        crate::found(done)
    }

    /// A merchant's outbox items in `state`, oldest first, at most `limit`.
    pub async fn list_outbox(
        &self,
        merchant: MerchantId,
        state: OutboxState,
        limit: i64,
    ) -> StoreResult<Vec<OutboxItem>> {
        sqlx::query_as::<_, OutboxRow>(SELECT_OUTBOX_BY_STATE)
            .bind(merchant.to_string())
            .bind(state.as_str())
            .bind(page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(OutboxItem::try_from)
            .collect()
    }

    /// The outbox item that pushes `order` (its delivery state, platform order id
    /// and confirmation status).
    pub async fn order_delivery(
        &self,
        merchant: MerchantId,
        order: OrderId,
    ) -> StoreResult<Option<OutboxItem>> {
        sqlx::query_as::<_, OutboxRow>(SELECT_OUTBOX_BY_REFERENCE)
            .bind(merchant.to_string())
            .bind(order.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(OutboxItem::try_from)
            .transpose()
    }
}
