//! Summing rollups and orders into the buckets and slices the dashboard shows.
//! Pure functions over what the store read, so the chart, the JSON and the CSV
//! export are the same numbers.

use super::Range;
use anycart_core::PlacementId;
use anycart_core::funnel::{FunnelCounts, FunnelEvent, FunnelStep};
use anycart_core::order::Order;
use anycart_store::RollupRow;
use std::collections::BTreeMap;

/// One bucket of a funnel series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub start_ms: i64,
    pub counts: FunnelCounts,
}

/// One placement's funnel over the whole range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementFunnel {
    pub placement_id: PlacementId,
    pub channel: String,
    pub campaign: String,
    pub counts: FunnelCounts,
}

/// A funnel read: totals, one entry per bucket (empty ones included), and per
/// placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunnelReport {
    pub range: Range,
    pub totals: FunnelCounts,
    pub series: Vec<Bucket>,
    pub placements: Vec<PlacementFunnel>,
}

/// Sales in one bucket or one slice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalesBucket {
    pub start_ms: i64,
    pub orders: u64,
    /// Revenue per currency (ISO code, lower case), minor units.
    pub revenue_minor: BTreeMap<String, i64>,
    /// Viewable impressions in the bucket (for conversion).
    pub impressions: u64,
}

/// Sales under one key (a channel, a placement, a campaign).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SalesSlice {
    pub key: String,
    pub orders: u64,
    pub revenue_minor: BTreeMap<String, i64>,
}

/// The overview: totals, a series, and slices per channel, placement, campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SalesOverview {
    pub range: Range,
    pub totals: SalesBucket,
    pub series: Vec<SalesBucket>,
    pub by_channel: Vec<SalesSlice>,
    pub by_placement: Vec<SalesSlice>,
    pub by_campaign: Vec<SalesSlice>,
}

/// Adds `amount` to `currency`'s revenue (saturating: a sum never wraps).
fn add_revenue(into: &mut BTreeMap<String, i64>, currency: &str, amount: i64) {
    let v = into.entry(currency.to_string()).or_default();
    *v = v.saturating_add(amount);
}

fn empty_series<T>(range: &Range, make: impl Fn(i64) -> T) -> Vec<T> {
    let step = range.granularity.bucket_ms();
    (0..range.buckets())
        .map(|i| make(range.from_ms + step * i64::try_from(i).unwrap_or(0)))
        .collect()
}

/// The funnel of `rows` (all inside `range`).
pub fn funnel(range: &Range, rows: &[RollupRow]) -> FunnelReport {
    let mut totals = FunnelCounts::default();
    let mut series = empty_series(range, |start_ms| Bucket {
        start_ms,
        counts: FunnelCounts::default(),
    });
    let mut placements: BTreeMap<PlacementId, PlacementFunnel> = BTreeMap::new();
    for row in rows {
        totals.add(row.event, row.count);
        if let Some(b) = range.bucket_of(row.hour_ms).and_then(|i| series.get_mut(i)) {
            b.counts.add(row.event, row.count);
        }
        placements
            .entry(row.placement_id)
            .or_insert_with(|| PlacementFunnel {
                placement_id: row.placement_id,
                channel: row.channel.clone(),
                campaign: row.campaign.clone(),
                counts: FunnelCounts::default(),
            })
            .counts
            .add(row.event, row.count);
    }
    FunnelReport {
        range: *range,
        totals,
        series,
        placements: placements.into_values().collect(),
    }
}

