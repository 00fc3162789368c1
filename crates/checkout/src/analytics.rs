//! Funnel analytics: the widget's reports in, and the numbers the dashboard charts
//! (and the CSV export) out.
//!
//! - **In** ([`CheckoutService::record_funnel_events`]): the iframe page signs a
//!   random view id for its placement ([`CheckoutService::issue_view`]); a report
//!   must carry that signature, come with the placement's own publishable key, and
//!   is counted once per (view, step): forged views are refused, replays count
//!   nothing, bots are dropped. Nothing personal is kept (see the migration).
//! - **Out** ([`CheckoutService::funnel`], [`CheckoutService::sales_overview`]):
//!   hourly rollups and orders, summed into buckets of the asked granularity.

mod report;

pub use report::{Bucket, FunnelReport, PlacementFunnel, SalesBucket, SalesOverview, SalesSlice};

use crate::error::EventRefusal;
use crate::{CheckoutError, CheckoutResult, CheckoutService, Resource};
use anycart_core::funnel::FunnelEvent;
use anycart_core::{MerchantId, PlacementId};
use anycart_store::{EVENTS_PER_REPORT_MAX, EventContext, HOUR_MS, RollupFilter};
use hmac::{KeyInit, Mac};
use rand::RngCore;
use secrecy::ExposeSecret;

/// How long a signed view may report events (a tab left open for a day).
pub const VIEW_TTL_MS: i64 = 24 * HOUR_MS;
/// One day, the coarser bucket.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Widest range one analytics read may cover (a year and a day, for leap years).
pub const RANGE_MS_MAX: i64 = 367 * DAY_MS;
/// Widest range read hour by hour (a month of hours: 744 points).
pub const HOURLY_RANGE_MS_MAX: i64 = 31 * DAY_MS;
/// The earliest date analytics accept (anything before is a typo).
pub const EARLIEST_MS: i64 = 946_684_800_000; // 2000-01-01T00:00:00Z

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Substrings of user agents that are crawlers, link previewers or scripts, not
/// shoppers (lower case). Headless browsers are not dropped: they run real ads.
const BOT_MARKERS: [&str; 14] = [
    "bot",
    "crawl",
    "spider",
    "slurp",
    "preview",
    "facebookexternalhit",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "scrapy",
];

/// True for an obvious robot (or no user agent at all).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return true;
    };
    let ua = ua.to_ascii_lowercase();
    BOT_MARKERS.iter().any(|m| ua.contains(m))
}

/// What the iframe page hands the widget so its reports are believed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewTicket {
    /// 16 random bytes, hex: one view of one placement, nothing across sites.
    pub view_id: String,
    /// `{issued_ms}.{hex HMAC-SHA256}` over the placement, view and time.
    pub view_token: String,
}

/// A report from the widget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventReport {
    pub placement: PlacementId,
    pub view_id: String,
    pub view_token: String,
    pub events: Vec<FunnelEvent>,
}

/// What became of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportOutcome {
    /// Events counted now.
    pub counted: u64,
    /// Events already counted before (replays).
    pub duplicates: u64,
    /// True when the report came from a robot and was dropped unread.
    pub dropped_as_bot: bool,
}

/// How finely a range is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "hour" => Some(Granularity::Hour),
            "day" => Some(Granularity::Day),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }

    pub fn bucket_ms(self) -> i64 {
        match self {
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }
}

/// A checked analytics range: `[from_ms, to_ms)`, both on bucket boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
    pub granularity: Granularity,
}

