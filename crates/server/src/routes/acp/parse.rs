//! Wire requests → validated domain inputs. Every refusal is a 400 naming the field.

use crate::error::{ApiError, ErrorCode};
use crate::routes::acp::wire::{
    AddressWire, BuyerRequest, CompleteSessionRequest, DiscountsRequest, FulfillmentDetailsRequest,
    ItemRequest, UpdateSessionRequest,
};
use anycart_checkout::LineRequest;
use anycart_checkout::PaymentInput;
use anycart_core::inventory::SESSION_LINES_MAX;
use anycart_core::pricing::{DISCOUNT_CODE_LEN_MAX, DISCOUNT_CODES_MAX};
use anycart_core::session::{Buyer, Fulfillment};
use anycart_core::values::required_text;
use anycart_core::{Address, Email, Quantity, ShippingRateId, VariantId};

/// Parses `line_items` (1 to [`SESSION_LINES_MAX`] entries).
pub fn line_items(items: &[ItemRequest]) -> Result<Vec<LineRequest>, ApiError> {
    if items.is_empty() {
        return Err(
            ApiError::new(ErrorCode::Missing, "At least one line item is required.")
                .with_param("$.line_items"),
        );
    }
    if items.len() > SESSION_LINES_MAX {
        return Err(ApiError::new(
            ErrorCode::TooManyLineItems,
            format!("At most {SESSION_LINES_MAX} line items are allowed."),
        )
        .with_param("$.line_items"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let id = VariantId::parse(item.id.trim()).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidItemId,
                    format!(
                        "The item ID '{}' does not exist.",
                        item.id.chars().take(64).collect::<String>()
                    ),
                )
                .with_param(format!("$.line_items[{i}].id"))
            })?;
            let qty = Quantity::parse(item.quantity.unwrap_or(1)).map_err(|e| {
                ApiError::new(ErrorCode::InvalidQuantity, e.to_string())
                    .with_param(format!("$.line_items[{i}].quantity"))
            })?;
            Ok((id, qty))
        })
        .collect()
}

fn optional_text(
    field: &'static str,
    value: Option<&String>,
    param: &str,
) -> Result<Option<String>, ApiError> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => required_text(field, v).map(Some).map_err(|e| {
            ApiError::new(ErrorCode::Invalid, e.to_string()).with_param(param.to_string())
        }),
    }
}

fn email(value: Option<&String>, param: &str) -> Result<Option<Email>, ApiError> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Email::parse(v).map(Some).map_err(|e| {
            ApiError::new(ErrorCode::InvalidEmail, e.to_string()).with_param(param.to_string())
        }),
    }
}

/// A buyer update: only the fields it names are set (the service merges it into
/// the session's buyer, keeping the rest).
pub fn buyer(update: &BuyerRequest) -> Result<Buyer, ApiError> {
    let (first, last) = match (&update.first_name, &update.last_name, &update.full_name) {
        (None, None, Some(full)) => {
            let mut parts = full.trim().splitn(2, ' ');
            (
                parts.next().map(String::from),
                parts.next().map(String::from),
            )
        }
        _ => (update.first_name.clone(), update.last_name.clone()),
    };
    Ok(Buyer {
        email: email(update.email.as_ref(), "$.buyer.email")?,
        first_name: optional_text("first_name", first.as_ref(), "$.buyer.first_name")?,
        last_name: optional_text("last_name", last.as_ref(), "$.buyer.last_name")?,
        phone_number: optional_text(
            "phone_number",
            update.phone_number.as_ref(),
            "$.buyer.phone_number",
        )?,
    })
}

/// Validates an ACP address. One without a street (`line_one` empty) is a
/// destination: a wallet's redacted address (city, state, postal code, country)
/// that prices shipping and tax while payment waits for the full address.
pub fn address(a: &AddressWire, param: &str) -> Result<Address, ApiError> {
    let parsed = if a.line_one.trim().is_empty() {
        Address::destination(&a.name, &a.city, &a.state, &a.country, &a.postal_code)
    } else {
        Address::parse(
            &a.name,
            &a.line_one,
            a.line_two.as_deref(),
            &a.city,
            &a.state,
            &a.country,
            &a.postal_code,
        )
    };
    parsed.map_err(|e| {
        ApiError::new(ErrorCode::InvalidAddress, e.to_string()).with_param(param.to_string())
    })
}

