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
//!
//! API keys a node has seen are kept too, each under the generation read with
//! it (`Store::find_live_api_key`): a revocation, or a change to the agent
//! platform calling with a key, bumps the generation (migration 0026), so a
//! revoked key stops working on every node at its next request. A request
//! authenticated by a kept key reads only the generation, and the rest of the
//! request uses that generation instead of reading it again (see
//! [`request_scope`]): one read per request for key and configuration both.

use crate::error::CheckoutResult;
use anycart_core::catalogue::Variant;
use anycart_core::pricing::{Discount, ShippingZone, TaxRate};
use anycart_core::{MerchantId, VariantId};
use anycart_store::{LiveApiKey, Store};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::OnceCell;

/// Merchants kept in memory per node; past it the cache starts over (a node
/// serving more merchants than this pays the reads, not memory).
pub const CACHED_MERCHANTS_MAX: usize = 1_000;
/// Variants kept per merchant; past it further variants are read every time.
pub const CACHED_VARIANTS_MAX: usize = 10_000;
/// API keys kept per node (by their hash); past it the cache starts over.
pub const CACHED_KEYS_MAX: usize = 10_000;

tokio::task_local! {
    /// The configuration generation this request read while authenticating
    /// its caller, for the merchant it was read for; taken by the request's
    /// first configuration lookup.
    static REQUEST_GENERATION: Cell<Option<(MerchantId, i64)>>;
}

/// Runs one request (`work`) in a scope where the configuration generation
/// read while authenticating its API key is reused by the request's first
/// configuration lookup instead of being read again. Outside such a scope
/// (workers, tests calling the service directly) every lookup reads it.
///
/// Only the first lookup uses it, so a request never serves a copy older than
/// a configuration change it made itself.
pub async fn request_scope<F: std::future::Future>(work: F) -> F::Output {
    REQUEST_GENERATION.scope(Cell::new(None), work).await
}

/// Notes the generation the request just read for `merchant`.
fn note_request_generation(merchant: MerchantId, generation: i64) {
    // Outside a request scope there is nothing to note into.
    let _ = REQUEST_GENERATION.try_with(|noted| noted.set(Some((merchant, generation))));
}

/// The generation this request noted for `merchant`, once.
fn take_request_generation(merchant: MerchantId) -> Option<i64> {
    REQUEST_GENERATION
        .try_with(|noted| match noted.get() {
            Some((m, generation)) if m == merchant => {
                noted.set(None);
                Some(generation)
            }
            _ => None,
        })
        .ok()
        .flatten()
}

/// The part of a configuration in `cell`, reading it with `read` on first use
/// (`read` is a future: nothing is read when the part is known already).
async fn read_once<T>(
    cell: &OnceCell<Arc<T>>,
    read: impl std::future::Future<Output = Result<T, anycart_store::StoreError>>,
) -> CheckoutResult<Arc<T>> {
    let part = cell
        .get_or_try_init(|| async { read.await.map(Arc::new) })
        .await?;
    Ok(Arc::clone(part))
}

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
        read_once(&self.zones, store.list_shipping_zones(merchant)).await
    }

    /// The merchant's tax rates.
    pub(crate) async fn tax_rates(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<Vec<TaxRate>>> {
        read_once(&self.tax_rates, store.list_tax_rates(merchant)).await
    }

    /// The merchant's discount codes (with their redemption counts as of this
    /// copy: see the module's doc).
    pub(crate) async fn discounts(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<Vec<Discount>>> {
        read_once(&self.discounts, store.list_discounts(merchant)).await
    }

    /// The variants that have a waiting room.
    pub(crate) async fn rooms(
        &self,
        store: &Store,
        merchant: MerchantId,
    ) -> CheckoutResult<Arc<HashSet<VariantId>>> {
        read_once(&self.rooms, async {
            Ok(store.waiting_rooms(merchant).await?.into_iter().collect())
        })
        .await
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
    /// Live API keys by their hash, as read with their generation.
    keys: Mutex<HashMap<String, LiveApiKey>>,
}

impl Default for MerchantConfigCache {
    fn default() -> Self {
        MerchantConfigCache {
            enabled: AtomicBool::new(true),
            merchants: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
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
            self.keys
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }

    /// The live key whose hash is `key_hash`, or `None` for an unknown or
    /// revoked one. A kept key costs one read of its merchant's generation, and
    /// is used only while that generation is the one it was read at; the
    /// generation read is noted for the rest of the request either way.
    pub(crate) async fn live_key(
        &self,
        store: &Store,
        key_hash: &str,
    ) -> Result<Option<LiveApiKey>, anycart_store::StoreError> {
        if !self.enabled.load(Ordering::Relaxed) {
            return store.find_live_api_key(key_hash).await;
        }
        let kept = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key_hash)
            .cloned();
        if let Some(kept) = kept {
            let merchant = kept.record.merchant_id;
            let generation = store.config_generation(merchant).await?;
            if generation == kept.generation {
                note_request_generation(merchant, generation);
                return Ok(Some(kept));
            }
        }
        let found = store.find_live_api_key(key_hash).await?;
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        match &found {
            Some(key) => {
                note_request_generation(key.record.merchant_id, key.generation);
                if keys.len() >= CACHED_KEYS_MAX {
                    keys.clear();
                }
                keys.insert(key_hash.to_string(), key.clone());
            }
            None => {
                keys.remove(key_hash);
            }
        }
        Ok(found)
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
        let generation = match take_request_generation(merchant) {
            Some(generation) => generation,
            None => store.config_generation(merchant).await?,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The generation noted while authenticating serves the request's first
    /// lookup for that merchant only: a second lookup (after the request may
    /// have changed the configuration itself) or another merchant reads.
    #[tokio::test]
    async fn a_noted_generation_serves_one_lookup_of_its_merchant_in_its_request() {
        let (m, other) = (MerchantId::new(), MerchantId::new());
        request_scope(async {
            note_request_generation(m, 7);
            assert_eq!(take_request_generation(other), None);
            assert_eq!(take_request_generation(m), Some(7));
            assert_eq!(take_request_generation(m), None);
        })
        .await;
        note_request_generation(m, 8);
        assert_eq!(
            take_request_generation(m),
            None,
            "outside a request nothing is noted"
        );
        request_scope(async { assert_eq!(take_request_generation(m), None) }).await;
    }
}
