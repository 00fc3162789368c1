//! A create or update request turned into what the checkout service takes:
//! the lines (items by SKU or variant id, checked against stock where the
//! version wants it), the buyer, and the door state with the fulfillment it
//! prices (the selected destination's address and the chosen rate).

use super::door::Admitted;
use super::fulfillment::{self, Book};
use super::state::DoorState;
use super::wire::{CheckoutRequest, LineItemRequest};
use crate::error::{ApiError, ErrorCode};
use crate::routes::acp::parse as acp_parse;
use crate::state::AppState;
use anycart_checkout::{LineRequest, SessionInput};
use anycart_core::attribution::{AgentProtocol, Attribution};
use anycart_core::inventory::SESSION_LINES_MAX;
use anycart_core::session::{Buyer, CheckoutSession, Requirements};
use anycart_core::values::QUANTITY_MAX;
use anycart_core::{MerchantId, Quantity, SessionId, VariantId};
use std::collections::BTreeMap;

/// The lines a request names: items by SKU (the merchant's ids) or variant id,
/// each with a quantity of at least 1. Quantities above what a line may hold
/// are checked against stock first (see [`check_stock`]).
pub async fn resolve_items(
    state: &AppState,
    merchant: MerchantId,
    items: &[LineItemRequest],
) -> Result<(Vec<(VariantId, i64)>, BTreeMap<VariantId, String>), ApiError> {
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
    let skus: Vec<String> = items
        .iter()
        .filter(|i| VariantId::parse(i.item.id.trim()).is_err())
        .map(|i| i.item.id.trim().to_string())
        .collect();
    let by_sku: BTreeMap<String, VariantId> = if skus.is_empty() {
        BTreeMap::new()
    } else {
        state
            .store
            .variants_by_sku(merchant, &skus)
            .await?
            .into_iter()
            .map(|v| (v.sku, v.variant))
            .collect()
    };
    let mut lines = Vec::with_capacity(items.len());
    let mut named = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let raw = item.item.id.trim();
        let variant = VariantId::parse(raw)
            .ok()
            .or_else(|| by_sku.get(raw).copied())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::ItemNotFound,
                    format!(
                        "Item '{}' not found.",
                        raw.chars().take(64).collect::<String>()
                    ),
                )
                .with_param(format!("$.line_items[{i}].item.id"))
            })?;
        if item.quantity < 1 {
            return Err(
                ApiError::new(ErrorCode::InvalidQuantity, "quantity must be at least 1.")
                    .with_param(format!("$.line_items[{i}].quantity")),
            );
        }
        named.insert(variant, raw.to_string());
        lines.push((variant, item.quantity));
    }
    Ok((lines, named))
}

/// Refuses a basket the stock cannot cover: what each variant asks for against
/// what is free plus what this session already holds. 2026-01-11 refuses such a
/// request outright (and so does every version for a quantity above what one
/// line may hold); 2026-04-08 takes it and says so in the checkout's messages.
pub async fn check_stock(
    state: &AppState,
    merchant: MerchantId,
    lines: &[(VariantId, i64)],
    items: &BTreeMap<VariantId, String>,
    session: Option<SessionId>,
    every_quantity: bool,
) -> Result<Vec<LineRequest>, ApiError> {
    let mut demand: BTreeMap<VariantId, i64> = BTreeMap::new();
    for (v, q) in lines {
        *demand.entry(*v).or_insert(0) += q;
    }
    let oversized = lines.iter().any(|(_, q)| *q > i64::from(QUANTITY_MAX));
    if every_quantity || oversized {
        let variants: Vec<VariantId> = demand.keys().copied().collect();
        let mut free: BTreeMap<VariantId, i64> = BTreeMap::new();
        for level in state.store.stock_levels(merchant, &variants).await? {
            *free.entry(level.variant_id).or_insert(0) += level.available();
        }
        let own = match session {
            Some(s) => state.store.session_hold_totals(s).await?,
            None => BTreeMap::new(),
        };
        for (v, wanted) in &demand {
            let available = free.get(v).copied().unwrap_or(0) + own.get(v).copied().unwrap_or(0);
            if *wanted > available {
                let index = lines.iter().position(|(l, _)| l == v).unwrap_or(0);
                return Err(ApiError::new(
                    ErrorCode::InsufficientStock,
                    format!(
                        "Insufficient stock for item {}: {available} available, {wanted} requested.",
                        items.get(v).map_or("?", String::as_str)
                    ),
                )
                .with_param(format!("$.line_items[{index}].quantity")));
            }
        }
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, (v, q))| {
            Quantity::parse(*q).map(|q| (*v, q)).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidQuantity,
                    format!("At most {QUANTITY_MAX} units of an item fit one line."),
                )
                .with_param(format!("$.line_items[{i}].quantity"))
            })
        })
        .collect()
}

