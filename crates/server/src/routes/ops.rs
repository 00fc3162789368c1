//! Operator endpoints: `/healthz` (the database answers) and `/metrics` (Prometheus).

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
}

/// Whether this node can reach its database: `{"status": "ok"}`, or 503 with
/// `{"status": "unavailable"}` (for load balancers).
#[utoipa::path(get, path = "/healthz", tag = "Operations",
    responses((status = 200, description = "Healthy", body = Object), (status = 503, description = "The database does not answer", body = Object)))]
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

/// Prometheus metrics of this node: requests by route and status, latencies,
/// hold batches, payments, orders, expiries.
#[utoipa::path(get, path = "/metrics", tag = "Operations",
    responses((status = 200, content_type = "text/plain", description = "Prometheus text format")))]
async fn metrics() -> String {
    crate::middleware::prometheus().render()
}
