//! The money side of orders: what each payment came to (`order_payments`), its
//! refunds and disputes (see `migrations/0009_money.sql`).
//!
//! A refund is *reserved* before the provider is asked: one conditional update
//! adds its amount to `refunded_minor` only while that stays within what was
//! captured, so two refunds racing (two admins, a retry and a webhook) can never
//! take out more than was paid. The provider call follows with the refund's own
//! idempotency key; its answer settles the refund, or fails it and gives the
//! reserved amount back.

use crate::script::Statement;
use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::order::Order;
use anycart_core::{MerchantId, OrderId, RefundId, VariantId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// Where an order's payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderPaymentStatus {
    /// Authorised, to be captured on fulfilment.
    Authorized,
    Captured,
    /// An asynchronous payment that did not go through.
    Failed,
    /// An authorisation released without capture.
    Canceled,
}

impl OrderPaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "authorized" => Self::Authorized,
            "captured" => Self::Captured,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            other => return Err(StoreError::Corrupt(format!("order payment status {other}"))),
        })
    }
}

/// What an order's payment came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderPayment {
    pub order_id: OrderId,
    pub merchant_id: MerchantId,
    pub provider: String,
    pub provider_reference: String,
    pub currency: String,
    pub amount_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub status: OrderPaymentStatus,
    pub updated_at_ms: i64,
}

impl OrderPayment {
    /// What is left to refund.
    pub fn refundable_minor(&self) -> i64 {
        self.captured_minor - self.refunded_minor
    }

    /// The payment an order was written with (before anything happened to it).
    pub fn of_order(order: &Order) -> OrderPayment {
        let p = &order.payment;
        OrderPayment {
            order_id: order.id,
            merchant_id: order.merchant_id,
            provider: p.provider.clone(),
            provider_reference: p.provider_reference.clone(),
            currency: order.currency.code_lower(),
            amount_minor: p.amount_minor,
            captured_minor: if p.captured { p.amount_minor } else { 0 },
            refunded_minor: 0,
            status: if p.captured {
                OrderPaymentStatus::Captured
            } else {
                OrderPaymentStatus::Authorized
            },
            updated_at_ms: order.created_at_ms,
        }
    }
}

/// Who asked for a refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundSource {
    /// Through anycart (`POST /v1/orders/{id}/refunds`).
    Anycart,
    /// In the payment provider's dashboard, mirrored from its webhook.
    Provider,
    /// In the commerce platform's admin, mirrored from its webhook.
    Platform,
}

impl RefundSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anycart => "anycart",
            Self::Provider => "provider",
            Self::Platform => "platform",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "anycart" => Self::Anycart,
            "provider" => Self::Provider,
            "platform" => Self::Platform,
            other => return Err(StoreError::Corrupt(format!("refund source {other}"))),
        })
    }
}

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundState {
    /// Reserved; the provider is being asked (or did not answer yet).
    Requested,
    /// The provider accepted it and settles later.
    Pending,
    Succeeded,
    /// The provider refused; the reserved amount was given back.
    Failed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        Ok(match s {
            "requested" => Self::Requested,
            "pending" => Self::Pending,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            other => return Err(StoreError::Corrupt(format!("refund state {other}"))),
        })
    }
}

/// Units of one order line given back with a refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_item_id: String,
    pub variant_id: VariantId,
    pub quantity: i64,
}

