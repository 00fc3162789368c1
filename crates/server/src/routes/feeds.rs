//! The product feed (ACP product feeds) as JSON Lines: `GET
//! /v1/feeds/products.jsonl`, one ACP `Product` per line, every product on
//! sale with each variant's live availability. Any of the merchant's keys reads
//! it (an agent platform's `ak_…` too): it is what agents may show anyway.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_connectors::agent_feed::convert;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The media type of the export.
pub const JSONL: &str = "application/jsonl; charset=utf-8";

/// The feed routes, mounted under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(products_jsonl))
}

/// Every product on sale, one ACP feed `Product` per line, with live
/// availability (`in_stock`, `limited_stock`, `out_of_stock`). Variant ids are
/// the item ids `POST /checkout_sessions` takes.
#[utoipa::path(get, path = "/feeds/products.jsonl", tag = "Checkout",
    responses((status = 200, content_type = "application/jsonl", body = String, description = "One ACP feed Product per line"), (status = 401, body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
async fn products_jsonl(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let feed = state.checkout.product_feed(caller.merchant, false).await?;
    let mut body = String::new();
    for p in &feed.products {
        let line = serde_json::to_string(&convert::product(p, &feed.available, &feed.seller))
            .map_err(|e| ApiError::internal(format!("feed line: {e}")))?;
        body.push_str(&line);
        body.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, JSONL),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    ))
}
