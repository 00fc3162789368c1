//! `GET /buy/{placement}`: link checkout, a hosted single-product checkout page
//! for links in social posts, bios, SMS and email. The page is the widget's app
//! mounted inline (no iframe, no popup, no redirect), with the product's name,
//! image and price rendered on the server, so the first paint needs no script,
//! and with Open Graph / Twitter card tags, so the link previews with the
//! product image and price. It loads nothing from a third party: in-app browsers
//! (Instagram, TikTok, X) show it fast. Sales are attributed like the widget's:
//! through the placement's own publishable key, to the placement's channel and
//! campaign, and the funnel counts the page's view.

use super::assets::asset_version;
use super::page::{WidgetConfig, WidgetView, app_config, checkout_document, script_json};
use crate::error::ApiError;
use crate::routes::pages::escape;
use crate::state::AppState;
use anycart_checkout::placements::parse_origin;
use anycart_connectors::decimal_amount;
use anycart_core::PlacementId;
use anycart_core::money::Currency;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Why a link shows no checkout. Each is an HTML page with a sentence (a
/// shopper followed a link: JSON would mean nothing to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkRefusal {
    UnknownPlacement,
    Disabled,
    ProductUnavailable,
}

impl LinkRefusal {
    fn status(self) -> StatusCode {
        match self {
            LinkRefusal::UnknownPlacement => StatusCode::NOT_FOUND,
            LinkRefusal::Disabled | LinkRefusal::ProductUnavailable => StatusCode::GONE,
        }
    }
    fn code(self) -> &'static str {
        match self {
            LinkRefusal::UnknownPlacement => "placement_not_found",
            LinkRefusal::Disabled => "placement_disabled",
            LinkRefusal::ProductUnavailable => "product_unavailable",
        }
    }
    fn message(self) -> &'static str {
        match self {
            LinkRefusal::UnknownPlacement => "This product link does not exist.",
            LinkRefusal::Disabled => "This product link is no longer available.",
            LinkRefusal::ProductUnavailable => "This product is no longer for sale.",
        }
    }
}

fn refuse(r: LinkRefusal) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\"><title>Checkout unavailable</title>\
<style>body{{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a202c;display:flex;align-items:center;justify-content:center;min-height:100vh;text-align:center;padding:16px;box-sizing:border-box}}</style></head>\
<body><main><h1>Checkout unavailable</h1><p role=\"alert\" data-code=\"{}\">{}</p></main></body></html>",
        r.code(),
        r.message()
    );
    let mut res = (r.status(), Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The hosted checkout for a placement's product. Unknown placements are a 404
/// page, disabled ones (or a product off sale) a 410 page; all HTML.
#[utoipa::path(get, path = "/buy/{placement}", tag = "Pages",
    params(("placement" = String, Path, description = "`plc_…`")),
    responses((status = 200, content_type = "text/html", description = "The checkout page, with Open Graph and Twitter card tags and the widget inline"),
              (status = 404, content_type = "text/html", description = "No such placement"),
              (status = 410, content_type = "text/html", description = "Disabled, or the product is off sale")))]
pub async fn buy_page(
    State(state): State<AppState>,
    Path(placement): Path<String>,
) -> Result<Response, ApiError> {
    let Ok(id) = PlacementId::parse(&placement) else {
        return Ok(refuse(LinkRefusal::UnknownPlacement));
    };
    let Some(p) = state.store.find_placement(id).await? else {
        return Ok(refuse(LinkRefusal::UnknownPlacement));
    };
    if !p.enabled {
        return Ok(refuse(LinkRefusal::Disabled));
    }
    let base_url = state.config.base_url.trim_end_matches('/').to_string();
    let origin = parse_origin(&base_url).unwrap_or_default();
    let live = state.checkout.live_provider(p.merchant_id).await?;
    let Some(mut config) = app_config(&state, &p, origin, None, &live).await? else {
        return Ok(refuse(LinkRefusal::ProductUnavailable));
    };
    config.hosted = true;
    let ticket = state.checkout.issue_view(p.id);
    config.view = Some(WidgetView {
        view_id: ticket.view_id,
        view_token: ticket.view_token,
    });
    // The page is still a checkout without the shop's name.
    let shop = state
        .store
        .get_merchant(p.merchant_id)
        .await
        .ok()
        .flatten()
        .map(|m| m.name)
        .unwrap_or_default();
    let preview = LinkPreview::of(&config, &base_url, &shop);
    // Not framable: a framed checkout is the widget's job, with its allow-list.
    checkout_document(link_document(&config, &preview)?, &live, "'none'")
}

/// What a link preview (and the page's first paint) shows: plain text, not yet escaped.
#[derive(Debug, PartialEq, Eq)]
struct LinkPreview {
    url: String,
    title: String,
    description: String,
    /// Absolute, as crawlers need it; `None` when the product has no image.
    image_url: Option<String>,
    /// For people: `$32.00`.
    price_text: String,
    /// For machines (`product:price:amount`): `32.00`.
    price_amount: String,
    /// ISO 4217, upper case.
    price_currency: String,
    shop: String,
}

