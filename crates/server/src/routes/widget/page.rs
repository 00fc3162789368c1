//! `GET /widget/checkout/{placement}?origin=…`: the iframe document. It refuses
//! unknown or disabled placements and host origins that are not on the
//! placement's allow-list, and pins `frame-ancestors` to that allow-list so a host
//! that lies about its origin is blocked by the browser itself. Everything the app
//! needs ([`WidgetConfig`]) is embedded in the document, so it is interactive
//! without another request.

use super::assets::asset_version;
use super::payment::{CspSources, WidgetPayment, csp_sources};
use crate::error::ApiError;
use crate::routes::admin::placements::{ThemeWire, theme_wire};
use crate::state::AppState;
use anycart_checkout::placements::{FrameChain, parse_origin};
use anycart_checkout::shoppers::CODE_DIGITS;
use anycart_core::catalogue::{StockLevel, Variant};
use anycart_core::pricing::ShippingZone;
use anycart_core::quote::LOW_STOCK_THRESHOLD;
use anycart_core::values::QUANTITY_MAX;
use anycart_core::{PlacementId, VariantId};
use anycart_store::Placement;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// `?origin=` (the host page's origin, as the loader saw it) and `?layout=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// The host page's origin; must be on the placement's allow-list.
    pub origin: Option<String>,
    /// `compact` for short ad slots (stepwise, scrolling), else fluid.
    pub layout: Option<String>,
    /// Inside an ad: the origins of the frames around the host page, innermost
    /// first, comma-separated (the loader sends `location.ancestorOrigins`). Every
    /// one must be allowed, or the chain must pass through one of the placement's
    /// ad servers; `frame-ancestors` is pinned to them.
    pub ancestors: Option<String>,
}

/// Why the iframe page refuses to show a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    UnknownPlacement,
    Disabled,
    OriginNotAllowed,
    ProductUnavailable,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::UnknownPlacement => StatusCode::NOT_FOUND,
            Refusal::Disabled | Refusal::ProductUnavailable => StatusCode::GONE,
            Refusal::OriginNotAllowed => StatusCode::FORBIDDEN,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Refusal::UnknownPlacement => "placement_not_found",
            Refusal::Disabled => "placement_disabled",
            Refusal::OriginNotAllowed => "origin_not_allowed",
            Refusal::ProductUnavailable => "product_unavailable",
        }
    }
    fn message(self) -> &'static str {
        match self {
            Refusal::UnknownPlacement => "This checkout does not exist.",
            Refusal::Disabled => "This checkout is no longer available.",
            Refusal::OriginNotAllowed => "This checkout is not available on this website.",
            Refusal::ProductUnavailable => "This product is no longer for sale.",
        }
    }
}

/// A refusal page: plain text, no data, no script; framable anywhere so the
/// shopper sees the sentence instead of a broken frame.
pub(crate) fn refuse(r: Refusal) -> Response {
    notice_page(r.status(), r.code(), r.message())
}

/// A page with one sentence (`code` as `data-code` for tests): no data, no
/// script; framable anywhere so the shopper sees the sentence instead of a broken
/// frame. `message` must be static text (it is not escaped).
pub(crate) fn notice_page(
    status: StatusCode,
    code: &'static str,
    message: &'static str,
) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Checkout unavailable</title>\
<style>body{{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1a202c;background:#fff;display:flex;align-items:center;justify-content:center;min-height:100vh;text-align:center;padding:12px;box-sizing:border-box}}</style></head>\
<body><p role=\"alert\" data-code=\"{code}\">{message}</p></body></html>"
    );
    let mut res = (status, Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// One variant as the checkout app shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetVariant {
    pub id: String,
    pub title: String,
    /// `[name, value]` pairs, e.g. `["Size", "M"]`.
    #[schema(value_type = Vec<Vec<String>>)]
    pub options: Vec<(String, String)>,
    /// Price in minor units of `currency`.
    pub amount: i64,
    /// Lower-case ISO 4217.
    pub currency: String,
    /// Digits after the decimal point of `currency` (2 for usd, 0 for jpy).
    pub exponent: u32,
    /// Free stock across locations when the page was served.
    pub available: i64,
    /// The merchant's cap on units per order; `null` when uncapped (always sent).
    #[schema(required = true)]
    pub max_quantity_per_order: Option<u32>,
    /// `null` when the variant has no image of its own (always sent).
    #[schema(required = true)]
    pub image_url: Option<String>,
    /// A hot drop: shoppers join a line (`POST /widget/waiting_room`) and check
    /// out once admitted.
    pub waiting_room: bool,
}

/// How the app lays itself out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WidgetLayout {
    /// Short ad slots: one step at a time, scrolling.
    Compact,
    /// Everything else: the roomy layout.
    Fluid,
}

