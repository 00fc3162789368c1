//! Funnel events (append-only) and their hourly rollups, and the order figures the
//! dashboard's overview charts. An event is kept once per (placement, view, step,
//! reason): a replayed report inserts nothing and counts nothing. Each new event
//! adds one to its hour's rollup row in the same transaction, so reads never scan
//! events.

use crate::{Store, StoreResult, parse_id};
use anycart_core::funnel::FunnelEvent;
use anycart_core::order::Order;
use anycart_core::{MerchantId, PlacementId};

/// One hour, in ms: the rollup bucket.
pub const HOUR_MS: i64 = 3_600_000;
/// Most events one report may carry (the widget sends a handful per view).
pub const EVENTS_PER_REPORT_MAX: usize = 16;
/// Most rollup rows one analytics read returns (a year of hours for every step
/// and reason of a few placements); the service refuses wider ranges first.
pub const ROLLUP_ROWS_MAX: i64 = 200_000;
/// Most orders one overview read decodes.
pub const OVERVIEW_ORDERS_MAX: i64 = 100_000;

/// What a placement's events are filed under (its settings when reported).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventContext {
    pub merchant_id: MerchantId,
    pub placement_id: PlacementId,
    /// The placement's channel (wire name).
    pub channel: String,
    /// The placement's campaign name, `""` when none.
    pub campaign: String,
    /// Random per widget load (checked by the caller's signature).
    pub view_id: String,
}

/// One rollup row: `count` events of one kind in one hour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupRow {
    pub hour_ms: i64,
    pub placement_id: PlacementId,
    pub channel: String,
    pub campaign: String,
    pub event: FunnelEvent,
    pub count: u64,
}

/// Which rollups to read: one merchant, `[from_ms, to_ms)`, optional filters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollupFilter {
    pub placement: Option<PlacementId>,
    pub channel: Option<String>,
    pub campaign: Option<String>,
}

const INSERT_EVENT: &str = r"
INSERT INTO funnel_events (placement_id, view_id, step, reason, merchant_id, at_ms)
VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (placement_id, view_id, step, reason) DO NOTHING";

const BUMP_ROLLUP: &str = r"
INSERT INTO funnel_rollups (merchant_id, hour_ms, placement_id, step, reason, channel, campaign, count)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
    ON CONFLICT (merchant_id, hour_ms, placement_id, step, reason) DO UPDATE
   SET count = funnel_rollups.count + 1";

/// Filters are `$4 = ''` or a match, so one statement serves every combination.
const SELECT_ROLLUPS: &str = r"
SELECT hour_ms, placement_id, channel, campaign, step, reason, count
  FROM funnel_rollups
 WHERE merchant_id = $1 AND hour_ms >= $2 AND hour_ms < $3
   AND ($4 = '' OR placement_id = $4)
   AND ($5 = '' OR channel = $5)
   AND ($6 = '' OR campaign = $6)
 ORDER BY hour_ms, placement_id, step, reason
 LIMIT $7";

const SELECT_ORDERS_BETWEEN: &str = r"
SELECT doc
  FROM orders
 WHERE merchant_id = $1 AND created_at_ms >= $2 AND created_at_ms < $3
 ORDER BY created_at_ms
 LIMIT $4";

#[derive(sqlx::FromRow)]
struct RollupDbRow {
    hour_ms: i64,
    placement_id: String,
    channel: String,
    campaign: String,
    step: String,
    reason: String,
    count: i64,
}

impl Store {
    /// Appends `events` (each at its unix-ms time) of one view; returns how many
    /// were new (replays of an event already stored count nothing).
    pub async fn record_funnel_events(
        &self,
        context: EventContext,
        events: Vec<(FunnelEvent, i64)>,
    ) -> StoreResult<u64> {
        debug_assert!(events.len() <= EVENTS_PER_REPORT_MAX);
        self.write_tx(move |conn| {
            Box::pin(async move {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let mut added = 0u64;
                for (event, at_ms) in events {
                    let (step, reason) = event.columns();
                    let inserted = sqlx::query(INSERT_EVENT)
                        .bind(context.placement_id.to_string())
                        .bind(context.view_id.clone())
                        .bind(step)
                        .bind(reason)
                        .bind(context.merchant_id.to_string())
                        .bind(at_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if inserted == 0 {
                        continue;
                    }
                    sqlx::query(BUMP_ROLLUP)
                        .bind(context.merchant_id.to_string())
                        .bind(at_ms - at_ms.rem_euclid(HOUR_MS))
                        .bind(context.placement_id.to_string())
                        .bind(step)
                        .bind(reason)
                        .bind(context.channel.clone())
                        .bind(context.campaign.clone())
                        .execute(&mut *tx)
                        .await?;
                    added += 1;
                }
                tx.commit().await?;
                Ok(added)
            })
        })
        .await
    }

    /// The merchant's rollup rows in `[from_ms, to_ms)` matching `filter`, at most
    /// [`ROLLUP_ROWS_MAX`]. Rows of unknown kinds (a newer node's) are skipped.
    pub async fn funnel_rollups(
        &self,
        merchant: MerchantId,
        from_ms: i64,
        to_ms: i64,
        filter: &RollupFilter,
    ) -> StoreResult<Vec<RollupRow>> {
        let rows: Vec<RollupDbRow> = sqlx::query_as(SELECT_ROLLUPS)
            .bind(merchant.to_string())
            .bind(from_ms)
            .bind(to_ms)
            .bind(filter.placement.map(|p| p.to_string()).unwrap_or_default())
            .bind(filter.channel.clone().unwrap_or_default())
            .bind(filter.campaign.clone().unwrap_or_default())
            .bind(ROLLUP_ROWS_MAX)
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(event) = FunnelEvent::from_columns(&r.step, &r.reason) else {
                continue;
            };
            out.push(RollupRow {
                hour_ms: r.hour_ms,
                placement_id: parse_id(&r.placement_id)?,
                channel: r.channel,
                campaign: r.campaign,
                event,
                count: u64::try_from(r.count).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The merchant's orders created in `[from_ms, to_ms)`, oldest first, at most
    /// [`OVERVIEW_ORDERS_MAX`].
    pub async fn orders_between(
        &self,
        merchant: MerchantId,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<Order>> {
        let docs: Vec<(String,)> = sqlx::query_as(SELECT_ORDERS_BETWEEN)
            .bind(merchant.to_string())
            .bind(from_ms)
            .bind(to_ms)
            .bind(OVERVIEW_ORDERS_MAX)
            .fetch_all(&self.read)
            .await?;
        docs.into_iter()
            .map(|(doc,)| Ok(serde_json::from_str(&doc)?))
            .collect()
    }
}
