//! anycart's commerce-platform connectors: the merchant's own platform stays the
//! system of record, and anycart pushes its orders there and takes stock changes
//! back.
//!
//! One [`Connector`] trait, one module per platform (`native`, `shopify`,
//! `salesforce`, `adobe`), each
//! split into transport (`shopify.rs`), wire types (`shopify/wire.rs`) and pure
//! conversion (`shopify/convert.rs`). Around them:
//! - [`delivery`]: the outbox worker (claim, push, back off, dead-letter);
//! - [`webhooks`]: verified, de-duplicated webhook intake applied to stock.
//!
//! Connectors take their base URL from the merchant's connection, so tests point
//! them at fakes on 127.0.0.1 (`tests/fakes/`).

pub mod adobe;
pub mod agent_feed;
pub mod agent_webhooks;
pub mod attribution;
pub mod connect;
pub mod delivery;
pub mod import;
pub mod native;
pub mod reconcile;
pub mod salesforce;
pub mod shopify;
pub mod shopify_install;
pub mod webhooks;

use anycart_core::VariantId;
use anycart_core::order::Order;
use anycart_store::{ConnectionRecord, PlatformSettings, StoreError};
use async_trait::async_trait;
use reqwest::header::HeaderMap;

use std::collections::BTreeMap;
use std::time::Duration;

/// Longest any single platform HTTP request may take (connect + response). Kept
/// well below the outbox lease so a slow platform never lets two workers overlap.
pub const PLATFORM_REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Longest a TCP connect to a platform may take.
pub const PLATFORM_CONNECT_TIMEOUT_MS: u64 = 3_000;
/// Largest webhook body anycart reads (Shopify order payloads are well under this).
pub const WEBHOOK_BODY_BYTES_MAX: usize = 512 * 1024;

/// The commerce platforms anycart can connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// anycart is the system of record and sends its own confirmations.
    Native,
    Shopify,
    /// Salesforce B2C Commerce through the Shopper APIs (SCAPI).
    Salesforce,
    /// Adobe Commerce (Magento 2) over REST, on the merchant's own domain.
    Adobe,
}

impl Platform {
    /// Parses the stored / URL name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "native" => Some(Self::Native),
            "shopify" => Some(Self::Shopify),
            "salesforce" => Some(Self::Salesforce),
            "adobe" => Some(Self::Adobe),
            _ => None,
        }
    }

    /// The stored / URL name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Shopify => "shopify",
            Self::Salesforce => "salesforce",
            Self::Adobe => "adobe",
        }
    }
}

/// Why a platform call failed, split by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Worth retrying later: network error, timeout, 5xx, 429, GraphQL throttling.
    #[error("transient platform error: {0}")]
    Transient(String),
    /// Retrying the same request cannot help (rejected input, unknown variant,
    /// revoked credentials): dead-letter and show an operator.
    #[error("platform refused: {0}")]
    Permanent(String),
    /// A webhook's signature is missing or wrong.
    #[error("webhook signature missing or invalid")]
    Unauthorized,
    /// A webhook (or platform response) is not in the expected shape.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The merchant's connection settings are unusable.
    #[error("connection misconfigured: {0}")]
    Misconfigured(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An anycart order ready for a platform: the order plus the platform's id for each
/// variant it contains (resolved from the store by the worker, so connectors stay
/// free of database access).
#[derive(Clone, Debug)]
pub struct OrderPush {
    pub order: Order,
    pub platform_variants: BTreeMap<VariantId, String>,
    /// Affiliate attribution claims agents sent with the order's checkout
    /// (first touch, last touch), for the platform's own records. Their
    /// tokens stay in anycart.
    pub affiliate: Vec<anycart_store::AffiliateClaim>,
}

/// The attribution claims of an order as `(key, value)` pairs for a platform's
/// order attributes: `affiliate_{first|last}_{provider|publisher_id|…}`. Never
/// the token, and at most a handful per claim.
pub fn affiliate_attributes(claims: &[anycart_store::AffiliateClaim]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in claims {
        let prefix = format!("affiliate_{}", c.touchpoint.as_str());
        let fields = [
            ("provider", Some(&c.provider)),
            ("publisher_id", c.publisher_id.as_ref()),
            ("campaign_id", c.campaign_id.as_ref()),
            ("creative_id", c.creative_id.as_ref()),
            ("sub_id", c.sub_id.as_ref()),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                out.push((format!("{prefix}_{name}"), v.clone()));
            }
        }
    }
    out
}

/// A refund made through anycart, to record on the platform order.
#[derive(Clone, Debug)]
pub struct RefundPush {
    pub notice: anycart_store::RefundNotice,
    /// The platform's id of the refunded order (from its own delivery).
    pub platform_order_id: String,
    /// anycart variant id → platform variant id, for the refunded lines.
    pub platform_variants: BTreeMap<VariantId, String>,
}

