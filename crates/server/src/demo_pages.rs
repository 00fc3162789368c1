//! The demo's host pages: a publisher article and a 300×250 ad, served by a second
//! listener on another port than the API, so the widget runs cross-origin exactly
//! as it does on a real publisher's site. The pages carry hostile CSS on purpose
//! (it must not leak into the checkout) and log the widget's DOM events.

use crate::admin::placements::{self, NewPlacement, ThemeWire};
use crate::demo::DemoInfo;
use crate::error::ApiError;
use anycart_core::{MerchantId, PlacementId};
use anycart_store::Store;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use std::sync::Arc;

/// What the demo pages need to embed the widget.
#[derive(Debug, Clone)]
pub struct DemoPages {
    /// The anycart API/widget origin (where `embed.js` comes from).
    pub base_url: String,
    /// The placement embedded in the 300×250 ad page.
    pub ad_placement: String,
    /// The placement embedded in the article page.
    pub article_placement: String,
}

/// Makes sure the demo has an ad and an article placement that allow `pages_origin`,
/// creating them when missing (or when the pages moved to another origin), and
/// records them and the page URLs in `info`.
pub async fn ensure_placements(
    store: &Store,
    info: &mut DemoInfo,
    pages_origin: &str,
    now_ms: i64,
) -> Result<DemoPages, ApiError> {
    let merchant = MerchantId::parse(&info.merchant_id).map_err(|_| ApiError::internal())?;
    let mut usable = info.placements.len() == 2;
    for id in &info.placements {
        let found = match PlacementId::parse(id) {
            Ok(pid) => store.get_placement(merchant, pid).await?,
            Err(_) => None,
        };
        usable &= found.is_some_and(|p| {
            p.enabled && p.settings.allowed_origins.iter().any(|o| o == pages_origin)
        });
    }
    if !usable {
        let products = store
            .list_products(merchant, None, anycart_store::PAGE_SIZE_MAX)
            .await?;
        let product = |title: &str| {
            products
                .iter()
                .find(|p| p.title == title)
                .ok_or_else(ApiError::internal)
        };
        let bottle = product("Summit Water Bottle")?;
        let tee = product("Trail Runner Tee")?;
        let ad = NewPlacement {
            name: Some("Demo 300×250 ad".into()),
            product_id: bottle.id.to_string(),
            variant_id: bottle.variants.first().map(|v| v.id.to_string()),
            quantity: Some(1),
            channel: "display_ad".into(),
            campaign: placements::CampaignWire {
                name: Some("summer-hydration".into()),
                source: Some("demo-ad-network".into()),
                medium: Some("display".into()),
                content: Some("300x250".into()),
            },
            allowed_origins: vec![pages_origin.to_string()],
            theme: ThemeWire {
                primary_color: Some("#2f855a".into()),
                radius_px: Some(4),
                ..Default::default()
            },
            enabled: true,
        };
        let article = NewPlacement {
            name: Some("Demo article".into()),
            product_id: tee.id.to_string(),
            variant_id: None,
            quantity: Some(1),
            channel: "publisher".into(),
            campaign: placements::CampaignWire {
                name: Some("running-gear-review".into()),
                source: Some("demo-trail-magazine".into()),
                medium: Some("affiliate".into()),
                content: None,
            },
            allowed_origins: vec![pages_origin.to_string()],
            theme: ThemeWire {
                primary_color: Some("#c05621".into()),
                font_family: Some("Georgia, serif".into()),
                radius_px: Some(12),
                ..Default::default()
            },
            enabled: true,
        };
        let a = placements::create(store, merchant, &ad, now_ms).await?;
        let b = placements::create(store, merchant, &article, now_ms).await?;
        info.placements = vec![a.id.to_string(), b.id.to_string()];
    }
    info.ad_page_url = Some(format!("{pages_origin}/ad"));
    info.article_page_url = Some(format!("{pages_origin}/article"));
    Ok(DemoPages {
        base_url: info.base_url.clone(),
        ad_placement: info.placements[0].clone(),
        article_placement: info.placements[1].clone(),
    })
}

