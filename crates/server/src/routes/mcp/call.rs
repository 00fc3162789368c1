//! One tool call: its arguments read as the binding says (`meta` → ACP
//! headers, `id` → the path, `payload` → the body), then the very code the
//! REST API runs, and its answer turned into MCP's shape: a result carrying
//! the ACP object, or a JSON-RPC error whose `data` is the ACP error.
//!
//! Error codes: arguments that are not the binding's shape (`meta` not an
//! object, `id` not a string, a missing `payload`) are `-32602` (invalid
//! params); everything the ACP API itself refuses is `-32000`, as the binding
//! asks. Both carry the ACP error object, `param` naming the argument.

use super::tools::{self, AVAILABILITY_VARIANTS_MAX, SEARCH_LIMIT_MAX};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::routes::acp::agent::AcpCaller;
use crate::routes::acp::handlers::{self, cancel_op, complete_op, create_op, get_op, update_op};
use crate::state::AppState;
use anycart_connectors::agent_feed::convert;
use anycart_core::VariantId;
use anycart_core::attribution::AgentProtocol;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ErrorCode as RpcCode, JsonObject};
use serde_json::{Value, json};

/// The JSON-RPC code of every ACP error (`docs/mcp-binding.md`).
pub const ACP_ERROR: RpcCode = RpcCode(-32000);
/// Largest answer read back from the REST code path.
const ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Default number of products a search returns.
const SEARCH_LIMIT_DEFAULT: u32 = 10;

/// An ACP error as a JSON-RPC error: `message` is ACP's, `data` the ACP object.
pub fn acp_error(code: RpcCode, body: Value) -> McpError {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("The request was refused.")
        .to_string();
    McpError::new(code, message, Some(body))
}

fn api_error(e: &ApiError) -> McpError {
    acp_error(ACP_ERROR, json!(e.body()))
}

/// An argument that is not the binding's shape.
fn bad_argument(param: &str, message: impl Into<String>) -> McpError {
    let e = ApiError::new(ErrorCode::InvalidField, message).with_param(param);
    acp_error(RpcCode::INVALID_PARAMS, json!(e.body()))
}

/// `meta` as the ACP headers it stands for. Without an `idempotency_key` the
/// call gets a fresh one (MCP makes it optional; a call without one is simply
/// not replayable).
fn headers(args: &JsonObject) -> Result<HeaderMap, McpError> {
    let meta = match args.get("meta") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(bad_argument("$.meta", "meta must be an object")),
    };
    let mut out = HeaderMap::new();
    for (field, header) in [
        ("api_version", "api-version"),
        ("idempotency_key", "idempotency-key"),
        ("request_id", "request-id"),
        ("user_agent", "user-agent"),
        ("accept_language", "accept-language"),
        ("signature", "signature"),
        ("timestamp", "timestamp"),
    ] {
        let param = format!("$.meta.{field}");
        let value = match meta.get(field) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => HeaderValue::from_str(s)
                .map_err(|_| bad_argument(&param, format!("{field} must be visible ASCII")))?,
            Some(_) => return Err(bad_argument(&param, format!("{field} must be a string"))),
        };
        out.insert(HeaderName::from_static(header), value);
    }
    if !out.contains_key("idempotency-key") {
        let fresh = HeaderValue::from_str(&format!("mcp-{}", uuid::Uuid::now_v7()))
            .map_err(|_| bad_argument("$.meta.idempotency_key", "could not make one"))?;
        out.insert(HeaderName::from_static("idempotency-key"), fresh);
    }
    Ok(out)
}

/// The session id argument.
fn id(args: &JsonObject) -> Result<String, McpError> {
    match args.get("id") {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(bad_argument(
            "$.id",
            "id (the checkout session id) is required",
        )),
        Some(_) => Err(bad_argument("$.id", "id must be a string")),
    }
}

/// The payload argument as the REST body it stands for (`{}`-less when absent
/// and optional).
fn payload(args: &JsonObject, required: bool) -> Result<Bytes, McpError> {
    match args.get("payload") {
        Some(v @ Value::Object(_)) => Ok(Bytes::from(v.to_string())),
        None | Some(Value::Null) if !required => Ok(Bytes::new()),
        None | Some(Value::Null) => Err(bad_argument("$.payload", "payload is required")),
        Some(_) => Err(bad_argument("$.payload", "payload must be an object")),
    }
}

/// A REST answer as a tool result: 2xx carries the ACP object, anything else
/// its ACP error.
async fn answer(response: Response) -> Result<CallToolResult, McpError> {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), ANSWER_BYTES_MAX)
        .await
        .map_err(|e| api_error(&ApiError::internal(format!("reading the answer: {e}"))))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| api_error(&ApiError::internal(format!("answer not JSON: {e}"))))?;
    if status.is_success() {
        Ok(CallToolResult::structured(body))
    } else {
        Err(acp_error(ACP_ERROR, body))
    }
}

/// Runs tool `name` for `caller`.
pub async fn call(
    state: &AppState,
    caller: Caller,
    name: &str,
    args: &JsonObject,
) -> Result<CallToolResult, McpError> {
    match name {
        tools::SEARCH => search(state, caller, args).await,
        tools::AVAILABILITY => availability(state, caller, args).await,
        tools::GET => get(state, caller, args).await,
        tools::CREATE | tools::UPDATE | tools::COMPLETE | tools::CANCEL => {
            checkout_post(state, caller, name, args).await
        }
        other => Err(McpError::new(
            RpcCode::METHOD_NOT_FOUND,
            format!(
                "unknown tool `{}`",
                other.chars().take(64).collect::<String>()
            ),
            None,
        )),
    }
}

