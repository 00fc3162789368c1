//! What a buyer already has, for per-buyer limits (`max_quantity_per_order`
//! across checkouts): units held by their other checkouts and ordered recently.

use crate::{Store, StoreError, StoreResult, parse_id};
use anycart_core::order::Order;
use anycart_core::{MerchantId, SessionId, VariantId};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Most recent orders of one buyer that [`Store::buyer_units`] reads (a buyer with
/// more inside the window is over any sensible limit already).
pub const BUYER_ORDERS_COUNTED_MAX: i64 = 200;

/// Units per variant, summed in SQL.
#[derive(sqlx::FromRow)]
struct VariantUnitsRow {
    variant_id: String,
    units: i64,
}

/// `CAST`: SUM of a BIGINT is NUMERIC on PostgreSQL, which the `Any` driver cannot decode.
const SELECT_UNITS_HELD_BY_BUYER_ELSEWHERE: &str = r"
SELECT h.variant_id, CAST(SUM(h.quantity) AS BIGINT) AS units
  FROM holds h
  JOIN checkout_sessions s ON s.id = h.session_id
 WHERE s.merchant_id = $1 AND s.buyer_key = $2 AND s.id <> $3
 GROUP BY h.variant_id";

impl Store {
    /// Units of each variant a buyer already has outside `session`: held by their
    /// other checkouts plus ordered since `since_ms`. What per-buyer limits count
    /// (`max_quantity_per_order`).
    pub async fn buyer_units(
        &self,
        merchant: MerchantId,
        buyer_key: &str,
        session: SessionId,
        since_ms: i64,
    ) -> StoreResult<BTreeMap<VariantId, i64>> {
        let mut units: BTreeMap<VariantId, i64> = BTreeMap::new();
        let held = sqlx::query_as::<_, VariantUnitsRow>(SELECT_UNITS_HELD_BY_BUYER_ELSEWHERE)
            .bind(merchant.to_string())
            .bind(buyer_key.to_string())
            .bind(session.to_string())
            .fetch_all(&self.read)
            .await?;
        for row in held {
            let variant: VariantId = parse_id(&row.variant_id)?;
            *units.entry(variant).or_insert(0) += row.units;
        }
        let mut conn = self.read.acquire().await?;
        for (variant, ordered) in ordered_units(&mut conn, merchant, buyer_key, since_ms).await? {
            *units.entry(variant).or_insert(0) += ordered;
        }
        Ok(units)
    }
}

const SELECT_RECENT_ORDERS_OF_BUYER: &str = r"
SELECT doc
  FROM orders
 WHERE merchant_id = $1 AND buyer_key = $2 AND created_at_ms >= $3
 ORDER BY created_at_ms DESC
 LIMIT $4";

/// Units of each variant a buyer ordered from `merchant` since `since_ms`.
async fn ordered_units(
    conn: &mut AnyConnection,
    merchant: MerchantId,
    buyer_key: &str,
    since_ms: i64,
) -> StoreResult<BTreeMap<VariantId, i64>> {
    let orders: Vec<String> = sqlx::query_scalar(SELECT_RECENT_ORDERS_OF_BUYER)
        .bind(merchant.to_string())
        .bind(buyer_key.to_string())
        .bind(since_ms)
        .bind(BUYER_ORDERS_COUNTED_MAX)
        .fetch_all(&mut *conn)
        .await?;
    let mut units = BTreeMap::new();
    for doc in orders {
        let order: Order = serde_json::from_str(&doc)?;
        for line in order.lines {
            *units.entry(line.variant_id).or_insert(0) += i64::from(line.quantity.get());
        }
    }
    Ok(units)
}

/// The upsert takes the row's lock until the transaction ends: the per-buyer mutex.
const LOCK_BUYER: &str = r"
INSERT INTO buyer_locks (merchant_id, buyer_key, touched_at_ms)
VALUES ($1, $2, $3)
    ON CONFLICT (merchant_id, buyer_key) DO UPDATE
   SET touched_at_ms = excluded.touched_at_ms";

/// Refuses an order that would take its buyer past a variant's
/// `max_quantity_per_order` within the window, counting the buyer's earlier orders.
/// The per-buyer lock row makes concurrent completions of one buyer (on any node)
/// run one after the other, so each sees the orders committed before it.
pub(super) async fn check_buyer_limits(conn: &mut AnyConnection, order: &Order) -> StoreResult<()> {
    let capped = order
        .lines
        .iter()
        .any(|l| l.max_quantity_per_order.is_some());
    let Some(email) = order.email.as_ref().filter(|_| capped) else {
        return Ok(());
    };
    let buyer_key = email.buyer_key();
    sqlx::query(LOCK_BUYER)
        .bind(order.merchant_id.to_string())
        .bind(buyer_key.clone())
        .bind(order.created_at_ms)
        .execute(&mut *conn)
        .await?;
    let since = order.created_at_ms - anycart_core::quote::BUYER_LIMIT_WINDOW_MS;
    let ordered = ordered_units(conn, order.merchant_id, &buyer_key, since).await?;
    let over = anycart_core::quote::over_limit(&order.lines, &ordered);
    if over.is_empty() {
        return Ok(());
    }
    let detail: Vec<String> = over
        .iter()
        .map(|v| {
            format!(
                "{v}: {} already ordered",
                ordered.get(v).copied().unwrap_or(0)
            )
        })
        .collect();
    Err(StoreError::BuyerLimit(detail.join(", ")))
}
