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

use crate::{Backend, Store, StoreResult, parse_id};
use anycart_core::order::Order;
use anycart_core::{LocationId, MerchantId, VariantId};
use sqlx::{AnyConnection, Row};
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

struct LevelRow {
    location: LocationId,
    on_hand: i64,
    floor: i64,
    mark_ms: Option<i64>,
}

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
        let fresh = sqlx::query("INSERT INTO processed_webhooks (merchant_id, platform, event_id, outcome, received_at_ms) VALUES ($1, $2, $3, 'stock', $4) ON CONFLICT (merchant_id, platform, event_id) DO NOTHING")
            .bind(change.merchant.to_string())
            .bind(change.platform.clone())
            .bind(change.event_id.clone())
            .bind(change.received_at_ms)
            .execute(&mut *tx)
            .await?;
        if fresh.rows_affected() == 0 {
            return Ok(StockApplied::Replayed);
        }
        let mut applied = Vec::new();
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
        for line in lines {
            let rows = levels(&mut tx, self.backend, change, line).await?;
            match line.figure {
                StockFigure::Available(units) => {
                    let units = units - unsent.get(&line.variant).copied().unwrap_or(0);
                    for row in rows {
                        if row.mark_ms.is_some_and(|m| m > change.platform_time_ms) {
                            continue; // a newer figure is already applied
                        }
                        let target = units.max(0);
                        let after = target.max(row.floor);
                        applied.push(
                            set_on_hand(
                                &mut tx,
                                change,
                                line.variant,
                                &row,
                                after,
                                after != target,
                            )
                            .await?,
                        );
                        mark(&mut tx, change, line.variant, row.location).await?;
                    }
                }
                StockFigure::Sold(units) => {
                    // An absolute figure stamped at or after the sale already counts it.
                    if rows
                        .iter()
                        .any(|r| r.mark_ms.is_some_and(|m| m >= change.platform_time_ms))
                    {
                        continue;
                    }
                    let mut remaining = units.max(0);
                    for row in &rows {
                        let take = remaining.min(row.on_hand - row.floor).max(0);
                        remaining -= take;
                        if take > 0 {
                            applied.push(
                                set_on_hand(
                                    &mut tx,
                                    change,
                                    line.variant,
                                    row,
                                    row.on_hand - take,
                                    false,
                                )
                                .await?,
                            );
                        }
                    }
                    if remaining > 0 {
                        tracing::warn!(merchant_id = %change.merchant, variant_id = %line.variant, event_id = %change.event_id, short = remaining, "platform sold units anycart holds or does not have; on_hand kept at held + committed");
                    }
                }
            }
        }
        tx.commit().await?;
        for line in applied.iter().filter(|l| l.clamped) {
            tracing::warn!(merchant_id = %change.merchant, variant_id = %line.variant, location_id = %line.location, on_hand = line.on_hand_after, event_id = %change.event_id, "platform reports fewer units than anycart holds; on_hand kept at held + committed");
        }
        Ok(StockApplied::Applied(applied))
    }

    /// True when `event_id` from `platform` was already processed for `merchant`
    /// (a cheap pre-check; the authoritative check is the insert in the apply).
    pub async fn webhook_seen(
        &self,
        merchant: MerchantId,
        platform: &str,
        event_id: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query("SELECT 1 AS one FROM processed_webhooks WHERE merchant_id = $1 AND platform = $2 AND event_id = $3")
            .bind(merchant.to_string())
            .bind(platform.to_string())
            .bind(event_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }
}

/// Units per variant in `order.created` outbox rows not yet delivered.
async fn undelivered_units(
    conn: &mut AnyConnection,
    merchant: MerchantId,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let rows = sqlx::query("SELECT payload FROM outbox WHERE merchant_id = $1 AND state = 'pending' AND kind = $2 ORDER BY id LIMIT $3")
        .bind(merchant.to_string())
        .bind(crate::OUTBOX_KIND_ORDER_CREATED)
        .bind(PENDING_ORDERS_SCAN_MAX)
        .fetch_all(&mut *conn)
        .await?;
    let mut units = BTreeMap::new();
    for r in rows {
        let order: Order = serde_json::from_str(&r.try_get::<String, _>("payload")?)?;
        for line in &order.lines {
            *units.entry(line.variant_id).or_insert(0) += i64::from(line.quantity.get());
        }
    }
    Ok(units)
}

async fn levels(
    conn: &mut AnyConnection,
    backend: Backend,
    change: &ExternalStockChange,
    line: &ExternalStockLine,
) -> StoreResult<Vec<LevelRow>> {
    // Lock in the same order as the hold code (variant, then location) on PostgreSQL.
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE OF s",
        Backend::Sqlite => "",
    };
    let base = "SELECT s.location_id, s.on_hand, s.held + s.committed AS floor, m.updated_at_ms AS mark_ms FROM stock_levels s LEFT JOIN external_stock_marks m ON m.variant_id = s.variant_id AND m.location_id = s.location_id AND m.platform = $1 WHERE s.variant_id = $2 AND s.merchant_id = $3 AND ($4 = '' OR s.location_id = $5) ORDER BY s.location_id";
    let sql = format!("{base}{lock}");
    let location = line.location.map(|l| l.to_string()).unwrap_or_default();
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(change.platform.clone())
        .bind(line.variant.to_string())
        .bind(change.merchant.to_string())
        .bind(location.clone())
        .bind(location)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(LevelRow {
                location: parse_id(&r.try_get::<String, _>("location_id")?)?,
                on_hand: r.try_get("on_hand")?,
                floor: r.try_get("floor")?,
                mark_ms: r.try_get("mark_ms")?,
            })
        })
        .collect()
}

async fn set_on_hand(
    conn: &mut AnyConnection,
    change: &ExternalStockChange,
    variant: VariantId,
    row: &LevelRow,
    on_hand: i64,
    clamped: bool,
) -> StoreResult<AppliedStockLine> {
    debug_assert!(on_hand >= row.floor, "CHECK held + committed <= on_hand");
    sqlx::query("UPDATE stock_levels SET on_hand = $1 WHERE variant_id = $2 AND location_id = $3 AND merchant_id = $4")
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
        clamped,
    })
}

async fn mark(
    conn: &mut AnyConnection,
    change: &ExternalStockChange,
    variant: VariantId,
    location: LocationId,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO external_stock_marks (variant_id, location_id, platform, updated_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (variant_id, location_id, platform) DO UPDATE SET updated_at_ms = excluded.updated_at_ms")
        .bind(variant.to_string())
        .bind(location.to_string())
        .bind(change.platform.clone())
        .bind(change.platform_time_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
