//! anycart's HTTP edge.
//!
//! [`app`] builds the whole router from an [`AppState`]; `anycart serve` and the
//! integration tests call the same function, so tests exercise exactly what runs.
//! [`spawn_workers`] starts the background jobs (session/hold expiry, idempotency
//! clean-up); [`serve`] ties both to a listener with graceful shutdown.

pub mod acp;
pub mod admin;
pub mod auth;
pub mod availability;
pub mod checkout;
pub mod clock;
pub mod demo;
pub mod demo_pages;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod inventory;
pub mod merchants;
pub mod pages;
pub mod shoppers;
pub mod state;
pub mod webhooks;
pub mod widget;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_scalar::{Scalar, Servable};

/// Longest a request may take before the server answers 408.
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Sessions expired per sweep (bounded so one sweep never stalls the store).
pub const EXPIRY_BATCH_MAX: i64 = 100;
/// Holds past their expiry by this much are released even without a session to
/// expire (an orphan: the node died between taking the hold and writing the
/// session). Short, so orphaned stock is back within a second of its expiry; it
/// only absorbs clock skew between nodes. Safe whatever it is: completion checks
/// the holds are still there inside its transaction.
pub const STALE_HOLD_GRACE_MS: i64 = 500;

#[derive(OpenApi)]
#[openapi(
    info(title = "anycart", description = "Distributed checkout: the ACP 2026-04-17 checkout API (root paths) and the merchant admin API (/v1)."),
    modifiers(&BearerAuth),
    tags((name = "Checkout", description = "Agentic Commerce Protocol checkout sessions (publishable or secret key)"), (name = "Admin", description = "Merchant back office (secret key), mounted under /v1"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pk_… or sk_…")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document and the API routes it describes.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(acp::routes::router())
        .nest("/v1", admin::router())
        .split_for_parts()
}

fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .unwrap_or_else(|_| {
                // Another recorder is installed (e.g. by an embedding app): keep our own handle.
                PrometheusBuilder::new().build_recorder().handle()
            })
    })
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("anycart_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status).increment(1);
    metrics::histogram!("anycart_http_request_duration_seconds", "route" => route, "method" => method).record(started.elapsed().as_secs_f64());
    response
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn metrics_endpoint() -> String {
    prometheus().render()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::internal().into_response()
}

/// Builds the complete router: checkout API, admin API, pages, docs, ops endpoints
/// and the middleware stack (request ids, tracing, limits, panics → ACP 500).
pub fn app(state: AppState) -> Router {
    prometheus();
    let (api_routes, openapi) = api();
    let request_id = HeaderName::from_static("request-id");
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers(Any);
    Router::new()
        .merge(api_routes)
        .route("/", get(pages::landing))
        .route("/orders/{token}", get(pages::order_status))
        .route("/availability/stream", get(availability::stream))
        .route("/healthz", get(healthz))
        .route(
            "/webhooks/{platform}/{merchant_id}",
            axum::routing::post(webhooks::receive)
                // Platform order payloads can outgrow the checkout API's body limit.
                .layer(DefaultBodyLimit::max(anycart_connectors::WEBHOOK_BODY_BYTES_MAX)),
        )
        .route("/metrics", get(metrics_endpoint))
        .route("/openapi.json", get({
            let doc = openapi.clone();
            move || async move { axum::Json(doc) }
        }))
        .merge(Scalar::with_url("/docs", openapi))
        .merge(demo::router())
        .merge(widget::router())
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async { ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This method is not allowed on this path.") })
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(extract::BODY_BYTES_MAX))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_millis(REQUEST_TIMEOUT_MS)))
        .layer(CatchPanicLayer::custom(panic_response))
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

/// Runs one expiry sweep: expires due sessions (giving their stock back) and
/// releases any hold left past its expiry. Returns how many sessions expired.
pub async fn sweep_once(state: &AppState) -> Result<usize, ApiError> {
    let now = state.now_ms();
    let due = state.store.expired_sessions(now, EXPIRY_BATCH_MAX).await?;
    for (merchant, id) in &due {
        checkout::expire(state, *merchant, *id).await?;
    }
    let stale = state
        .store
        .release_stale_holds(now - STALE_HOLD_GRACE_MS, EXPIRY_BATCH_MAX)
        .await?;
    if stale > 0 {
        tracing::warn!(
            stale,
            "released holds whose session was not expired in time"
        );
    }
    if !due.is_empty() {
        metrics::counter!("anycart_sessions_expired_total").increment(due.len() as u64);
    }
    Ok(due.len())
}

/// Starts the background jobs; they stop when `shutdown` turns true.
pub fn spawn_workers(
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let outbox = tokio::spawn(outbox_loop(state.clone(), shutdown.clone()));
    let reconcile = tokio::spawn(reconcile_loop(state.clone(), shutdown.clone()));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(
            state.config.sweep_interval_ms.max(50),
        ));
        let mut last_purge = Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(e) = sweep_once(&state).await {
                tracing::warn!(error = %e.message, "expiry sweep failed; will retry");
            }
            if last_purge.elapsed() > Duration::from_secs(3600) {
                last_purge = Instant::now();
                match state.store.purge_idempotency(state.now_ms()).await {
                    Ok(n) if n > 0 => tracing::info!(purged = n, "old idempotency keys removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
                }
                if let Err(e) = state.store.purge_shopper_secrets(state.now_ms()).await {
                    tracing::warn!(error = %e, "shopper code purge failed");
                }
            }
        }
        let _ = outbox.await;
        let _ = reconcile.await;
    })
}

/// How often stock is re-read from connected platforms to repair lost webhooks.
pub const RECONCILE_INTERVAL_MS: u64 = 15 * 60_000;

/// Periodic stock reconciliation with connected platforms (first run one interval
/// after start, so a restart loop does not hammer the platforms).
async fn reconcile_loop(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let period = Duration::from_millis(RECONCILE_INTERVAL_MS);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        if let Err(e) =
            anycart_connectors::reconcile::reconcile_all(&state.store, state.now_ms()).await
        {
            tracing::warn!(error = %e, "stock reconciliation failed; will retry");
        }
    }
}

/// Delivers the order outbox to merchants' platforms, one bounded batch per tick,
/// on its own task so a slow platform never delays session expiry.
async fn outbox_loop(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(
        state.config.sweep_interval_ms.max(50),
    ));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => break,
        }
        if let Err(e) =
            anycart_connectors::delivery::deliver_due(&state.store, state.now_ms()).await
        {
            tracing::warn!(error = %e, "outbox delivery failed; will retry");
        }
    }
}

/// Serves `app(state)` on `listener` until `shutdown` resolves, then drains
/// in-flight requests and stops the workers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = spawn_workers(state.clone(), stop_rx);
    let router = app(state.clone());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let _ = stop_tx.send(true);
    let _ = workers.await;
    state.store.close().await;
    Ok(())
}