/// Sales of `orders` and the viewable impressions among `rollups`, over `range`.
pub fn sales(range: &Range, orders: &[Order], rollups: &[RollupRow]) -> SalesOverview {
    let mut totals = SalesBucket {
        start_ms: range.from_ms,
        ..SalesBucket::default()
    };
    let mut series = empty_series(range, |start_ms| SalesBucket {
        start_ms,
        ..SalesBucket::default()
    });
    let mut by_channel: BTreeMap<String, SalesSlice> = BTreeMap::new();
    let mut by_placement: BTreeMap<String, SalesSlice> = BTreeMap::new();
    let mut by_campaign: BTreeMap<String, SalesSlice> = BTreeMap::new();
    for order in orders {
        let currency = order.currency.code_lower();
        let currency = currency.as_str();
        let amount = order.totals.total_minor;
        totals.orders += 1;
        add_revenue(&mut totals.revenue_minor, currency, amount);
        if let Some(b) = range
            .bucket_of(order.created_at_ms)
            .and_then(|i| series.get_mut(i))
        {
            b.orders += 1;
            add_revenue(&mut b.revenue_minor, currency, amount);
        }
        let a = order.attribution.as_ref();
        let channel = a.map_or("unknown", |a| a.channel.as_str()).to_string();
        let placement = a
            .and_then(|a| a.placement_id)
            .map_or_else(|| "none".to_string(), |p| p.to_string());
        let campaign = a
            .and_then(|a| a.campaign.name.clone())
            .unwrap_or_else(|| "none".to_string());
        for (map, key) in [
            (&mut by_channel, channel),
            (&mut by_placement, placement),
            (&mut by_campaign, campaign),
        ] {
            let slice = map.entry(key.clone()).or_insert_with(|| SalesSlice {
                key,
                ..SalesSlice::default()
            });
            slice.orders += 1;
            add_revenue(&mut slice.revenue_minor, currency, amount);
        }
    }
    for row in rollups {
        if row.event != FunnelEvent::Step(FunnelStep::Impression) {
            continue;
        }
        totals.impressions += row.count;
        if let Some(b) = range.bucket_of(row.hour_ms).and_then(|i| series.get_mut(i)) {
            b.impressions += row.count;
        }
    }
    let by_revenue = |m: BTreeMap<String, SalesSlice>| {
        let mut v: Vec<SalesSlice> = m.into_values().collect();
        v.sort_by(|a, b| b.orders.cmp(&a.orders).then_with(|| a.key.cmp(&b.key)));
        v
    };
    SalesOverview {
        range: *range,
        totals,
        series,
        by_channel: by_revenue(by_channel),
        by_placement: by_revenue(by_placement),
        by_campaign: by_revenue(by_campaign),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::{DAY_MS, Granularity};
    use anycart_core::funnel::DropReason;
    use anycart_store::HOUR_MS;

    const NOW: i64 = 1_800_000_000_000;

    fn row(hour_ms: i64, placement: PlacementId, event: FunnelEvent, count: u64) -> RollupRow {
        RollupRow {
            hour_ms,
            placement_id: placement,
            channel: "display_ad".into(),
            campaign: "spring".into(),
            event,
            count,
        }
    }

    #[test]
    fn the_series_adds_up_to_the_totals() {
        let range = Range::new(NOW - 2 * DAY_MS, NOW, Granularity::Day, NOW).unwrap();
        let (a, b) = (PlacementId::new(), PlacementId::new());
        let imp = FunnelEvent::Step(FunnelStep::Impression);
        let paid = FunnelEvent::Step(FunnelStep::Paid);
        let rows = vec![
            row(range.from_ms, a, imp, 10),
            row(range.from_ms + HOUR_MS, b, imp, 5),
            row(range.from_ms + DAY_MS, a, paid, 2),
            row(
                range.from_ms + DAY_MS,
                a,
                FunnelEvent::Left(DropReason::Declined),
                1,
            ),
        ];
        let r = funnel(&range, &rows);
        assert_eq!(r.series.len(), range.buckets());
        assert_eq!(r.totals.step(FunnelStep::Impression), 15);
        assert_eq!(r.series[0].counts.step(FunnelStep::Impression), 15);
        assert_eq!(r.series[1].counts.step(FunnelStep::Paid), 2);
        let summed: u64 = r
            .series
            .iter()
            .map(|b| b.counts.step(FunnelStep::Paid))
            .sum();
        assert_eq!(summed, r.totals.step(FunnelStep::Paid));
        assert_eq!(r.placements.len(), 2);
        assert_eq!(r.totals.reasons[2], 1);
    }
}
