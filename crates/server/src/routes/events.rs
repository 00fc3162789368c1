//! Funnel events in: `POST /events`, what the widget sends (batched, with
//! `navigator.sendBeacon`, so the key travels in the body: a beacon cannot set
//! headers). The iframe page signed the view; the service checks the signature,
//! the placement's own key, counts each step once per view and drops bots.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::analytics::EventReport;
use anycart_core::PlacementId;
use anycart_core::funnel::{DropReason, FunnelEvent, FunnelStep};
use anycart_store::EVENTS_PER_REPORT_MAX;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_events))
        .routes(routes!(post_view))
}

/// `POST /widget/views`: which placement an app built on the SDK shows.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewRequest {
    /// `plc_…`; the bearer key must be this placement's own publishable key.
    pub placement: String,
}

/// A signed view for an app or game built on the SDK, which has no iframe page
/// to embed one: its funnel events (`POST /events`) carry it. Anyone holding the
/// placement's publishable key could load the iframe page and get a view just as
/// well, so this grants nothing new; the view only makes a report countable once.
#[utoipa::path(post, path = "/widget/views", tag = "Analytics", request_body = ViewRequest,
    security(("bearer" = [])),
    responses((status = 201, body = crate::routes::widget::page::WidgetView),
        (status = 400, body = crate::routes::acp::wire::ErrorWire),
        (status = 401, body = crate::routes::acp::wire::ErrorWire),
        (status = 404, body = crate::routes::acp::wire::ErrorWire)))]
pub async fn post_view(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<ViewRequest>,
) -> Result<(StatusCode, Json<crate::routes::widget::page::WidgetView>), ApiError> {
    let placement = PlacementId::parse(&body.value.placement)
        .map_err(|e| ApiError::invalid("$.placement", e.to_string()))?;
    if caller.placement != Some(placement) {
        return Err(ApiError::new(
            crate::error::ErrorCode::InvalidApiKey,
            "Views are issued to the placement's own publishable key.",
        ));
    }
    let enabled = state
        .store
        .get_placement(caller.merchant, placement)
        .await?
        .is_some_and(|p| p.enabled);
    if !enabled {
        return Err(ApiError::new(
            crate::error::ErrorCode::NotFound,
            "This placement does not exist or is disabled.",
        ));
    }
    let ticket = state.checkout.issue_view(placement);
    Ok((
        StatusCode::CREATED,
        Json(crate::routes::widget::page::WidgetView {
            view_id: ticket.view_id,
            view_token: ticket.view_token,
        }),
    ))
}

/// One event: a step reached, or `left` with the reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventWire {
    /// `impression`, `opened`, `checkout_started`, `contact`, `shipping`,
    /// `payment_attempted`, `paid`, or `left`.
    pub step: String,
    /// With `left`: `closed`, `out_of_stock`, `declined`, `price_changed`,
    /// `three_ds_failed`, `hold_expired` or `limit_reached`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /events`: a batch of one view's events.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsBody {
    /// The placement's own publishable key (a beacon cannot send headers).
    pub key: String,
    pub placement: String,
    /// The view id and token the iframe page was given.
    pub view_id: String,
    pub view_token: String,
    #[schema(max_items = 16)]
    pub events: Vec<EventWire>,
}

/// What was counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsAccepted {
    pub counted: u64,
    /// Events of this view already counted (replays count nothing).
    pub duplicates: u64,
    /// True when the sender looked like a robot: nothing was counted.
    pub dropped: bool,
}

fn parse_event(e: &EventWire, i: usize) -> Result<FunnelEvent, ApiError> {
    let param = format!("$.events[{i}]");
    match (e.step.as_str(), e.reason.as_deref()) {
        ("left", Some(r)) => DropReason::parse(r)
            .map(FunnelEvent::Left)
            .ok_or_else(|| ApiError::invalid(&format!("{param}.reason"), "unknown reason")),
        ("left", None) => Err(ApiError::invalid(
            &format!("{param}.reason"),
            "`left` needs a reason",
        )),
        (s, None) => FunnelStep::parse(s)
            .map(FunnelEvent::Step)
            .ok_or_else(|| ApiError::invalid(&format!("{param}.step"), "unknown step")),
        (_, Some(_)) => Err(ApiError::invalid(
            &format!("{param}.reason"),
            "only `left` has a reason",
        )),
    }
}

/// Report funnel events of one widget view (no cookies, nothing personal).
#[utoipa::path(post, path = "/events", tag = "Analytics", request_body = EventsBody,
    responses((status = 202, body = EventsAccepted), (status = 400, body = crate::routes::acp::wire::ErrorWire),
        (status = 401, body = crate::routes::acp::wire::ErrorWire), (status = 403, body = crate::routes::acp::wire::ErrorWire)))]
pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: AcpJson<EventsBody>,
) -> Result<(StatusCode, Json<EventsAccepted>), ApiError> {
    let b = body.value;
    if b.key.len() > anycart_checkout::keys::PRESENTED_KEY_LEN_MAX {
        return Err(ApiError::invalid("$.key", "not an API key"));
    }
    // No client address: events are not throttled per client (they are counted
    // once per signed view, so repeating them gains nothing).
    let caller = Caller::from_key(&state, &b.key, None).await?;
    let placement = PlacementId::parse(&b.placement)
        .map_err(|e| ApiError::invalid("$.placement", e.to_string()))?;
    if b.events.is_empty() || b.events.len() > EVENTS_PER_REPORT_MAX {
        return Err(ApiError::invalid(
            "$.events",
            format!("a report carries 1 to {EVENTS_PER_REPORT_MAX} events"),
        ));
    }
    if b.view_id.len() != 32 || !b.view_id.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::invalid("$.view_id", "not a view id"));
    }
    if b.view_token.len() > 128 {
        return Err(ApiError::invalid("$.view_token", "not a view token"));
    }
    let events = b
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| parse_event(e, i))
        .collect::<Result<Vec<_>, _>>()?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let outcome = state
        .checkout
        .record_funnel_events(
            caller.merchant,
            caller.placement,
            user_agent,
            EventReport {
                placement,
                view_id: b.view_id,
                view_token: b.view_token,
                events,
            },
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(EventsAccepted {
            counted: outcome.counted,
            duplicates: outcome.duplicates,
            dropped: outcome.dropped_as_bot,
        }),
    ))
}