/// One refund of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub id: RefundId,
    pub merchant_id: MerchantId,
    pub order_id: OrderId,
    pub source: RefundSource,
    /// The caller's `Idempotency-Key` (anycart refunds only).
    pub idempotency_key: Option<String>,
    /// A hash of the request it came with: the same key with another request is refused.
    pub request_hash: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub lines: Vec<RefundLine>,
    /// Give the lines' units back to stock when the refund goes through.
    pub restock: bool,
    pub reason: Option<String>,
    pub state: RefundState,
    /// The provider's refund id (`re_…`).
    pub provider_reference: Option<String>,
    /// The platform's refund id (Shopify `Refund` gid).
    pub platform_reference: Option<String>,
    pub failure: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What [`Store::start_refund`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundStart {
    /// Reserved now: ask the provider.
    Started(Refund),
    /// A refund with this idempotency key exists (its request hash may differ).
    Existing(Refund),
}

/// A dispute (chargeback) on an order's payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispute {
    pub merchant_id: MerchantId,
    pub dispute_id: String,
    pub order_id: OrderId,
    /// Stripe's status: `warning_needs_response`, `needs_response`, `under_review`,
    /// `won`, `lost`, …
    pub status: String,
    pub reason: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct OrderPaymentRow {
    order_id: String,
    merchant_id: String,
    provider: String,
    provider_reference: String,
    currency: String,
    amount_minor: i64,
    captured_minor: i64,
    refunded_minor: i64,
    status: String,
    updated_at_ms: i64,
}

impl TryFrom<OrderPaymentRow> for OrderPayment {
    type Error = StoreError;

    fn try_from(r: OrderPaymentRow) -> StoreResult<Self> {
        Ok(OrderPayment {
            order_id: parse_id(&r.order_id)?,
            merchant_id: parse_id(&r.merchant_id)?,
            provider: r.provider,
            provider_reference: r.provider_reference,
            currency: r.currency,
            amount_minor: r.amount_minor,
            captured_minor: r.captured_minor,
            refunded_minor: r.refunded_minor,
            status: OrderPaymentStatus::parse(&r.status)?,
            updated_at_ms: r.updated_at_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    id: String,
    merchant_id: String,
    order_id: String,
    source: String,
    idempotency_key: Option<String>,
    request_hash: Option<String>,
    amount_minor: i64,
    currency: String,
    lines: String,
    restock: i64,
    reason: Option<String>,
    state: String,
    provider_reference: Option<String>,
    platform_reference: Option<String>,
    failure: Option<String>,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<RefundRow> for Refund {
    type Error = StoreError;

    fn try_from(r: RefundRow) -> StoreResult<Self> {
        Ok(Refund {
            id: parse_id(&r.id)?,
            merchant_id: parse_id(&r.merchant_id)?,
            order_id: parse_id(&r.order_id)?,
            source: RefundSource::parse(&r.source)?,
            idempotency_key: r.idempotency_key,
            request_hash: r.request_hash,
            amount_minor: r.amount_minor,
            currency: r.currency,
            lines: serde_json::from_str(&r.lines)?,
            restock: r.restock == 1,
            reason: r.reason,
            state: RefundState::parse(&r.state)?,
            provider_reference: r.provider_reference,
            platform_reference: r.platform_reference,
            failure: r.failure,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        })
    }
}

#[derive(sqlx::FromRow)]
struct DisputeRow {
    merchant_id: String,
    dispute_id: String,
    order_id: String,
    status: String,
    reason: Option<String>,
    amount_minor: i64,
    currency: String,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl TryFrom<DisputeRow> for Dispute {
    type Error = StoreError;

    fn try_from(r: DisputeRow) -> StoreResult<Self> {
        Ok(Dispute {
            merchant_id: parse_id(&r.merchant_id)?,
            dispute_id: r.dispute_id,
            order_id: parse_id(&r.order_id)?,
            status: r.status,
            reason: r.reason,
            amount_minor: r.amount_minor,
            currency: r.currency,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        })
    }
}

/// A row for an order that has none yet is a no-op conflict.
const INSERT_ORDER_PAYMENT: &str = r"
INSERT INTO order_payments (order_id, merchant_id, provider, provider_reference, currency,
                            amount_minor, captured_minor, refunded_minor, status, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9)
    ON CONFLICT (order_id) DO NOTHING";

const SELECT_ORDER_PAYMENT: &str = r"
SELECT order_id, merchant_id, provider, provider_reference, currency, amount_minor,
       captured_minor, refunded_minor, status, updated_at_ms
  FROM order_payments
 WHERE order_id = $1 AND merchant_id = $2";

const SELECT_ORDER_PAYMENT_BY_REFERENCE: &str = r"
SELECT order_id, merchant_id, provider, provider_reference, currency, amount_minor,
       captured_minor, refunded_minor, status, updated_at_ms
  FROM order_payments
 WHERE merchant_id = $1 AND provider = $2 AND provider_reference = $3
 ORDER BY order_id
 LIMIT 1";

/// Captures at most what was authorised, once.
const CAPTURE_ORDER_PAYMENT: &str = r"
UPDATE order_payments
   SET captured_minor = $1, status = 'captured', updated_at_ms = $2
 WHERE order_id = $3 AND merchant_id = $4 AND status = 'authorized' AND $1 <= amount_minor";

/// An authorisation that ended without capture (released, or an asynchronous
/// payment that failed).
const END_AUTHORIZATION: &str = r"
UPDATE order_payments
   SET status = $1, updated_at_ms = $2
 WHERE order_id = $3 AND merchant_id = $4 AND status = 'authorized'";

/// The reservation: only while the sum stays within what was captured.
const RESERVE_REFUND: &str = r"
UPDATE order_payments
   SET refunded_minor = refunded_minor + $1, updated_at_ms = $2
 WHERE order_id = $3 AND merchant_id = $4 AND status = 'captured'
   AND refunded_minor + $1 <= captured_minor";

/// A mirrored refund (made elsewhere, already done): counted, never past what
/// was captured (the provider is the truth about money; anycart's figure only
/// catches up).
const COUNT_MIRRORED_REFUND: &str = r"
UPDATE order_payments
   SET refunded_minor = CASE WHEN refunded_minor + $1 > captured_minor
                             THEN captured_minor ELSE refunded_minor + $1 END,
       updated_at_ms = $2
 WHERE order_id = $3 AND merchant_id = $4";

const RELEASE_REFUND: &str = r"
UPDATE order_payments
   SET refunded_minor = refunded_minor - $1, updated_at_ms = $2
 WHERE order_id = $3 AND merchant_id = $4 AND refunded_minor >= $1";

const INSERT_REFUND: &str = r"
INSERT INTO refunds (id, merchant_id, order_id, source, idempotency_key, request_hash,
                     amount_minor, currency, lines, restock, reason, state,
                     provider_reference, platform_reference, failure, created_at_ms,
                     updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

#[cfg(test)]
const REFUND_COLUMNS: &str = "id, merchant_id, order_id, source, idempotency_key, request_hash, amount_minor, currency, lines, restock, reason, state, provider_reference, platform_reference, failure, created_at_ms, updated_at_ms";

const SELECT_REFUND_BY_KEY: &str = r"
SELECT id, merchant_id, order_id, source, idempotency_key, request_hash, amount_minor,
       currency, lines, restock, reason, state, provider_reference, platform_reference,
       failure, created_at_ms, updated_at_ms
  FROM refunds
 WHERE merchant_id = $1 AND idempotency_key = $2";

const SELECT_REFUND: &str = r"
SELECT id, merchant_id, order_id, source, idempotency_key, request_hash, amount_minor,
       currency, lines, restock, reason, state, provider_reference, platform_reference,
       failure, created_at_ms, updated_at_ms
  FROM refunds
 WHERE id = $1 AND merchant_id = $2";

const SELECT_REFUND_BY_PROVIDER_REFERENCE: &str = r"
SELECT id, merchant_id, order_id, source, idempotency_key, request_hash, amount_minor,
       currency, lines, restock, reason, state, provider_reference, platform_reference,
       failure, created_at_ms, updated_at_ms
  FROM refunds
 WHERE merchant_id = $1 AND provider_reference = $2";

const SELECT_ORDER_REFUNDS: &str = r"
SELECT id, merchant_id, order_id, source, idempotency_key, request_hash, amount_minor,
       currency, lines, restock, reason, state, provider_reference, platform_reference,
       failure, created_at_ms, updated_at_ms
  FROM refunds
 WHERE order_id = $1 AND merchant_id = $2
 ORDER BY created_at_ms, id";

const SELECT_UNSETTLED_REFUNDS: &str = r"
SELECT id, merchant_id, order_id, source, idempotency_key, request_hash, amount_minor,
       currency, lines, restock, reason, state, provider_reference, platform_reference,
       failure, created_at_ms, updated_at_ms
  FROM refunds
 WHERE state = 'requested' AND updated_at_ms <= $1
 ORDER BY updated_at_ms
 LIMIT $2";

/// From `requested` (the provider's first answer) or `pending` (its webhook).
const SETTLE_REFUND: &str = r"
UPDATE refunds
   SET state = $1, provider_reference = COALESCE($2, provider_reference), updated_at_ms = $3
 WHERE id = $4 AND merchant_id = $5 AND state IN ('requested', 'pending')";

const FAIL_REFUND: &str = r"
UPDATE refunds
   SET state = 'failed', failure = $1, updated_at_ms = $2
 WHERE id = $3 AND merchant_id = $4 AND state IN ('requested', 'pending')";

const TOUCH_REFUND: &str = r"
UPDATE refunds
   SET updated_at_ms = $1
 WHERE id = $2 AND merchant_id = $3 AND state = 'requested'";

const SET_PLATFORM_REFERENCE: &str = r"
UPDATE refunds
   SET platform_reference = $1, updated_at_ms = $2
 WHERE id = $3 AND merchant_id = $4 AND platform_reference IS NULL";

/// Units sold (committed) go back to what can be sold: at the location holding
/// the most of them.
const RESTOCK_COMMITTED: &str = r"
UPDATE stock_levels
   SET committed = committed - $1
 WHERE merchant_id = $2 AND variant_id = $3
   AND location_id = (SELECT location_id FROM stock_levels
                       WHERE merchant_id = $2 AND variant_id = $3 AND committed >= $1
                       ORDER BY committed DESC, location_id
                       LIMIT 1)";

/// When the sold units are no longer counted as committed (an operator set the
/// count since), the units are added to the first location's count instead.
const RESTOCK_ON_HAND: &str = r"
UPDATE stock_levels
   SET on_hand = on_hand + $1
 WHERE merchant_id = $2 AND variant_id = $3
   AND location_id = (SELECT location_id FROM stock_levels
                       WHERE merchant_id = $2 AND variant_id = $3
                       ORDER BY location_id
                       LIMIT 1)";

const SELECT_ORDER_DOC: &str = r"
SELECT doc
  FROM orders
 WHERE id = $1 AND merchant_id = $2";

const UPSERT_DISPUTE: &str = r"
INSERT INTO order_disputes (merchant_id, dispute_id, order_id, status, reason, amount_minor,
                            currency, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
    ON CONFLICT (merchant_id, dispute_id) DO UPDATE
   SET status = excluded.status,
       reason = excluded.reason,
       amount_minor = excluded.amount_minor,
       updated_at_ms = excluded.updated_at_ms
 WHERE order_disputes.updated_at_ms <= excluded.updated_at_ms";

const SELECT_ORDER_DISPUTES: &str = r"
SELECT merchant_id, dispute_id, order_id, status, reason, amount_minor, currency,
       created_at_ms, updated_at_ms
  FROM order_disputes
 WHERE order_id = $1 AND merchant_id = $2
 ORDER BY created_at_ms, dispute_id";

/// Writes an order's payment row, inside the order's own transaction.
pub(crate) async fn insert_order_payment(
    conn: &mut AnyConnection,
    payment: &OrderPayment,
) -> StoreResult<()> {
    order_payment_insert(payment).run(conn).await?;
    Ok(())
}

/// The INSERT of an order's payment row.
pub(crate) fn order_payment_insert(payment: &OrderPayment) -> Statement {
    Statement::new(INSERT_ORDER_PAYMENT)
        .bind(payment.order_id.to_string())
        .bind(payment.merchant_id.to_string())
        .bind(payment.provider.clone())
        .bind(payment.provider_reference.clone())
        .bind(payment.currency.clone())
        .bind(payment.amount_minor)
        .bind(payment.captured_minor)
        .bind(payment.status.as_str())
        .bind(payment.updated_at_ms)
}

async fn insert_refund(conn: &mut AnyConnection, r: &Refund) -> StoreResult<()> {
    sqlx::query(INSERT_REFUND)
        .bind(r.id.to_string())
        .bind(r.merchant_id.to_string())
        .bind(r.order_id.to_string())
        .bind(r.source.as_str())
        .bind(r.idempotency_key.clone())
        .bind(r.request_hash.clone())
        .bind(r.amount_minor)
        .bind(r.currency.clone())
        .bind(serde_json::to_string(&r.lines)?)
        .bind(i64::from(r.restock))
        .bind(r.reason.clone())
        .bind(r.state.as_str())
        .bind(r.provider_reference.clone())
        .bind(r.platform_reference.clone())
        .bind(r.failure.clone())
        .bind(r.created_at_ms)
        .bind(r.updated_at_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn order_payment_in(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    order: OrderId,
) -> StoreResult<Option<OrderPayment>> {
    sqlx::query_as::<_, OrderPaymentRow>(SELECT_ORDER_PAYMENT)
        .bind(order.to_string())
        .bind(merchant.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(OrderPayment::try_from)
        .transpose()
}

/// Gives refunded units back to stock (native catalogues only: a platform
/// restocks on its side and reports the new figures).
async fn restock(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    lines: &[RefundLine],
) -> StoreResult<()> {
    for line in lines.iter().filter(|l| l.quantity > 0) {
        let done = sqlx::query(RESTOCK_COMMITTED)
            .bind(line.quantity)
            .bind(merchant.to_string())
            .bind(line.variant_id.to_string())
            .execute(&mut *conn)
            .await?;
        if done.rows_affected() == 0 {
            sqlx::query(RESTOCK_ON_HAND)
                .bind(line.quantity)
                .bind(merchant.to_string())
                .bind(line.variant_id.to_string())
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

impl Store {
    /// An order's payment; orders written before payments were tracked get their
    /// row from the order itself on first use.
    pub async fn order_payment(&self, order: &Order) -> StoreResult<OrderPayment> {
        let mut conn = self.write.acquire().await?;
        if let Some(p) = order_payment_in(&mut conn, order.merchant_id, order.id).await? {
            return Ok(p);
        }
        insert_order_payment(&mut conn, &OrderPayment::of_order(order)).await?;
        order_payment_in(&mut conn, order.merchant_id, order.id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// The order a provider's payment reference paid for.
    pub async fn order_payment_by_reference(
        &self,
        merchant: MerchantId,
        provider: &str,
        reference: &str,
    ) -> StoreResult<Option<OrderPayment>> {
        sqlx::query_as::<_, OrderPaymentRow>(SELECT_ORDER_PAYMENT_BY_REFERENCE)
            .bind(merchant.to_string())
            .bind(provider.to_string())
            .bind(reference.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(OrderPayment::try_from)
            .transpose()
    }

    /// Records the capture of an authorised payment. False when it was not
    /// `authorized` (already captured, or ended).
    pub async fn record_capture(
        &self,
        merchant: MerchantId,
        order: OrderId,
        captured_minor: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(CAPTURE_ORDER_PAYMENT)
            .bind(captured_minor)
            .bind(now_ms)
            .bind(order.to_string())
            .bind(merchant.to_string())
            .execute(&mut *tx)
            .await?;
        let captured = done.rows_affected() == 1;
        if captured {
            // Capture on fulfilment: the order has shipped; its agent platform is told.
            crate::agent_events::advance_order_status(
                &mut tx,
                merchant,
                order,
                anycart_core::order::OrderStatus::Shipped,
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(captured)
    }

    /// Records that an authorisation ended without capture (`Canceled`, `Failed`).
    pub async fn end_authorization(
        &self,
        merchant: MerchantId,
        order: OrderId,
        status: OrderPaymentStatus,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(END_AUTHORIZATION)
            .bind(status.as_str())
            .bind(now_ms)
            .bind(order.to_string())
            .bind(merchant.to_string())
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reserves a refund (state `Requested`) in one transaction, or finds the one
    /// already made with its idempotency key. Refused with
    /// [`StoreError::RefundTooLarge`] past what is left, and
    /// [`StoreError::PaymentState`] when the payment was never captured.
    pub async fn start_refund(&self, refund: &Refund) -> StoreResult<RefundStart> {
        let mut tx = self.write.begin().await?;
        if let Some(key) = &refund.idempotency_key
            && let Some(existing) = sqlx::query_as::<_, RefundRow>(SELECT_REFUND_BY_KEY)
                .bind(refund.merchant_id.to_string())
                .bind(key.clone())
                .fetch_optional(&mut *tx)
                .await?
        {
            return Ok(RefundStart::Existing(existing.try_into()?));
        }
        let payment = order_payment_in(&mut tx, refund.merchant_id, refund.order_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if payment.status != OrderPaymentStatus::Captured {
            return Err(StoreError::PaymentState(
                "be refunded before it is captured",
            ));
        }
        let reserved = sqlx::query(RESERVE_REFUND)
            .bind(refund.amount_minor)
            .bind(refund.created_at_ms)
            .bind(refund.order_id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
        if reserved.rows_affected() != 1 {
            return Err(StoreError::RefundTooLarge {
                left_minor: payment.refundable_minor(),
            });
        }
        insert_refund(&mut tx, refund).await?;
        tx.commit().await?;
        Ok(RefundStart::Started(refund.clone()))
    }

    /// Records the provider's acceptance of a refund (`Pending` or `Succeeded`).
    /// The first time it is accepted, its units go back to stock (when
    /// `restock_lines` are given) and the platform is told (an outbox item), in
    /// the same transaction. False when the refund was settled already.
    pub async fn settle_refund(
        &self,
        refund: &Refund,
        state: RefundState,
        provider_reference: Option<&str>,
        restock_lines: &[RefundLine],
        now_ms: i64,
    ) -> StoreResult<bool> {
        debug_assert!(matches!(
            state,
            RefundState::Pending | RefundState::Succeeded
        ));
        let mut tx = self.write.begin().await?;
        let current: Refund = sqlx::query_as::<_, RefundRow>(SELECT_REFUND)
            .bind(refund.id.to_string())
            .bind(refund.merchant_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_into()?;
        let done = sqlx::query(SETTLE_REFUND)
            .bind(state.as_str())
            .bind(provider_reference.map(String::from))
            .bind(now_ms)
            .bind(refund.id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // A refund made on the platform is on the platform already.
        if current.state == RefundState::Requested && current.source == RefundSource::Anycart {
            restock(&mut tx, refund.merchant_id, restock_lines).await?;
            let order: String = sqlx::query_scalar(SELECT_ORDER_DOC)
                .bind(refund.order_id.to_string())
                .bind(refund.merchant_id.to_string())
                .fetch_one(&mut *tx)
                .await?;
            let notice = crate::outbox::RefundNotice {
                refund_id: refund.id,
                order: serde_json::from_str(&order)?,
                amount_minor: refund.amount_minor,
                lines: refund.lines.clone(),
                restock: refund.restock,
                reason: refund.reason.clone(),
                provider_reference: provider_reference.map(String::from),
            };
            crate::outbox::enqueue_refund(&mut tx, &notice, now_ms).await?;
        }
        if current.state != state {
            // The agent platform the order came through sees the refund too.
            crate::agent_events::enqueue_order_update(
                &mut tx,
                refund.merchant_id,
                refund.order_id,
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records a refund the provider refused and gives its reserved amount back.
    /// False when it was settled already.
    pub async fn fail_refund(
        &self,
        refund: &Refund,
        failure: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(FAIL_REFUND)
            .bind(failure.chars().take(500).collect::<String>())
            .bind(now_ms)
            .bind(refund.id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(RELEASE_REFUND)
            .bind(refund.amount_minor)
            .bind(now_ms)
            .bind(refund.order_id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks a `requested` refund as just tried (the worker's back-off).
    pub async fn touch_refund(&self, refund: &Refund, now_ms: i64) -> StoreResult<()> {
        sqlx::query(TOUCH_REFUND)
            .bind(now_ms)
            .bind(refund.id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records a refund made elsewhere (already done), once per outside id
    /// (`provider_reference` or `platform_reference`). False when it was
    /// mirrored (or made here) before.
    pub async fn mirror_refund(&self, refund: &Refund) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        match insert_refund(&mut tx, refund).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        sqlx::query(COUNT_MIRRORED_REFUND)
            .bind(refund.amount_minor)
            .bind(refund.created_at_ms)
            .bind(refund.order_id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records the platform's id of a refund pushed there.
    pub async fn set_refund_platform_reference(
        &self,
        refund: &Refund,
        platform_reference: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(SET_PLATFORM_REFERENCE)
            .bind(platform_reference.to_string())
            .bind(now_ms)
            .bind(refund.id.to_string())
            .bind(refund.merchant_id.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn get_refund(
        &self,
        merchant: MerchantId,
        id: RefundId,
    ) -> StoreResult<Option<Refund>> {
        sqlx::query_as::<_, RefundRow>(SELECT_REFUND)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(Refund::try_from)
            .transpose()
    }

    /// The refund the provider knows as `reference` (`re_…`).
    pub async fn get_refund_by_provider_reference(
        &self,
        merchant: MerchantId,
        reference: &str,
    ) -> StoreResult<Option<Refund>> {
        sqlx::query_as::<_, RefundRow>(SELECT_REFUND_BY_PROVIDER_REFERENCE)
            .bind(merchant.to_string())
            .bind(reference.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(Refund::try_from)
            .transpose()
    }

    /// An order's refunds, oldest first.
    pub async fn order_refunds(
        &self,
        merchant: MerchantId,
        order: OrderId,
    ) -> StoreResult<Vec<Refund>> {
        sqlx::query_as::<_, RefundRow>(SELECT_ORDER_REFUNDS)
            .bind(order.to_string())
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Refund::try_from)
            .collect()
    }

    /// Refunds whose provider call never answered, untouched since `before_ms`.
    pub async fn unsettled_refunds(&self, before_ms: i64, limit: i64) -> StoreResult<Vec<Refund>> {
        sqlx::query_as::<_, RefundRow>(SELECT_UNSETTLED_REFUNDS)
            .bind(before_ms)
            .bind(crate::page_limit(limit))
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Refund::try_from)
            .collect()
    }

    /// Records (or updates) a dispute on an order's payment. An update older than
    /// the one recorded (`updated_at_ms`: when the provider reported it) changes
    /// nothing, so events arriving out of order cannot turn a closed dispute back.
    pub async fn upsert_dispute(&self, d: &Dispute) -> StoreResult<()> {
        sqlx::query(UPSERT_DISPUTE)
            .bind(d.merchant_id.to_string())
            .bind(d.dispute_id.clone())
            .bind(d.order_id.to_string())
            .bind(d.status.clone())
            .bind(d.reason.clone())
            .bind(d.amount_minor)
            .bind(d.currency.clone())
            .bind(d.updated_at_ms)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// An order's disputes, oldest first.
    pub async fn order_disputes(
        &self,
        merchant: MerchantId,
        order: OrderId,
    ) -> StoreResult<Vec<Dispute>> {
        sqlx::query_as::<_, DisputeRow>(SELECT_ORDER_DISPUTES)
            .bind(order.to_string())
            .bind(merchant.to_string())
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(Dispute::try_from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refund_selects_name_every_column() {
        for sql in [
            super::SELECT_REFUND,
            super::SELECT_REFUND_BY_KEY,
            super::SELECT_REFUND_BY_PROVIDER_REFERENCE,
            super::SELECT_ORDER_REFUNDS,
            super::SELECT_UNSETTLED_REFUNDS,
        ] {
            let compact: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(compact.contains(super::REFUND_COLUMNS), "{sql}");
        }
    }
}
