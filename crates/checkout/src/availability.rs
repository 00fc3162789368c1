//! Live availability: free stock per variant, fanned out to every open stream of
//! this process (the server turns it into server-sent events).
//!
//! Changes come from two places: the inventory engine on this node (exact, the
//! moment a batch commits) and a poller that re-reads the watched variants every
//! [`POLL_INTERVAL_MS`], which catches everything else — other nodes sharing the
//! database, releases, expiry, sales, admin restocks — without LISTEN/NOTIFY.

use crate::error::{CheckoutError, CheckoutResult};
use crate::inventory::AvailabilityChange;
use anycart_core::{MerchantId, VariantId};
use anycart_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

/// How often watched variants are re-read from the database.
pub const POLL_INTERVAL_MS: u64 = 1_000;
/// Most variants one stream may watch.
pub const STREAM_VARIANTS_MAX: usize = 20;
/// Buffered changes per process before slow subscribers skip ahead.
const CHANGES_BUFFER_MAX: usize = 4_096;

#[derive(Debug, Default)]
struct Watch {
    subscribers: usize,
    last: Option<i64>,
}

/// Fans availability changes out to every open stream of this process.
#[derive(Debug)]
pub struct AvailabilityHub {
    changes: broadcast::Sender<AvailabilityChange>,
    watched: Mutex<HashMap<VariantId, (MerchantId, Watch)>>,
}

/// Keeps variants watched while a stream is open.
pub struct WatchGuard {
    hub: Arc<AvailabilityHub>,
    variants: Vec<VariantId>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let mut w = self.hub.lock();
        for v in &self.variants {
            if let Some((_, watch)) = w.get_mut(v) {
                watch.subscribers -= 1;
                if watch.subscribers == 0 {
                    w.remove(v);
                }
            }
        }
    }
}

impl AvailabilityHub {
    /// Starts the poller (and, with an engine, the forwarder of its commits).
    pub fn start(
        store: Store,
        engine_changes: Option<broadcast::Receiver<AvailabilityChange>>,
    ) -> Arc<Self> {
        let (changes, _) = broadcast::channel(CHANGES_BUFFER_MAX);
        let hub = Arc::new(AvailabilityHub {
            changes,
            watched: Mutex::new(HashMap::new()),
        });
        tokio::spawn(poll(Arc::downgrade(&hub), store));
        if let Some(rx) = engine_changes {
            tokio::spawn(forward(Arc::downgrade(&hub), rx));
        }
        hub
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<VariantId, (MerchantId, Watch)>> {
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a value and tells subscribers if it changed.
    pub fn publish(&self, change: AvailabilityChange) {
        let mut w = self.lock();
        if let Some((_, watch)) = w.get_mut(&change.variant)
            && watch.last != Some(change.available)
        {
            watch.last = Some(change.available);
            let _ = self.changes.send(change);
        }
    }

    /// Watches `variants` of `merchant` until the guard drops.
    pub fn watch(
        self: &Arc<Self>,
        merchant: MerchantId,
        variants: &[VariantId],
    ) -> (WatchGuard, broadcast::Receiver<AvailabilityChange>) {
        let rx = self.changes.subscribe();
        let mut w = self.lock();
        for v in variants {
            w.entry(*v)
                .or_insert_with(|| (merchant, Watch::default()))
                .1
                .subscribers += 1;
        }
        (
            WatchGuard {
                hub: self.clone(),
                variants: variants.to_vec(),
            },
            rx,
        )
    }
}

async fn poll(hub: Weak<AvailabilityHub>, store: Store) {
    let mut tick = tokio::time::interval(Duration::from_millis(POLL_INTERVAL_MS));
    loop {
        tick.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        let watched: Vec<(VariantId, MerchantId)> =
            hub.lock().iter().map(|(v, (m, _))| (*v, *m)).collect();
        if watched.is_empty() {
            continue;
        }
        let variants: Vec<VariantId> = watched.iter().map(|(v, _)| *v).collect();
        match store.available_by_variant(&variants).await {
            Ok(now) => {
                for (variant, merchant) in watched {
                    hub.publish(AvailabilityChange {
                        merchant,
                        variant,
                        available: now.get(&variant).copied().unwrap_or(0),
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "availability poll failed"),
        }
    }
}

async fn forward(hub: Weak<AvailabilityHub>, mut rx: broadcast::Receiver<AvailabilityChange>) {
    loop {
        match rx.recv().await {
            Ok(change) => match hub.upgrade() {
                Some(hub) => hub.publish(change),
                None => return,
            },
            Err(broadcast::error::RecvError::Lagged(_)) => continue, // the poller repairs
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// A live-stock subscription: the current figures, then every change of the
/// watched variants until its [`StockFilter`] is dropped.
pub struct LiveStock {
    /// Free stock of each watched variant now (never negative).
    pub initial: Vec<(VariantId, i64)>,
    /// Changes of this process, subscribed before `initial` was read (so none is
    /// missed); keep those the filter accepts.
    pub changes: broadcast::Receiver<AvailabilityChange>,
    pub filter: StockFilter,
}

/// Which changes a subscription wants; keeps its variants watched while alive.
pub struct StockFilter {
    _guard: WatchGuard,
    merchant: MerchantId,
    variants: Vec<VariantId>,
}

impl StockFilter {
    /// True when `change` is about one of this subscription's variants.
    pub fn concerns(&self, change: &AvailabilityChange) -> bool {
        change.merchant == self.merchant && self.variants.contains(&change.variant)
    }
}

impl crate::CheckoutService {
    /// Watches up to [`STREAM_VARIANTS_MAX`] of `merchant`'s variants. Refuses
    /// (as [`CheckoutError::UnknownItem`]) a variant the merchant does not have.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn watch_stock(
        &self,
        merchant: MerchantId,
        variants: &[VariantId],
    ) -> CheckoutResult<LiveStock> {
        let mut unique = variants.to_vec();
        unique.sort();
        unique.dedup();
        let owned: Vec<VariantId> = self
            .store
            .get_variants(merchant, &unique)
            .await?
            .iter()
            .map(|v| v.id)
            .collect();
        if let Some((line, id)) = variants
            .iter()
            .enumerate()
            .find(|(_, v)| !owned.contains(v))
        {
            return Err(CheckoutError::UnknownItem { line, id: *id });
        }
        let (guard, changes) = self.availability.watch(merchant, &owned);
        let now = self.store.available_by_variant(&owned).await?;
        Ok(LiveStock {
            initial: owned
                .iter()
                .map(|v| (*v, now.get(v).copied().unwrap_or(0).max(0)))
                .collect(),
            changes,
            filter: StockFilter {
                _guard: guard,
                merchant,
                variants: owned,
            },
        })
    }
}
