//! The demo's host pages: a publisher article and a 300×250 ad, served by a second
//! listener on another port than the API, so the widget runs cross-origin exactly
//! as it does on a real publisher's site. The pages carry hostile CSS on purpose
//! (it must not leak into the checkout) and log the widget's DOM events.

use crate::state::AppState;
use anycart_checkout::demo::DemoInfo;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the demo pages need to embed the widget.
#[derive(Debug, Clone)]
pub struct DemoPages {
    /// The anycart API/widget origin (where `embed.js` comes from).
    pub base_url: String,
    /// The placement embedded in the 300×250 ad page.
    pub ad_placement: String,
    /// The placement embedded in the article page.
    pub article_placement: String,
    /// TV checkout and ads through ad servers: the TV app page's placement, the
    /// ad served through the demo ad server, and that ad server's origin (a third
    /// origin, its own listener serving these same routes).
    pub tv_placement: Option<String>,
    pub ad_server_placement: Option<String>,
    pub ad_server_origin: Option<String>,
    /// Link checkout and the SDK app (issue 13): see [`super::surfaces`].
    pub surfaces: Option<super::surfaces::Surfaces>,
}

impl DemoPages {
    /// The pages of a seeded demo (its placements: ad first, then article).
    pub fn of(info: &DemoInfo) -> Option<DemoPages> {
        match info.placements.as_slice() {
            [ad, article] => Some(DemoPages {
                base_url: info.base_url.clone(),
                ad_placement: ad.clone(),
                article_placement: article.clone(),
                tv_placement: info.tv_placement.clone(),
                ad_server_placement: info.ad_server_placement.clone(),
                ad_server_origin: None,
                surfaces: super::surfaces::Surfaces::of(info),
            }),
            _ => None,
        }
    }
}

/// The demo pages' router (its own listener, its own origin).
pub fn router(pages: DemoPages) -> Router {
    let surfaces = pages.surfaces.clone();
    let router = Router::new()
        .route("/", get(index))
        .route("/ad", get(ad))
        .route("/article", get(article))
        .route("/tv", get(tv_app))
        .route("/ad-server", get(ad_server_publisher))
        .route("/adserver/frame", get(ad_server_frame))
        .route("/adserver/creative", get(ad_server_creative))
        .with_state(Arc::new(pages));
    match surfaces {
        Some(s) => router.merge(super::surfaces::router(s)),
        None => router,
    }
}

/// Host CSS that would wreck an unprotected widget; the checkout must look unchanged.
const HOSTILE_CSS: &str = "*{font-family:'Comic Sans MS',cursive!important;letter-spacing:.1em}iframe{border:6px dashed red!important;filter:hue-rotate(90deg)}button,input{background:#ff0!important;color:#f0f!important}";

/// Logs the widget's DOM events on the host page (and proves they arrive).
const EVENT_LOG_JS: &str = "<script>for(const n of ['ready','start','complete','cancel','error']){document.addEventListener('anycart:'+n,e=>{const l=document.getElementById('log');const p=document.createElement('li');p.textContent=n+' '+JSON.stringify(e.detail||{});p.dataset.event=n;l.append(p);});}</script>";

async fn index() -> Html<&'static str> {
    Html(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>anycart demo host pages</title></head><body><h1>anycart demo host pages</h1><ul><li><a href=\"/ad\">A 300×250 display ad</a></li><li><a href=\"/article\">A publisher article</a></li><li><a href=\"/tv\">A smart-TV app</a></li><li><a href=\"/ad-server\">An ad served through an ad server</a></li><li><a href=\"/social\">A social post with a link to the link checkout</a></li><li><a href=\"/app\">A game whose shop is built on the SDK</a></li></ul></body></html>",
    )
}

/// `?size=300x600` shows the ad as a half-page slot instead of the default 300×250;
/// `?placement=plc_…` shows another placement (one made in the dashboard, with
/// this page's origin allowed) instead of the demo's own.
#[derive(Debug, serde::Deserialize)]
struct AdQuery {
    size: Option<String>,
    placement: Option<String>,
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
        // Only a well-formed id reaches the page (it is written into the HTML).
        id = q
            .placement
            .as_deref()
            .and_then(|id| anycart_core::PlacementId::parse(id).ok())
            .map_or_else(|| p.ad_placement.clone(), |id| id.to_string())
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

/// `?placement=plc_…`: another placement than the demo's own.
#[derive(Debug, serde::Deserialize)]
struct PlacementQuery {
    placement: Option<String>,
}

/// A well-formed placement id from the query, else `default` (only a parsed id is
/// ever written into a page).
fn placement_or(q: &PlacementQuery, default: Option<&String>) -> Option<String> {
    q.placement
        .as_deref()
        .and_then(|id| anycart_core::PlacementId::parse(id).ok())
        .map(|id| id.to_string())
        .or_else(|| default.cloned())
}

fn missing(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("the demo has no {what}")).into_response()
}

