//! The embeddable checkout widget's server side.
//!
//! - `GET /embed.js`: the loader a host page includes (built from `web/widget`,
//!   committed under `assets/widget/` so `cargo run` needs no Node).
//! - `GET /widget/checkout/{placement}?origin=…`: the iframe document. It refuses
//!   unknown or disabled placements and host origins that are not on the
//!   placement's allow-list, and pins `frame-ancestors` to that allow-list so a host
//!   that lies about its origin is blocked by the browser itself.
//! - `GET /widget/app.js`, `/widget/app.css`: the checkout app inside the iframe.
//! - `POST /v1/sandbox/tokens`: turns sandbox card fields typed inside the iframe
//!   into a payment token. The number is never logged or stored.

use crate::admin::placements::parse_origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_core::PlacementId;
use anycart_payments::sandbox::tokenize_card;
use anycart_store::Placement;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The loader script host pages include.
pub const EMBED_JS: &str = include_str!("../assets/widget/embed.js");
/// The checkout app that runs inside the iframe.
pub const APP_JS: &str = include_str!("../assets/widget/app.js");
/// The checkout app's styles.
pub const APP_CSS: &str = include_str!("../assets/widget/app.css");
/// How long browsers may cache the widget assets (short: deploys must reach ads fast).
const ASSET_MAX_AGE_S: u32 = 300;

/// Widget routes (merged at the root of the app).
pub fn router() -> Router<AppState> {
    // Static assets are gzipped for clients that accept it (what the weight budget
    // counts); the API and the SSE stream are left alone.
    let assets = Router::new()
        .route(
            "/embed.js",
            get(|| async { asset(EMBED_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/widget/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/widget/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .layer(tower_http::compression::CompressionLayer::new().gzip(true));
    Router::new()
        .merge(assets)
        .route("/widget/checkout/{placement}", get(checkout_page))
        .merge(crate::shoppers::router())
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_str(&format!("public, max-age={ASSET_MAX_AGE_S}"))
                    .unwrap_or(HeaderValue::from_static("no-cache")),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A short content hash of the app assets, appended to their URLs so a deploy is
/// picked up at once despite caching.
fn asset_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(APP_JS.as_bytes());
        h.update(APP_CSS.as_bytes());
        hex::encode(&h.finalize()[..6])
    })
}

/// `?origin=` (the host page's origin, as the loader saw it) and `?layout=`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// The host page's origin; must be on the placement's allow-list.
    pub origin: Option<String>,
    /// `compact` for short ad slots (stepwise, scrolling), else fluid.
    pub layout: Option<String>,
}

/// Why the iframe page refuses to show a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
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
fn refuse(r: Refusal) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Checkout unavailable</title>\
<style>body{{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1a202c;background:#fff;display:flex;align-items:center;justify-content:center;min-height:100vh;text-align:center;padding:12px;box-sizing:border-box}}</style></head>\
<body><p role=\"alert\" data-code=\"{}\">{}</p></body></html>",
        r.code(),
        r.message()
    );
    let mut res = (r.status(), Html(body)).into_response();
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
#[derive(Debug, Serialize)]
struct VariantView {
    id: String,
    title: String,
    options: Vec<(String, String)>,
    amount: i64,
    currency: String,
    exponent: u32,
    available: i64,
    max_quantity_per_order: Option<u32>,
    image_url: Option<String>,
}

/// Everything the checkout app needs, embedded in the iframe document so the app
/// is interactive without another request.
#[derive(Debug, Serialize)]
struct AppConfig {
    placement_id: String,
    publishable_key: String,
    host_origin: String,
    layout: &'static str,
    api_version: &'static str,
    product: ProductView,
    variant_id: Option<String>,
    quantity: u32,
    theme: anycart_store::Theme,
}

#[derive(Debug, Serialize)]
struct ProductView {
    title: String,
    description: String,
    image_url: Option<String>,
    variants: Vec<VariantView>,
}

/// JSON safe to place inside `<script type="application/json">`: `<`, `>` and `&`
/// are escaped so no value can close the element.
fn script_json(v: &impl Serialize) -> Result<String, ApiError> {
    let text = serde_json::to_string(v).map_err(|_| ApiError::internal())?;
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

async fn checkout_page(
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
    let origin = q.origin.as_deref().and_then(parse_origin);
    let Some(origin) = origin.filter(|o| p.settings.allowed_origins.contains(o)) else {
        return Ok(refuse(Refusal::OriginNotAllowed));
    };
    let Some(config) = app_config(&state, &p, origin, q.layout.as_deref()).await? else {
        return Ok(refuse(Refusal::ProductUnavailable));
    };
    let v = asset_version();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Checkout</title>\
<link rel=\"stylesheet\" href=\"/widget/app.css?v={v}\">\
<script type=\"application/json\" id=\"anycart-config\">{}</script>\
<script src=\"/widget/app.js?v={v}\" defer></script></head>\
<body><main id=\"app\"></main></body></html>",
        script_json(&config)?
    );
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; \
connect-src 'self'; font-src 'self' https:; base-uri 'none'; form-action 'none'; frame-ancestors {}",
        p.settings.allowed_origins.join(" ")
    );
    let mut res = Html(body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).map_err(|_| ApiError::internal())?,
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

async fn app_config(
    state: &AppState,
    p: &Placement,
    host_origin: String,
    layout: Option<&str>,
) -> Result<Option<AppConfig>, ApiError> {
    let Some(product) = state
        .store
        .get_product(p.merchant_id, p.product_id)
        .await?
        .filter(|pr| pr.active)
    else {
        return Ok(None);
    };
    let ids: Vec<_> = product.variants.iter().map(|v| v.id).collect();
    let levels = state.store.stock_levels(p.merchant_id, &ids).await?;
    let variants = product
        .variants
        .iter()
        .map(|v| VariantView {
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
        })
        .collect();
    Ok(Some(AppConfig {
        placement_id: p.id.to_string(),
        publishable_key: p.settings.publishable_key.clone(),
        host_origin,
        layout: if layout == Some("compact") {
            "compact"
        } else {
            "fluid"
        },
        api_version: crate::acp::wire::API_VERSION,
        product: ProductView {
            title: product.title,
            description: product.description,
            image_url: product.images.first().cloned(),
            variants,
        },
        variant_id: p.settings.variant_id.map(|v| v.to_string()),
        quantity: p.settings.quantity,
        theme: p
            .settings
            .theme
            .over(&state.store.widget_theme(p.merchant_id).await?),
    }))
}

/// Sandbox card fields. Deliberately not `Debug`: the number must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardFields {
    /// A sandbox test card number (spaces and dashes allowed).
    pub number: String,
    /// 1–12.
    pub exp_month: u32,
    /// Two or four digits; must not be in the past.
    pub exp_year: u32,
    /// 3 or 4 digits; checked for shape only and then dropped.
    pub cvc: String,
}

/// A payment token for `payment_data.instrument.credential.token`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenWire {
    /// The sandbox token, e.g. `tok_visa`.
    pub token: &'static str,
}

