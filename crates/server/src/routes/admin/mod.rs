//! The merchant admin API (`/v1/…`, secret keys only): catalogue, stock, shipping,
//! tax, discounts and orders. Every call is scoped to the caller's merchant; ids of
//! other merchants are indistinguishable from ids that do not exist (404).

pub mod connections;
pub mod placements;
pub mod wire;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::AcpJson;
use crate::routes::acp::convert::order_url;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_core::catalogue::{
    IMAGES_MAX, Location, ON_HAND_MAX, Product, Sku, StockLevel, Variant, VariantOption,
};
use anycart_core::pricing::{
    Discount, DiscountKind, ShippingRate, ShippingZone, TaxRate, normalise_code,
};
use anycart_core::values::required_text;
use anycart_core::{
    CountryCode, Currency, DiscountId, LocationId, Money, OrderId, ProductId, ShippingRateId,
    ShippingZoneId, TaxRateId, VariantId,
};
use anycart_store::OrderRecord;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wire::*;

/// Most rates one shipping zone may have.
const RATES_PER_ZONE_MAX: usize = 20;
/// Longest product description kept (longer ones are cut).
const DESCRIPTION_CHARS_MAX: usize = 10_000;

/// The admin routes, mounted under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_merchant))
        .routes(routes!(create_product, list_products))
        .routes(routes!(get_product))
        .routes(routes!(patch_variant))
        .routes(routes!(create_location, list_locations))
        .routes(routes!(set_stock))
        .routes(routes!(create_shipping_zone, list_shipping_zones))
        .routes(routes!(create_tax_rate, list_tax_rates))
        .routes(routes!(create_discount, list_discounts))
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(forget_shopper))
        .merge(placements::router())
        .routes(routes!(
            connections::put_connection,
            connections::get_connection
        ))
        .routes(routes!(connections::create_link))
        .routes(routes!(connections::list_outbox))
        .routes(routes!(connections::retry_outbox))
}

fn invalid(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(param, message)
}

fn money(m: &MoneyWire, param: &str) -> Result<Money, ApiError> {
    let currency = Currency::parse(&m.currency).map_err(|e| {
        ApiError::new(ErrorCode::UnsupportedCurrency, e.to_string())
            .with_param(format!("{param}.currency"))
    })?;
    if m.amount < 0 {
        return Err(invalid(
            &format!("{param}.amount"),
            "amount must be zero or more",
        ));
    }
    Money::new(m.amount, currency).map_err(|e| invalid(&format!("{param}.amount"), e.to_string()))
}

fn text(field: &'static str, value: &str, param: &str) -> Result<String, ApiError> {
    required_text(field, value).map_err(|e| invalid(param, e.to_string()))
}

fn url(value: &str, param: &str) -> Result<String, ApiError> {
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && value.len() <= 2048
        && !value.chars().any(char::is_whitespace);
    ok.then(|| value.to_string())
        .ok_or_else(|| invalid(param, "must be an http(s) URL"))
}

fn money_wire(m: Money) -> MoneyWire {
    MoneyWire {
        amount: m.amount_minor,
        currency: m.currency.code_lower(),
    }
}

fn level_wire(l: &StockLevel) -> StockLevelWire {
    StockLevelWire {
        variant_id: l.variant_id.to_string(),
        location_id: l.location_id.to_string(),
        on_hand: l.on_hand,
        held: l.held,
        committed: l.committed,
        available: l.available(),
    }
}

async fn product_wire(
    state: &AppState,
    caller: &SecretCaller,
    p: Product,
) -> Result<ProductWire, ApiError> {
    let ids: Vec<VariantId> = p.variants.iter().map(|v| v.id).collect();
    let levels = state.store.stock_levels(caller.0.merchant, &ids).await?;
    Ok(ProductWire {
        id: p.id.to_string(),
        title: p.title,
        description: p.description,
        images: p.images,
        active: p.active,
        variants: p
            .variants
            .into_iter()
            .map(|v| {
                let stock: Vec<_> = levels
                    .iter()
                    .filter(|l| l.variant_id == v.id)
                    .map(level_wire)
                    .collect();
                VariantWire {
                    id: v.id.to_string(),
                    sku: v.sku.as_ref().to_string(),
                    title: v.title,
                    options: v
                        .options
                        .into_iter()
                        .map(|o| OptionWire {
                            name: o.name,
                            value: o.value,
                        })
                        .collect(),
                    price: money_wire(v.price),
                    max_quantity_per_order: v.max_quantity_per_order,
                    image_url: v.image_url,
                    available: stock.iter().map(|s| s.available).sum(),
                    stock,
                }
            })
            .collect(),
    })
}

