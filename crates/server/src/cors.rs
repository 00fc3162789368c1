//! Cross-origin access: browsers may call the checkout API and the widget's
//! endpoints from the host pages merchants allowed for their placements (a
//! headless SDK on a publisher's page), and nothing else cross-origin — the
//! admin API answers no CORS at all, so a page elsewhere cannot use a merchant's
//! secret key from a browser even if it had it.
//!
//! The allowed origins are every enabled placement's `allowed_origins`, cached per
//! node for [`ORIGINS_CACHE_TTL_MS`] (a new placement's origin works within that).
//! The publishable key still decides which merchant a call is for.

use crate::state::AppState;
use axum::http::{HeaderName, HeaderValue, Method, request::Parts};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a node reuses the set of allowed origins.
pub const ORIGINS_CACHE_TTL_MS: u64 = 10_000;
/// How long browsers may cache a preflight answer.
const PREFLIGHT_MAX_AGE_S: u64 = 600;

/// The routes a browser on a placement's host page may call.
fn cross_origin_route(path: &str) -> bool {
    path == "/checkout_sessions"
        || path.starts_with("/checkout_sessions/")
        || path.starts_with("/widget/")
        || path == "/availability/stream"
        // Funnel reports from apps built on the SDK (the widget's beacons are
        // simple requests and need no CORS).
        || path == "/events"
        // The sandbox tokeniser: an app on the SDK types test cards into its own UI.
        || path == "/v1/sandbox/tokens"
}

#[derive(Debug, Default)]
struct Cached {
    fetched: Option<Instant>,
    origins: BTreeSet<String>,
}

/// The CORS layer of [`crate::app`].
pub fn layer(state: &AppState) -> CorsLayer {
    let cache = Arc::new(RwLock::new(Cached::default()));
    let store = state.store.clone();
    let allow = AllowOrigin::async_predicate(move |origin: HeaderValue, parts: &Parts| {
        let (cache, store) = (cache.clone(), store.clone());
        let route = cross_origin_route(parts.uri.path());
        async move {
            let Ok(origin) = origin.to_str() else {
                return false;
            };
            route && allowed(&cache, &store, origin).await
        }
    });
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("api-version"),
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(crate::extract::WAITING_ROOM_TICKET_HEADER),
        ])
        .expose_headers([
            HeaderName::from_static("idempotent-replayed"),
            HeaderName::from_static("request-id"),
            axum::http::header::RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(PREFLIGHT_MAX_AGE_S))
}

async fn allowed(cache: &RwLock<Cached>, store: &anycart_store::Store, origin: &str) -> bool {
    let ttl = Duration::from_millis(ORIGINS_CACHE_TTL_MS);
    {
        let c = cache.read().await;
        if c.fetched.is_some_and(|at| at.elapsed() < ttl) {
            return c.origins.contains(origin);
        }
    }
    let mut c = cache.write().await;
    if c.fetched.is_none_or(|at| at.elapsed() >= ttl) {
        match store.placement_origins().await {
            Ok(origins) => c.origins = origins,
            Err(e) => {
                tracing::warn!(error = %e, "could not read placement origins; keeping the last ones")
            }
        }
        c.fetched = Some(Instant::now());
    }
    c.origins.contains(origin)
}