/// What the platform did with a pushed order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedOrder {
    /// The platform's id of the order (anycart's own id for `native`).
    pub platform_order_id: String,
    /// Who sends the shopper's confirmation and whether it went out.
    pub confirmation: Confirmation,
}

/// Confirmation status recorded on the outbox row (and shown in the admin API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// anycart sent the email itself (native).
    SentByAnycart,
    /// The platform was asked to send its receipt (Shopify `sendReceipt: true`).
    RequestedFromPlatform,
    /// The platform already had this order (a retry after a lost response); its
    /// receipt was requested by the first attempt.
    AlreadyOnPlatform,
    /// No confirmation: the order has no email address.
    NoEmailAddress,
    /// No confirmation: the merchant has not configured SMTP.
    SmtpNotConfigured,
    /// A refund recorded on the platform order (Shopify `refundCreate`).
    RefundRecorded,
    /// The platform takes no refund through its API; a note was added to the order.
    NotedOnPlatform,
    /// The platform offers no API to record a refund or a note on an order.
    NotSupportedByPlatform,
    /// An agent platform accepted an order webhook.
    AgentNotified,
    /// An agent platform's feed accepted changed products.
    FeedUpdated,
}

impl Confirmation {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SentByAnycart => "sent_by_anycart",
            Self::RequestedFromPlatform => "requested_from_platform",
            Self::AlreadyOnPlatform => "already_on_platform",
            Self::NoEmailAddress => "no_email_address",
            Self::SmtpNotConfigured => "smtp_not_configured",
            Self::RefundRecorded => "refund_recorded",
            Self::NotedOnPlatform => "noted_on_platform",
            Self::NotSupportedByPlatform => "not_supported_by_platform",
            Self::AgentNotified => "agent_notified",
            Self::FeedUpdated => "feed_updated",
        }
    }
}

/// A verified webhook, in anycart's terms but still with platform ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The platform's delivery id, the de-duplication key.
    pub event_id: String,
    /// When the platform says the change happened (unix ms).
    pub platform_time_ms: i64,
    pub change: PlatformChange,
}

/// What a webhook reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformChange {
    /// Absolute sellable units of an inventory item at a platform location.
    InventoryLevel {
        inventory_item_id: String,
        location_id: String,
        available: i64,
    },
    /// An order placed on another channel of the platform.
    ExternalOrder { lines: Vec<ExternalOrderLine> },
    /// A product changed on the platform: title, on sale or not, variant prices.
    Product(ProductUpdate),
    /// A platform order anycart itself created (already counted): recorded only.
    OwnOrder { anycart_order_id: String },
    /// A refund made in the platform's admin: the money goes back through
    /// anycart's payment provider.
    Refund(PlatformRefund),
    /// A refund anycart itself recorded on the platform: nothing to do.
    OwnRefund { anycart_refund_id: String },
    /// A topic anycart does not act on (recorded so replays stay cheap).
    Ignored { topic: String },
    /// A privacy or lifecycle request about the shop or one of its customers.
    Privacy(PrivacyRequest),
}

/// Shopify's mandatory compliance webhooks and `app/uninstalled`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivacyRequest {
    /// `customers/redact`: forget the customer's saved details. The platform's
    /// customer id is only logged; saved details are keyed by email.
    ForgetCustomer {
        customer_id: String,
        email: Option<String>,
    },
    /// `customers/data_request`: the customer asked the shop for their data.
    DataRequest {
        customer_id: String,
        /// The customer's email on the shop, if any: saved details are keyed by it.
        email: Option<String>,
        data_request_id: String,
    },
    /// `shop/redact`: forget every shopper saved for this shop.
    ForgetShop,
    /// `app/uninstalled`: disconnect the shop.
    Uninstalled,
}

/// A refund made on the platform, with platform ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformRefund {
    pub platform_refund_id: String,
    pub platform_order_id: String,
    /// Decimal amounts of its successful refund transactions (summed in the
    /// order's currency by the caller).
    pub amounts: Vec<String>,
    pub currency: Option<String>,
    pub lines: Vec<ExternalOrderLine>,
    pub note: Option<String>,
}

/// A platform product as its update webhook reports it, with platform ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductUpdate {
    pub product_id: String,
    pub title: String,
    /// False for archived or draft products: they stop selling.
    pub active: bool,
    /// `(platform variant id, decimal price)`: the price is converted with the
    /// currency of the anycart variant it is linked to.
    pub variant_prices: Vec<(String, String)>,
}

