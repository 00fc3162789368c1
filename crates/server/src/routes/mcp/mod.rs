//! The MCP server at `/mcp`: ACP's checkout over the Model Context Protocol
//! (`docs/mcp-binding.md`), on the official Rust SDK's Streamable HTTP
//! transport. `tools` defines the tools and their schemas, `call` runs them
//! through the REST API's own code, `server` is the SDK's handler.
//!
//! Authentication is the merchant's key (or an agent platform's `ak_…`) as
//! `Authorization: Bearer` on the HTTP request, checked here before the SDK
//! sees the message; a missing or wrong key is an HTTP 401 carrying a JSON-RPC
//! error. The transport runs statelessly (no MCP session to keep), so any node
//! behind a load balancer answers any call.

pub mod call;
pub mod server;
pub mod tools;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::BODY_BYTES_MAX;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Serialize;
use server::AnycartMcp;
use std::sync::{Arc, OnceLock};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The MCP routes (mounted at the root).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mcp_post))
        .route("/mcp", axum::routing::get(mcp_other).delete(mcp_other))
}

type Service = StreamableHttpService<AnycartMcp, NeverSessionManager>;

/// The SDK's transport, built once. Its Host check is off: it guards servers
/// on a developer's machine against DNS rebinding, and every call here needs
/// the merchant's key, which a rebinding page does not have.
fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            .with_max_request_body_bytes(BODY_BYTES_MAX)
            .disable_allowed_hosts();
        StreamableHttpService::new(
            || Ok(AnycartMcp),
            Arc::new(NeverSessionManager::default()),
            config,
        )
    })
}

/// A refused key, as MCP clients expect it: HTTP 401 with `WWW-Authenticate`,
/// the body a JSON-RPC error whose `data` is the ACP error.
fn unauthorized(e: &ApiError) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": call::ACP_ERROR.0, "message": e.message, "data": e.body()},
    });
    let mut response = (e.status(), axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"anycart\""),
    );
    response.extensions_mut().insert(e.log());
    response
}

/// Authenticates the key, then hands the request (with the caller and the
/// state on it) to the SDK's transport.
async fn endpoint(state: AppState, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(e) => return unauthorized(&e),
    };
    parts.extensions.insert(caller);
    parts.extensions.insert(state);
    let response = service()
        .handle(Request::from_parts(parts, body))
        .await
        .map(Body::new);
    transport_refusal_as_json_rpc(response).await
}

/// Longest transport refusal read back (the SDK's are one sentence).
const REFUSAL_BYTES_MAX: usize = 4 * 1024;

/// The SDK refuses what is not a JSON-RPC message it can take (not JSON, a
/// media type or method it does not serve, a body too large) with a plain-text
/// sentence; an MCP client reads JSON-RPC, so the refusal becomes a JSON-RPC
/// error (`-32700` parse error, `-32600` invalid request) with the same status.
async fn transport_refusal_as_json_rpc(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, REFUSAL_BYTES_MAX)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let lower = text.to_ascii_lowercase();
    let code = if lower.contains("parse") || lower.contains("deserialize") {
        -32700
    } else {
        -32600
    };
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Invalid request")
            .to_string()
    } else {
        text
    };
    let body = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let mut out = (status, axum::Json(body)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    out
}

/// A JSON-RPC 2.0 error object.
#[derive(Debug, Serialize, ToSchema)]
pub struct JsonRpcErrorObject {
    /// `-32700` parse error, `-32600` invalid request, `-32000` an ACP error.
    pub code: i64,
    pub message: String,
    /// The ACP error (`type`, `code`, `message`, `param`) when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// A JSON-RPC 2.0 error response: what `/mcp` answers a request it refuses
/// before any tool runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JsonRpcErrorWire {
    /// Always `2.0`.
    pub jsonrpc: String,
    /// The request's id, or null when it could not be read.
    pub id: serde_json::Value,
    pub error: JsonRpcErrorObject,
}

/// The MCP endpoint (Streamable HTTP): one JSON-RPC message per POST
/// (`initialize`, `tools/list`, `tools/call` …), answered with JSON.
/// `Authorization: Bearer` with the merchant's key (or an agent platform's).
/// Send `Accept: application/json, text/event-stream`.
#[utoipa::path(post, path = "/mcp", tag = "Checkout",
    request_body(content = Object, content_type = "application/json", description = "A JSON-RPC 2.0 message"),
    responses(
        (status = 200, description = "The JSON-RPC answer (a result, or an error whose data is the ACP error)", body = Object),
        (status = 202, description = "A notification, accepted"),
        (status = 400, description = "Not a JSON-RPC message", body = JsonRpcErrorWire),
        (status = 401, description = "No valid key", body = JsonRpcErrorWire),
        (status = 406, description = "The client does not accept both application/json and text/event-stream", body = JsonRpcErrorWire),
        (status = 413, description = "The body is over 64 KiB", body = JsonRpcErrorWire),
        (status = 415, description = "The body is not JSON", body = JsonRpcErrorWire),
    ),
    security(("bearer" = [])))]
async fn mcp_post(State(state): State<AppState>, request: Request) -> Response {
    endpoint(state, request).await
}

/// GET and DELETE: the transport runs without sessions, so it answers 405.
async fn mcp_other(State(state): State<AppState>, request: Request) -> Response {
    endpoint(state, request).await
}
