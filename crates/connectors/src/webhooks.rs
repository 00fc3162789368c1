//! Webhook intake: verify the platform's signature over the raw body, map platform
//! ids to anycart ids, and apply the stock change through the store's
//! reconciliation hook, which records the event id in the same transaction (a
//! duplicate is a no-op; an out-of-order figure cannot roll stock back).

use crate::{
    ConnectorError, Platform, PlatformChange, WebhookEvent, connector_for, parse_stored_id as parse,
};
use anycart_core::{LocationId, MerchantId, VariantId};
use anycart_store::{
    EXTERNAL_STOCK_LINES_MAX, ExternalKind, ExternalStockChange, ExternalStockLine, StockApplied,
    StockFigure, Store,
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
        .filter(|c| c.platform == platform.as_str())
        .ok_or(IngestError::NotConnected(platform.as_str()))?;
    let connector = connector_for(Some(&connection))?;
    let event = connector.verify_webhook(headers, body)?;
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
            tracing::info!(merchant_id = %merchant, event_id = %event.event_id, rows = rows.len(), "platform webhook applied");
            IngestOutcome::Applied { rows: rows.len() }
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
        PlatformChange::Ignored { .. } => Ok(vec![]),
    }
}