impl Range {
    /// `[from_ms, to_ms)` widened to whole buckets, or a refusal naming the
    /// parameter: reversed, empty, too wide, before 2000 or more than a day ahead.
    pub fn new(
        from_ms: i64,
        to_ms: i64,
        granularity: Granularity,
        now_ms: i64,
    ) -> CheckoutResult<Range> {
        if from_ms < EARLIEST_MS {
            return Err(CheckoutError::invalid(
                "from",
                "must be 2000-01-01 or later",
            ));
        }
        if to_ms > now_ms + DAY_MS {
            return Err(CheckoutError::invalid(
                "to",
                "must not be more than a day ahead",
            ));
        }
        if to_ms <= from_ms {
            return Err(CheckoutError::invalid("to", "must be after `from`"));
        }
        let widest = match granularity {
            Granularity::Hour => HOURLY_RANGE_MS_MAX,
            Granularity::Day => RANGE_MS_MAX,
        };
        if to_ms - from_ms > widest {
            return Err(CheckoutError::invalid(
                "to",
                format!(
                    "the range is too wide for granularity={} (at most {} days)",
                    granularity.as_str(),
                    widest / DAY_MS
                ),
            ));
        }
        let step = granularity.bucket_ms();
        let from_ms = from_ms - from_ms.rem_euclid(step);
        let to_ms = to_ms + (step - to_ms.rem_euclid(step)) % step;
        Ok(Range {
            from_ms,
            to_ms,
            granularity,
        })
    }

    /// How many buckets the range holds.
    pub fn buckets(&self) -> usize {
        usize::try_from((self.to_ms - self.from_ms) / self.granularity.bucket_ms()).unwrap_or(0)
    }

    /// The index of the bucket holding `at_ms` (inside the range).
    fn bucket_of(&self, at_ms: i64) -> Option<usize> {
        if at_ms < self.from_ms || at_ms >= self.to_ms {
            return None;
        }
        usize::try_from((at_ms - self.from_ms) / self.granularity.bucket_ms()).ok()
    }
}

/// What a funnel read is narrowed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunnelFilter {
    pub placement: Option<PlacementId>,
    pub channel: Option<anycart_core::attribution::Channel>,
    pub campaign: Option<String>,
}

