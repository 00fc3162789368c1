//! Live availability: a server-sent-events stream of free stock per variant.
//!
//! `GET /availability/stream?key=pk_…&variants=var_a,var_b` (EventSource cannot send
//! headers, so the publishable key rides in the query). Each change is one event:
//! `event: availability` / `data: {"variant_id":"var_…","available":N}`.
//!
//! Changes come from two places: the inventory engine on this node (exact, the
//! moment a batch commits) and a poller that re-reads the watched variants every
//! [`POLL_INTERVAL_MS`], which catches everything else — other nodes sharing the
//! database, releases, expiry, sales, admin restocks — without LISTEN/NOTIFY.

use crate::auth::hash_key;
use crate::error::ApiError;
use crate::inventory::AvailabilityChange;
use crate::state::AppState;
use anycart_core::{MerchantId, VariantId};
use anycart_store::Store;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

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

/// Query of the stream endpoint.
#[derive(Debug, serde::Deserialize)]
pub struct StreamQuery {
    /// A publishable (or secret) key of the merchant.
    pub key: Option<String>,
    /// Comma-separated variant ids (at most [`STREAM_VARIANTS_MAX`]).
    pub variants: Option<String>,
}

fn event(variant: VariantId, available: i64) -> Result<Event, std::convert::Infallible> {
    Ok(Event::default().event("availability").data(
        serde_json::json!({"variant_id": variant.to_string(), "available": available.max(0)})
            .to_string(),
    ))
}

/// `GET /availability/stream`: current availability, then every change.
pub async fn stream(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, ApiError> {
    let unauthorized = || {
        ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "The key is not valid.",
        )
    };
    let presented = q
        .key
        .as_deref()
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(unauthorized)?;
    let key = state
        .store
        .find_api_key(&hash_key(presented))
        .await?
        .ok_or_else(unauthorized)?;
    let requested: Vec<&str> = q
        .variants
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    if requested.is_empty() || requested.len() > STREAM_VARIANTS_MAX {
        return Err(ApiError::bad_request(
            "invalid_variants",
            format!("Give 1 to {STREAM_VARIANTS_MAX} comma-separated variant ids."),
        )
        .with_param("variants"));
    }
    let ids = requested
        .iter()
        .map(|v| {
            VariantId::parse(v).map_err(|_| {
                ApiError::bad_request(
                    "invalid_item_id",
                    format!(
                        "Unknown variant `{}`.",
                        v.chars().take(64).collect::<String>()
                    ),
                )
                .with_param("variants")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let owned = state.store.get_variants(key.merchant_id, &ids).await?;
    if owned.len() != {
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        unique.len()
    } {
        return Err(ApiError::bad_request(
            "invalid_item_id",
            "One of the variants does not exist.",
        )
        .with_param("variants"));
    }
    let ids: Vec<VariantId> = owned.iter().map(|v| v.id).collect();
    let (guard, rx) = state.availability.watch(key.merchant_id, &ids);
    let initial: BTreeMap<VariantId, i64> = state.store.available_by_variant(&ids).await?;
    let first: Vec<_> = ids
        .iter()
        .map(|v| event(*v, initial.get(v).copied().unwrap_or(0)))
        .collect();
    let merchant = key.merchant_id;
    let wanted = ids.clone();
    let updates = BroadcastStream::new(rx).filter_map(move |msg| {
        let _keep_watching = &guard;
        match msg {
            Ok(c) if c.merchant == merchant && wanted.contains(&c.variant) => {
                Some(event(c.variant, c.available))
            }
            _ => None,
        }
    });
    Ok(Sse::new(tokio_stream::iter(first).chain(updates))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