/// One line of an order placed on another channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalOrderLine {
    /// Platform variant id, when the line is for a catalogue variant.
    pub variant_id: Option<String>,
    pub quantity: i64,
}

/// One page of a platform catalogue, in anycart's terms but with platform ids.
#[derive(Clone, Debug)]
pub struct CataloguePage {
    pub currency: anycart_core::Currency,
    pub products: Vec<ImportedProduct>,
    /// Cursor of the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// A platform product to import.
#[derive(Clone, Debug)]
pub struct ImportedProduct {
    pub external_id: String,
    pub title: String,
    pub description: String,
    pub images: Vec<String>,
    pub active: bool,
    pub variants: Vec<ImportedVariant>,
}

/// A platform variant to import.
#[derive(Clone, Debug)]
pub struct ImportedVariant {
    pub external_id: String,
    /// What stock webhooks name (Shopify `InventoryItem`).
    pub inventory_item_id: String,
    pub sku: String,
    pub title: String,
    pub price_minor: i64,
    pub levels: Vec<ImportedLevel>,
}

/// Sellable units of a variant at a platform location.
#[derive(Clone, Debug)]
pub struct ImportedLevel {
    pub location_id: String,
    pub location_name: String,
    pub available: i64,
}

/// One commerce platform as anycart uses it.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Which platform this is.
    fn platform(&self) -> Platform;

    /// Creates the order on the platform, exactly once per anycart order id: a
    /// retry after a lost response must find the first platform order, not make a
    /// second one.
    async fn push_order(&self, push: &OrderPush) -> Result<PushedOrder, ConnectorError>;

    /// Records a refund made through anycart on the platform's order, exactly
    /// once per refund id (a retry finds the first record). The money moved at the
    /// payment provider already: the platform only records it.
    async fn push_refund(&self, push: &RefundPush) -> Result<PushedOrder, ConnectorError>;

    /// Fetches one page of the platform's catalogue after `cursor` (`None` = first).
    async fn import_page(&self, cursor: Option<&str>) -> Result<CataloguePage, ConnectorError>;

    /// Checks a webhook's signature over the raw body and parses it.
    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookEvent, ConnectorError>;
}

/// Builds the connector for a merchant's stored connection; `None` means the
/// merchant never connected a platform (anycart is then the system of record and
/// behaves as `native` without SMTP).
pub fn connector_for(
    connection: Option<&ConnectionRecord>,
) -> Result<Box<dyn Connector>, ConnectorError> {
    let Some(c) = connection else {
        return Ok(Box::new(native::NativeConnector::without_smtp()));
    };
    Ok(match &c.settings {
        PlatformSettings::Native(s) => Box::new(native::NativeConnector::from_settings(s)?),
        PlatformSettings::Shopify(s) => Box::new(shopify::ShopifyConnector::from_settings(s)?),
        PlatformSettings::Salesforce(s) => {
            Box::new(salesforce::SalesforceConnector::from_settings(s)?)
        }
        PlatformSettings::Adobe(s) => Box::new(adobe::AdobeConnector::from_settings(s)?),
    })
}

/// The connector the outbox pushes orders and refunds with: as [`connector_for`],
/// and connectors that keep per-order state between attempts get the store
/// (Salesforce records the SLAS guest each order is placed as).
pub fn connector_with_store(
    connection: Option<&ConnectionRecord>,
    store: &anycart_store::Store,
) -> Result<Box<dyn Connector>, ConnectorError> {
    match connection.map(|c| &c.settings) {
        Some(PlatformSettings::Salesforce(s)) => Ok(Box::new(
            salesforce::SalesforceConnector::from_settings(s)?.with_store(store.clone()),
        )),
        _ => connector_for(connection),
    }
}

/// The merchant's mailer: the SMTP settings of a `native` connection. Merchants on
/// another platform, or with no connection, have none (`send_sign_in_code` then
/// sends nothing).
pub fn mailer_for(
    connection: Option<&ConnectionRecord>,
) -> Result<native::NativeConnector, ConnectorError> {
    match connection.map(|c| &c.settings) {
        Some(PlatformSettings::Native(s)) => native::NativeConnector::from_settings(s),
        _ => Ok(native::NativeConnector::without_smtp()),
    }
}