/// The demo pages' router (its own listener, its own origin).
pub fn router(pages: DemoPages) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/ad", get(ad))
        .route("/article", get(article))
        .with_state(Arc::new(pages))
}

/// Host CSS that would wreck an unprotected widget; the checkout must look unchanged.
const HOSTILE_CSS: &str = "*{font-family:'Comic Sans MS',cursive!important;letter-spacing:.1em}iframe{border:6px dashed red!important;filter:hue-rotate(90deg)}button,input{background:#ff0!important;color:#f0f!important}";

/// Logs the widget's DOM events on the host page (and proves they arrive).
const EVENT_LOG_JS: &str = "<script>for(const n of ['ready','start','complete','cancel','error']){document.addEventListener('anycart:'+n,e=>{const l=document.getElementById('log');const p=document.createElement('li');p.textContent=n+' '+JSON.stringify(e.detail||{});p.dataset.event=n;l.append(p);});}</script>";

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>anycart demo host pages</title></head><body><h1>anycart demo host pages</h1><ul><li><a href=\"/ad\">A 300×250 display ad</a></li><li><a href=\"/article\">A publisher article</a></li></ul></body></html>",
    )
}

/// `?size=300x600` shows the ad as a half-page slot instead of the default 300×250.
#[derive(Debug, serde::Deserialize)]
struct AdQuery {
    size: Option<String>,
}

async fn ad(State(p): State<Arc<DemoPages>>, Query(q): Query<AdQuery>) -> Html<String> {
    // Only the two IAB sizes the widget is laid out for; anything else falls back.
    let (size, height) = match q.size.as_deref() {
        Some("300x600") => ("300x600", 600),
        _ => ("300x250", 250),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Daily Planet — weather</title>\
<style>{HOSTILE_CSS}body{{margin:0;font:16px serif;background:#f4f1ea}}.page{{display:flex;gap:24px;padding:24px}}main{{min-width:0;overflow-wrap:anywhere}}.slot{{width:300px;height:{height}px;flex:none;background:#fff}}</style></head>\
<body><div class=\"page\"><main><h1>Heatwave expected this weekend</h1><p>Forecasters expect temperatures to climb past 35°C across the region. Stay hydrated.</p>\
<ol id=\"log\" aria-label=\"widget events\"></ol></main>\
<aside class=\"slot\" aria-label=\"Advertisement\">\
<script src=\"{base}/embed.js\" async></script>\
<anycart-checkout placement=\"{id}\" size=\"{size}\" label=\"Buy the Summit Water Bottle\"></anycart-checkout>\
</aside></div>{EVENT_LOG_JS}</body></html>",
        base = p.base_url,
        id = p.ad_placement
    ))
}

async fn article(State(p): State<Arc<DemoPages>>) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Trail Magazine — the best running tees</title>\
<style>{HOSTILE_CSS}body{{margin:0;background:#fff;color:#222}}article{{max-width:680px;margin:0 auto;padding:24px;overflow-wrap:anywhere}}</style></head>\
<body><article><h1>The one running tee we keep reaching for</h1>\
<p>After three months of trail runs, the Trail Runner Tee is the shirt our testers pick first: light, quick to dry and cut to move.</p>\
<script src=\"{base}/embed.js\" async></script>\
<anycart-checkout placement=\"{id}\" label=\"Buy the Trail Runner Tee\"></anycart-checkout>\
<p>Prices and stock are live from the shop; checkout happens right here.</p>\
<ol id=\"log\" aria-label=\"widget events\"></ol></article>{EVENT_LOG_JS}</body></html>",
        base = p.base_url,
        id = p.article_placement
    ))
}

/// Serves the demo pages on their own listener until the process exits.
pub async fn serve(listener: tokio::net::TcpListener, pages: DemoPages) -> std::io::Result<()> {
    axum::serve(listener, router(pages)).await
}