/// The four checkout POSTs, through the REST code path (idempotency included).
async fn checkout_post(
    state: &AppState,
    caller: Caller,
    name: &str,
    args: &JsonObject,
) -> Result<CallToolResult, McpError> {
    let headers = headers(args)?;
    let response = if name == tools::CREATE {
        let body = Ok(payload(args, true)?);
        let path = "/checkout_sessions";
        handlers::post(
            state,
            caller,
            &headers,
            path,
            body,
            MCP,
            StatusCode::CREATED,
            create_op,
        )
        .await
    } else {
        session_post(state, caller, &headers, name, args).await?
    };
    answer(response).await
}

/// The binding MCP calls come through.
const MCP: AgentProtocol = AgentProtocol::Mcp;

/// Update, complete or cancel session `args.id`.
async fn session_post(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    name: &str,
    args: &JsonObject,
) -> Result<Response, McpError> {
    let id = id(args)?;
    let ok = StatusCode::OK;
    Ok(match name {
        tools::UPDATE => {
            let (path, body) = (format!("/checkout_sessions/{id}"), Ok(payload(args, true)?));
            let op = |s, w, raw| update_op(s, w, id, raw);
            handlers::post(state, caller, headers, &path, body, MCP, ok, op).await
        }
        tools::COMPLETE => {
            let path = format!("/checkout_sessions/{id}/complete");
            let body = Ok(payload(args, true)?);
            let op = |s, w, raw| complete_op(s, w, id, raw);
            handlers::post(state, caller, headers, &path, body, MCP, ok, op).await
        }
        _ => {
            let path = format!("/checkout_sessions/{id}/cancel");
            let body = Ok(payload(args, false)?);
            let op = |s, w, raw| cancel_op(s, w, id, raw);
            handlers::post(state, caller, headers, &path, body, MCP, ok, op).await
        }
    })
}

async fn get(
    state: &AppState,
    caller: Caller,
    args: &JsonObject,
) -> Result<CallToolResult, McpError> {
    let headers = headers(args)?;
    let id = id(args)?;
    crate::api_version::check_api_version(&headers).map_err(|e| api_error(&e))?;
    let path = format!("/checkout_sessions/{id}");
    let who = AcpCaller::resolve(state, caller, &headers, "GET", &path, b"", MCP)
        .await
        .map_err(|e| api_error(&e))?;
    let session = get_op(state, &who, &id).await.map_err(|e| api_error(&e))?;
    Ok(CallToolResult::structured(json!(session)))
}

async fn search(
    state: &AppState,
    caller: Caller,
    args: &JsonObject,
) -> Result<CallToolResult, McpError> {
    let query = match args.get("query") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.chars().take(200).collect(),
        Some(_) => return Err(bad_argument("$.query", "query must be a string")),
    };
    let limit = match args.get("limit") {
        None | Some(Value::Null) => SEARCH_LIMIT_DEFAULT,
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=SEARCH_LIMIT_MAX).contains(n))
            .ok_or_else(|| bad_argument("$.limit", format!("limit is 1 to {SEARCH_LIMIT_MAX}")))?,
    };
    let feed = state
        .checkout
        .product_feed(caller.merchant, false)
        .await
        .map_err(|e| api_error(&e.into()))?;
    let products: Vec<Value> = feed
        .search(&query, usize::try_from(limit).unwrap_or(10))
        .into_iter()
        .map(|p| json!(convert::product(p, &feed.available, &feed.seller)))
        .collect();
    Ok(CallToolResult::structured(json!({ "products": products })))
}

async fn availability(
    state: &AppState,
    caller: Caller,
    args: &JsonObject,
) -> Result<CallToolResult, McpError> {
    let raw = match args.get("variant_ids") {
        Some(Value::Array(items)) if (1..=AVAILABILITY_VARIANTS_MAX).contains(&items.len()) => {
            items
        }
        _ => {
            return Err(bad_argument(
                "$.variant_ids",
                format!("variant_ids is a list of 1 to {AVAILABILITY_VARIANTS_MAX} variant ids"),
            ));
        }
    };
    let mut ids = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let id = v
            .as_str()
            .and_then(|s| VariantId::parse(s.trim()).ok())
            .ok_or_else(|| {
                api_error(
                    &ApiError::new(ErrorCode::InvalidItemId, "Not a variant id (var_…).")
                        .with_param(format!("$.variant_ids[{i}]")),
                )
            })?;
        ids.push(id);
    }
    let found = state
        .checkout
        .variant_availability(caller.merchant, &ids)
        .await
        .map_err(|e| api_error(&e.into()))?;
    let variants: Vec<Value> = found
        .iter()
        .map(|v| {
            json!({
                "id": v.variant.id.to_string(),
                "product_id": v.variant.product_id.to_string(),
                "title": v.variant.title,
                "price": {"amount": v.variant.price.amount_minor, "currency": v.variant.price.currency.code_lower().to_ascii_uppercase()},
                "availability": convert::availability(v.available, v.on_sale),
                "available_quantity": v.available.max(0),
            })
        })
        .collect();
    let unknown: Vec<String> = ids
        .iter()
        .filter(|id| !found.iter().any(|v| v.variant.id == **id))
        .map(ToString::to_string)
        .collect();
    Ok(CallToolResult::structured(
        json!({ "variants": variants, "unknown": unknown }),
    ))
}