/// A smart-TV app's screen: its own chrome, and the TV checkout framed across
/// the 1280×720 picture (the remote's arrows and OK go to the checkout).
async fn tv_app(State(p): State<Arc<DemoPages>>, Query(q): Query<PlacementQuery>) -> Response {
    let Some(id) = placement_or(&q, p.tv_placement.as_ref()) else {
        return missing("TV placement");
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Northwind TV</title>\
<style>body{{margin:0;background:#000;color:#fff;font:20px system-ui,sans-serif}}header{{padding:8px 16px;color:#a0aec0}}\
iframe{{display:block;border:0;width:1280px;height:720px;max-width:100vw;max-height:calc(100vh - 40px)}}</style></head>\
<body><header>Northwind TV · Shop the show</header>\
<iframe id=\"tv\" title=\"Shop\" src=\"{base}/tv/{id}\"></iframe>\
<script>const f=document.getElementById('tv');f.addEventListener('load',()=>f.focus());</script></body></html>",
        base = p.base_url
    ))
    .into_response()
}

/// The publisher's page: an ad slot the ad server fills (its frame on another
/// origin, which frames the creative, which frames the checkout).
async fn ad_server_publisher(
    State(p): State<Arc<DemoPages>>,
    Query(q): Query<PlacementQuery>,
) -> Response {
    let (Some(ads), Some(id)) = (
        &p.ad_server_origin,
        placement_or(&q, p.ad_server_placement.as_ref()),
    ) else {
        return missing("ad server");
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Daily Planet — sport</title>\
<style>{HOSTILE_CSS}body{{margin:0;font:16px serif;background:#f4f1ea}}.page{{display:flex;gap:24px;padding:24px}}.slot{{width:300px;height:250px;flex:none;background:#fff}}.slot iframe{{border:0;width:300px;height:250px}}</style></head>\
<body><div class=\"page\"><main><h1>Cup final goes to extra time</h1><p>A late equaliser sent the final into extra time.</p></main>\
<aside class=\"slot\" aria-label=\"Advertisement\"><iframe id=\"ad-server\" title=\"Advertisement\" src=\"{ads}/adserver/frame?placement={id}\"></iframe></aside></div></body></html>"
    ))
    .into_response()
}

/// The ad server's frame (as SafeFrame does): it frames the creative at the
/// slot's size.
async fn ad_server_frame(Query(q): Query<PlacementQuery>) -> Response {
    let Some(id) = placement_or(&q, None) else {
        return missing("placement");
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ad</title>\
<style>body{{margin:0}}iframe{{border:0;width:300px;height:250px;display:block}}</style></head>\
<body><iframe id=\"creative\" title=\"Advertisement\" src=\"/adserver/creative?placement={id}\"></iframe></body></html>"
    ))
    .into_response()
}

/// The creative the ad server serves: the same `index.html` as the placement's
/// IAB creative zip.
async fn ad_server_creative(
    State(p): State<Arc<DemoPages>>,
    Query(q): Query<PlacementQuery>,
) -> Response {
    let Some(id) = placement_or(&q, None).and_then(|id| anycart_core::PlacementId::parse(&id).ok())
    else {
        return missing("placement");
    };
    let landing = format!("{}/buy/{id}", p.base_url);
    Html(crate::routes::admin::creative::creative_html(
        &p.base_url,
        id,
        (300, 250),
        &landing,
    ))
    .into_response()
}

/// Serves the demo pages on their own listener until the process exits.
pub async fn serve(listener: tokio::net::TcpListener, pages: DemoPages) -> std::io::Result<()> {
    axum::serve(listener, router(pages)).await
}

fn svg(name: &str) -> Option<&'static str> {
    Some(match name {
        "tee" => {
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><rect width="120" height="120" fill="#eef3f8"/><path d="M40 25l-22 14 9 16 10-5v45h46V50l10 5 9-16-22-14c-4 8-11 12-20 12s-16-4-20-12z" fill="#2b6cb0"/></svg>"##
        }
        "bottle" => {
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><rect width="120" height="120" fill="#eef8f1"/><rect x="48" y="14" width="24" height="12" rx="3" fill="#2f855a"/><rect x="40" y="26" width="40" height="82" rx="12" fill="#38a169"/></svg>"##
        }
        "sneaker" => {
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 120"><rect width="120" height="120" fill="#fdf2f2"/><path d="M14 78c0-10 6-22 14-26l18 8 12-6 26 14c10 3 22 6 24 14v6H14z" fill="#c53030"/><rect x="14" y="84" width="94" height="8" fill="#1a202c"/></svg>"##
        }
        _ => return None,
    })
}

/// Routes serving the demo product images (on the API origin).
pub fn images() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(demo_image))
}

/// A product image of the demo catalogue (`tee.svg`, `bottle.svg`, `sneaker.svg`).
#[utoipa::path(get, path = "/assets/demo/{name}", tag = "Pages",
    params(("name" = String, Path, description = "e.g. `tee.svg`")),
    responses((status = 200, content_type = "image/svg+xml", description = "The image"), (status = 404, description = "No such image")))]
async fn demo_image(Path(name): Path<String>) -> Response {
    match name.strip_suffix(".svg").and_then(svg) {
        Some(body) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
