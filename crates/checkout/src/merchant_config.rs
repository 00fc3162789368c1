//! A per-merchant, in-memory copy of what every checkout request reads but that
//! rarely changes: the variants sold (not their stock), shipping zones, tax rates,
//! discount codes and which variants have a waiting room.
//!
//! Correct across nodes: each request first reads the merchant's configuration
//! generation (one single-row read, see `Store::config_generation`), which the
//! database bumps in the same transaction as any write to those tables. A copy is
//! used only while its generation is the one just read, so no node ever prices or
//! admits against a catalogue older than the request. A changed price is then seen
//! by the next rebuild, which warns the shopper before they are charged.
//!
//! A cached discount's redemption count is as of the copy: ordinary redemptions
//! do not bump the generation (that would serialise orders on one row). The
//! count only decides whether a code is used up, and that the database decides
//! itself, in the order's transaction; the redemption that uses a code up bumps
//! the generation, so every node stops offering it on its next request.
//! API keys are not cached (a revoked key must stop working at once).

use crate::error::CheckoutResult;
use anycart_core::catalogue::Variant;
use anycart_core::pricing::{Discount, ShippingZone, TaxRate};
use anycart_core::{MerchantId, VariantId};
use anycart_store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::OnceCell;

/// Merchants kept in memory per node; past it the cache starts over (a node
/// serving more merchants than this pays the reads, not memory).
pub const CACHED_MERCHANTS_MAX: usize = 1_000;
/// Variants kept per merchant; past it further variants are read every time.
pub const CACHED_VARIANTS_MAX: usize = 10_000;

/// One merchant's configuration as of one generation. Each part is read on
/// first use, so a request pays only for what it needs.
#[derive(Debug, Default)]
pub(crate) struct MerchantConfig {
    /// `None` when caching is off (the copy lives for one request).
    generation: Option<i64>,
    zones: OnceCell<Arc<Vec<ShippingZone>>>,
    tax_rates: OnceCell<Arc<Vec<TaxRate>>>,
    discounts: OnceCell<Arc<Vec<Discount>>>,
    rooms: OnceCell<Arc<HashSet<VariantId>>>,
    /// Variants read so far, with whether their product is active.
    variants: Mutex<HashMap<VariantId, (Variant, bool)>>,
}

impl MerchantConfig {
    /// The merchant's shipping zones.
    pub(crate) async fn zones(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<Vec<ShippingZone>>> {
        let zones = self
            .zones
            .get_or_try_init(|| async { store.list_shipping_zones(merchant).await.map(Arc::new) })
            .await?;
        Ok(Arc::clone(zones))
    }

    /// The merchant's tax rates.
    pub(crate) async fn tax_rates(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<Vec<TaxRate>>> {
        let rates = self
            .tax_rates
            .get_or_try_init(|| async { store.list_tax_rates(merchant).await.map(Arc::new) })
            .await?;
        Ok(Arc::clone(rates))
    }

    /// The merchant's discount codes (with their redemption counts as of this
    /// copy: see the module's doc).
    pub(crate) async fn discounts(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<Vec<Discount>>> {
        let discounts = self
            .discounts
            .get_or_try_init(|| async { store.list_discounts(merchant).await.map(Arc::new) })
            .await?;
        Ok(Arc::clone(discounts))
    }

    /// The variants that have a waiting room.
    pub(crate) async fn rooms(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<HashSet<VariantId>>> {
        let rooms = self
            .rooms
            .get_or_try_init(|| async {
                let rooms = store.waiting_rooms(merchant).await?;
                Ok::<_, anycart_store::StoreError>(Arc::new(rooms.into_iter().collect()))
            })
            .await?;
        Ok(Arc::clone(rooms))
    }

    /// The variants among `ids` that exist (with whether their product is
    /// active), reading only those not already known.
    pub(crate) async fn variants(
        &self,
        store: &Store,
        merchant: MerchantId,
        ids: &[VariantId],
    ) -> CheckoutResult<HashMap<VariantId, (Variant, bool)>> {
        let (mut found, missing) = {
            let known = self.variants.lock().unwrap_or_else(PoisonError::into_inner);
            let mut found = HashMap::with_capacity(ids.len());
            let mut missing = Vec::new();
            for id in ids {
                match known.get(id) {
                    Some(v) => {
                        found.insert(*id, v.clone());
                    }
                    None => missing.push(*id),
                }
            }
            (found, missing)
        };
        if missing.is_empty() {
            return Ok(found);
        }
        let read = store.variants_for_sale(merchant, &missing).await?;
        if self.generation.is_some() {
            let mut known = self.variants.lock().unwrap_or_else(PoisonError::into_inner);
            for (v, active) in &read {
                if known.len() >= CACHED_VARIANTS_MAX {
                    break;
                }
                known.insert(v.id, (v.clone(), *active));
            }
        }
        found.extend(read.into_iter().map(|(v, active)| (v.id, (v, active))));
        Ok(found)
    }
}

/// The copies of every merchant this node served lately, each under the
/// generation it was read at.
#[derive(Debug)]
pub(crate) struct MerchantConfigCache {
    /// Off: every request reads everything (the old path, for the benchmark's
    /// same-run baseline).
    enabled: AtomicBool,
    merchants: Mutex<HashMap<MerchantId, Arc<MerchantConfig>>>,
}

impl Default for MerchantConfigCache {
    fn default() -> Self {
        MerchantConfigCache {
            enabled: AtomicBool::new(true),
            merchants: Mutex::new(HashMap::new()),
        }
    }
}

impl MerchantConfigCache {
    /// Switches caching on or off (off drops every copy).
    pub(crate) fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
        if !enabled {
            self.merchants
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }

    /// The merchant's configuration for one request: the cached copy when its
    /// generation is still current, else a fresh one (kept for the next requests).
    pub(crate) async fn current(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<MerchantConfig>> {
        if !self.enabled.load(Ordering::Relaxed) {
            return Ok(Arc::new(MerchantConfig::default()));
        }
        let generation = store.config_generation(merchant).await?;
        let mut merchants = self
            .merchants
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = merchants.get(&merchant) {
            // A newer copy than the generation read is fine too: another request
            // read a later generation after this one read its own.
            if cached.generation.is_some_and(|g| g >= generation) {
                return Ok(Arc::clone(cached));
            }
        }
        if merchants.len() >= CACHED_MERCHANTS_MAX {
            merchants.clear();
        }
        let fresh = Arc::new(MerchantConfig {
            generation: Some(generation),
            ..MerchantConfig::default()
        });
        merchants.insert(merchant, Arc::clone(&fresh));
        Ok(fresh)
    }
}
