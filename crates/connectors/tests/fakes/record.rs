//! Records every exchange a fake platform has (request and response, verbatim)
//! when `ANYCART_PLATFORM_RECORD_DIR` is set, so `scripts/check-platform-schemas`
//! can hold what the connectors send, and what the fakes answer, to the
//! platforms' own published schemas. Without the variable it does nothing.
//!
//! One JSON file per exchange (`<dir>/<platform>/<pid>-<n>.json`): nextest runs
//! each test in its own process, so files never collide and no locking is needed.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the folder exchanges are written to.
pub const RECORD_DIR_VAR: &str = "ANYCART_PLATFORM_RECORD_DIR";
/// Largest body the recorder buffers (the fakes' bodies are far smaller).
const BODY_BYTES_MAX: usize = 16 * 1024 * 1024;

static EXCHANGES: AtomicU64 = AtomicU64::new(0);

/// An axum middleware: `.layer(axum::middleware::from_fn(|r, n| record::exchange("shopify", r, n)))`.
pub async fn exchange(platform: &'static str, request: Request, next: Next) -> Response {
    let Some(dir) = std::env::var_os(RECORD_DIR_VAR) else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let request_body = to_bytes(body, BODY_BYTES_MAX).await.unwrap_or_default();
    let request = Request::from_parts(parts.clone(), Body::from(request_body.clone()));
    let response = next.run(request).await;
    let (response_parts, body) = response.into_parts();
    let response_body = to_bytes(body, BODY_BYTES_MAX).await.unwrap_or_default();
    let header = |h: &axum::http::HeaderMap, name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let record = json!({
        "platform": platform,
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "request_content_type": header(&parts.headers, "content-type"),
        "request_body": text(&request_body),
        "status": response_parts.status.as_u16(),
        "response_content_type": header(&response_parts.headers, "content-type"),
        "response_body": text(&response_body),
    });
    let folder = std::path::Path::new(&dir).join(platform);
    let n = EXCHANGES.fetch_add(1, Ordering::Relaxed);
    let file = folder.join(format!("{}-{n}.json", std::process::id()));
    std::fs::create_dir_all(&folder).expect("record folder");
    std::fs::write(&file, record.to_string()).expect("record file");
    Response::from_parts(response_parts, Body::from(response_body))
}

fn text(body: &Bytes) -> String {
    String::from_utf8_lossy(body).into_owned()
}
