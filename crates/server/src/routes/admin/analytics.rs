//! Analytics for the merchant (`/v1/analytics/…`): the funnel per placement,
//! channel and campaign (JSON and the same numbers as CSV), and the sales
//! overview (revenue, orders, average order value, conversion). Ranges are
//! `from`/`to` as `YYYY-MM-DD` or RFC 3339 (UTC), `granularity` `hour` or `day`;
//! the service refuses reversed, empty and absurd ones.

use super::wire::MoneyWire;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_checkout::analytics::{
    DAY_MS, FunnelFilter, FunnelReport, Granularity, Range, SalesOverview, SalesSlice,
};
use anycart_checkout::clock::rfc3339;
use anycart_core::PlacementId;
use anycart_core::attribution::Channel;
use anycart_core::funnel::{DropReason, FunnelCounts, FunnelStep};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// The default range: the last 30 days.
const DEFAULT_RANGE_MS: i64 = 30 * DAY_MS;
/// Longest value of any analytics query parameter.
const PARAM_LEN_MAX: usize = 200;

/// Range and filters of an analytics read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Start (inclusive): `YYYY-MM-DD` or RFC 3339. Default: 30 days before `to`.
    pub from: Option<String>,
    /// End (exclusive): `YYYY-MM-DD` or RFC 3339. Default: now.
    pub to: Option<String>,
    /// `hour` (at most 31 days) or `day` (at most a year). Default `day`.
    pub granularity: Option<String>,
    /// Only this placement (`plc_…`).
    pub placement: Option<String>,
    /// Only this channel (`display_ad`, `publisher`, …).
    pub channel: Option<String>,
    /// Only this campaign name.
    pub campaign: Option<String>,
}

/// Counts per funnel step.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepCountsWire {
    pub impression: u64,
    pub opened: u64,
    pub checkout_started: u64,
    pub contact: u64,
    pub shipping: u64,
    pub payment_attempted: u64,
    pub paid: u64,
}

/// One step of the funnel with its drop-off to the next.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepWire {
    pub step: String,
    pub count: u64,
    /// Shoppers lost before the next step (0 for `paid`).
    pub drop_off: u64,
    /// Share that reached the next step, in basis points (10000 = 100 %).
    pub pass_rate_bp: Option<u64>,
}

/// Why shoppers left, and how many.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonWire {
    pub reason: String,
    pub count: u64,
}

/// One bucket of the funnel series.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelBucketWire {
    pub start: String,
    pub counts: StepCountsWire,
}

/// One placement's funnel.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementFunnelWire {
    pub placement_id: String,
    pub name: Option<String>,
    pub channel: String,
    pub campaign: String,
    pub counts: StepCountsWire,
}

/// `GET /v1/analytics/funnel`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunnelWire {
    pub from: String,
    pub to: String,
    pub granularity: String,
    pub steps: Vec<StepWire>,
    pub reasons: Vec<ReasonWire>,
    pub series: Vec<FunnelBucketWire>,
    pub placements: Vec<PlacementFunnelWire>,
}

/// Sales in one bucket.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesBucketWire {
    pub start: String,
    pub orders: u64,
    /// One entry per currency sold in.
    pub revenue: Vec<MoneyWire>,
    pub impressions: u64,
}

/// Sales under one channel, placement or campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesSliceWire {
    pub key: String,
    /// The placement's name, for placement slices.
    pub name: Option<String>,
    pub orders: u64,
    pub revenue: Vec<MoneyWire>,
}

/// `GET /v1/analytics/sales`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesWire {
    pub from: String,
    pub to: String,
    pub granularity: String,
    pub orders: u64,
    pub revenue: Vec<MoneyWire>,
    /// Revenue ÷ orders per currency (minor units, rounded down).
    pub average_order_value: Vec<MoneyWire>,
    pub impressions: u64,
    /// Orders per viewable impression, in basis points; `None` without impressions.
    pub conversion_bp: Option<u64>,
    pub series: Vec<SalesBucketWire>,
    pub by_channel: Vec<SalesSliceWire>,
    pub by_placement: Vec<SalesSliceWire>,
    pub by_campaign: Vec<SalesSliceWire>,
}

/// Unix ms of `YYYY-MM-DD` (UTC midnight) or an RFC 3339 time.
fn parse_time(value: &str, param: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::invalid(param, "use YYYY-MM-DD or an RFC 3339 time");
    if value.len() > 40 {
        return Err(bad());
    }
    let t = if value.len() == 10 {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(value, &format)
            .map_err(|_| bad())?
            .midnight()
            .assume_utc()
    } else {
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
            .map_err(|_| bad())?
    };
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad())
}