impl CheckoutService {
    fn view_mac(&self, placement: PlacementId, view_id: &str, issued_ms: i64) -> String {
        let key = self.config.shopper_secret.expose_secret().as_bytes();
        let mut mac = HmacSha256::new_from_slice(key)
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        mac.update(format!("anycart-view:{placement}:{view_id}:{issued_ms}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A signed view for one load of `placement`'s widget.
    pub fn issue_view(&self, placement: PlacementId) -> ViewTicket {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let view_id = hex::encode(bytes);
        let issued_ms = self.now_ms();
        let mac = self.view_mac(placement, &view_id, issued_ms);
        ViewTicket {
            view_token: format!("{issued_ms}.{mac}"),
            view_id,
        }
    }

    fn check_view(&self, report: &EventReport) -> Result<(), EventRefusal> {
        let (issued, mac) = report
            .view_token
            .split_once('.')
            .ok_or(EventRefusal::ForgedView)?;
        let issued_ms: i64 = issued.parse().map_err(|_| EventRefusal::ForgedView)?;
        let expected = self.view_mac(report.placement, &report.view_id, issued_ms);
        if !crate::users::constant_time_eq(&expected, mac) {
            return Err(EventRefusal::ForgedView);
        }
        let age_ms = self.now_ms() - issued_ms;
        if !(-60_000..=VIEW_TTL_MS).contains(&age_ms) {
            return Err(EventRefusal::StaleView);
        }
        Ok(())
    }

    /// Counts a widget's report. `key_placement` is the placement whose own
    /// publishable key came with it (a merchant's general key is refused: events
    /// must name the placement they count for).
    pub async fn record_funnel_events(
        &self,
        merchant: MerchantId,
        key_placement: Option<PlacementId>,
        user_agent: Option<&str>,
        report: EventReport,
    ) -> CheckoutResult<ReportOutcome> {
        if key_placement != Some(report.placement) {
            return Err(EventRefusal::WrongPlacement.into());
        }
        if report.events.is_empty() || report.events.len() > EVENTS_PER_REPORT_MAX {
            return Err(CheckoutError::invalid(
                "$.events",
                format!("a report carries 1 to {EVENTS_PER_REPORT_MAX} events"),
            ));
        }
        self.check_view(&report)?;
        if is_bot(user_agent) {
            return Ok(ReportOutcome {
                counted: 0,
                duplicates: 0,
                dropped_as_bot: true,
            });
        }
        let placement = self
            .store
            .get_placement(merchant, report.placement)
            .await?
            .ok_or(CheckoutError::NotFound(Resource::Placement))?;
        let mut events = report.events;
        events.sort();
        events.dedup();
        let sent = u64::try_from(events.len()).unwrap_or(0);
        let now = self.now_ms();
        let context = EventContext {
            merchant_id: merchant,
            placement_id: placement.id,
            channel: placement.settings.channel.as_str().to_string(),
            campaign: placement.settings.campaign.name.clone().unwrap_or_default(),
            view_id: report.view_id,
        };
        let counted = self
            .store
            .record_funnel_events(context, events.into_iter().map(|e| (e, now)).collect())
            .await?;
        Ok(ReportOutcome {
            counted,
            duplicates: sent - counted,
            dropped_as_bot: false,
        })
    }

    /// The funnel of `merchant` over `range`, narrowed by `filter`.
    pub async fn funnel(
        &self,
        merchant: MerchantId,
        range: Range,
        filter: &FunnelFilter,
    ) -> CheckoutResult<FunnelReport> {
        let rows = self
            .store
            .funnel_rollups(
                merchant,
                range.from_ms,
                range.to_ms,
                &RollupFilter {
                    placement: filter.placement,
                    channel: filter.channel.map(|c| c.as_str().to_string()),
                    campaign: filter.campaign.clone(),
                },
            )
            .await?;
        Ok(report::funnel(&range, &rows))
    }

    /// Revenue, orders, average order value and conversion of `merchant` over
    /// `range`, per bucket and per channel, placement and campaign.
    pub async fn sales_overview(
        &self,
        merchant: MerchantId,
        range: Range,
    ) -> CheckoutResult<SalesOverview> {
        let orders = self
            .store
            .orders_between(merchant, range.from_ms, range.to_ms)
            .await?;
        let impressions = self
            .store
            .funnel_rollups(
                merchant,
                range.from_ms,
                range.to_ms,
                &RollupFilter::default(),
            )
            .await?;
        Ok(report::sales(&range, &orders, &impressions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn bots_are_recognised_and_browsers_are_not() {
        assert!(is_bot(None));
        assert!(is_bot(Some("  ")));
        assert!(is_bot(Some("Mozilla/5.0 (compatible; Googlebot/2.1)")));
        assert!(is_bot(Some("curl/8.5.0")));
        assert!(is_bot(Some("facebookexternalhit/1.1")));
        assert!(!is_bot(Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0 Safari/537.36"
        )));
        assert!(!is_bot(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)"
        )));
    }

    #[test]
    fn ranges_are_checked_and_widened_to_whole_buckets() {
        let r = Range::new(NOW - DAY_MS - 5, NOW, Granularity::Day, NOW).unwrap();
        assert_eq!(r.from_ms % DAY_MS, 0);
        assert_eq!(r.to_ms % DAY_MS, 0);
        assert!(r.from_ms <= NOW - DAY_MS - 5 && r.to_ms >= NOW);
        assert_eq!(r.buckets(), 2);
        let h = Range::new(NOW - 3 * HOUR_MS, NOW, Granularity::Hour, NOW).unwrap();
        assert!((3..=4).contains(&h.buckets()));
        for (from, to, g) in [
            (NOW, NOW, Granularity::Day),
            (NOW, NOW - 1, Granularity::Day),
            (NOW - 400 * DAY_MS, NOW, Granularity::Day),
            (NOW - 40 * DAY_MS, NOW, Granularity::Hour),
            (0, NOW, Granularity::Day),
            (NOW, NOW + 30 * DAY_MS, Granularity::Day),
            (i64::MIN, i64::MAX, Granularity::Day),
        ] {
            assert!(Range::new(from, to, g, NOW).is_err(), "{from}..{to} {g:?}");
        }
        assert_eq!(r.bucket_of(r.from_ms), Some(0));
        assert_eq!(r.bucket_of(r.to_ms), None);
    }
}
