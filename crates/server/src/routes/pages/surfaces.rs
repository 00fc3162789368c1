//! The demo's link-checkout and SDK pages, on the demo pages' listener (another
//! origin than the API):
//!
//! - `/social`: a social post whose link card is unfurled the way a social
//!   network does it, by fetching the link and reading its Open Graph tags;
//! - `/app`: a tiny game whose in-game shop is built on `@anycart/sdk`
//!   (`web/sdk/examples/game.ts`, bundled into `assets/demo/game.js`).

use super::escape;
use anycart_checkout::demo::DemoInfo;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The game's script: the SDK and the game, bundled by `web/sdk` (`npm run build:demo`).
const GAME_JS: &str = include_str!("../../../assets/demo/game.js");

/// The game's look: a dark arcade panel, the shop as a card.
const GAME_CSS: &str = "body{margin:0;background:#1a1f2e;color:#f4f1ea;font:16px/1.4 system-ui,sans-serif}#game{max-width:520px;margin:24px auto;padding:16px}\
h1{margin:0 0 4px;color:#f6ad55}.controls{display:flex;gap:8px;margin:12px 0}button{font:inherit;padding:8px 14px;border-radius:8px;border:0;background:#4a5568;color:#fff;cursor:pointer}\
button.primary{background:#38a169}button:disabled{opacity:.6}.shop{background:#fff;color:#1a202c;border-radius:12px;padding:16px}.shop h2{margin:0 0 8px}\
.shop label{display:block;margin:6px 0}.shop input:not([type=radio]){display:block;width:100%;padding:6px;box-sizing:border-box}.error{color:#b42318;min-height:1em}";

/// A link is unfurled within this long, or the post shows the bare link.
const UNFURL_TIMEOUT_MS: u64 = 2_000;
/// Most bytes of the linked page read while unfurling (the tags are in `<head>`).
const UNFURL_BODY_BYTES_MAX: usize = 256 * 1024;

/// What the link and app pages need.
#[derive(Debug, Clone)]
pub struct Surfaces {
    /// The link checkout, `{base_url}/buy/{placement}`.
    pub link_url: String,
    /// The game's SDK configuration.
    pub app: AppConfig,
}

/// What the game's SDK client is created with (embedded in the page as JSON).
#[derive(Debug, Clone, Serialize)]
pub struct AppConfig {
    pub base_url: String,
    pub publishable_key: String,
    pub placement: String,
    /// The variants the in-game shop sells (the merchant's app knows its SKUs).
    pub variants: Vec<AppVariant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppVariant {
    pub id: String,
    pub title: String,
    pub amount: i64,
    pub currency: String,
}

/// The SKU prefix of the product the game sells (the demo's water bottle).
const APP_SKU_PREFIX: &str = "BTL-";

impl Surfaces {
    /// The surfaces of a demo whose link and app placements exist.
    pub fn of(info: &DemoInfo) -> Option<Surfaces> {
        Some(Surfaces {
            link_url: info.link_url.clone()?,
            app: AppConfig {
                base_url: info.base_url.clone(),
                publishable_key: info.app_publishable_key.clone()?,
                placement: info.app_placement.clone()?,
                variants: info
                    .variants
                    .iter()
                    .filter(|v| v.sku.starts_with(APP_SKU_PREFIX))
                    .map(|v| AppVariant {
                        id: v.id.clone(),
                        title: v.title.clone(),
                        amount: v.amount,
                        currency: v.currency.clone(),
                    })
                    .collect(),
            },
        })
    }
}

/// The pages' routes (mounted by the demo pages' router when the demo has the
/// link and app placements).
pub(super) fn router(surfaces: Surfaces) -> Router {
    Router::new()
        .route("/social", get(social))
        .route("/app", get(app))
        .route("/app/game.js", get(game_js))
        .with_state(Arc::new(surfaces))
}

/// What a social network shows for a link: read from its Open Graph tags.
#[derive(Debug, Default, PartialEq, Eq)]
struct LinkCard {
    title: String,
    description: String,
    image: Option<String>,
    price_amount: Option<String>,
    price_currency: Option<String>,
}

impl LinkCard {
    /// Reads the `og:` and `product:` meta tags of an HTML document.
    fn from_html(html: &str) -> LinkCard {
        let doc = scraper::Html::parse_document(html);
        let meta = scraper::Selector::parse("meta[property][content]").ok();
        let mut card = LinkCard::default();
        for el in meta.iter().flat_map(|sel| doc.select(sel)) {
            let (Some(property), Some(content)) =
                (el.value().attr("property"), el.value().attr("content"))
            else {
                continue;
            };
            let content = content.to_string();
            match property {
                "og:title" => card.title = content,
                "og:description" => card.description = content,
                "og:image" => card.image = Some(content),
                "product:price:amount" => card.price_amount = Some(content),
                "product:price:currency" => card.price_currency = Some(content),
                _ => {}
            }
        }
        card
    }