/// A fulfillment update: only the fields it names are set (merged like [`buyer`]).
pub fn fulfillment(update: &FulfillmentDetailsRequest) -> Result<Fulfillment, ApiError> {
    Ok(Fulfillment {
        name: optional_text("name", update.name.as_ref(), "$.fulfillment_details.name")?,
        email: email(update.email.as_ref(), "$.fulfillment_details.email")?,
        phone_number: optional_text(
            "phone_number",
            update.phone_number.as_ref(),
            "$.fulfillment_details.phone_number",
        )?,
        address: update
            .address
            .as_ref()
            .map(|a| address(a, "$.fulfillment_details.address"))
            .transpose()?,
    })
}

/// Discount codes from `discounts.codes` (preferred) or the deprecated `coupons`.
/// Returns `None` when neither was sent (keep the current codes).
pub fn codes(
    discounts: Option<&DiscountsRequest>,
    coupons: Option<&Vec<String>>,
) -> Result<Option<(Vec<String>, bool)>, ApiError> {
    let (list, from_coupons, param) = match (discounts, coupons) {
        (Some(d), _) => (&d.codes, false, "$.discounts.codes"),
        (None, Some(c)) => (c, true, "$.coupons"),
        (None, None) => return Ok(None),
    };
    if list.len() > DISCOUNT_CODES_MAX {
        return Err(ApiError::new(
            ErrorCode::TooManyCodes,
            format!("At most {DISCOUNT_CODES_MAX} discount codes are allowed."),
        )
        .with_param(param));
    }
    for (i, code) in list.iter().enumerate() {
        if code.trim().is_empty() || code.len() > DISCOUNT_CODE_LEN_MAX {
            return Err(ApiError::new(
                ErrorCode::InvalidCode,
                format!("Discount codes are 1 to {DISCOUNT_CODE_LEN_MAX} characters."),
            )
            .with_param(format!("{param}[{i}]")));
        }
    }
    Ok(Some((
        list.iter().map(|c| c.trim().to_string()).collect(),
        from_coupons,
    )))
}

/// Bounds a locale string (we only echo it).
pub fn locale(value: Option<&String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(l)
            if l.len() > 35
                || l.is_empty()
                || !l
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Err(ApiError::new(
                ErrorCode::InvalidLocale,
                "locale must be a BCP 47 tag such as en-US.",
            )
            .with_param("$.locale"))
        }
        other => Ok(other.cloned()),
    }
}

/// The interventions an agent says it can handle (`capabilities.interventions.supported`).
pub fn interventions(capabilities: Option<&serde_json::Value>) -> Vec<String> {
    capabilities
        .and_then(|c| c.pointer("/interventions/supported"))
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .filter(|s| s.len() <= 32)
                .take(8)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The shipping option an update selects (the first of `selected_fulfillment_options`).
pub fn selected_option(req: &UpdateSessionRequest) -> Result<Option<ShippingRateId>, ApiError> {
    match req.selected_fulfillment_options.as_deref() {
        None | Some([]) => Ok(None),
        Some([first, ..]) => ShippingRateId::parse(&first.option_id)
            .map(Some)
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidFulfillmentOption,
                    "Unknown fulfillment option id.",
                )
                .with_param("$.selected_fulfillment_options[0].option_id")
            }),
    }
}

/// Longest payment token accepted.
pub const PAYMENT_TOKEN_LEN_MAX: usize = 255;

/// How a complete request pays: its handler, its credential token, buyer details
/// sent with it, and a 3-D Secure outcome if it reports one.
pub fn payment(req: &CompleteSessionRequest) -> Result<PaymentInput, ApiError> {
    let instrument = req.payment_data.instrument.as_ref().ok_or_else(|| {
        ApiError::new(ErrorCode::Missing, "payment_data.instrument is required.")
            .with_param("$.payment_data.instrument")
    })?;
    let token = instrument.credential.token.trim();
    if token.is_empty() || token.len() > PAYMENT_TOKEN_LEN_MAX {
        return Err(ApiError::new(
            ErrorCode::InvalidPaymentToken,
            "The payment token is not valid.",
        )
        .with_param("$.payment_data.instrument.credential.token"));
    }
    Ok(PaymentInput {
        handler_id: req.payment_data.handler_id.clone().unwrap_or_default(),
        token: token.to_string(),
        buyer: req.buyer.as_ref().map(buyer).transpose()?,
        authenticated: req
            .authentication_result
            .as_ref()
            .map(|a| matches!(a.outcome.as_str(), "authenticated" | "attempt_acknowledged")),
        client: None,
    })
}
