//! `GET /availability/stream?key=pk_…&variants=var_a,var_b`: live stock as
//! server-sent events (EventSource cannot send headers, so the publishable key
//! rides in the query). First the current figure of each variant, then one event
//! per change: `event: availability` / `data: {"variant_id":"var_…","available":N}`.
//! The subscription is [`anycart_checkout::availability`]'s.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::routes::acp::wire::ErrorWire;
use crate::state::AppState;
use anycart_checkout::CheckoutError;
use anycart_checkout::availability::STREAM_VARIANTS_MAX;
use anycart_core::VariantId;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How often an idle stream sends a comment, so proxies keep it open.
pub const KEEP_ALIVE_MS: u64 = 15_000;
// Changes found by polling reach a stream before proxies see it idle.
const _: () = assert!(anycart_checkout::availability::POLL_INTERVAL_MS < KEEP_ALIVE_MS);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// Query of the stream endpoint.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StreamQuery {
    /// A publishable (or secret) key of the merchant.
    pub key: Option<String>,
    /// Comma-separated variant ids (1 to 20).
    pub variants: Option<String>,
}

/// The `data` of one `availability` event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityEvent {
    pub variant_id: String,
    /// Units free to hold right now across locations (never negative).
    pub available: i64,
}

fn event(variant: VariantId, available: i64) -> Result<Event, Infallible> {
    let data = AvailabilityEvent {
        variant_id: variant.to_string(),
        available: available.max(0),
    };
    Ok(Event::default()
        .event("availability")
        .json_data(&data)
        .unwrap_or_else(|_| Event::default().comment("unserialisable")))
}

fn variants_param(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidVariants, message).with_param("variants")
}

/// The requested variant ids, parsed and bounded.
fn requested(raw: Option<&str>) -> Result<Vec<VariantId>, ApiError> {
    let ids: Vec<&str> = raw
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if ids.is_empty() || ids.len() > STREAM_VARIANTS_MAX {
        return Err(variants_param(format!(
            "Give 1 to {STREAM_VARIANTS_MAX} comma-separated variant ids."
        )));
    }
    ids.iter()
        .map(|v| {
            VariantId::parse(v).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidItemId,
                    format!(
                        "Unknown variant `{}`.",
                        v.chars().take(64).collect::<String>()
                    ),
                )
                .with_param("variants")
            })
        })
        .collect()
}

/// Live stock of up to 20 variants as server-sent events: the current figure of
/// each, then every change (`event: availability`, `data` an [`AvailabilityEvent`]).
#[utoipa::path(get, path = "/availability/stream", tag = "Widget", params(StreamQuery),
    responses((status = 200, content_type = "text/event-stream", body = AvailabilityEvent,
               description = "A stream of `availability` events whose `data` is this object"),
              (status = "4XX", body = ErrorWire)))]
pub async fn stream(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let key = q
        .key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey, "The key is not valid."))?;
    let caller = Caller::from_key(&state, key, None).await?;
    let ids = requested(q.variants.as_deref())?;
    let live = state
        .checkout
        .watch_stock(caller.merchant, &ids)
        .await
        .map_err(|e| match e {
            CheckoutError::UnknownItem { .. } => ApiError::new(
                ErrorCode::InvalidItemId,
                "One of the variants does not exist.",
            )
            .with_param("variants"),
            other => other.into(),
        })?;
    let first: Vec<_> = live
        .initial
        .iter()
        .map(|(v, available)| event(*v, *available))
        .collect();
    let filter = live.filter;
    let updates = BroadcastStream::new(live.changes).filter_map(move |msg| match msg {
        Ok(c) if filter.concerns(&c) => Some(event(c.variant, c.available)),
        _ => None,
    });
    Ok(Sse::new(tokio_stream::iter(first).chain(updates))
        .keep_alive(KeepAlive::new().interval(Duration::from_millis(KEEP_ALIVE_MS))))
}