fn param<'a>(value: &'a Option<String>, name: &str) -> Result<Option<&'a str>, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(v) if v.len() > PARAM_LEN_MAX => Err(ApiError::invalid(name, "too long")),
        Some("") | None => Ok(None),
        Some(v) => Ok(Some(v)),
    }
}

fn range(state: &AppState, q: &AnalyticsQuery) -> Result<Range, ApiError> {
    let now = state.now_ms();
    let granularity = match param(&q.granularity, "granularity")? {
        None => Granularity::Day,
        Some(g) => Granularity::parse(g)
            .ok_or_else(|| ApiError::invalid("granularity", "use `hour` or `day`"))?,
    };
    let to = match param(&q.to, "to")? {
        Some(t) => parse_time(t, "to")?,
        None => now,
    };
    let from = match param(&q.from, "from")? {
        Some(f) => parse_time(f, "from")?,
        None => to.saturating_sub(DEFAULT_RANGE_MS),
    };
    Ok(Range::new(from, to, granularity, now)?)
}

fn filter(q: &AnalyticsQuery) -> Result<FunnelFilter, ApiError> {
    Ok(FunnelFilter {
        placement: param(&q.placement, "placement")?
            .map(|p| {
                PlacementId::parse(p).map_err(|e| ApiError::invalid("placement", e.to_string()))
            })
            .transpose()?,
        channel: param(&q.channel, "channel")?
            .map(|c| {
                Channel::parse(c).ok_or_else(|| ApiError::invalid("channel", "unknown channel"))
            })
            .transpose()?,
        campaign: param(&q.campaign, "campaign")?.map(str::to_string),
    })
}

fn counts_wire(c: &FunnelCounts) -> StepCountsWire {
    StepCountsWire {
        impression: c.step(FunnelStep::Impression),
        opened: c.step(FunnelStep::Opened),
        checkout_started: c.step(FunnelStep::CheckoutStarted),
        contact: c.step(FunnelStep::Contact),
        shipping: c.step(FunnelStep::Shipping),
        payment_attempted: c.step(FunnelStep::PaymentAttempted),
        paid: c.step(FunnelStep::Paid),
    }
}

/// Names of the merchant's placements (for labels).
async fn placement_names(
    state: &AppState,
    caller: &SecretCaller,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut names = BTreeMap::new();
    let mut after = None;
    // Bounded: at most 50 pages of 100 placements are named.
    for _ in 0..50 {
        let page = state
            .store
            .list_placements(caller.0.merchant, after, anycart_store::PAGE_SIZE_MAX)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() < usize::try_from(anycart_store::PAGE_SIZE_MAX).unwrap_or(100);
        for p in page {
            names.insert(p.id.to_string(), p.settings.name);
        }
        if full {
            break;
        }
    }
    Ok(names)
}

fn funnel_wire(r: &FunnelReport, names: &BTreeMap<String, String>) -> FunnelWire {
    let drop = r.totals.drop_off();
    FunnelWire {
        from: rfc3339(r.range.from_ms),
        to: rfc3339(r.range.to_ms),
        granularity: r.range.granularity.as_str().to_string(),
        steps: FunnelStep::ALL
            .iter()
            .map(|s| StepWire {
                step: s.as_str().to_string(),
                count: r.totals.step(*s),
                drop_off: drop.get(s.index()).copied().unwrap_or(0),
                pass_rate_bp: r.totals.pass_rate_bp(*s),
            })
            .collect(),
        reasons: DropReason::ALL
            .iter()
            .zip(r.totals.reasons)
            .map(|(reason, count)| ReasonWire {
                reason: reason.as_str().to_string(),
                count,
            })
            .collect(),
        series: r
            .series
            .iter()
            .map(|b| FunnelBucketWire {
                start: rfc3339(b.start_ms),
                counts: counts_wire(&b.counts),
            })
            .collect(),
        placements: r
            .placements
            .iter()
            .map(|p| PlacementFunnelWire {
                placement_id: p.placement_id.to_string(),
                name: names.get(&p.placement_id.to_string()).cloned(),
                channel: p.channel.clone(),
                campaign: p.campaign.clone(),
                counts: counts_wire(&p.counts),
            })
            .collect(),
    }
}

