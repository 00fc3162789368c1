//! Catalogue and stock import: walks the platform catalogue page by page, creates
//! or updates anycart products, variants, locations and stock, links every
//! platform id (what webhooks and order pushes need), and saves the cursor after
//! each page so an interrupted import resumes where it stopped.

use crate::{CataloguePage, Connector, ConnectorError, ImportedProduct, parse_stored_id as parse};
use anycart_core::catalogue::{IMAGES_MAX, Location, Product, Sku, Variant};
use anycart_core::{LocationId, MerchantId, Money, ProductId, VariantId};
use anycart_store::{ExternalKind, ImportCursor, Store};

/// Pages one import run fetches at most (with 5 products a page: 50,000 products).
pub const IMPORT_PAGES_MAX: usize = 10_000;
/// The resource name import cursors are saved under.
pub const IMPORT_RESOURCE_PRODUCTS: &str = "products";

/// Progress after each page, for a progress bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportProgress {
    pub pages: usize,
    pub products: usize,
    pub variants: usize,
    /// True when the last page is done.
    pub finished: bool,
}

/// Imports (or resumes importing) the merchant's catalogue. `restart` ignores a
/// saved cursor. `on_page` is called after every page is stored.
pub async fn import_catalogue(
    store: &Store,
    merchant: MerchantId,
    connector: &dyn Connector,
    restart: bool,
    now_ms: i64,
    mut on_page: impl FnMut(ImportProgress),
) -> Result<ImportProgress, ConnectorError> {
    let platform = connector.platform().as_str();
    let mut cursor = if restart {
        ImportCursor {
            cursor: None,
            done: false,
        }
    } else {
        store
            .import_cursor(merchant, platform, IMPORT_RESOURCE_PRODUCTS)
            .await?
    };
    let mut progress = ImportProgress::default();
    if cursor.done {
        progress.finished = true;
        return Ok(progress);
    }
    for _ in 0..IMPORT_PAGES_MAX {
        let page = connector.import_page(cursor.cursor.as_deref()).await?;
        progress.pages += 1;
        progress.products += page.products.len();
        progress.variants += page
            .products
            .iter()
            .map(|p| p.variants.len())
            .sum::<usize>();
        apply_page(store, merchant, platform, &page, now_ms).await?;
        cursor = ImportCursor {
            done: page.next_cursor.is_none(),
            cursor: page.next_cursor.or(cursor.cursor),
        };
        store
            .save_import_cursor(
                merchant,
                platform,
                IMPORT_RESOURCE_PRODUCTS,
                &cursor,
                now_ms,
            )
            .await?;
        progress.finished = cursor.done;
        on_page(progress);
        if cursor.done {
            return Ok(progress);
        }
    }
    tracing::warn!(merchant_id = %merchant, pages = IMPORT_PAGES_MAX, "import stopped at its page limit; run it again to continue");
    Ok(progress)
}

async fn apply_page(
    store: &Store,
    merchant: MerchantId,
    platform: &str,
    page: &CataloguePage,
    now_ms: i64,
) -> Result<(), ConnectorError> {
    for product in &page.products {
        if product.variants.is_empty() {
            continue;
        }
        let locations = ensure_locations(store, merchant, platform, product, now_ms).await?;
        let existing = store
            .external_to_internal(
                merchant,
                platform,
                ExternalKind::Product,
                &product.external_id,
            )
            .await?;
        let variant_ids = match existing {
            Some(_) => update_prices(store, merchant, platform, page, product).await?,
            None => create_product(store, merchant, platform, page, product, now_ms).await?,
        };
        for (v, variant_id) in product.variants.iter().zip(&variant_ids) {
            let Some(variant_id) = variant_id else {
                continue;
            };
            for level in &v.levels {
                let location = locations[&level.location_id];
                // Import sets the starting figure; later changes come by webhook.
                let floor = store
                    .stock_levels(merchant, &[*variant_id])
                    .await?
                    .iter()
                    .find(|l| l.location_id == location)
                    .map_or(0, |l| l.held + l.committed);
                store
                    .set_on_hand(merchant, *variant_id, location, level.available.max(floor))
                    .await?;
            }
        }
    }
    Ok(())
}

