//! Wire requests → validated domain inputs. Every refusal is a 400 naming the field.

use crate::acp::wire::{
    AddressWire, BuyerRequest, DiscountsRequest, FulfillmentDetailsRequest, ItemRequest,
};
use crate::error::ApiError;
use anycart_core::inventory::SESSION_LINES_MAX;
use anycart_core::pricing::{DISCOUNT_CODE_LEN_MAX, DISCOUNT_CODES_MAX};
use anycart_core::session::{Buyer, Fulfillment};
use anycart_core::values::required_text;
use anycart_core::{Address, Email, Quantity, VariantId};

/// A requested line: which variant, how many.
pub type LineRequest = (VariantId, Quantity);

/// Parses `line_items` (1 to [`SESSION_LINES_MAX`] entries).
pub fn line_items(items: &[ItemRequest]) -> Result<Vec<LineRequest>, ApiError> {
    if items.is_empty() {
        return Err(
            ApiError::bad_request("missing", "At least one line item is required.")
                .with_param("$.line_items"),
        );
    }
    if items.len() > SESSION_LINES_MAX {
        return Err(ApiError::bad_request(
            "too_many_line_items",
            format!("At most {SESSION_LINES_MAX} line items are allowed."),
        )
        .with_param("$.line_items"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let id = VariantId::parse(item.id.trim()).map_err(|_| {
                ApiError::bad_request(
                    "invalid_item_id",
                    format!(
                        "The item ID '{}' does not exist.",
                        item.id.chars().take(64).collect::<String>()
                    ),
                )
                .with_param(format!("$.line_items[{i}].id"))
            })?;
            let qty = Quantity::parse(item.quantity.unwrap_or(1)).map_err(|e| {
                ApiError::bad_request("invalid_quantity", e.to_string())
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
            ApiError::bad_request("invalid", e.to_string()).with_param(param.to_string())
        }),
    }
}

fn email(value: Option<&String>, param: &str) -> Result<Option<Email>, ApiError> {
    match value.map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Email::parse(v).map(Some).map_err(|e| {
            ApiError::bad_request("invalid_email", e.to_string()).with_param(param.to_string())
        }),
    }
}

/// Merges a buyer update into the current buyer (absent fields keep their value).
pub fn buyer(current: &Buyer, update: &BuyerRequest) -> Result<Buyer, ApiError> {
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
        email: email(update.email.as_ref(), "$.buyer.email")?.or_else(|| current.email.clone()),
        first_name: optional_text("first_name", first.as_ref(), "$.buyer.first_name")?
            .or_else(|| current.first_name.clone()),
        last_name: optional_text("last_name", last.as_ref(), "$.buyer.last_name")?
            .or_else(|| current.last_name.clone()),
        phone_number: optional_text(
            "phone_number",
            update.phone_number.as_ref(),
            "$.buyer.phone_number",
        )?
        .or_else(|| current.phone_number.clone()),
    })
}

/// Validates an ACP address.
pub fn address(a: &AddressWire, param: &str) -> Result<Address, ApiError> {
    Address::parse(
        &a.name,
        &a.line_one,
        a.line_two.as_deref(),
        &a.city,
        &a.state,
        &a.country,
        &a.postal_code,
    )
    .map_err(|e| {
        ApiError::bad_request("invalid_address", e.to_string()).with_param(param.to_string())
    })
}

/// Merges a fulfillment update into the current details.
pub fn fulfillment(
    current: &Fulfillment,
    update: &FulfillmentDetailsRequest,
) -> Result<Fulfillment, ApiError> {
    Ok(Fulfillment {
        name: optional_text("name", update.name.as_ref(), "$.fulfillment_details.name")?
            .or_else(|| current.name.clone()),
        email: email(update.email.as_ref(), "$.fulfillment_details.email")?
            .or_else(|| current.email.clone()),
        phone_number: optional_text(
            "phone_number",
            update.phone_number.as_ref(),
            "$.fulfillment_details.phone_number",
        )?
        .or_else(|| current.phone_number.clone()),
        address: match &update.address {
            Some(a) => Some(address(a, "$.fulfillment_details.address")?),
            None => current.address.clone(),
        },
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
        return Err(ApiError::bad_request(
            "too_many_codes",
            format!("At most {DISCOUNT_CODES_MAX} discount codes are allowed."),
        )
        .with_param(param));
    }
    for (i, code) in list.iter().enumerate() {
        if code.trim().is_empty() || code.len() > DISCOUNT_CODE_LEN_MAX {
            return Err(ApiError::bad_request(
                "invalid_code",
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
            Err(ApiError::bad_request(
                "invalid_locale",
                "locale must be a BCP 47 tag such as en-US.",
            )
            .with_param("$.locale"))
        }
        other => Ok(other.cloned()),
    }
}