/// The funnel: viewable impressions → opened → checkout started → contact →
/// shipping → payment attempted → paid, with drop-off and the reasons shoppers left.
#[utoipa::path(get, path = "/analytics/funnel", tag = "Analytics", params(AnalyticsQuery),
    responses((status = 200, body = FunnelWire), (status = 400, body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub async fn analytics_funnel(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Json<FunnelWire>, ApiError> {
    let (range, filter) = (range(&state, &q)?, filter(&q)?);
    let report = state
        .checkout
        .funnel(caller.0.merchant, range, &filter)
        .await?;
    let names = placement_names(&state, &caller).await?;
    Ok(Json(funnel_wire(&report, &names)))
}

/// The funnel series as CSV: one row per bucket, one column per step and reason
/// (the numbers the charts show).
#[utoipa::path(get, path = "/analytics/funnel.csv", tag = "Analytics", params(AnalyticsQuery),
    responses((status = 200, content_type = "text/csv", description = "start, then a column per step and per reason"),
        (status = 400, body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub async fn analytics_funnel_csv(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let (range, filter) = (range(&state, &q)?, filter(&q)?);
    let report = state
        .checkout
        .funnel(caller.0.merchant, range, &filter)
        .await?;
    let mut csv = String::from("start");
    for s in FunnelStep::ALL {
        csv.push(',');
        csv.push_str(s.as_str());
    }
    for r in DropReason::ALL {
        csv.push_str(",left_");
        csv.push_str(r.as_str());
    }
    csv.push('\n');
    for b in &report.series {
        csv.push_str(&rfc3339(b.start_ms));
        for n in b.counts.steps.iter().chain(b.counts.reasons.iter()) {
            csv.push(',');
            csv.push_str(&n.to_string());
        }
        csv.push('\n');
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"anycart-funnel.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

fn money_list(m: &BTreeMap<String, i64>) -> Vec<MoneyWire> {
    m.iter()
        .map(|(currency, amount)| MoneyWire {
            amount: *amount,
            currency: currency.clone(),
        })
        .collect()
}

fn slices(v: &[SalesSlice], names: Option<&BTreeMap<String, String>>) -> Vec<SalesSliceWire> {
    v.iter()
        .map(|s| SalesSliceWire {
            key: s.key.clone(),
            name: names.and_then(|n| n.get(&s.key).cloned()),
            orders: s.orders,
            revenue: money_list(&s.revenue_minor),
        })
        .collect()
}

fn sales_wire(o: &SalesOverview, names: &BTreeMap<String, String>) -> SalesWire {
    let orders = o.totals.orders;
    SalesWire {
        from: rfc3339(o.range.from_ms),
        to: rfc3339(o.range.to_ms),
        granularity: o.range.granularity.as_str().to_string(),
        orders,
        revenue: money_list(&o.totals.revenue_minor),
        average_order_value: o
            .totals
            .revenue_minor
            .iter()
            .map(|(currency, amount)| MoneyWire {
                amount: amount / i64::try_from(orders.max(1)).unwrap_or(1),
                currency: currency.clone(),
            })
            .collect(),
        impressions: o.totals.impressions,
        conversion_bp: (o.totals.impressions > 0)
            .then(|| orders.saturating_mul(10_000) / o.totals.impressions),
        series: o
            .series
            .iter()
            .map(|b| SalesBucketWire {
                start: rfc3339(b.start_ms),
                orders: b.orders,
                revenue: money_list(&b.revenue_minor),
                impressions: b.impressions,
            })
            .collect(),
        by_channel: slices(&o.by_channel, None),
        by_placement: slices(&o.by_placement, Some(names)),
        by_campaign: slices(&o.by_campaign, None),
    }
}

/// Revenue, orders, average order value and conversion over time, per channel,
/// placement and campaign.
#[utoipa::path(get, path = "/analytics/sales", tag = "Analytics", params(AnalyticsQuery),
    responses((status = 200, body = SalesWire), (status = 400, body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub async fn analytics_sales(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Json<SalesWire>, ApiError> {
    let range = range(&state, &q)?;
    let overview = state
        .checkout
        .sales_overview(caller.0.merchant, range)
        .await?;
    let names = placement_names(&state, &caller).await?;
    Ok(Json(sales_wire(&overview, &names)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_dates_or_rfc3339_and_nothing_else() {
        assert_eq!(parse_time("2026-01-02", "from").unwrap(), 1_767_312_000_000);
        assert_eq!(
            parse_time("2026-01-02T01:00:00Z", "from").unwrap(),
            1_767_312_000_000 + 3_600_000
        );
        for bad in [
            "yesterday",
            "2026-13-01",
            "",
            "2026-01-02T01:00",
            &"9".repeat(50),
        ] {
            assert!(parse_time(bad, "from").is_err(), "{bad}");
        }
    }
}