    /// `32.00 USD` as a reader sees it: `$32.00` for dollars.
    fn price(&self) -> Option<String> {
        let amount = self.price_amount.as_deref()?;
        Some(match self.price_currency.as_deref() {
            Some("USD") => format!("${amount}"),
            Some(code) => format!("{amount} {code}"),
            None => amount.to_string(),
        })
    }
}

/// Fetches `url` and reads its card; `None` when it cannot be read in time.
async fn unfurl(url: &str) -> Option<LinkCard> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(UNFURL_TIMEOUT_MS))
        .user_agent("anycart-demo-unfurler/1.0")
        .build()
        .ok()?;
    let mut res = client.get(url).send().await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= UNFURL_BODY_BYTES_MAX {
            break;
        }
    }
    let card = LinkCard::from_html(&String::from_utf8_lossy(&body));
    (!card.title.is_empty()).then_some(card)
}

fn card_html(link: &str, card: Option<&LinkCard>) -> String {
    let host = reqwest::Url::parse(link)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let Some(card) = card else {
        return format!(
            "<a class=\"bare\" href=\"{link}\">{link}</a>",
            link = escape(link)
        );
    };
    let image = card
        .image
        .as_deref()
        .map(|i| {
            format!(
                "<img src=\"{}\" alt=\"\" data-testid=\"card-image\">",
                escape(i)
            )
        })
        .unwrap_or_default();
    let price = card
        .price()
        .map(|p| {
            format!(
                "<span class=\"price\" data-testid=\"card-price\">{}</span>",
                escape(&p)
            )
        })
        .unwrap_or_default();
    format!(
        "<a class=\"card\" href=\"{link}\" data-testid=\"link-card\">{image}<span class=\"meta\"><span class=\"host\">{host}</span>\
<strong data-testid=\"card-title\">{title}</strong><span>{description}</span>{price}</span></a>",
        link = escape(link),
        host = escape(&host),
        title = escape(&card.title),
        description = escape(&card.description),
    )
}

async fn social(State(s): State<Arc<Surfaces>>) -> Response {
    let card = unfurl(&s.link_url).await;
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Trail Co. on Chirp</title>\
<style>body{{margin:0;background:#f0f2f5;font:15px/1.4 system-ui,sans-serif;color:#0f1419}}.post{{max-width:520px;margin:24px auto;background:#fff;border-radius:12px;padding:16px;box-shadow:0 1px 2px rgba(0,0,0,.15)}}\
.who{{display:flex;gap:10px;align-items:center}}.avatar{{width:40px;height:40px;border-radius:50%;background:#c05621}}.card{{display:flex;margin-top:12px;border:1px solid #cfd9de;border-radius:12px;overflow:hidden;color:inherit;text-decoration:none}}\
.card img{{width:130px;height:130px;object-fit:cover;flex:none;background:#eee}}.meta{{display:flex;flex-direction:column;gap:2px;padding:10px 12px;min-width:0}}.host,.meta span{{color:#536471;font-size:13px}}.meta .price{{color:#0f1419;font-weight:600;font-size:15px}}</style></head>\
<body><article class=\"post\"><div class=\"who\"><span class=\"avatar\"></span><span><strong>Trail Co.</strong> <span class=\"host\">@trailco · 2h</span></span></div>\
<p>Our best-selling running tee is back in every size. Tap to buy it right here, no account needed. 🏃</p>{card}</article></body></html>",
        card = card_html(&s.link_url, card.as_ref())
    ))
    .into_response()
}

async fn app(State(s): State<Arc<Surfaces>>) -> Response {
    // `<` and `&` escaped so no value can close the script element.
    let config = serde_json::to_string(&s.app)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('&', "\\u0026");
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Trail Dash — a tiny game</title>\
<style>{GAME_CSS}</style><script type=\"application/json\" id=\"game-config\">{config}</script><script type=\"module\" src=\"/app/game.js\"></script></head>\
<body><main id=\"game\"><p>Loading…</p></main></body></html>"
    ))
    .into_response()
}

async fn game_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        GAME_JS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_read_from_open_graph_tags() {
        let html = r#"<!doctype html><html><head><meta property="og:title" content="Trail Runner Tee">
<meta property="og:description" content="Light &amp; quick"><meta property="og:image" content="http://x/tee.svg">
<meta property="product:price:amount" content="32.00"><meta property="product:price:currency" content="USD">
<meta name="twitter:card" content="summary_large_image"></head><body></body></html>"#;
        let card = LinkCard::from_html(html);
        assert_eq!(card.title, "Trail Runner Tee");
        assert_eq!(card.description, "Light & quick");
        assert_eq!(card.image.as_deref(), Some("http://x/tee.svg"));
        assert_eq!(card.price().as_deref(), Some("$32.00"));
        let html = card_html("http://x/buy/plc_1", Some(&card));
        assert!(
            html.contains("data-testid=\"card-price\">$32.00<"),
            "{html}"
        );
        assert!(html.contains("Light &amp; quick"));
    }

    #[test]
    fn a_page_without_tags_gives_an_empty_card_and_a_bare_link() {
        let card = LinkCard::from_html("<p>nothing</p>");
        assert_eq!(card, LinkCard::default());
        assert_eq!(card.price(), None);
        assert!(card_html("http://x/<b>", None).contains("http://x/&lt;b&gt;"));
    }
}
