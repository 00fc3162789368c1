//! Catalogue admin: products with variants, prices, locations and stock levels.

use super::wire::*;
use super::{invalid, money, text};
use super::{level_wire, product_wire, url};
use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::extract::ValidJson;
use crate::state::AppState;
use anycart_core::catalogue::{
    IMAGES_MAX, Location, ON_HAND_MAX, Product, Sku, Variant, VariantOption,
};
use anycart_core::{LocationId, ProductId, VariantId};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

/// Longest product description kept (longer ones are cut).
const DESCRIPTION_CHARS_MAX: usize = 10_000;

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
pub(super) async fn create_product(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: ValidJson<NewProduct>,
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
pub(super) async fn list_products(
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
pub(super) async fn get_product(
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
pub(super) async fn patch_variant(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path(id): Path<String>,
    body: ValidJson<PatchVariant>,
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
pub(super) async fn create_location(
    State(state): State<AppState>,
    caller: SecretCaller,
    body: ValidJson<NewLocation>,
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
pub(super) async fn list_locations(
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
pub(super) async fn set_stock(
    State(state): State<AppState>,
    caller: SecretCaller,
    Path((id, location)): Path<(String, String)>,
    body: ValidJson<SetStock>,
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
