//! Periodic stock reconciliation: re-reads the platform's available figures for
//! every linked item and applies them through the store's reconciliation hook, so
//! a webhook that was lost (or arrived for an item linked later) is repaired.
//!
//! Each page is one platform event (`reconcile:<run>:<page>:<chunk>`) stamped with
//! the time the page was fetched: a webhook newer than the fetch still wins, an
//! older one is superseded.

use crate::import::IMPORT_PAGES_MAX;
use crate::{CataloguePage, Connector, ConnectorError, parse_stored_id as parse};
use anycart_core::MerchantId;
use anycart_store::{
    EXTERNAL_STOCK_LINES_MAX, ExternalKind, ExternalStockChange, ExternalStockLine, StockApplied,
    StockFigure, Store,
};

/// What one reconciliation run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub pages: usize,
    /// Stock rows whose on-hand was rewritten (including unchanged values).
    pub rows: usize,
}

/// Reconciles `merchant`'s stock with its platform; `now_ms` names the run and
/// stamps its figures.
pub async fn reconcile_stock(
    store: &Store,
    merchant: MerchantId,
    connector: &dyn Connector,
    now_ms: i64,
) -> Result<ReconcileReport, ConnectorError> {
    let platform = connector.platform().as_str();
    let mut report = ReconcileReport::default();
    let mut cursor: Option<String> = None;
    for page_no in 0..IMPORT_PAGES_MAX {
        let page = connector.import_page(cursor.as_deref()).await?;
        report.pages += 1;
        let lines = linked_lines(store, merchant, platform, &page).await?;
        for (chunk_no, chunk) in lines.chunks(EXTERNAL_STOCK_LINES_MAX).enumerate() {
            let change = ExternalStockChange {
                merchant,
                platform: platform.into(),
                event_id: format!("reconcile:{now_ms}:{page_no}:{chunk_no}"),
                platform_time_ms: now_ms,
                lines: chunk.to_vec(),
                received_at_ms: now_ms,
            };
            if let StockApplied::Applied(rows) = store.apply_external_stock_change(&change).await? {
                report.rows += rows.len();
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    tracing::info!(merchant_id = %merchant, pages = report.pages, rows = report.rows, "stock reconciled with the platform");
    Ok(report)
}

/// The page's available figures for the items and locations anycart has linked;
/// anything else is not sold through anycart and is skipped.
async fn linked_lines(
    store: &Store,
    merchant: MerchantId,
    platform: &str,
    page: &CataloguePage,
) -> Result<Vec<ExternalStockLine>, ConnectorError> {
    let mut lines = Vec::new();
    for variant in page.products.iter().flat_map(|p| &p.variants) {
        let item = &variant.inventory_item_id;
        let Some(v) = store
            .external_to_internal(merchant, platform, ExternalKind::InventoryItem, item)
            .await?
        else {
            continue; // not sold through anycart
        };
        for level in &variant.levels {
            let location = &level.location_id;
            let Some(l) = store
                .external_to_internal(merchant, platform, ExternalKind::Location, location)
                .await?
            else {
                continue;
            };
            lines.push(ExternalStockLine {
                variant: parse(&v)?,
                location: Some(parse(&l)?),
                figure: StockFigure::Available(level.available),
            });
        }
    }
    Ok(lines)
}

/// Merchants one sweep reconciles at most (a bound on one run's platform calls).
pub const RECONCILE_MERCHANTS_MAX: usize = 1_000;

/// Reconciles every merchant connected to an outside platform. One merchant's
/// failure (its platform is down) is logged and does not stop the others.
pub async fn reconcile_all(store: &Store, now_ms: i64) -> Result<usize, anycart_store::StoreError> {
    let mut done = 0;
    let mut after = None;
    while done < RECONCILE_MERCHANTS_MAX {
        let batch = store.connected_merchants(after, 100).await?;
        let Some(last) = batch.last().copied() else {
            break;
        };
        for merchant in batch {
            done += 1;
            let connection = store.get_connection(merchant).await?;
            let result = match crate::connector_for(connection.as_ref()) {
                Ok(c) => reconcile_stock(store, merchant, c.as_ref(), now_ms)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(merchant_id = %merchant, error = %e, "stock reconciliation failed; next run retries");
            }
        }
        after = Some(last);
    }
    Ok(done)
}
