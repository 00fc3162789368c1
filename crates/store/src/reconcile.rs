//! Stock changes reported by the merchant's platform (a sale on its own storefront,
//! a restock, a stock count) applied to anycart's shared pool.
//!
//! Each platform event is applied at most once: its id is recorded in
//! `processed_webhooks` in the same transaction as the stock change, so a replayed
//! or duplicated webhook finds the row and changes nothing. Absolute figures carry
//! the platform's own timestamp and a per-row mark keeps the newest, so a late
//! (out-of-order) webhook cannot roll stock back. The CHECK constraints of
//! `stock_levels` still hold: when the platform reports fewer units than anycart has
//! held or committed, on_hand is bounded below by `held + committed` and the
//! shortfall is logged (those shoppers keep their units; the platform will
//! oversell by that much, which an operator must see). Units of anycart orders
//! still waiting in the outbox are taken off a platform figure, because the
//! platform cannot have counted them yet.

use crate::sql::with_row_lock;
use crate::{Backend, Store, StoreResult, parse_id};
use anycart_core::order::Order;
use anycart_core::{LocationId, MerchantId, VariantId};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Lines one platform event may change (an order has a bounded number of lines).
pub const EXTERNAL_STOCK_LINES_MAX: usize = 250;
/// Undelivered orders read when correcting a platform figure (beyond this the
/// outbox is badly behind and an operator is already alerted by dead letters).
pub const PENDING_ORDERS_SCAN_MAX: i64 = 1_000;

/// What the platform says about one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockFigure {
    /// The platform's absolute count of sellable units at a location
    /// (Shopify `inventory_levels/update` `available`).
    Available(i64),
    /// Units the platform sold on another channel (Shopify `orders/create` line).
    Sold(i64),
}

/// One line of an external stock change, already mapped to anycart ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalStockLine {
    pub variant: VariantId,
    /// `None` when the platform does not say where (a sale): taken from the
    /// variant's locations in id order.
    pub location: Option<LocationId>,
    pub figure: StockFigure,
}

/// A platform event that changes stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalStockChange {
    pub merchant: MerchantId,
    pub platform: String,
    /// The platform's event id (Shopify `X-Shopify-Webhook-Id`).
    pub event_id: String,
    /// When the platform says the change happened (orders out-of-order events).
    pub platform_time_ms: i64,
    pub lines: Vec<ExternalStockLine>,
    /// When anycart received it.
    pub received_at_ms: i64,
}

/// What happened to one stock row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppliedStockLine {
    pub variant: VariantId,
    pub location: LocationId,
    pub on_hand_before: i64,
    pub on_hand_after: i64,
    /// True when the platform figure was below `held + committed` and was raised.
    pub clamped: bool,
}

/// The result of [`Store::apply_external_stock_change`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StockApplied {
    /// The event was new; these rows changed (stale or unknown lines are skipped).
    Applied(Vec<AppliedStockLine>),
    /// The event id was seen before: nothing changed.
    Replayed,
}

/// A stock row with the platform time of the newest absolute figure applied to it.
#[derive(sqlx::FromRow)]
struct LevelRow {
    location_id: String,
    on_hand: i64,
    /// `held + committed`: what on_hand may not drop below.
    floor: i64,
    mark_ms: Option<i64>,
}

/// One stock row of a line, decoded.
struct Level {
    location: LocationId,
    on_hand: i64,
    floor: i64,
    mark_ms: Option<i64>,
}

impl TryFrom<LevelRow> for Level {
    type Error = crate::StoreError;

    fn try_from(row: LevelRow) -> StoreResult<Self> {
        Ok(Level {
            location: parse_id(&row.location_id)?,
            on_hand: row.on_hand,
            floor: row.floor,
            mark_ms: row.mark_ms,
        })
    }
}

/// The event id is the de-duplication key: a replay inserts nothing.
const RECORD_WEBHOOK: &str = r"
INSERT INTO processed_webhooks (merchant_id, platform, event_id, outcome, received_at_ms)
VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (merchant_id, platform, event_id) DO NOTHING";

const SELECT_WEBHOOK_SEEN: &str = r"
SELECT 1 AS one
  FROM processed_webhooks
 WHERE merchant_id = $1 AND platform = $2 AND event_id = $3";

