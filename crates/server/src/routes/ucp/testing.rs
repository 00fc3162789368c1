//! The conformance (test) mode's simulation endpoint. The mode is what the
//! official UCP conformance suite needs and a production server never enables
//! (`--ucp-test-mode`, which also needs a simulation secret):
//!
//! - the suite's payment handlers, mapped onto the sandbox (`payment`);
//! - an address book offered by email (`address_book`);
//! - `POST /testing/simulate-shipping/{order_id}` behind `Simulation-Secret`
//!   (here), which ships an order as a merchant would (and sends
//!   `order_shipped`);
//! - `http://localhost` agent profiles and webhook URLs, and destinations with
//!   no street (the suite completes orders shipping to a bare country).

use super::door::open_door;
use super::error::{InVersion, UcpError, UcpResult};
use super::orders;
use super::version::UcpVersion;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_core::OrderId;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;

/// Whether `presented` is the configured simulation secret (compared in
/// constant time).
fn secret_matches(state: &AppState, presented: Option<&str>) -> bool {
    let (Some(expected), Some(presented)) =
        (state.ucp.settings.simulation_secret.as_ref(), presented)
    else {
        return false;
    };
    let (a, b) = (expected.expose_secret().as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ship an order (conformance mode only): records a `shipped` fulfillment event
/// for every line and sends `order_shipped`.
#[utoipa::path(post, path = "/ucp/{merchant_id}/testing/simulate-shipping/{order_id}", tag = "UCP",
    params(("merchant_id" = String, Path), ("order_id" = String, Path), ("Simulation-Secret" = String, Header)),
    responses((status = 200, body = Object), (status = 403, body = Object), (status = 404, body = Object)))]
pub async fn simulate_shipping(
    State(state): State<AppState>,
    Path((merchant, order)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let v = UcpVersion::DEFAULT;
        if !state.ucp.settings.test_mode {
            return Err(UcpError::new(ApiError::not_found("route"), v));
        }
        let presented = headers
            .get("simulation-secret")
            .and_then(|h| h.to_str().ok());
        if !secret_matches(&state, presented) {
            return Err(UcpError::new(
                ApiError::new(
                    ErrorCode::SimulationForbidden,
                    "Simulation-Secret is missing or wrong.",
                ),
                v,
            ));
        }
        let (merchant, _) = open_door(&state, &merchant, v).await?;
        let order = OrderId::parse(&order)
            .map_err(|_| ApiError::not_found("order"))
            .in_version(v)?;
        let shipped = orders::record_event(
            &state,
            merchant,
            order,
            orders::NewEvent::shipped_in_full("Shipped (simulated by the conformance mode)"),
        )
        .await?;
        UcpResult::Ok(axum::Json(shipped).into_response())
    };
    match run.await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
