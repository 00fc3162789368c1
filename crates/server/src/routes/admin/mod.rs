//! The merchant admin API (`/v1/…`, secret keys only): catalogue, stock, shipping,
//! tax, discounts and orders. Every call is scoped to the caller's merchant; ids of
//! other merchants are indistinguishable from ids that do not exist (404).

pub mod agent_platforms;
pub mod analytics;
pub mod api_keys;
mod catalogue;
pub mod connections;
pub mod creative;
pub mod data_requests;
mod orders;
pub mod payments;
pub mod placements;
pub mod platform_jobs;
mod pricing;
pub mod refunds;
pub mod wire;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_core::catalogue::{Product, StockLevel};
use anycart_core::values::required_text;
use anycart_core::{Currency, Money, VariantId};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use wire::*;

/// The admin routes, mounted under `/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_merchant))
        .routes(routes!(catalogue::create_product, catalogue::list_products))
        .routes(routes!(catalogue::get_product))
        .routes(routes!(catalogue::patch_variant))
        .routes(routes!(
            catalogue::create_location,
            catalogue::list_locations
        ))
        .routes(routes!(catalogue::set_stock))
        .routes(routes!(
            pricing::create_shipping_zone,
            pricing::list_shipping_zones
        ))
        .routes(routes!(pricing::create_tax_rate, pricing::list_tax_rates))
        .routes(routes!(pricing::create_discount, pricing::list_discounts))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(refunds::create_refund, refunds::list_refunds))
        .routes(routes!(refunds::capture_order))
        .routes(routes!(orders::forget_shopper))
        .merge(placements::router())
        .routes(routes!(creative::creative_zip))
        .merge(agent_platforms::router())
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        .routes(routes!(api_keys::rotate_api_key))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(analytics::analytics_funnel))
        .routes(routes!(analytics::analytics_funnel_csv))
        .routes(routes!(analytics::analytics_sales))
        .routes(routes!(
            connections::put_connection,
            connections::get_connection
        ))
        .routes(routes!(connections::create_link))
        .routes(routes!(connections::shopify_install))
        .routes(routes!(data_requests::list_data_requests))
        .routes(routes!(platform_jobs::test_connection))
        .routes(routes!(
            platform_jobs::start_import,
            platform_jobs::get_import
        ))
        .routes(routes!(platform_jobs::reconcile_now))
        .routes(routes!(connections::list_outbox))
        .routes(routes!(connections::retry_outbox))
        .routes(routes!(
            payments::put_payment_provider,
            payments::get_payment_provider
        ))
}

/// A refused field (`invalid`) of an admin request.
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
