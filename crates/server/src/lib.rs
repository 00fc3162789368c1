//! anycart's HTTP edge: the doors into the checkout service.
//!
//! [`app`] builds the whole router from an [`AppState`]; `anycart serve` and the
//! integration tests call the same function, so tests exercise exactly what runs.
//! Handlers live in [`routes`], one module per door; each parses its wire format,
//! authorises ([`auth`]), calls one method of
//! [`anycart_checkout::CheckoutService`] and renders the result. Every failure is
//! an [`error::ApiError`] from the one error catalogue. [`serve()`] ties the router
//! and the service's background workers to a listener, with limits on slow and
//! greedy clients and graceful shutdown.

pub mod admission;
pub mod api_version;
pub mod auth;
pub mod cors;
pub mod error;
pub mod extract;
pub mod idempotency;
mod middleware;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod state;
pub mod ucp_runtime;

pub use serve::serve;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
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
    let cors = cors::layer(&state);
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
        .layer(axum::middleware::from_fn(middleware::request_scope))
        .layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(axum::middleware::from_fn(middleware::log_errors))
        .layer(DefaultBodyLimit::max(extract::BODY_BYTES_MAX))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(REQUEST_TIMEOUT_MS),
        ))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_millis(state.config.limits.body_read_timeout_ms),
        ))
        .layer(axum::middleware::from_fn_with_state(
            admission::Admission::new(state.config.limits),
            serve::shed_load,
        ))
        .layer(axum::middleware::from_fn(serve::bound_uri))
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
