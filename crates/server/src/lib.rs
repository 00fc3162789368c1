//! anycart's HTTP edge: the doors into the checkout service.
//!
//! [`app`] builds the whole router from an [`AppState`]; `anycart serve` and the
//! integration tests call the same function, so tests exercise exactly what runs.
//! Handlers live in [`routes`], one module per door; each parses its wire format,
//! authorises ([`auth`]), calls one method of
//! [`anycart_checkout::CheckoutService`] and renders the result. Every failure is
//! an [`error::ApiError`] from the one error catalogue. [`serve`] ties the router
//! and the service's background workers to a listener with graceful shutdown.

pub mod api_version;
pub mod auth;
pub mod error;
pub mod extract;
pub mod idempotency;
mod middleware;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod ucp_runtime;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Longest a request may take before the server answers 408.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
// The service recovers half-done work only after the longest a request may run.
#[allow(clippy::cast_possible_wrap)] // compile-time constants far below i64::MAX
const _: () =
    assert!(REQUEST_TIMEOUT_MS as i64 <= anycart_checkout::workers::REQUEST_DURATION_MS_MAX);

/// Builds the complete router: every door, pages, docs, ops endpoints and the
/// middleware stack (request ids, tracing, limits, error logs, panics → ACP 500).
pub fn app(state: AppState) -> Router {
    middleware::install_metrics();
    let (routes, doc) = openapi::api();
    let request_id = HeaderName::from_static("request-id");
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers(Any);
    Router::new()
        .merge(routes)
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "This method is not allowed on this path.",
            )
        })
        // What /openapi.json serves: the document of these very routes.
        .layer(axum::Extension(std::sync::Arc::new(doc)))
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(axum::middleware::from_fn(middleware::log_errors))
        .layer(DefaultBodyLimit::max(extract::BODY_BYTES_MAX))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(REQUEST_TIMEOUT_MS),
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req.headers().get("request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id, merchant_id = tracing::field::Empty)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([axum::http::header::AUTHORIZATION]))
        .with_state(state)
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains
/// in-flight requests and stops the workers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = state.checkout.spawn_workers(stop_rx.clone());
    let ucp_webhooks = routes::ucp::spawn_webhook_worker(&state, stop_rx);
    let router = app(state.clone());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let _ = stop_tx.send(true);
    let _ = workers.await;
    let _ = ucp_webhooks.await;
    state.store.close().await;
    Ok(())
}