/// The merchant this key belongs to.
#[utoipa::path(get, path = "/merchant", tag = "Admin", responses((status = 200, body = MerchantWire)), security(("bearer" = [])))]
async fn get_merchant(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<MerchantWire>, ApiError> {
    let m = state
        .store
        .get_merchant(caller.0.merchant)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    Ok(Json(MerchantWire {
        id: m.id.to_string(),
        name: m.name,
    }))
}

/// Initial stock of a new variant: where and how many.
type InitialStock = (VariantId, LocationId, i64);

/// Checks one variant of a new product (errors name it as `$.variants[i]`) and
/// its initial stock at the merchant's `locations`.
fn new_variant(
    v: &NewVariant,
    i: usize,
    product_id: ProductId,
    locations: &[LocationId],
) -> Result<(Variant, Vec<InitialStock>), ApiError> {
    let p = format!("$.variants[{i}]");
    let id = VariantId::new();
    let mut stock = Vec::with_capacity(v.stock.len());
    for (j, s) in v.stock.iter().enumerate() {
        let loc = LocationId::parse(&s.location_id)
            .ok()
            .filter(|l| locations.contains(l))
            .ok_or_else(|| invalid(&format!("{p}.stock[{j}].location_id"), "unknown location"))?;
        if !(0..=ON_HAND_MAX).contains(&s.on_hand) {
            return Err(invalid(
                &format!("{p}.stock[{j}].on_hand"),
                format!("on_hand must be 0 to {ON_HAND_MAX}"),
            ));
        }
        stock.push((id, loc, s.on_hand));
    }
    let options = v
        .options
        .iter()
        .enumerate()
        .map(|(k, o)| {
            Ok(VariantOption {
                name: text("name", &o.name, &format!("{p}.options[{k}].name"))?,
                value: text("value", &o.value, &format!("{p}.options[{k}].value"))?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    if v.max_quantity_per_order == Some(0) {
        return Err(invalid(
            &format!("{p}.max_quantity_per_order"),
            "must be at least 1",
        ));
    }
    let variant = Variant {
        id,
        product_id,
        sku: Sku::parse(&v.sku).map_err(|e| invalid(&format!("{p}.sku"), e.to_string()))?,
        title: text("title", &v.title, &format!("{p}.title"))?,
        options,
        price: money(&v.price, &format!("{p}.price"))?,
        max_quantity_per_order: v.max_quantity_per_order,
        image_url: v
            .image_url
            .as_deref()
            .map(|u| url(u, &format!("{p}.image_url")))
            .transpose()?,
    };
    Ok((variant, stock))
}

/// Checks a new product against the merchant's `locations`: the product and its
/// variants' initial stock.
fn new_product(
    req: &NewProduct,
    locations: &[LocationId],
) -> Result<(Product, Vec<InitialStock>), ApiError> {
    let product_id = ProductId::new();
    if req.images.len() > IMAGES_MAX {
        return Err(invalid("$.images", format!("at most {IMAGES_MAX} images")));
    }
    let images = req
        .images
        .iter()
        .enumerate()
        .map(|(i, u)| url(u, &format!("$.images[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut variants = Vec::with_capacity(req.variants.len());
    let mut stock = Vec::new();
    for (i, v) in req.variants.iter().enumerate() {
        let (variant, initial) = new_variant(v, i, product_id, locations)?;
        variants.push(variant);
        stock.extend(initial);
    }
    let product = Product {
        id: product_id,
        title: text("title", &req.title, "$.title")?,
        description: req
            .description
            .chars()
            .take(DESCRIPTION_CHARS_MAX)
            .collect(),
        images,
        active: req.active,
        variants,
    };
    product
        .validate()
        .map_err(|e| invalid("$.variants", e.to_string()))?;
    Ok((product, stock))
}

/// Create a product with its variants (and optional initial stock).
#[utoipa::path(post, path = "/products", tag = "Admin", request_body = NewProduct, responses((status = 201, body = ProductWire)), security(("bearer" = [])))]
async fn create_product(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewProduct>,
) -> Result<(StatusCode, Json<ProductWire>), ApiError> {
    let merchant = caller.0.merchant;
    let locations: Vec<LocationId> = state
        .store
        .list_locations(merchant)
        .await?
        .into_iter()
        .map(|l| l.id)
        .collect();
    let (product, stock) = new_product(&body.value, &locations)?;
    state
        .store
        .create_product(merchant, &product, state.now_ms())
        .await
        .map_err(|e| match e {
            anycart_store::StoreError::Duplicate(_) => ApiError::new(
                ErrorCode::DuplicateSku,
                "A variant with one of these SKUs already exists.",
            )
            .with_param("$.variants"),
            other => other.into(),
        })?;
    for (variant, location, on_hand) in stock {
        state
            .store
            .set_on_hand(merchant, variant, location, on_hand)
            .await?;
    }
    let stored = state
        .store
        .get_product(merchant, product.id)
        .await?
        .ok_or_else(|| ApiError::internal("a product just created cannot be read back"))?;
    Ok((
        StatusCode::CREATED,
        Json(product_wire(&state, &caller, stored).await?),
    ))
}

/// List products (oldest first).
#[utoipa::path(get, path = "/products", tag = "Admin", params(PageQuery), responses((status = 200, body = Page<ProductWire>)), security(("bearer" = [])))]
async fn list_products(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<ProductWire>>, ApiError> {
    let after = q
        .after
        .as_deref()
        .map(|a| ProductId::parse(a).map_err(|_| invalid("after", "not a product id")))
        .transpose()?;
    let limit = q.limit.unwrap_or(20).clamp(1, anycart_store::PAGE_SIZE_MAX);
    let products = state
        .store
        .list_products(caller.0.merchant, after, limit)
        .await?;
    let next_cursor = next_cursor(&products, limit, |p| p.id.to_string());
    let mut data = Vec::with_capacity(products.len());
    for p in products {
        data.push(product_wire(&state, &caller, p).await?);
    }
    Ok(Json(Page { data, next_cursor }))
}

/// One product with variants and stock.
#[utoipa::path(get, path = "/products/{id}", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = ProductWire), (status = 404)), security(("bearer" = [])))]
async fn get_product(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<ProductWire>, ApiError> {
    let id = ProductId::parse(&id).map_err(|_| ApiError::not_found("product"))?;
    let p = state
        .store
        .get_product(caller.0.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    Ok(Json(product_wire(&state, &caller, p).await?))
}

/// Change a variant's price. Open checkouts see the new price on their next update
/// (with a `price_change` warning) and are never charged a total the shopper did not see.
#[utoipa::path(patch, path = "/variants/{id}", tag = "Admin", params(("id" = String, Path)), request_body = PatchVariant, responses((status = 204), (status = 404)), security(("bearer" = [])))]
async fn patch_variant(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
    body: AcpJson<PatchVariant>,
) -> Result<StatusCode, ApiError> {
    let id = VariantId::parse(&id).map_err(|_| ApiError::not_found("variant"))?;
    let merchant = caller.0.merchant;
    if let Some(price) = &body.value.price {
        let price = money(price, "$.price")?;
        let current = state
            .store
            .get_variants(merchant, &[id])
            .await?
            .pop()
            .ok_or_else(|| ApiError::not_found("variant"))?;
        if current.price.currency != price.currency {
            return Err(invalid(
                "$.price.currency",
                "a variant's currency cannot change",
            ));
        }
        state.store.set_variant_price(merchant, id, price).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Create a stock location.
#[utoipa::path(post, path = "/locations", tag = "Admin", request_body = NewLocation, responses((status = 201, body = LocationWire)), security(("bearer" = [])))]
async fn create_location(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewLocation>,
) -> Result<(StatusCode, Json<LocationWire>), ApiError> {
    let loc = Location {
        id: LocationId::new(),
        name: text("name", &body.value.name, "$.name")?,
    };
    state
        .store
        .create_location(caller.0.merchant, &loc, state.now_ms())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(LocationWire {
            id: loc.id.to_string(),
            name: loc.name,
        }),
    ))
}

/// List stock locations.
#[utoipa::path(get, path = "/locations", tag = "Admin", responses((status = 200, body = [LocationWire])), security(("bearer" = [])))]
async fn list_locations(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<LocationWire>>, ApiError> {
    let locs = state.store.list_locations(caller.0.merchant).await?;
    Ok(Json(
        locs.into_iter()
            .map(|l| LocationWire {
                id: l.id.to_string(),
                name: l.name,
            })
            .collect(),
    ))
}

/// Set the on-hand count of a variant at a location. Refused (409) below what open
/// checkouts hold.
#[utoipa::path(put, path = "/variants/{id}/stock/{location_id}", tag = "Admin", params(("id" = String, Path), ("location_id" = String, Path)), request_body = SetStock, responses((status = 200, body = StockLevelWire), (status = 404), (status = 409)), security(("bearer" = [])))]
async fn set_stock(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path((id, location)): Path<(String, String)>,
    body: AcpJson<SetStock>,
) -> Result<Json<StockLevelWire>, ApiError> {
    let variant = VariantId::parse(&id).map_err(|_| ApiError::not_found("variant"))?;
    let location = LocationId::parse(&location).map_err(|_| ApiError::not_found("location"))?;
    let on_hand = body.value.on_hand;
    if !(0..=ON_HAND_MAX).contains(&on_hand) {
        return Err(invalid(
            "$.on_hand",
            format!("on_hand must be 0 to {ON_HAND_MAX}"),
        ));
    }
    let level = state
        .store
        .set_on_hand(caller.0.merchant, variant, location, on_hand)
        .await
        .map_err(|e| match e {
            anycart_store::StoreError::NotFound => ApiError::not_found("variant or location"),
            anycart_store::StoreError::Constraint(_) => ApiError::new(
                ErrorCode::BelowHeld,
                "on_hand cannot drop below the units open checkouts hold.",
            )
            .with_param("$.on_hand"),
            other => other.into(),
        })?;
    Ok(Json(level_wire(&level)))
}

/// Create a shipping zone with rates.
#[utoipa::path(post, path = "/shipping_zones", tag = "Admin", request_body = NewShippingZone, responses((status = 201, body = Object)), security(("bearer" = [])))]
async fn create_shipping_zone(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewShippingZone>,
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
                free_over_minor: r.free_over.filter(|f| *f >= 0),
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
async fn list_shipping_zones(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<ShippingZone>>, ApiError> {
    Ok(Json(
        state.store.list_shipping_zones(caller.0.merchant).await?,
    ))
}

/// Create a tax rate for a country or region.
#[utoipa::path(post, path = "/tax_rates", tag = "Admin", request_body = NewTaxRate, responses((status = 201, body = Object)), security(("bearer" = [])))]
async fn create_tax_rate(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewTaxRate>,
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
async fn list_tax_rates(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<TaxRate>>, ApiError> {
    Ok(Json(state.store.list_tax_rates(caller.0.merchant).await?))
}

/// Create a discount code.
#[utoipa::path(post, path = "/discounts", tag = "Admin", request_body = NewDiscount, responses((status = 201, body = Object), (status = 409)), security(("bearer" = [])))]
async fn create_discount(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: AcpJson<NewDiscount>,
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
        min_subtotal_minor: req.min_subtotal.filter(|m| *m > 0),
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
async fn list_discounts(
    State(state): State<AppState>,
    caller: SecretCaller,
) -> Result<Json<Vec<Discount>>, ApiError> {
    Ok(Json(state.store.list_discounts(caller.0.merchant).await?))
}

fn order_wire(state: &AppState, r: OrderRecord) -> AdminOrderWire {
    let o = r.order;
    AdminOrderWire {
        id: o.id.to_string(),
        number: o.number,
        status: o.status.as_str(),
        checkout_session_id: o.session_id.to_string(),
        currency: o.currency.code_lower(),
        email: o.email.map(|e| e.to_string()),
        totals: serde_json::to_value(o.totals).unwrap_or_default(),
        line_items: serde_json::to_value(&o.lines).unwrap_or_default(),
        shipping_address: serde_json::to_value(&o.fulfillment.address).unwrap_or_default(),
        shipping_title: o.shipping_title,
        payment_provider: o.payment.provider,
        payment_reference: o.payment.provider_reference,
        permalink_url: order_url(&state.config.base_url, &r.access_token),
        created_at: rfc3339(o.created_at_ms),
        platform: None,
    }
}

/// List orders (newest first).
#[utoipa::path(get, path = "/orders", tag = "Admin", params(PageQuery), responses((status = 200, body = Page<AdminOrderWire>)), security(("bearer" = [])))]
async fn list_orders(
    State(state): State<AppState>,
    caller: SecretCaller,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AdminOrderWire>>, ApiError> {
    let before = q
        .before
        .as_deref()
        .map(|b| OrderId::parse(b).map_err(|_| invalid("before", "not an order id")))
        .transpose()?;
    let limit = q.limit.unwrap_or(20).clamp(1, anycart_store::PAGE_SIZE_MAX);
    let orders = state
        .store
        .list_orders(caller.0.merchant, before, limit)
        .await?;
    let next_cursor = next_cursor(&orders, limit, |o| o.order.id.to_string());
    Ok(Json(Page {
        data: orders.into_iter().map(|o| order_wire(&state, o)).collect(),
        next_cursor,
    }))
}

/// Forgets a returning shopper (a privacy request handled by the merchant): their
/// saved address and payment token, sign-in tokens and pending codes. Orders stay.
#[utoipa::path(delete, path = "/shoppers/{email}", tag = "Admin", params(("email" = String, Path)), responses((status = 204), (status = 404)), security(("bearer" = [])))]
async fn forget_shopper(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(email): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .checkout
        .forget_shopper(caller.0.merchant, &email)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("saved shopper"))
    }
}

/// One order.
#[utoipa::path(get, path = "/orders/{id}", tag = "Admin", params(("id" = String, Path)), responses((status = 200, body = AdminOrderWire), (status = 404)), security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminOrderWire>, ApiError> {
    let id = OrderId::parse(&id).map_err(|_| ApiError::not_found("order"))?;
    let r = state
        .store
        .get_order(caller.0.merchant, id)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let delivery = state.store.order_delivery(caller.0.merchant, id).await?;
    let mut wire = order_wire(&state, r);
    wire.platform = delivery.map(connections::outbox_wire);
    Ok(Json(wire))
}
