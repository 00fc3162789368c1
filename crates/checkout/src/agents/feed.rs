//! The merchant's product feed for agents (ACP product feeds): the catalogue on
//! sale with live availability, read by the JSONL export and the MCP product
//! search, and kept in sync with agent platforms that gave a feed endpoint.
//!
//! Sync: every [`FEED_SYNC_INTERVAL_MS`] each node renders the feed of every
//! platform with an endpoint, fingerprints each product, and queues a push of
//! those whose fingerprint moved (see `anycart_store::agent_feeds`). Stock
//! changes show as availability *status* changes (`in_stock` → `limited_stock`
//! → `out_of_stock`), so a flash sale costs a few pushes, not one per unit.

use crate::CheckoutService;
use crate::error::CheckoutResult;
use anycart_connectors::agent_feed::{available_units, convert};
use anycart_core::catalogue::{Product, Variant};
use anycart_core::{MerchantId, ProductId, VariantId};
use anycart_store::{AgentPlatform, FEED_PUSH_PRODUCTS_MAX, FeedChange};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

/// Most products a feed lists (the export and each sync are bounded).
pub const FEED_PRODUCTS_MAX: usize = 10_000;
/// Products read per catalogue page.
const FEED_PAGE: i64 = 100;
/// How often feeds are compared with what platforms were last sent.
pub const FEED_SYNC_INTERVAL_MS: u64 = 5_000;
/// Platforms synced per page of the walk.
const FEED_PLATFORMS_PAGE: i64 = 50;

/// A variant with what an agent may sell of it now.
#[derive(Clone, Debug)]
pub struct VariantAvailability {
    pub variant: Variant,
    /// Its product is on sale.
    pub on_sale: bool,
    /// Units free to sell (over every location).
    pub available: i64,
}

/// The merchant's feed: products (on sale, or all) with each variant's free units.
#[derive(Clone, Debug, Default)]
pub struct ProductFeed {
    /// The merchant's name: the seller of every variant.
    pub seller: String,
    pub products: Vec<Product>,
    pub available: BTreeMap<VariantId, i64>,
}

impl ProductFeed {
    /// Products whose title, description, SKU or option values contain every
    /// word of `query` (case-insensitive); all of them for an empty query.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Product> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.products
            .iter()
            .filter(|p| {
                let text = searchable_text(p);
                words.iter().all(|w| text.contains(w.as_str()))
            })
            .take(limit)
            .collect()
    }
}

fn searchable_text(p: &Product) -> String {
    let mut text = format!("{} {}", p.title, p.description);
    for v in &p.variants {
        text.push(' ');
        text.push_str(&v.title);
        text.push(' ');
        text.push_str(v.sku.as_ref());
        for o in &v.options {
            text.push(' ');
            text.push_str(&o.value);
        }
    }
    text.to_lowercase()
}

/// A stable fingerprint of how a product shows in a feed.
fn fingerprint(p: &Product, available: &BTreeMap<VariantId, i64>, seller: &str) -> String {
    let rendered =
        serde_json::to_string(&convert::product(p, available, seller)).unwrap_or_default();
    hex::encode(Sha256::digest(rendered.as_bytes()))
}

impl CheckoutService {
    /// `merchant`'s catalogue as agents see it: with `include_off_sale`, also
    /// the products taken off sale (a feed sync must tell platforms they are
    /// discontinued).
    pub async fn product_feed(
        &self,
        merchant: MerchantId,
        include_off_sale: bool,
    ) -> CheckoutResult<ProductFeed> {
        let seller = self
            .store
            .get_merchant(merchant)
            .await?
            .map(|m| m.name)
            .unwrap_or_default();
        let mut products = Vec::new();
        let mut after: Option<ProductId> = None;
        while products.len() < FEED_PRODUCTS_MAX {
            let page = self.store.list_products(merchant, after, FEED_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let full = i64::try_from(page.len()).unwrap_or(0) == FEED_PAGE;
            products.extend(page.into_iter().filter(|p| include_off_sale || p.active));
            if !full {
                break;
            }
        }
        products.truncate(FEED_PRODUCTS_MAX);
        let available = available_units(&self.store, merchant, &products).await?;
        Ok(ProductFeed {
            seller,
            products,
            available,
        })
    }

    /// Live availability of `ids` among `merchant`'s variants (unknown ids are
    /// absent from the answer).
    pub async fn variant_availability(
        &self,
        merchant: MerchantId,
        ids: &[VariantId],
    ) -> CheckoutResult<Vec<VariantAvailability>> {
        let found = self.store.variants_for_sale(merchant, ids).await?;
        let known: Vec<VariantId> = found.iter().map(|(v, _)| v.id).collect();
        let mut available: BTreeMap<VariantId, i64> = BTreeMap::new();
        for level in self.store.stock_levels(merchant, &known).await? {
            *available.entry(level.variant_id).or_insert(0) += level.available();
        }
        Ok(found
            .into_iter()
            .map(|(variant, on_sale)| VariantAvailability {
                available: available.get(&variant.id).copied().unwrap_or(0),
                variant,
                on_sale,
            })
            .collect())
    }

    /// Compares one platform's feed with what it was last sent and queues a push
    /// of what changed. Products never sent and off sale are not news. Returns
    /// how many products were queued.
    pub async fn sync_feed(&self, platform: &AgentPlatform) -> CheckoutResult<usize> {
        let feed = self.product_feed(platform.merchant_id, true).await?;
        let marks = self.store.feed_marks(platform.id).await?;
        let changes: Vec<FeedChange> = feed
            .products
            .iter()
            .filter(|p| p.active || marks.contains_key(&p.id))
            .filter_map(|p| {
                let now = fingerprint(p, &feed.available, &feed.seller);
                let previous = marks.get(&p.id).cloned();
                (previous.as_deref() != Some(now.as_str())).then_some(FeedChange {
                    product_id: p.id,
                    previous,
                    fingerprint: now,
                })
            })
            .collect();
        let mut queued = 0;
        for chunk in changes.chunks(FEED_PUSH_PRODUCTS_MAX) {
            queued += self
                .store
                .queue_feed_push(
                    platform.merchant_id,
                    platform.id,
                    chunk.to_vec(),
                    self.now_ms(),
                )
                .await?
                .len();
        }
        if queued > 0 {
            tracing::info!(agent_platform_id = %platform.id, products = queued, "feed changes queued");
        }
        Ok(queued)
    }

    /// One sync of every platform with a feed endpoint. A platform that fails is
    /// logged and the others go on.
    pub async fn sync_feeds_once(&self) -> CheckoutResult<usize> {
        let mut after = None;
        let mut queued = 0;
        loop {
            let page = self
                .store
                .feed_platforms(after, FEED_PLATFORMS_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for platform in &page {
                match self.sync_feed(platform).await {
                    Ok(n) => queued += n,
                    Err(e) => {
                        tracing::warn!(agent_platform_id = %platform.id, error = %e, "feed sync failed; will retry");
                    }
                }
            }
            if i64::try_from(page.len()).unwrap_or(0) < FEED_PLATFORMS_PAGE {
                break;
            }
        }
        Ok(queued)
    }

    /// Syncs feeds every [`FEED_SYNC_INTERVAL_MS`] until `shutdown`.
    pub(crate) async fn feed_loop(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_millis(FEED_SYNC_INTERVAL_MS));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) = self.sync_feeds_once().await {
                tracing::warn!(error = %e, "feed sync failed; will retry");
            }
        }
    }
}
