//! `/widget/waiting_room`: the line in front of a hot variant (publishable or
//! secret key). Join it, ask where you stand (every couple of seconds), and once
//! admitted start the checkout with the ticket in the `Anycart-Waiting-Room-Ticket`
//! header ([`crate::extract::waiting_room_ticket`]). The rules are
//! [`anycart_checkout::waiting_room`]; this is the wire.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::routes::acp::wire::ErrorWire;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::waiting_room::{POLL_INTERVAL_MS, Place};
use anycart_checkout::{CheckoutError, Resource};
use anycart_core::VariantId;
use anycart_store::TicketState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(join))
        .routes(routes!(place))
}

/// `POST /widget/waiting_room`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The variant behind the waiting room (`var_…`).
    pub variant_id: String,
}

/// Where a ticket stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceWire {
    /// `wrt_…`: ask about it, then start the checkout with it.
    pub ticket: String,
    pub variant_id: String,
    /// `waiting`, `admitted`, `used` or `lapsed` (left the line: join again).
    pub status: &'static str,
    /// Place in line, 1 for the next; 0 once admitted.
    pub position: i64,
    /// Admitted: start the checkout before this instant (RFC 3339).
    pub admitted_until: Option<String>,
    /// How often to ask again, in milliseconds (a ticket not asked about for a
    /// while leaves the line).
    pub poll_after_ms: i64,
}

fn place_wire(p: Place) -> PlaceWire {
    PlaceWire {
        ticket: p.ticket,
        variant_id: p.variant_id.to_string(),
        status: match p.state {
            TicketState::Waiting => "waiting",
            TicketState::Admitted => "admitted",
            TicketState::Used => "used",
            TicketState::Lapsed => "lapsed",
        },
        position: p.position,
        admitted_until: p.admitted_until_ms.map(rfc3339),
        poll_after_ms: POLL_INTERVAL_MS,
    }
}

/// Join the waiting room of a variant (a client joining again keeps its place).
#[utoipa::path(post, path = "/widget/waiting_room", tag = "Widget", request_body = JoinRequest,
    responses((status = 201, body = PlaceWire), (status = 404, body = ErrorWire, description = "No such variant, or it has no waiting room")),
    security(("bearer" = [])))]
async fn join(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<JoinRequest>,
) -> Result<(StatusCode, Json<PlaceWire>), ApiError> {
    let variant = VariantId::parse(&body.value.variant_id).map_err(|_| {
        ApiError::from(CheckoutError::NotFound(Resource::Variant)).with_param("$.variant_id")
    })?;
    let place = state
        .checkout
        .join_waiting_room(caller.merchant, variant, caller.client.as_ref())
        .await?;
    Ok((StatusCode::CREATED, Json(place_wire(place))))
}

/// Where a ticket stands (and whether it is admitted now).
#[utoipa::path(get, path = "/widget/waiting_room/{ticket}", tag = "Widget",
    params(("ticket" = String, Path, description = "`wrt_…`")),
    responses((status = 200, body = PlaceWire), (status = 404, body = ErrorWire)),
    security(("bearer" = [])))]
async fn place(
    State(state): State<AppState>,
    caller: Caller,
    Path(ticket): Path<String>,
) -> Result<Json<PlaceWire>, ApiError> {
    let place = state
        .checkout
        .waiting_room_place(caller.merchant, &ticket)
        .await?;
    Ok(Json(place_wire(place)))
}