/// Tokenise a sandbox test card (publishable key). The number is never stored or logged.
#[utoipa::path(post, path = "/sandbox/tokens", tag = "Checkout", request_body = CardFields,
    responses((status = 200, body = TokenWire), (status = "4XX", body = crate::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub async fn sandbox_token(
    State(state): State<AppState>,
    _caller: Caller,
    body: AcpJson<CardFields>,
) -> Result<axum::Json<TokenWire>, ApiError> {
    let card = body.value;
    let bad = |param: &str, msg: &str| {
        ApiError::bad_request("invalid_card", msg.to_string()).with_param(param.to_string())
    };
    if !(1..=12).contains(&card.exp_month) {
        return Err(bad("$.exp_month", "The expiry month must be 1–12."));
    }
    let year = if card.exp_year < 100 {
        2000 + card.exp_year
    } else {
        card.exp_year
    };
    let now = time::OffsetDateTime::from_unix_timestamp(state.now_ms() / 1000)
        .map_err(|_| ApiError::internal())?;
    let this_year = u32::try_from(now.year()).unwrap_or(0);
    let this_month = u32::from(u8::from(now.month()));
    if year < this_year
        || (year == this_year && card.exp_month < this_month)
        || year > this_year + 20
    {
        return Err(bad(
            "$.exp_year",
            "The card has expired or the expiry year is not valid.",
        ));
    }
    if !(3..=4).contains(&card.cvc.len()) || !card.cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("$.cvc", "The security code is 3 or 4 digits."));
    }
    let token = tokenize_card(&card.number).map_err(|e| bad("$.number", &e.to_string()))?;
    Ok(axum::Json(TokenWire { token }))
}
