//! Webhook intake: verify the platform's signature over the raw body, map platform
//! ids to anycart ids, and apply the stock change through the store's
//! reconciliation hook, which records the event id in the same transaction (a
//! duplicate is a no-op; an out-of-order figure cannot roll stock back).

use crate::{
    ConnectorError, Platform, PlatformChange, ProductUpdate, WebhookEvent, connector_for,
    parse_stored_id as parse,
};
use anycart_core::{LocationId, MerchantId, Money, ProductId, VariantId};
use anycart_store::{
    EXTERNAL_STOCK_LINES_MAX, ExternalKind, ExternalStockChange, ExternalStockLine, ImportCursor,
    StockApplied, StockFigure, Store,
};
use reqwest::header::HeaderMap;

/// What intake did with a verified webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestOutcome {
    /// New event: this many stock rows changed (0 for topics that change nothing).
    Applied { rows: usize },
    /// Seen before: nothing changed.
    Duplicate,
}

/// Why intake refused a webhook.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The merchant has no connection to this platform.
    #[error("no {0} connection for this merchant")]
    NotConnected(&'static str),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// Verifies and applies one webhook from `platform` for `merchant`.
pub async fn ingest(
    store: &Store,
    platform: Platform,
    merchant: MerchantId,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> Result<IngestOutcome, IngestError> {
    let connection = store
        .get_connection(merchant)
        .await
        .map_err(ConnectorError::from)?
        .filter(|c| c.platform() == platform.as_str())
        .ok_or(IngestError::NotConnected(platform.as_str()))?;
    let connector = connector_for(Some(&connection))?;
    let event = connector.verify_webhook(headers, body)?;
    // Product changes are applied first (idempotently) and the event recorded
    // after, so a crash in between is repaired by the platform's retry.
    let product_rows = match &event.change {
        PlatformChange::Product(update) => {
            apply_product_update(store, platform, merchant, &event, update, now_ms).await?
        }
        _ => 0,
    };
    let lines = stock_lines(store, platform, merchant, &event).await?;
    let change = ExternalStockChange {
        merchant,
        platform: platform.as_str().into(),
        event_id: event.event_id.clone(),
        platform_time_ms: event.platform_time_ms,
        lines,
        received_at_ms: now_ms,
    };
    let outcome = store
        .apply_external_stock_change(&change)
        .await
        .map_err(ConnectorError::from)?;
    Ok(match outcome {
        StockApplied::Applied(rows) => {
            let rows = rows.len() + product_rows;
            tracing::info!(merchant_id = %merchant, event_id = %event.event_id, rows, "platform webhook applied");
            IngestOutcome::Applied { rows }
        }
        StockApplied::Replayed => {
            tracing::info!(merchant_id = %merchant, event_id = %event.event_id, "duplicate platform webhook ignored");
            IngestOutcome::Duplicate
        }
    })
}

/// Maps a platform change to anycart stock lines; unknown platform ids are logged
/// and skipped (the event is still recorded, so a replay stays a no-op).
async fn stock_lines(
    store: &Store,
    platform: Platform,
    merchant: MerchantId,
    event: &WebhookEvent,
) -> Result<Vec<ExternalStockLine>, ConnectorError> {
    let p = platform.as_str();
    let lookup =
        |kind, id: String| async move { store.external_to_internal(merchant, p, kind, &id).await };
    match &event.change {
        PlatformChange::InventoryLevel {
            inventory_item_id,
            location_id,
            available,
        } => {
            let variant = lookup(ExternalKind::InventoryItem, inventory_item_id.clone()).await?;
            let location = lookup(ExternalKind::Location, location_id.clone()).await?;
            let (Some(variant), Some(location)) = (variant, location) else {
                tracing::warn!(merchant_id = %merchant, inventory_item_id, location_id, event_id = %event.event_id, "stock webhook for an item or location anycart does not know; skipped");
                return Ok(vec![]);
            };
            Ok(vec![ExternalStockLine {
                variant: parse::<VariantId>(&variant)?,
                location: Some(parse::<LocationId>(&location)?),
                figure: StockFigure::Available(*available),
            }])
        }
        PlatformChange::ExternalOrder { lines } => {
            if lines.len() > EXTERNAL_STOCK_LINES_MAX {
                return Err(ConnectorError::Malformed(format!(
                    "order with {} lines (at most {EXTERNAL_STOCK_LINES_MAX})",
                    lines.len()
                )));
            }
            let mut out = Vec::with_capacity(lines.len());
            for line in lines {
                let Some(platform_variant) = &line.variant_id else {
                    continue; // custom line (gift card, tip): no stock
                };
                match lookup(ExternalKind::Variant, platform_variant.clone()).await? {
                    Some(v) => out.push(ExternalStockLine {
                        variant: parse::<VariantId>(&v)?,
                        location: None,
                        figure: StockFigure::Sold(line.quantity),
                    }),
                    None => {
                        tracing::warn!(merchant_id = %merchant, platform_variant, event_id = %event.event_id, "order line for a variant anycart does not sell; skipped")
                    }
                }
            }
            Ok(out)
        }
        PlatformChange::OwnOrder { anycart_order_id } => {
            tracing::debug!(
                anycart_order_id,
                "platform echoed an anycart order; already counted"
            );
            Ok(vec![])
        }
        PlatformChange::Ignored { .. } | PlatformChange::Product(_) => Ok(vec![]),
    }
}

/// The import-cursor resource under which the platform time of the last applied
/// update of a product is kept (its "position" in that product's update stream).
fn product_update_resource(platform_product_id: &str) -> String {
    format!("product_update:{platform_product_id}")
}

/// Applies a platform product update: title, on sale or not, and the price of
/// every linked variant. An update older than the last one applied to the same
/// product (webhooks arrive out of order) changes nothing. Returns the number of
/// rows changed. Unknown products and variants are logged and skipped.
async fn apply_product_update(
    store: &Store,
    platform: Platform,
    merchant: MerchantId,
    event: &WebhookEvent,
    update: &ProductUpdate,
    now_ms: i64,
) -> Result<usize, ConnectorError> {
    let p = platform.as_str();
    let Some(product) = store
        .external_to_internal(merchant, p, ExternalKind::Product, &update.product_id)
        .await?
    else {
        tracing::warn!(merchant_id = %merchant, product = %update.product_id, event_id = %event.event_id, "update for a product anycart has not imported; skipped");
        return Ok(0);
    };
    let resource = product_update_resource(&update.product_id);
    let last = store.import_cursor(merchant, p, &resource).await?;
    let last_ms = last.cursor.as_deref().and_then(|c| c.parse::<i64>().ok());
    if last_ms.is_some_and(|last| event.platform_time_ms < last) {
        tracing::info!(merchant_id = %merchant, event_id = %event.event_id, "product update older than the one applied; ignored");
        return Ok(0);
    }
    // Resolve and check every price before changing anything: a malformed
    // update is refused whole.
    let mut prices = Vec::with_capacity(update.variant_prices.len());
    for (platform_variant, price) in &update.variant_prices {
        let Some(variant) = store
            .external_to_internal(merchant, p, ExternalKind::Variant, platform_variant)
            .await?
        else {
            tracing::warn!(merchant_id = %merchant, platform_variant, event_id = %event.event_id, "price for a variant anycart has not imported; skipped");
            continue;
        };
        let variant: VariantId = parse(&variant)?;
        let Some(current) = store.get_variants(merchant, &[variant]).await?.pop() else {
            continue;
        };
        let currency = current.price.currency;
        let minor = crate::minor_units(price, currency.exponent())?;
        let price = Money::new(minor, currency)
            .map_err(|e| ConnectorError::Malformed(format!("price `{price}`: {e}")))?;
        if price != current.price {
            prices.push((variant, price));
        }
    }
    let product: ProductId = parse(&product)?;
    store
        .set_product_basics(merchant, product, &update.title, update.active)
        .await?;
    for (variant, price) in &prices {
        store.set_variant_price(merchant, *variant, *price).await?;
    }
    let rows = 1 + prices.len();
    store
        .save_import_cursor(
            merchant,
            p,
            &resource,
            &ImportCursor {
                cursor: Some(event.platform_time_ms.to_string()),
                done: true,
            },
            now_ms,
        )
        .await?;
    Ok(rows)
}
