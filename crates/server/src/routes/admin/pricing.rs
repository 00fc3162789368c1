//! Pricing admin: shipping zones and rates, tax rates, discount codes.

use super::wire::*;
use super::{invalid, money, text};
use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::ValidJson;
use crate::state::AppState;
use anycart_core::pricing::{
    Discount, DiscountKind, ShippingRate, ShippingZone, TaxRate, normalise_code,
};
use anycart_core::{CountryCode, DiscountId, ShippingRateId, ShippingZoneId, TaxRateId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

/// Most rates one shipping zone may have.
const RATES_PER_ZONE_MAX: usize = 20;

/// Create a shipping zone with rates.
#[utoipa::path(post, path = "/shipping_zones", tag = "Admin", request_body = NewShippingZone, responses((status = 201, body = Object)), security(("bearer" = [])))]
pub(super) async fn create_shipping_zone(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: ValidJson<NewShippingZone>,
) -> Result<(StatusCode, Json<ShippingZone>), ApiError> {
    let req = body.value;
    if req.rates.is_empty() || req.rates.len() > RATES_PER_ZONE_MAX {
        return Err(invalid(
            "$.rates",
            format!("a zone needs 1 to {RATES_PER_ZONE_MAX} rates"),
        ));
    }
    let countries = req
        .countries
        .iter()
        .enumerate()
        .map(|(i, c)| {
            CountryCode::parse(c).map_err(|e| invalid(&format!("$.countries[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rates = req
        .rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = format!("$.rates[{i}]");
            if r.min_delivery_days > r.max_delivery_days || r.max_delivery_days > 365 {
                return Err(invalid(
                    &format!("{p}.max_delivery_days"),
                    "delivery days must satisfy min <= max <= 365",
                ));
            }
            Ok(ShippingRate {
                id: ShippingRateId::new(),
                title: text("title", &r.title, &format!("{p}.title"))?,
                carrier: r
                    .carrier
                    .as_deref()
                    .map(|c| text("carrier", c, &format!("{p}.carrier")))
                    .transpose()?,
                amount: money(&r.price, &format!("{p}.price"))?,
                free_over_minor: r.free_over,
                min_delivery_days: r.min_delivery_days,
                max_delivery_days: r.max_delivery_days,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let zone = ShippingZone {
        id: ShippingZoneId::new(),
        name: text("name", &req.name, "$.name")?,
        countries,
        rates,
    };
    state
        .store
        .create_shipping_zone(caller.0.merchant, &zone, state.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(zone)))
}

/// List shipping zones.
#[utoipa::path(get, path = "/shipping_zones", tag = "Admin", responses((status = 200, body = [Object])), security(("bearer" = [])))]
pub(super) async fn list_shipping_zones(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<ShippingZone>>, ApiError> {
    Ok(Json(
        state.store.list_shipping_zones(caller.0.merchant).await?,
    ))
}

/// Create a tax rate for a country or region.
#[utoipa::path(post, path = "/tax_rates", tag = "Admin", request_body = NewTaxRate, responses((status = 201, body = Object)), security(("bearer" = [])))]
pub(super) async fn create_tax_rate(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: ValidJson<NewTaxRate>,
) -> Result<(StatusCode, Json<TaxRate>), ApiError> {
    let req = body.value;
    if req.rate_bps > 10_000 {
        return Err(invalid("$.rate_bps", "rate_bps must be 0 to 10000"));
    }
    let rate = TaxRate {
        id: TaxRateId::new(),
        name: text("name", &req.name, "$.name")?,
        country: CountryCode::parse(&req.country)
            .map_err(|e| invalid("$.country", e.to_string()))?,
        region: req
            .region
            .as_deref()
            .map(|r| text("region", r, "$.region"))
            .transpose()?,
        rate_bps: req.rate_bps,
        applies_to_shipping: req.applies_to_shipping,
    };
    state
        .store
        .create_tax_rate(caller.0.merchant, &rate, state.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(rate)))
}

/// List tax rates.
#[utoipa::path(get, path = "/tax_rates", tag = "Admin", responses((status = 200, body = [Object])), security(("bearer" = [])))]
pub(super) async fn list_tax_rates(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<TaxRate>>, ApiError> {
    Ok(Json(state.store.list_tax_rates(caller.0.merchant).await?))
}

/// Create a discount code.
#[utoipa::path(post, path = "/discounts", tag = "Admin", request_body = NewDiscount, responses((status = 201, body = Object), (status = 409)), security(("bearer" = [])))]
pub(super) async fn create_discount(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: ValidJson<NewDiscount>,
) -> Result<(StatusCode, Json<Discount>), ApiError> {
    let req = body.value;
    let code = normalise_code(&req.code);
    if code.is_empty()
        || code.len() > anycart_core::pricing::DISCOUNT_CODE_LEN_MAX
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "$.code",
            "codes are 1 to 64 letters, digits, `-` or `_`",
        ));
    }
    let kind = match req.kind.as_str() {
        "percentage" => match req.rate_bps {
            Some(bps) if (1..=10_000).contains(&bps) => DiscountKind::Percentage { rate_bps: bps },
            _ => {
                return Err(invalid(
                    "$.rate_bps",
                    "percentage discounts need rate_bps between 1 and 10000",
                ));
            }
        },
        "fixed_amount" => DiscountKind::FixedAmount {
            amount: money(
                req.amount
                    .as_ref()
                    .ok_or_else(|| invalid("$.amount", "fixed_amount discounts need an amount"))?,
                "$.amount",
            )?,
        },
        _ => {
            return Err(invalid(
                "$.type",
                "type must be `percentage` or `fixed_amount`",
            ));
        }
    };
    let discount = Discount {
        id: DiscountId::new(),
        code,
        name: text("name", &req.name, "$.name")?,
        kind,
        min_subtotal_minor: req.min_subtotal.filter(|m| *m > 0), // 0 means no minimum
        starts_at_ms: req.starts_at_ms,
        ends_at_ms: req.ends_at_ms,
        max_redemptions: req.max_redemptions,
        times_redeemed: 0,
        active: true,
    };
    state
        .store
        .create_discount(caller.0.merchant, &discount, state.now_ms())
        .await
        .map_err(|e| match e {
            anycart_store::StoreError::Duplicate(_) => ApiError::new(
                ErrorCode::DuplicateCode,
                "This discount code already exists.",
            )
            .with_param("$.code"),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(discount)))
}

/// List discount codes with their redemption counts.
#[utoipa::path(get, path = "/discounts", tag = "Admin", responses((status = 200, body = [Object])), security(("bearer" = [])))]
pub(super) async fn list_discounts(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<Discount>>, ApiError> {
    Ok(Json(state.store.list_discounts(caller.0.merchant).await?))
}
