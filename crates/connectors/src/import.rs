//! Catalogue and stock import: walks the platform catalogue page by page, creates
//! or updates anycart products, variants, locations and stock, links every
//! platform id (what webhooks and order pushes need), and saves the cursor after
//! each page so an interrupted import resumes where it stopped.

use crate::{
    CataloguePage, Connector, ConnectorError, ImportedLevel, ImportedProduct, ImportedVariant,
    parse_stored_id as parse,
};
use anycart_core::catalogue::{IMAGES_MAX, Location, Product, Sku, Variant};
use anycart_core::{LocationId, MerchantId, Money, ProductId, VariantId};
use anycart_store::{ExternalKind, ImportCursor, Store};
use std::collections::BTreeMap;

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
    let run = ImportRun {
        store,
        merchant,
        platform: connector.platform().as_str(),
        now_ms,
    };
    let mut cursor = run.start_cursor(restart).await?;
    let mut progress = ImportProgress::default();
    if cursor.done {
        progress.finished = true;
        return Ok(progress);
    }
    for _ in 0..IMPORT_PAGES_MAX {
        let page = connector.import_page(cursor.cursor.as_deref()).await?;
        progress.count(&page);
        run.apply_page(&page).await?;
        cursor = ImportCursor {
            done: page.next_cursor.is_none(),
            cursor: page.next_cursor.or(cursor.cursor),
        };
        run.store
            .save_import_cursor(
                merchant,
                run.platform,
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

impl ImportProgress {
    /// Counts one fetched page.
    fn count(&mut self, page: &CataloguePage) {
        self.pages += 1;
        self.products += page.products.len();
        self.variants += page
            .products
            .iter()
            .map(|p| p.variants.len())
            .sum::<usize>();
    }
}

/// What every step of one import run works with: the merchant's store, which
/// platform's ids are linked, and the run's clock.
#[derive(Clone, Copy)]
struct ImportRun<'a> {
    store: &'a Store,
    merchant: MerchantId,
    platform: &'a str,
    now_ms: i64,
}

impl ImportRun<'_> {
    /// Where the run starts: the saved cursor, or the beginning on `restart`.
    async fn start_cursor(&self, restart: bool) -> Result<ImportCursor, ConnectorError> {
        if restart {
            return Ok(ImportCursor {
                cursor: None,
                done: false,
            });
        }
        Ok(self
            .store
            .import_cursor(self.merchant, self.platform, IMPORT_RESOURCE_PRODUCTS)
            .await?)
    }

    /// Stores one page: locations, then each product (created, or its prices
    /// updated when it was imported before), then its starting stock.
    async fn apply_page(&self, page: &CataloguePage) -> Result<(), ConnectorError> {
        for product in &page.products {
            if product.variants.is_empty() {
                continue;
            }
            let locations = self.ensure_locations(product).await?;
            let existing = self
                .store
                .external_to_internal(
                    self.merchant,
                    self.platform,
                    ExternalKind::Product,
                    &product.external_id,
                )
                .await?;
            let variant_ids = match existing {
                Some(_) => self.update_prices(page, product).await?,
                None => self.create_product(page, product).await?,
            };
            for (v, variant_id) in product.variants.iter().zip(&variant_ids) {
                if let Some(variant_id) = variant_id {
                    self.set_starting_stock(v, *variant_id, &locations).await?;
                }
            }
        }
        Ok(())
    }

    /// Sets a variant's on-hand count per location. Import sets the starting
    /// figure; later changes come by webhook. Never below what is already held or
    /// committed, which the store would refuse.
    async fn set_starting_stock(
        &self,
        v: &ImportedVariant,
        variant_id: VariantId,
        locations: &BTreeMap<String, LocationId>,
    ) -> Result<(), ConnectorError> {
        for level in &v.levels {
            let location = locations[&level.location_id];
            let floor = self
                .store
                .stock_levels(self.merchant, &[variant_id])
                .await?
                .iter()
                .find(|l| l.location_id == location)
                .map_or(0, |l| l.held + l.committed);
            self.store
                .set_on_hand(
                    self.merchant,
                    variant_id,
                    location,
                    level.available.max(floor),
                )
                .await?;
        }
        Ok(())
    }

    /// The anycart location of every platform location the product's stock names,
    /// created and linked on first sight.
    async fn ensure_locations(
        &self,
        product: &ImportedProduct,
    ) -> Result<BTreeMap<String, LocationId>, ConnectorError> {
        let mut out = BTreeMap::new();
        for level in product.variants.iter().flat_map(|v| &v.levels) {
            if out.contains_key(&level.location_id) {
                continue;
            }
            let linked = self
                .store
                .external_to_internal(
                    self.merchant,
                    self.platform,
                    ExternalKind::Location,
                    &level.location_id,
                )
                .await?;
            let id = match linked {
                Some(id) => parse(&id)?,
                None => self.create_location(level).await?,
            };
            out.insert(level.location_id.clone(), id);
        }
        Ok(out)
    }

    /// Creates the anycart location for a platform location and links the two.
    async fn create_location(&self, level: &ImportedLevel) -> Result<LocationId, ConnectorError> {
        let loc = Location {
            id: LocationId::new(),
            name: level.location_name.clone(),
        };
        self.store
            .create_location(self.merchant, &loc, self.now_ms)
            .await?;
        self.link(
            ExternalKind::Location,
            &level.location_id,
            &loc.id.to_string(),
        )
        .await?;
        Ok(loc.id)
    }

    /// Creates a product seen for the first time and links it and its variants.
    async fn create_product(
        &self,
        page: &CataloguePage,
        product: &ImportedProduct,
    ) -> Result<Vec<Option<VariantId>>, ConnectorError> {
        let p = new_product(page, product)?;
        self.store
            .create_product(self.merchant, &p, self.now_ms)
            .await?;
        // Linked after the product exists: a crash in between re-creates it on resume
        // (the SKU uniqueness rule then refuses the duplicate and says so).
        self.link(
            ExternalKind::Product,
            &product.external_id,
            &p.id.to_string(),
        )
        .await?;
        for (imported, created) in product.variants.iter().zip(&p.variants) {
            let id = created.id.to_string();
            self.link(ExternalKind::Variant, &imported.external_id, &id)
                .await?;
            self.link(
                ExternalKind::InventoryItem,
                &imported.inventory_item_id,
                &id,
            )
            .await?;
        }
        Ok(p.variants.iter().map(|v| Some(v.id)).collect())
    }

    /// Links a platform id to an anycart id of this merchant.
    async fn link(
        &self,
        kind: ExternalKind,
        external_id: &str,
        internal_id: &str,
    ) -> Result<(), ConnectorError> {
        Ok(self
            .store
            .link_external_id(self.merchant, self.platform, kind, external_id, internal_id)
            .await?)
    }

    /// Updates the prices of a product imported before; a variant added on the
    /// platform since is skipped (`None`) rather than guessed into the product.
    async fn update_prices(
        &self,
        page: &CataloguePage,
        product: &ImportedProduct,
    ) -> Result<Vec<Option<VariantId>>, ConnectorError> {
        let mut out = Vec::with_capacity(product.variants.len());
        for v in &product.variants {
            let Some(id) = self
                .store
                .external_to_internal(
                    self.merchant,
                    self.platform,
                    ExternalKind::Variant,
                    &v.external_id,
                )
                .await?
            else {
                tracing::warn!(merchant_id = %self.merchant, variant = %v.external_id, "new variant on an imported product is not imported yet; skipped");
                out.push(None);
                continue;
            };
            let id: VariantId = parse(&id)?;
            let price = Money::new(v.price_minor, page.currency)
                .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
            self.store
                .set_variant_price(self.merchant, id, price)
                .await?;
            out.push(Some(id));
        }
        Ok(out)
    }
}

/// The anycart product for an imported one: new ids, the platform's SKUs and
/// prices (both must be valid), at most [`IMAGES_MAX`] images.
fn new_product(page: &CataloguePage, product: &ImportedProduct) -> Result<Product, ConnectorError> {
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
    Ok(Product {
        id: product_id,
        title: product.title.clone(),
        description: product.description.clone(),
        images: product.images.iter().take(IMAGES_MAX).cloned().collect(),
        active: product.active,
        variants,
    })
}
