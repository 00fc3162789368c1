//! The conformance (test) mode: what the official UCP conformance suite needs
//! and a production server never enables (`--ucp-test-mode`, which also needs a
//! simulation secret):
//!
//! - the suite's payment handlers (`mock_payment_handler`, `google_pay`,
//!   `shop_pay`), mapped onto the sandbox with its test tokens
//!   (`success_token` pays, `fail_token` is declined);
//! - an address book: a known buyer's saved addresses are offered by email, a
//!   new address without an id is saved and one matching a saved address gets
//!   its id (in production an open door must never show a stranger's
//!   addresses to whoever types an email);
//! - `POST /testing/simulate-shipping/{order_id}` behind `Simulation-Secret`,
//!   which ships an order as a merchant would (and sends `order_shipped`);
//! - `http://localhost` agent profiles and webhook URLs, and destinations with
//!   no street (the suite completes orders shipping to a bare country).

use super::door::open_door;
use super::error::{InVersion, UcpError, UcpResult};
use super::orders;
use super::payment::Handler;
use super::state::Destination;
use super::version::UcpVersion;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_core::{MerchantId, OrderId};
use anycart_store::UcpTestAddress;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde_json::json;

/// The suite's handlers, all paid through the sandbox.
pub fn handlers(docs: &str, merchant: MerchantId) -> Vec<Handler> {
    let handler = |id: &str, name: &str, config: serde_json::Value| Handler {
        id: id.into(),
        name: name.into(),
        spec: docs.to_string(),
        config_schema: docs.to_string(),
        instrument_schemas: vec![
            "https://ucp.dev/schemas/shopping/types/card_payment_instrument.json".into(),
        ],
        config,
        test_tokens: true,
    };
    vec![
        handler(
            "mock_payment_handler",
            "dev.anycart.mock_payment_handler",
            json!({"test_mode": true, "tokens": {"success_token": "authorised", "fail_token": "declined"}}),
        ),
        handler(
            "google_pay",
            "com.google.pay",
            json!({"test_mode": true, "api_version": 2, "api_version_minor": 0, "merchant_info": {"merchant_id": merchant.to_string()}}),
        ),
        handler(
            "shop_pay",
            "com.shopify.shop_pay",
            json!({"test_mode": true, "shop_id": merchant.to_string()}),
        ),
    ]
}

/// The sandbox token behind a test handler's token: `success_token` is a card
/// that pays, `fail_token` one that is declined; anything else is passed on
/// (sandbox tokens such as `tok_visa` work too).
pub fn sandbox_token(token: &str) -> &str {
    match token {
        "success_token" => "tok_visa",
        "fail_token" => "tok_chargeDeclinedInsufficientFunds",
        other => other,
    }
}

/// A buyer's saved addresses (their ids are the book's).
pub async fn saved_destinations(
    state: &AppState,
    merchant: MerchantId,
    email: &str,
) -> Result<Vec<Destination>, ApiError> {
    let saved = state.store.ucp_test_addresses(merchant, email).await?;
    Ok(saved
        .into_iter()
        .filter_map(|a| {
            let mut d: Destination = serde_json::from_str(&a.doc).ok()?;
            d.id = Some(a.id);
            Some(d)
        })
        .collect())
}

/// Gives an id-less destination of a known buyer its id: the saved address it
/// matches, else a new one it is saved under.
pub async fn remember(
    state: &AppState,
    merchant: MerchantId,
    email: &str,
    destination: &mut Destination,
) -> Result<(), ApiError> {
    if destination.id.is_some() {
        return Ok(());
    }
    let saved = saved_destinations(state, merchant, email).await?;
    if let Some(same) = saved.iter().find(|s| s.same_place(destination)) {
        destination.id = same.id.clone();
        return Ok(());
    }
    let id = format!("addr_{}", uuid::Uuid::now_v7().simple());
    destination.id = Some(id.clone());
    let doc = serde_json::to_string(&Destination {
        id: None,
        ..destination.clone()
    })
    .unwrap_or_default();
    state
        .store
        .put_ucp_test_address(
            merchant,
            &UcpTestAddress {
                id,
                email: email.to_string(),
                doc,
            },
            state.now_ms(),
        )
        .await?;
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_tokens_map_onto_sandbox_outcomes() {
        assert_eq!(sandbox_token("success_token"), "tok_visa");
        assert_eq!(
            sandbox_token("fail_token"),
            "tok_chargeDeclinedInsufficientFunds"
        );
        assert_eq!(sandbox_token("tok_visa"), "tok_visa");
    }
}
