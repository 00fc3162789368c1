//! Cross-cutting request handling: metrics, one log line per failed request, and
//! panics turned into the ACP 500.

use crate::error::{ApiError, ErrorLog};
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
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

/// Runs the request in the checkout service's request scope: the merchant's
/// configuration generation read while authenticating its API key is reused by
/// the request instead of read again (see `anycart_checkout::merchant_config`).
pub async fn request_scope(req: Request, next: Next) -> Response {
    anycart_checkout::merchant_config::request_scope(next.run(req)).await
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

/// Longest framework error body read to explain it (they are one short line).
const FRAMEWORK_ERROR_BYTES_MAX: usize = 4 * 1024;

/// Every error the server sends is JSON in the API's shape, including the ones
/// the framework writes before a handler runs (a query string or path segment it
/// cannot read, a timeout, a body too large, a media type it does not take). Those
/// come as plain text or empty; this rewrites them, naming the offending query
/// parameter when the framework said which. HTML refusals (the iframe page's
/// sentence for a shopper) and JSON errors pass untouched.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let rendered = response.extensions().get::<ErrorLog>().is_some();
    if !(status.is_client_error() || status.is_server_error()) || rendered {
        return response;
    }
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, FRAMEWORK_ERROR_BYTES_MAX).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let error = framework_error(parts.status, text.trim());
    tracing::debug!(status = parts.status.as_u16(), code = error.code.as_str(), detail = %text.trim(), "framework refusal rewritten");
    let mut rewritten = error.into_response();
    // Keep what the framework said about the refusal (`Allow`, `Retry-After`…).
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            rewritten.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    rewritten
}

/// The catalogue's error for a framework refusal with `status` and `text`.
fn framework_error(status: StatusCode, text: &str) -> ApiError {
    use crate::error::ErrorCode as E;
    match status.as_u16() {
        400 if text.starts_with("Failed to deserialize query string") => {
            let detail = text
                .trim_start_matches("Failed to deserialize query string")
                .trim_start_matches(':')
                .trim();
            let error = ApiError::new(
                E::InvalidQuery,
                format!("The query string is invalid: {detail}"),
            );
            match detail.split_once(':') {
                Some((param, _)) if !param.contains(' ') => error.with_param(param.trim()),
                _ => error,
            }
        }
        400 if text.contains("path") || text.contains("Invalid URL") || text.contains("UTF-8") => {
            ApiError::new(E::InvalidPath, "A segment of the path is invalid.")
        }
        400 if text.contains("timed out") || text.contains("deadline") => {
            ApiError::new(E::RequestTimeout, "The request body stopped arriving.").retry_after(1)
        }
        400 => ApiError::new(E::BadRequest, "The request could not be read."),
        404 => ApiError::not_found("route"),
        405 => ApiError::new(
            E::MethodNotAllowed,
            "This method is not allowed on this path.",
        ),
        408 => ApiError::new(E::RequestTimeout, "The request took too long.").retry_after(1),
        413 => ApiError::new(E::BodyTooLarge, "The request body is too large."),
        414 => ApiError::new(E::UriTooLong, "The request URI is too long."),
        415 => ApiError::new(
            E::UnsupportedMediaType,
            "Send the body as application/json.",
        ),
        429 => ApiError::new(E::RateLimited, "Too many requests; slow down.").retry_after(1),
        503 => ApiError::new(E::Overloaded, "The service is busy; retry shortly.").retry_after(1),
        s if s >= 500 => ApiError::internal(format!("framework error {s}: {text}")),
        _ => ApiError::new(E::BadRequest, "The request could not be read."),
    }
    .with_detail(text.to_string())
}