/// Everything the checkout app needs, embedded in the iframe document as
/// `<script type="application/json" id="anycart-config">` so the app is
/// interactive without another request. Limits and lists here are the server's
/// own, so the app never keeps a copy of a server rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetConfig {
    pub placement_id: String,
    /// The placement's own publishable key.
    pub publishable_key: String,
    /// The host page's origin (checked against the allow-list).
    pub host_origin: String,
    /// The app is the page itself (link checkout at `/buy/{placement}`), not
    /// framed by a host: there is no host to greet or to tell about events.
    pub hosted: bool,
    pub layout: WidgetLayout,
    /// The ACP `API-Version` to send.
    pub api_version: &'static str,
    pub product: WidgetProduct,
    /// The preselected variant, if the placement names one (always sent).
    #[schema(required = true)]
    pub variant_id: Option<String>,
    pub quantity: u32,
    /// The merchant's theme with the placement's overrides.
    pub theme: ThemeWire,
    /// ISO 3166-1 alpha-2 codes (upper case, sorted) of the countries that a
    /// shipping zone with at least one rate names.
    pub shipping_countries: Vec<String>,
    /// A catch-all shipping zone (one without countries) has rates: every country
    /// that no zone names is served too.
    pub ships_worldwide: bool,
    /// A variant with this many units free or fewer is low on stock (the same
    /// figure as a line item's `availability_status: low_stock`).
    pub low_stock_threshold: i64,
    /// Most units one line may ask for; a variant's `max_quantity_per_order`
    /// can only lower it.
    pub quantity_max: u32,
    /// Digits in the one-time code a returning shopper is emailed.
    pub sign_in_code_digits: usize,
    /// How the shopper pays (the merchant's live payment provider).
    pub payment: WidgetPayment,
    /// This load of the widget, signed for funnel events (`POST /events`);
    /// `null` in the dashboard's preview, which reports nothing.
    #[schema(required = true)]
    pub view: Option<WidgetView>,
    /// A session to continue instead of starting one: set on the phone page of a
    /// TV's hand-off (`/h/{code}`), where the TV already holds the stock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_session_id: Option<String>,
}

/// A signed view: what funnel event reports must carry.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetView {
    pub view_id: String,
    pub view_token: String,
}

/// Where the merchant ships: the countries zones with rates name, and whether a
/// catch-all zone with rates serves every other country (see
/// `anycart_core::pricing::shipping_rates_for`).
fn shipping_countries(zones: &[ShippingZone]) -> (Vec<String>, bool) {
    let with_rates = zones.iter().filter(|z| !z.rates.is_empty());
    let mut countries = BTreeSet::new();
    let mut worldwide = false;
    for zone in with_rates {
        worldwide |= zone.countries.is_empty();
        countries.extend(zone.countries.iter().map(|c| c.as_ref().to_string()));
    }
    (countries.into_iter().collect(), worldwide)
}

/// The product a placement sells.
#[derive(Debug, Serialize, ToSchema)]
pub struct WidgetProduct {
    pub title: String,
    pub description: String,
    /// The product's first image, `null` without one (always sent).
    #[schema(required = true)]
    pub image_url: Option<String>,
    pub variants: Vec<WidgetVariant>,
}

/// JSON safe to place inside `<script type="application/json">`: `<`, `>` and `&`
/// are escaped so no value can close the element.
pub(crate) fn script_json(v: &impl Serialize) -> Result<String, ApiError> {
    let text = serde_json::to_string(v)
        .map_err(|e| ApiError::internal(format!("widget config not serialisable: {e}")))?;
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

/// The checkout iframe for a placement on a host page (`origin` must be on the
/// placement's allow-list; `layout=compact` for short ad slots). Refusals are a
/// plain page with a sentence, never a broken frame.
#[utoipa::path(get, path = "/widget/checkout/{placement}", tag = "Widget",
    params(("placement" = String, Path, description = "`plc_…`"), PageQuery),
    responses((status = 200, content_type = "text/html", description = "The iframe document, with its WidgetConfig embedded"),
              (status = 403, content_type = "text/html", description = "The host origin is not allowed"),
              (status = 404, content_type = "text/html", description = "No such placement"),
              (status = 410, content_type = "text/html", description = "Disabled, or the product is off sale")))]