/// The buyer an update names (merged into the session's by the service).
fn buyer_of(req: &CheckoutRequest) -> Result<Option<Buyer>, ApiError> {
    let Some(b) = &req.buyer else {
        return Ok(None);
    };
    let acp = crate::routes::acp::wire::BuyerRequest {
        first_name: b.first_name.clone(),
        last_name: b.last_name.clone(),
        full_name: b.full_name.clone(),
        email: b.email.clone(),
        phone_number: b.phone_number.clone(),
    };
    acp_parse::buyer(&acp).map(Some)
}

/// The buyer's name, for a destination that does not name its recipient.
fn name_of(buyer: &Buyer, state: &DoorState) -> Option<String> {
    state.full_name.clone().or_else(|| {
        let joined = [&buyer.first_name, &buyer.last_name]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    })
}

/// What a create or update changes: the door state and the service's input.
pub async fn plan(
    state: &AppState,
    adm: &Admitted,
    req: &CheckoutRequest,
    current: Option<&CheckoutSession>,
    items: &BTreeMap<VariantId, String>,
) -> Result<SessionInput, ApiError> {
    let mut door = current.map(DoorState::of).unwrap_or_default();
    door.door = super::state::DOOR.to_string();
    if door.agent_profile.is_none() {
        door.agent_profile = Some(adm.agent_url.clone());
    }
    for (v, id) in items {
        door.item_ids.insert(v.to_string(), id.clone());
    }
    let buyer_update = buyer_of(req)?;
    if let Some(b) = &req.buyer {
        if let Some(full) = b
            .full_name
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
        {
            door.full_name = Some(
                full.chars()
                    .take(anycart_core::values::TEXT_LEN_MAX)
                    .collect(),
            );
        }
        if let Some(c) = &b.consent {
            door.consent = Some(c.clone());
        }
    }
    let buyer = match (current, &buyer_update) {
        (Some(s), Some(u)) => s.buyer.clone().merged(u.clone()),
        (Some(s), None) => s.buyer.clone(),
        (None, Some(u)) => u.clone(),
        (None, None) => Buyer::default(),
    };
    let test_mode = state.ucp.settings.test_mode;
    let email = buyer.email.as_ref().map(|e| e.as_ref().to_string());
    let book = Book {
        merchant: adm.merchant,
        email: email.as_deref().filter(|_| test_mode),
    };
    let mut explicit_option = false;
    if let Some(methods) = req.fulfillment.as_ref().and_then(|f| f.methods.as_deref()) {
        door.methods = fulfillment::merge(state, &book, &door.methods, methods).await?;
        explicit_option = methods.iter().any(|m| {
            m.groups
                .as_deref()
                .and_then(<[_]>::first)
                .is_some_and(|g| matches!(g.selected_option_id, Some(Some(_))))
        });
    }
    let selected_shipping = match door.shipping().and_then(|m| m.requested_option.clone()) {
        Some(option) => {
            let zones = state.store.list_shipping_zones(adm.merchant).await?;
            let rate = fulfillment::rate_for(&zones, &door, &option);
            let destination_known = door
                .shipping()
                .and_then(|m| m.selected())
                .is_some_and(|(_, d)| d.address_country.is_some());
            if rate.is_none() && explicit_option && destination_known {
                return Err(ApiError::new(
                    ErrorCode::InvalidFulfillmentOption,
                    format!("Option '{option}' is not offered for this destination."),
                )
                .with_param("$.fulfillment.methods[0].groups[0].selected_option_id"));
            }
            rate
        }
        None => None,
    };
    let codes = match &req.discounts {
        Some(d) => {
            let wire = crate::routes::acp::wire::DiscountsRequest {
                codes: d.codes.clone().unwrap_or_default(),
            };
            acp_parse::codes(Some(&wire), None)?
        }
        None => None,
    };
    let fulfillment = fulfillment::core_fulfillment(&door, name_of(&buyer, &door));
    Ok(SessionInput {
        buyer: buyer_update,
        fulfillment: Some(fulfillment),
        replace_fulfillment: true,
        selected_shipping,
        codes,
        requirements: current.is_none().then_some(Requirements {
            // The agent keeps the buyer relationship: no email is needed. The
            // conformance mode ships to a bare country, as the suite expects.
            email: false,
            street_address: !test_mode,
        }),
        door_state: Some(door.to_value()),
        // Taken at creation only: the sale is the agent's, named by its profile.
        attribution: Some(Attribution::agent(
            AgentProtocol::Ucp,
            Some(adm.agent_url.clone()).filter(|u| !u.is_empty()),
        )),
        ..SessionInput::default()
    })
}