async fn ensure_locations(
    store: &Store,
    merchant: MerchantId,
    platform: &str,
    product: &ImportedProduct,
    now_ms: i64,
) -> Result<std::collections::BTreeMap<String, LocationId>, ConnectorError> {
    let mut out = std::collections::BTreeMap::new();
    for level in product.variants.iter().flat_map(|v| &v.levels) {
        if out.contains_key(&level.location_id) {
            continue;
        }
        let id = match store
            .external_to_internal(
                merchant,
                platform,
                ExternalKind::Location,
                &level.location_id,
            )
            .await?
        {
            Some(id) => parse(&id)?,
            None => {
                let loc = Location {
                    id: LocationId::new(),
                    name: level.location_name.clone(),
                };
                store.create_location(merchant, &loc, now_ms).await?;
                store
                    .link_external_id(
                        merchant,
                        platform,
                        ExternalKind::Location,
                        &level.location_id,
                        &loc.id.to_string(),
                    )
                    .await?;
                loc.id
            }
        };
        out.insert(level.location_id.clone(), id);
    }
    Ok(out)
}

async fn create_product(
    store: &Store,
    merchant: MerchantId,
    platform: &str,
    page: &CataloguePage,
    product: &ImportedProduct,
    now_ms: i64,
) -> Result<Vec<Option<VariantId>>, ConnectorError> {
    let product_id = ProductId::new();
    let variants = product
        .variants
        .iter()
        .map(|v| {
            Ok(Variant {
                id: VariantId::new(),
                product_id,
                sku: Sku::parse(&v.sku)
                    .map_err(|e| ConnectorError::Malformed(format!("sku `{}`: {e}", v.sku)))?,
                title: v.title.clone(),
                options: vec![],
                price: Money::new(v.price_minor, page.currency)
                    .map_err(|e| ConnectorError::Malformed(e.to_string()))?,
                max_quantity_per_order: None,
                image_url: None,
            })
        })
        .collect::<Result<Vec<_>, ConnectorError>>()?;
    let p = Product {
        id: product_id,
        title: product.title.clone(),
        description: product.description.clone(),
        images: product.images.iter().take(IMAGES_MAX).cloned().collect(),
        active: product.active,
        variants,
    };
    store.create_product(merchant, &p, now_ms).await?;
    // Linked after the product exists: a crash in between re-creates it on resume
    // (the SKU uniqueness rule then refuses the duplicate and says so).
    store
        .link_external_id(
            merchant,
            platform,
            ExternalKind::Product,
            &product.external_id,
            &product_id.to_string(),
        )
        .await?;
    for (imported, created) in product.variants.iter().zip(&p.variants) {
        let id = created.id.to_string();
        store
            .link_external_id(
                merchant,
                platform,
                ExternalKind::Variant,
                &imported.external_id,
                &id,
            )
            .await?;
        store
            .link_external_id(
                merchant,
                platform,
                ExternalKind::InventoryItem,
                &imported.inventory_item_id,
                &id,
            )
            .await?;
    }
    Ok(p.variants.iter().map(|v| Some(v.id)).collect())
}

async fn update_prices(
    store: &Store,
    merchant: MerchantId,
    platform: &str,
    page: &CataloguePage,
    product: &ImportedProduct,
) -> Result<Vec<Option<VariantId>>, ConnectorError> {
    let mut out = Vec::with_capacity(product.variants.len());
    for v in &product.variants {
        let Some(id) = store
            .external_to_internal(merchant, platform, ExternalKind::Variant, &v.external_id)
            .await?
        else {
            tracing::warn!(merchant_id = %merchant, variant = %v.external_id, "new variant on an imported product is not imported yet; skipped");
            out.push(None);
            continue;
        };
        let id: VariantId = parse(&id)?;
        let price = Money::new(v.price_minor, page.currency)
            .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        store.set_variant_price(merchant, id, price).await?;
        out.push(Some(id));
    }
    Ok(out)
}