impl Store {
    /// Applies a platform stock event atomically and at most once (see the module
    /// docs). Lines for variants the merchant does not have are skipped (logged by
    /// the caller, which knows the platform ids); the event id is still recorded so
    /// a replay stays a no-op.
    pub async fn apply_external_stock_change(
        &self,
        change: &ExternalStockChange,
    ) -> StoreResult<StockApplied> {
        assert!(
            change.lines.len() <= EXTERNAL_STOCK_LINES_MAX,
            "caller bounds event size"
        );
        let mut tx = self.write.begin().await?;
        let fresh = sqlx::query(RECORD_WEBHOOK)
            .bind(change.merchant.to_string())
            .bind(change.platform.clone())
            .bind(change.event_id.clone())
            .bind("stock")
            .bind(change.received_at_ms)
            .execute(&mut *tx)
            .await?;
        if fresh.rows_affected() == 0 {
            return Ok(StockApplied::Replayed);
        }
        // Lock stock rows in the hold code's order (variant, then location) so a
        // concurrent multi-variant checkout on PostgreSQL cannot deadlock with us.
        let mut lines: Vec<&ExternalStockLine> = change.lines.iter().collect();
        lines.sort_by_key(|l| (l.variant, l.location));
        // Units anycart sold that the platform has not heard of yet: its figure
        // still counts them, so they come off (at every location: the commit did
        // not keep where they came from, and under-selling beats over-selling).
        let unsent = if lines
            .iter()
            .any(|l| matches!(l.figure, StockFigure::Available(_)))
        {
            undelivered_units(&mut tx, change.merchant).await?
        } else {
            BTreeMap::new()
        };
        let mut applied = Vec::new();
        for line in lines {
            let rows = levels(&mut tx, self.backend, change, line).await?;
            let changed = match line.figure {
                StockFigure::Available(units) => {
                    let units = units - unsent.get(&line.variant).copied().unwrap_or(0);
                    apply_available(&mut tx, change, line.variant, rows, units).await?
                }
                StockFigure::Sold(units) => {
                    apply_sold(&mut tx, change, line.variant, &rows, units).await?
                }
            };
            applied.extend(changed);
        }
        tx.commit().await?;
        for line in applied.iter().filter(|l| l.clamped) {
            tracing::warn!(merchant_id = %change.merchant, variant_id = %line.variant, location_id = %line.location, on_hand = line.on_hand_after, event_id = %change.event_id, "platform reports fewer units than anycart holds; on_hand kept at held + committed");
        }
        Ok(StockApplied::Applied(applied))
    }