pub async fn checkout_page(
    State(state): State<AppState>,
    Path(placement): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let Ok(id) = PlacementId::parse(&placement) else {
        return Ok(refuse(Refusal::UnknownPlacement));
    };
    let Some(p) = state.store.find_placement(id).await? else {
        return Ok(refuse(Refusal::UnknownPlacement));
    };
    if !p.enabled {
        return Ok(refuse(Refusal::Disabled));
    }
    let chain = q
        .origin
        .as_deref()
        .and_then(|host| FrameChain::parse(host, q.ancestors.as_deref()));
    let Some(chain) = chain.filter(|c| c.allowed_by(&p.settings)) else {
        return Ok(refuse(Refusal::OriginNotAllowed));
    };
    let origin = chain.host().to_string();
    let live = state.checkout.live_provider(p.merchant_id).await?;
    let Some(mut config) = app_config(&state, &p, origin, q.layout.as_deref(), &live).await? else {
        return Ok(refuse(Refusal::ProductUnavailable));
    };
    let ticket = state.checkout.issue_view(p.id);
    config.view = Some(WidgetView {
        view_id: ticket.view_id,
        view_token: ticket.view_token,
    });
    page_response(&config, &live, &frame_ancestors(&p.settings, &chain))
}

/// The `frame-ancestors` sources of the iframe page: the allow-list, the ad
/// servers and the chain the loader reported (each checked by
/// [`FrameChain::allowed_by`]). The browser checks every real ancestor against
/// them, so a chain that lied about its frames is refused by the browser itself.
fn frame_ancestors(settings: &anycart_store::PlacementSettings, chain: &FrameChain) -> String {
    let mut sources: Vec<&str> = Vec::new();
    let listed = settings.allowed_origins.iter().chain(&settings.ad_servers);
    for o in listed.map(String::as_str).chain(chain.origins()) {
        if !sources.contains(&o) {
            sources.push(o);
        }
    }
    sources.join(" ")
}

/// The dashboard's live preview of a placement: the real widget, themed with
/// `theme` (unsaved edits) over the merchant's default, framable only by the
/// dashboard itself, reporting no events.
pub async fn preview_page(
    state: &AppState,
    p: &Placement,
    layout: Option<&str>,
    theme: Option<anycart_store::Theme>,
) -> Result<Response, ApiError> {
    let live = state.checkout.live_provider(p.merchant_id).await?;
    let mut p = p.clone();
    if let Some(t) = theme {
        p.settings.theme = t;
    }
    let origin = parse_origin(&state.config.base_url).unwrap_or_default();
    let Some(config) = app_config(state, &p, origin, layout, &live).await? else {
        return Ok(refuse(Refusal::ProductUnavailable));
    };
    page_response(&config, &live, "'self'")
}

pub(crate) fn page_response(
    config: &WidgetConfig,
    live: &anycart_checkout::payment_providers::LiveProvider,
    frame_ancestors: &str,
) -> Result<Response, ApiError> {
    let v = asset_version();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Checkout</title>\
<link rel=\"stylesheet\" href=\"/widget/app.css?v={v}\">\
<script type=\"application/json\" id=\"anycart-config\">{}</script>\
<script src=\"/widget/app.js?v={v}\" defer></script></head>\
<body><main id=\"app\"></main></body></html>",
        script_json(config)?
    );
    checkout_document(body, live, frame_ancestors)
}