/// The HTTP client every connector shares (one connection pool per process):
/// rustls, a connect timeout, no redirects (a platform API that redirects is
/// misconfigured; following could leak tokens). Request timeouts are set per
/// request from [`request_timeout`].
pub(crate) fn http_client() -> Result<reqwest::Client, ConnectorError> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(PLATFORM_REQUEST_TIMEOUT_MS))
        .connect_timeout(Duration::from_millis(PLATFORM_CONNECT_TIMEOUT_MS))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("anycart/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConnectorError::Misconfigured(format!("http client: {e}")))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// The request timeout for a connection: its `request_timeout_ms` may only
/// shorten [`PLATFORM_REQUEST_TIMEOUT_MS`].
pub(crate) fn request_timeout(configured_ms: Option<u64>) -> Duration {
    let timeout_ms = configured_ms
        .unwrap_or(PLATFORM_REQUEST_TIMEOUT_MS)
        .clamp(1, PLATFORM_REQUEST_TIMEOUT_MS);
    Duration::from_millis(timeout_ms)
}

/// Whole units in a platform's floating-point quantity (stock can be fractional
/// or negative there): rounded down, `None` for NaN and infinities.
pub(crate) fn whole_units(quantity: f64) -> Option<i64> {
    // `as` from a float saturates at the i64 bounds, which is what we want.
    #[allow(clippy::cast_possible_truncation)]
    quantity.is_finite().then(|| quantity.floor() as i64)
}

/// Maps a transport-level reqwest error: all of them are worth a retry.
pub(crate) fn transport_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::Transient("platform request timed out".into())
    } else {
        ConnectorError::Transient(format!("platform unreachable: {e}"))
    }
}

/// Parses an anycart id read back from the store's platform-id mappings.
pub(crate) fn parse_stored_id<T: std::str::FromStr>(id: &str) -> Result<T, ConnectorError> {
    id.parse()
        .map_err(|_| ConnectorError::Malformed(format!("stored id `{id}` is not valid")))
}

/// Formats minor units as a decimal amount string for platforms that want one
/// (`2500`, 2 digits → `"25.00"`). Integer arithmetic only: no float ever.
pub fn decimal_amount(amount_minor: i64, exponent: u32) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = exponent as usize
    )
}

/// Parses a decimal amount (`"25.00"`, `"7"`, `"0.5"`) into minor units of a
/// currency with `exponent` digits, exactly; refuses more digits than the currency has.
pub fn minor_units(amount: &str, exponent: u32) -> Result<i64, ConnectorError> {
    let bad = || ConnectorError::Malformed(format!("amount `{amount}`"));
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > exponent as usize {
        return Err(bad());
    }
    let scale = 10i64.pow(exponent);
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac_minor: i64 = if frac.is_empty() {
        0
    } else {
        let digits = u32::try_from(frac.len()).map_err(|_| bad())?;
        frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(exponent - digits)
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_minor))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    #[test]
    fn affiliate_attributes_name_the_touchpoint_and_never_the_token() {
        let claim = |touchpoint, publisher: &str| anycart_store::AffiliateClaim {
            touchpoint,
            provider: "impact.com".into(),
            token: Some(anycart_store::Secret::new("atp_secret")),
            publisher_id: Some(publisher.into()),
            campaign_id: None,
            creative_id: Some("cr_9".into()),
            sub_id: None,
            source_type: None,
            source_url: None,
            issued_at: None,
            expires_at: None,
            metadata: serde_json::Map::new(),
        };
        let attributes = super::affiliate_attributes(&[
            claim(anycart_store::Touchpoint::First, "pub_1"),
            claim(anycart_store::Touchpoint::Last, "pub_2"),
        ]);
        assert_eq!(
            attributes,
            [
                ("affiliate_first_provider", "impact.com"),
                ("affiliate_first_publisher_id", "pub_1"),
                ("affiliate_first_creative_id", "cr_9"),
                ("affiliate_last_provider", "impact.com"),
                ("affiliate_last_publisher_id", "pub_2"),
                ("affiliate_last_creative_id", "cr_9"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(!format!("{attributes:?}").contains("atp_secret"));
    }

    #[test]
    fn amounts_are_formatted_exactly() {
        assert_eq!(super::decimal_amount(2500, 2), "25.00");
        assert_eq!(super::decimal_amount(5, 2), "0.05");
        assert_eq!(super::decimal_amount(-105, 2), "-1.05");
        assert_eq!(super::decimal_amount(1200, 0), "1200");
        assert_eq!(super::decimal_amount(1234, 3), "1.234");
    }

    #[test]
    fn decimal_strings_become_exact_minor_units() {
        assert_eq!(super::minor_units("25.00", 2).unwrap(), 2500);
        assert_eq!(super::minor_units("0.5", 2).unwrap(), 50);
        assert_eq!(super::minor_units("7", 2).unwrap(), 700);
        assert_eq!(super::minor_units("1200", 0).unwrap(), 1200);
        assert_eq!(super::minor_units("1.2340", 3).unwrap(), 1234);
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            "abc",
            ".5",
            "99999999999999999999",
        ] {
            assert!(super::minor_units(bad, 2).is_err(), "{bad}");
        }
    }
}
