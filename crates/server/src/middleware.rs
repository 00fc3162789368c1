//! Cross-cutting request handling: metrics, one log line per failed request, and
//! panics turned into the ACP 500.

use crate::error::{ApiError, ErrorLog};
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// The process's Prometheus recorder (installed once, on first use).
pub fn prometheus() -> &'static PrometheusHandle {
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

/// Makes sure metrics recorded before the first scrape are kept.
pub fn install_metrics() {
    prometheus();
}

/// Counts requests and times them per route, method and status.
pub async fn record_metrics(req: Request, next: Next) -> Response {
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

/// Logs every error response once, inside the request's span: server errors as
/// errors with their cause; refusals by the service (a conflict, a limit, a bad
/// webhook) at info; plain input errors at debug (they are the caller's business).
pub async fn log_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if let Some(ErrorLog { code, detail }) = response.extensions().get::<ErrorLog>() {
        let status = response.status().as_u16();
        let code = code.as_str();
        match detail.as_deref() {
            Some(detail) if response.status().is_server_error() => {
                tracing::error!(status, code, detail, "request failed")
            }
            None if response.status().is_server_error() => {
                tracing::error!(status, code, "request failed")
            }
            Some(detail) => tracing::info!(status, code, detail, "request refused"),
            None => tracing::debug!(status, code, "request refused"),
        }
    }
    response
}

/// A panicking handler answers the ACP 500 (and the panic is logged).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::internal("handler panicked").into_response()
}