    /// True when `event_id` from `platform` was already processed for `merchant`
    /// (a cheap pre-check; the authoritative check is the insert in the apply).
    /// Records that `event_id` from `source` (a platform, or `stripe`) was acted
    /// on, with what came of it. False when it was recorded before.
    pub async fn record_webhook(
        &self,
        merchant: MerchantId,
        source: &str,
        event_id: &str,
        outcome: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(RECORD_WEBHOOK)
            .bind(merchant.to_string())
            .bind(source.to_string())
            .bind(event_id.to_string())
            .bind(outcome.to_string())
            .bind(now_ms)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn webhook_seen(
        &self,
        merchant: MerchantId,
        platform: &str,
        event_id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query(SELECT_WEBHOOK_SEEN)
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(event_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }
}

/// An absolute figure (`units`, already less what the platform has not heard of):
/// each row not marked newer is set to it, raised to its floor, and marked.
async fn apply_available(
    conn: &mut AnyConnection,
    change: &ExternalStockChange,
    variant: VariantId,
    rows: Vec<Level>,
    units: i64,
) -> StoreResult<Vec<AppliedStockLine>> {
    let mut applied = Vec::new();
    for row in rows {
        if row.mark_ms.is_some_and(|m| m > change.platform_time_ms) {
            continue; // a newer figure is already applied
        }
        let target = units.max(0);
        let after = target.max(row.floor);
        let mut line = set_on_hand(conn, change, variant, &row, after).await?;
        line.clamped = after != target;
        applied.push(line);
        mark(conn, change, variant, row.location).await?;
    }
    Ok(applied)
}

/// A sale on another channel: `units` come off the rows in location order, none
/// below its floor; what does not fit is logged.
async fn apply_sold(
    conn: &mut AnyConnection,
    change: &ExternalStockChange,
    variant: VariantId,
    rows: &[Level],
    units: i64,
) -> StoreResult<Vec<AppliedStockLine>> {
    // An absolute figure stamped at or after the sale already counts it.
    if rows
        .iter()
        .any(|r| r.mark_ms.is_some_and(|m| m >= change.platform_time_ms))
    {
        return Ok(Vec::new());
    }
    let mut applied = Vec::new();
    let mut remaining = units.max(0);
    for row in rows {
        let take = remaining.min(row.on_hand - row.floor).max(0);
        remaining -= take;
        if take > 0 {
            applied.push(set_on_hand(conn, change, variant, row, row.on_hand - take).await?);
        }
    }
    if remaining > 0 {
        tracing::warn!(merchant_id = %change.merchant, variant_id = %variant, event_id = %change.event_id, short = remaining, "platform sold units anycart holds or does not have; on_hand kept at held + committed");
    }
    Ok(applied)
}

const SELECT_PENDING_ORDER_PAYLOADS: &str = r"
SELECT payload
  FROM outbox
 WHERE merchant_id = $1 AND state = 'pending' AND kind = $2
 ORDER BY id
 LIMIT $3";

/// Units per variant in `order.created` outbox rows not yet delivered.
async fn undelivered_units(
    conn: &mut AnyConnection,
    merchant: MerchantId,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let payloads: Vec<String> = sqlx::query_scalar(SELECT_PENDING_ORDER_PAYLOADS)
        .bind(merchant.to_string())
        .bind(crate::OUTBOX_KIND_ORDER_CREATED)
        .bind(PENDING_ORDERS_SCAN_MAX)
        .fetch_all(&mut *conn)
        .await?;
    let mut units = BTreeMap::new();
    for payload in payloads {
        let order: Order = serde_json::from_str(&payload)?;
        for line in &order.lines {
            *units.entry(line.variant_id).or_insert(0) += i64::from(line.quantity.get());
        }
    }
    Ok(units)
}

/// `$4` = `$5` = a location, or '' for all; in the hold code's lock order.
const SELECT_STOCK_WITH_MARKS: &str = r"
SELECT s.location_id, s.on_hand, s.held + s.committed AS floor, m.updated_at_ms AS mark_ms
  FROM stock_levels s
  LEFT JOIN external_stock_marks m
    ON m.variant_id = s.variant_id AND m.location_id = s.location_id AND m.platform = $1
 WHERE s.variant_id = $2 AND s.merchant_id = $3 AND ($4 = '' OR s.location_id = $5)
 ORDER BY s.location_id";

/// Locks the stock rows only: PostgreSQL cannot lock the nullable side of an outer join.
const FOR_UPDATE_OF_STOCK: &str = "
   FOR UPDATE OF s";

/// The stock rows `line` names, with their marks, locked on PostgreSQL.
async fn levels(
    conn: &mut AnyConnection,
    backend: Backend,
    change: &ExternalStockChange,
    line: &ExternalStockLine,
) -> StoreResult<Vec<Level>> {
    let sql = with_row_lock(backend, SELECT_STOCK_WITH_MARKS, FOR_UPDATE_OF_STOCK);
    let location = line.location.map(|l| l.to_string()).unwrap_or_default();
    sqlx::query_as::<_, LevelRow>(sql)
        .bind(change.platform.clone())
        .bind(line.variant.to_string())
        .bind(change.merchant.to_string())
        .bind(location.clone())
        .bind(location)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(Level::try_from)
        .collect()
}

const UPDATE_ON_HAND: &str = r"
UPDATE stock_levels
   SET on_hand = $1
 WHERE variant_id = $2 AND location_id = $3 AND merchant_id = $4";

/// Writes one row's new on-hand count; the line it returns is not `clamped`
/// (the caller, which knows the figure asked for, says when it was).
async fn set_on_hand(
    conn: &mut AnyConnection,
    change: &ExternalStockChange,
    variant: VariantId,
    row: &Level,
    on_hand: i64,
) -> StoreResult<AppliedStockLine> {
    debug_assert!(on_hand >= row.floor, "CHECK held + committed <= on_hand");
    sqlx::query(UPDATE_ON_HAND)
        .bind(on_hand)
        .bind(variant.to_string())
        .bind(row.location.to_string())
        .bind(change.merchant.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(AppliedStockLine {
        variant,
        location: row.location,
        on_hand_before: row.on_hand,
        on_hand_after: on_hand,
        clamped: false,
    })
}

const UPSERT_STOCK_MARK: &str = r"
INSERT INTO external_stock_marks (variant_id, location_id, platform, updated_at_ms)
VALUES ($1, $2, $3, $4)
    ON CONFLICT (variant_id, location_id, platform) DO UPDATE
   SET updated_at_ms = excluded.updated_at_ms";

async fn mark(
    conn: &mut AnyConnection,
    change: &ExternalStockChange,
    variant: VariantId,
    location: LocationId,
) -> StoreResult<()> {
    sqlx::query(UPSERT_STOCK_MARK)
        .bind(variant.to_string())
        .bind(location.to_string())
        .bind(change.platform.clone())
        .bind(change.platform_time_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