/// A document running the checkout app: its CSP (the app's own origin, the
/// payment provider's script, framable by `frame_ancestors`), never cached (each
/// load carries its own signed view), no referrer, no sniffing.
pub(super) fn checkout_document(
    body: String,
    live: &anycart_checkout::payment_providers::LiveProvider,
    frame_ancestors: &str,
) -> Result<Response, ApiError> {
    let csp = page_csp(&csp_sources(live), frame_ancestors);
    let mut res = Html(body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp)
            .map_err(|_| ApiError::internal("placement origins make an invalid CSP header"))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

/// A variant as the app shows it, with its free stock across `levels`.
fn widget_variant(v: &Variant, levels: &[StockLevel], rooms: &[VariantId]) -> WidgetVariant {
    WidgetVariant {
        id: v.id.to_string(),
        title: v.title.clone(),
        options: v
            .options
            .iter()
            .map(|o| (o.name.clone(), o.value.clone()))
            .collect(),
        amount: v.price.amount_minor,
        currency: v.price.currency.code_lower(),
        exponent: v.price.currency.exponent(),
        available: levels
            .iter()
            .filter(|l| l.variant_id == v.id)
            .map(|l| l.available())
            .sum(),
        max_quantity_per_order: v.max_quantity_per_order,
        image_url: v.image_url.clone(),
        waiting_room: rooms.contains(&v.id),
    }
}

/// The iframe page's Content-Security-Policy: its own origin, plus what the
/// payment provider's script needs; framable only by the placement's origins.
fn page_csp(payment: &CspSources, frame_ancestors: &str) -> String {
    let CspSources {
        script,
        style,
        frame,
        connect,
    } = payment;
    let frame_src = if frame.is_empty() {
        "'none'"
    } else {
        frame.as_str()
    };
    format!(
        "default-src 'none'; script-src 'self' {script}; style-src 'self' {style}; \
img-src 'self' https: http: data:; connect-src 'self' {connect}; frame-src {frame_src}; \
font-src 'self' https:; base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors}"
    )
}

pub(crate) async fn app_config(
    state: &AppState,
    p: &Placement,
    host_origin: String,
    layout: Option<&str>,
    live: &anycart_checkout::payment_providers::LiveProvider,
) -> Result<Option<WidgetConfig>, ApiError> {
    let Some(product) = state
        .store
        .get_product(p.merchant_id, p.product_id)
        .await?
        .filter(|pr| pr.active)
    else {
        return Ok(None);
    };
    let (shipping_countries, ships_worldwide) =
        shipping_countries(&state.store.list_shipping_zones(p.merchant_id).await?);
    let ids: Vec<_> = product.variants.iter().map(|v| v.id).collect();
    let levels = state.store.stock_levels(p.merchant_id, &ids).await?;
    let rooms = state.store.waiting_rooms(p.merchant_id).await?;
    let variants = product
        .variants
        .iter()
        .map(|v| widget_variant(v, &levels, &rooms))
        .collect();
    Ok(Some(WidgetConfig {
        placement_id: p.id.to_string(),
        publishable_key: p.settings.publishable_key.clone(),
        host_origin,
        hosted: false,
        layout: if layout == Some("compact") {
            WidgetLayout::Compact
        } else {
            WidgetLayout::Fluid
        },
        api_version: crate::routes::acp::wire::API_VERSION,
        product: WidgetProduct {
            title: product.title,
            description: product.description,
            image_url: product.images.first().cloned(),
            variants,
        },
        variant_id: p.settings.variant_id.map(|v| v.to_string()),
        quantity: p.settings.quantity,
        theme: theme_wire(
            &p.settings
                .theme
                .over(&state.store.widget_theme(p.merchant_id).await?),
        ),
        shipping_countries,
        ships_worldwide,
        low_stock_threshold: LOW_STOCK_THRESHOLD,
        quantity_max: QUANTITY_MAX,
        sign_in_code_digits: CODE_DIGITS,
        payment: WidgetPayment::of(live),
        view: None,
        resume_session_id: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_core::ids::{ShippingRateId, ShippingZoneId};
    use anycart_core::money::{Currency, Money};
    use anycart_core::pricing::ShippingRate;
    use anycart_core::values::CountryCode;

    fn zone(countries: &[&str], rates: usize) -> ShippingZone {
        let usd = Currency::parse("usd").expect("usd");
        ShippingZone {
            id: ShippingZoneId::new(),
            name: "zone".into(),
            countries: countries
                .iter()
                .map(|c| CountryCode::parse(c).expect("country"))
                .collect(),
            rates: (0..rates)
                .map(|_| ShippingRate {
                    id: ShippingRateId::new(),
                    title: "Standard".into(),
                    carrier: None,
                    amount: Money::new(500, usd).expect("money"),
                    free_over_minor: None,
                    min_delivery_days: 3,
                    max_delivery_days: 5,
                    free_with_products: vec![],
                    code: None,
                })
                .collect(),
        }
    }

    #[test]
    fn shipping_countries_are_the_zones_with_rates() {
        let zones = [
            zone(&["us"], 1),
            zone(&["FR", "DE", "US"], 2),
            zone(&["JP"], 0),
        ];
        assert_eq!(
            shipping_countries(&zones),
            (vec!["DE".into(), "FR".into(), "US".into()], false)
        );
        assert_eq!(shipping_countries(&[]), (vec![], false));
    }

    #[test]
    fn a_catch_all_zone_with_rates_ships_worldwide() {
        assert_eq!(
            shipping_countries(&[zone(&["CA"], 1), zone(&[], 1)]),
            (vec!["CA".into()], true)
        );
        assert_eq!(shipping_countries(&[zone(&[], 0)]), (vec![], false));
    }
}
