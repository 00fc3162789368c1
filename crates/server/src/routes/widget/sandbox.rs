//! `POST /v1/sandbox/tokens`: turns sandbox card fields typed inside the iframe
//! into a payment token. The number is never logged or stored.

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_payments::sandbox::tokenize_card;
use axum::extract::State;
use serde::{Deserialize, Serialize};

/// Sandbox card fields. Deliberately not `Debug`: the number must never reach a log.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardFields {
    /// A sandbox test card number (spaces and dashes allowed).
    pub number: String,
    /// 1–12.
    pub exp_month: u32,
    /// Two or four digits; must not be in the past.
    pub exp_year: u32,
    /// 3 or 4 digits; checked for shape only and then dropped.
    pub cvc: String,
}

/// A payment token for `payment_data.instrument.credential.token`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenWire {
    /// The sandbox token, e.g. `tok_visa`.
    pub token: &'static str,
}

/// Tokenise a sandbox test card (publishable key). The number is never stored or logged.
#[utoipa::path(post, path = "/sandbox/tokens", tag = "Widget", request_body = CardFields,
    responses((status = 200, body = TokenWire), (status = "4XX", body = crate::routes::acp::wire::ErrorWire)),
    security(("bearer" = [])))]
pub async fn sandbox_token(
    State(state): State<AppState>,
    _caller: Caller,
    body: AcpJson<CardFields>,
) -> Result<axum::Json<TokenWire>, ApiError> {
    let card = body.value;
    let bad = |param: &str, msg: &str| {
        ApiError::new(ErrorCode::InvalidCard, msg.to_string()).with_param(param.to_string())
    };
    if !(1..=12).contains(&card.exp_month) {
        return Err(bad("$.exp_month", "The expiry month must be 1–12."));
    }
    let year = if card.exp_year < 100 {
        2000 + card.exp_year
    } else {
        card.exp_year
    };
    let now = time::OffsetDateTime::from_unix_timestamp(state.now_ms() / 1000)
        .map_err(|e| ApiError::internal(format!("clock out of range: {e}")))?;
    let this_year = u32::try_from(now.year()).unwrap_or(0);
    let this_month = u32::from(u8::from(now.month()));
    if year < this_year
        || (year == this_year && card.exp_month < this_month)
        || year > this_year + 20
    {
        return Err(bad(
            "$.exp_year",
            "The card has expired or the expiry year is not valid.",
        ));
    }
    if !(3..=4).contains(&card.cvc.len()) || !card.cvc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("$.cvc", "The security code is 3 or 4 digits."));
    }
    let token = tokenize_card(&card.number).map_err(|e| bad("$.number", &e.to_string()))?;
    Ok(axum::Json(TokenWire { token }))
}
