//! Server-rendered pages: the landing page, the public order-status page that ACP
//! `permalink_url` points to, the API reference (`/docs`, `/openapi.json`) and the
//! demo's product images. The demo's host pages run on their own listener
//! ([`demo::serve`]).

pub mod demo;
pub mod docs;
pub mod manual;
pub mod surfaces;

use crate::state::AppState;
use anycart_core::order::Order;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The page routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(landing))
        .routes(routes!(order_status))
        .routes(routes!(openapi_json))
        .merge(docs::router())
        .merge(manual::router())
        .merge(demo::images())
}

/// This document: every route of the server, OpenAPI 3.1.
#[utoipa::path(get, path = "/openapi.json", tag = "Pages",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(
    axum::Extension(doc): axum::Extension<std::sync::Arc<utoipa::openapi::OpenApi>>,
) -> axum::Json<std::sync::Arc<utoipa::openapi::OpenApi>> {
    axum::Json(doc)
}

/// Escapes text for HTML (shared with the confirmation emails).
pub use anycart_core::text::escape_html as escape;

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}table{width:100%;border-collapse:collapse}td{padding:.35rem 0;border-bottom:1px solid #eee}td.n{text-align:right}h1{font-size:1.5rem}.muted{color:#666}";

/// A small server-rendered page (also the Shopify install's refusals).
pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    ))
}

/// What this server is and where to go next.
#[utoipa::path(get, path = "/", tag = "Pages",
    responses((status = 200, content_type = "text/html", description = "The landing page")))]
async fn landing(State(state): State<AppState>) -> Html<String> {
    let base = escape(&state.config.base_url);
    page(
        "anycart",
        &format!(
            "<h1>anycart is running</h1><p>Distributed checkout: buy anywhere, order lands in the merchant's platform.</p><ul>\
             <li><a href=\"{base}/manual/\">The manual</a></li>\
             <li><a href=\"{base}/docs\">API reference</a> (OpenAPI at <a href=\"{base}/openapi.json\">/openapi.json</a>)</li>\
             <li><a href=\"{base}/healthz\">/healthz</a> · <a href=\"{base}/metrics\">/metrics</a></li></ul>\
             <p class=\"muted\">Checkout API: <code>POST {base}/checkout_sessions</code> with <code>Authorization: Bearer pk_…</code>, <code>API-Version: 2026-04-17</code> and an <code>Idempotency-Key</code>.</p>"
        ),
    )
}

fn order_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Order not found", "<h1>Order not found</h1>"),
    )
        .into_response()
}

/// The order-status page ACP's `permalink_url` points to, for a shopper (or agent).
#[utoipa::path(get, path = "/orders/{token}", tag = "Pages",
    params(("token" = String, Path, description = "The order's secret page token")),
    responses((status = 200, content_type = "text/html", description = "The order, its totals and status"),
              (status = 404, content_type = "text/html", description = "No such order")))]
async fn order_status(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if token.len() > ORDER_TOKEN_CHARS_MAX || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return order_not_found();
    }
    let order = match state.store.get_order_by_token(&token).await {
        Ok(Some(r)) => r.order,
        Ok(None) => return order_not_found(),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    // The page is still useful without the shop's name.
    let merchant = state
        .store
        .get_merchant(order.merchant_id)
        .await
        .ok()
        .flatten()
        .map(|m| m.name)
        .unwrap_or_default();
    order_page(&order, &merchant).into_response()
}

/// Longest order-page token looked up (they are 48 hex digits).
const ORDER_TOKEN_CHARS_MAX: usize = 128;

fn order_page(o: &Order, merchant: &str) -> Html<String> {
    page(
        &format!("Order {}", o.display_number()),
        &format!(
            "<h1>Order {} — {}</h1><p class=\"muted\">{} · placed {}</p><table>{}</table>{}<p>Status: <strong>{}</strong></p>",
            escape(&o.display_number()),
            escape(merchant),
            escape(&o.id.to_string()),
            escape(&anycart_checkout::clock::rfc3339(o.created_at_ms)),
            order_rows(o),
            ships_to(o),
            o.status.as_str()
        ),
    )
}

/// One row per line, then discount, shipping, tax and total.
fn order_rows(o: &Order) -> String {
    let money = |m: i64| escape(&o.currency.format_minor(m));
    let mut rows = String::new();
    for l in &o.lines {
        rows.push_str(&format!(
            "<tr><td>{} × {}</td><td class=\"n\">{}</td></tr>",
            l.quantity.get(),
            escape(&l.title),
            money(l.unit_price.amount_minor * i64::from(l.quantity.get()))
        ));
    }
    let t = o.totals;
    if t.discount_minor > 0 {
        rows.push_str(&format!(
            "<tr><td>Discount</td><td class=\"n\">−{}</td></tr>",
            money(t.discount_minor)
        ));
    }
    let shipping = o
        .shipping_title
        .as_deref()
        .map(|s| format!(" ({})", escape(s)))
        .unwrap_or_default();
    rows.push_str(&format!(
        "<tr><td>Shipping{shipping}</td><td class=\"n\">{}</td></tr><tr><td>Tax</td><td class=\"n\">{}</td></tr><tr><td><strong>Total</strong></td><td class=\"n\"><strong>{}</strong></td></tr>",
        money(t.fulfillment_minor),
        money(t.tax_minor),
        money(t.total_minor)
    ));
    rows
}

fn ships_to(o: &Order) -> String {
    o.fulfillment
        .address
        .as_ref()
        .map(|a| {
            format!(
                "<p>Ships to: {}, {}, {} {}, {}</p>",
                escape(&a.name),
                escape(&a.line_one),
                escape(&a.city),
                escape(&a.postal_code),
                escape(a.country.as_ref())
            )
        })
        .unwrap_or_default()
}