impl LinkPreview {
    /// The preselected variant's price (the one the app opens on), else the first
    /// variant in stock, else the first.
    fn of(config: &WidgetConfig, base_url: &str, shop: &str) -> LinkPreview {
        let variants = &config.product.variants;
        let chosen = config
            .variant_id
            .as_deref()
            .and_then(|id| variants.iter().find(|v| v.id == id))
            .or_else(|| variants.iter().find(|v| v.available > 0))
            .or_else(|| variants.first());
        let (price_text, price_amount, price_currency) = chosen
            .map(|v| {
                let text = Currency::parse(&v.currency)
                    .map(|c| c.format_minor(v.amount))
                    .unwrap_or_default();
                (
                    text,
                    decimal_amount(v.amount, v.exponent),
                    v.currency.to_ascii_uppercase(),
                )
            })
            .unwrap_or_default();
        let image = chosen
            .and_then(|v| v.image_url.as_deref())
            .or(config.product.image_url.as_deref());
        LinkPreview {
            url: format!("{base_url}/buy/{}", config.placement_id),
            title: config.product.title.clone(),
            description: config.product.description.clone(),
            image_url: image.and_then(|i| absolute_url(base_url, i)),
            price_text,
            price_amount,
            price_currency,
            shop: shop.to_string(),
        }
    }
}

/// Crawlers only follow absolute `og:image` URLs: a path is joined to the
/// server's base URL; anything but http(s) is dropped.
fn absolute_url(base_url: &str, url: &str) -> Option<String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Some(url.to_string())
    } else if url.starts_with('/') && !url.starts_with("//") {
        Some(format!("{base_url}{url}"))
    } else {
        None
    }
}

/// The meta tags link previews read (Open Graph, its product price, Twitter card).
fn meta_tags(p: &LinkPreview) -> String {
    let title = escape(&p.title);
    let description = escape(&p.description);
    let mut tags = format!(
        "<meta name=\"description\" content=\"{description}\">\
<link rel=\"canonical\" href=\"{url}\">\
<meta property=\"og:type\" content=\"product\">\
<meta property=\"og:title\" content=\"{title}\">\
<meta property=\"og:description\" content=\"{description}\">\
<meta property=\"og:url\" content=\"{url}\">\
<meta property=\"og:site_name\" content=\"{shop}\">\
<meta property=\"product:price:amount\" content=\"{amount}\">\
<meta property=\"product:price:currency\" content=\"{currency}\">\
<meta name=\"twitter:card\" content=\"summary_large_image\">\
<meta name=\"twitter:title\" content=\"{title}\">\
<meta name=\"twitter:description\" content=\"{description}\">",
        url = escape(&p.url),
        shop = escape(&p.shop),
        amount = escape(&p.price_amount),
        currency = escape(&p.price_currency),
    );
    if let Some(image) = &p.image_url {
        let image = escape(image);
        tags.push_str(&format!(
            "<meta property=\"og:image\" content=\"{image}\">\
<meta property=\"og:image:alt\" content=\"{title}\">\
<meta name=\"twitter:image\" content=\"{image}\">"
        ));
    }
    tags
}

/// The page: meta tags, the app's config, and the product rendered for the
/// first paint (the app replaces it when it starts).
fn link_document(config: &WidgetConfig, p: &LinkPreview) -> Result<String, ApiError> {
    let v = asset_version();
    let image = p
        .image_url
        .as_deref()
        .map(|i| {
            format!(
                "<img src=\"{}\" alt=\"\" width=\"96\" height=\"96\">",
                escape(i)
            )
        })
        .unwrap_or_default();
    Ok(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} · {price}</title>{meta}\
<link rel=\"stylesheet\" href=\"/widget/app.css?v={v}\">\
<script type=\"application/json\" id=\"anycart-config\">{config}</script>\
<script src=\"/widget/app.js?v={v}\" defer></script></head>\
<body class=\"hosted-page\"><main id=\"app\"><div class=\"link-product\" data-testid=\"link-product\">{image}\
<h1>{title}</h1><p class=\"price\">{price}</p><p>{description}</p></div></main></body></html>",
        title = escape(&p.title),
        price = escape(&p.price_text),
        description = escape(&p.description),
        meta = meta_tags(p),
        config = script_json(config)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_images_are_absolute_http_urls_or_nothing() {
        let base = "http://127.0.0.1:8080";
        assert_eq!(
            absolute_url(base, "/assets/demo/tee.svg").as_deref(),
            Some("http://127.0.0.1:8080/assets/demo/tee.svg")
        );
        assert_eq!(
            absolute_url(base, "https://cdn.example/x.png").as_deref(),
            Some("https://cdn.example/x.png")
        );
        assert_eq!(absolute_url(base, "//evil.example/x.png"), None);
        assert_eq!(absolute_url(base, "javascript:alert(1)"), None);
        assert_eq!(absolute_url(base, "x.png"), None);
    }

    #[test]
    fn meta_tags_are_escaped() {
        let p = LinkPreview {
            url: "http://x/buy/plc_1".into(),
            title: "Tee \"<script>\"".into(),
            description: "a & b".into(),
            image_url: Some("http://x/i.png?a=1&b=2".into()),
            price_text: "$32.00".into(),
            price_amount: "32.00".into(),
            price_currency: "USD".into(),
            shop: "Shop".into(),
        };
        let tags = meta_tags(&p);
        assert!(
            tags.contains("content=\"Tee &quot;&lt;script&gt;&quot;\""),
            "{tags}"
        );
        assert!(tags.contains("content=\"a &amp; b\""));
        assert!(
            tags.contains("<meta property=\"og:image\" content=\"http://x/i.png?a=1&amp;b=2\">")
        );
        assert!(tags.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">"));
        assert!(tags.contains("<meta property=\"product:price:amount\" content=\"32.00\">"));
        assert!(
            !meta_tags(&LinkPreview {
                image_url: None,
                ..p
            })
            .contains("og:image")
        );
    }
}
