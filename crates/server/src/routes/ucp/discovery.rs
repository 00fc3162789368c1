//! The merchant's UCP profile (`/.well-known/ucp`): services, capabilities,
//! payment handlers and the public key webhooks are signed with.
//!
//! The profile at `/.well-known/ucp` is 2026-01-11's (what the official
//! conformance suite reads), listing the 2026-04-08 profile under
//! `supported_versions` so agents of that version find theirs; each version's
//! profile is also served on its own at `/.well-known/ucp/{version}`, and an
//! agent that names its version in `UCP-Agent` gets that version's profile.

use super::door::open_door;
use super::error::{InVersion, UcpError, UcpResult};
use super::payment::{self, handler_wire, handlers_by_name};
use super::version::{UcpVersion, parse_agent};
use crate::error::ApiError;
use crate::state::AppState;
use anycart_checkout::ucp::keys::SigningKey;
use anycart_core::MerchantId;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// How long agents may cache a profile (UCP: public, at least 60 s).
const PROFILE_MAX_AGE_S: u32 = 300;

/// (name, spec page, schema, extends) of each capability offered.
const CAPABILITIES: [(&str, &str, &str, Option<&str>); 5] = [
    ("dev.ucp.shopping.checkout", "checkout", "checkout", None),
    ("dev.ucp.shopping.order", "order", "order", None),
    (
        "dev.ucp.shopping.discount",
        "discount",
        "discount",
        Some("dev.ucp.shopping.checkout"),
    ),
    (
        "dev.ucp.shopping.fulfillment",
        "fulfillment",
        "fulfillment",
        Some("dev.ucp.shopping.checkout"),
    ),
    (
        "dev.ucp.shopping.buyer_consent",
        "buyer-consent",
        "buyer_consent",
        Some("dev.ucp.shopping.checkout"),
    ),
];

/// The profile of `merchant` in `version`; `leaf` profiles name no other versions.
fn profile_body(
    endpoint: &str,
    key: &SigningKey,
    handlers: &[payment::Handler],
    version: UcpVersion,
    leaf: bool,
) -> Value {
    let v = version.as_str();
    match version {
        UcpVersion::V2026_01_11 => {
            let capabilities: Vec<Value> = CAPABILITIES
                .iter()
                .map(|(name, page, schema, extends)| {
                    let mut c = json!({
                        "name": name,
                        "version": v,
                        "spec": format!("https://ucp.dev/specification/{page}"),
                        "schema": format!("https://ucp.dev/schemas/shopping/{schema}.json"),
                    });
                    if let Some(parent) = extends {
                        c["extends"] = json!(parent);
                    }
                    c
                })
                .collect();
            let mut ucp = json!({
                "version": v,
                "services": {
                    "dev.ucp.shopping": {
                        "version": v,
                        "spec": "https://ucp.dev/specification/overview",
                        "rest": {
                            "schema": "https://ucp.dev/services/shopping/rest.openapi.json",
                            "endpoint": endpoint,
                        },
                    }
                },
                "capabilities": capabilities,
            });
            if !leaf {
                ucp["supported_versions"] = json!({
                    UcpVersion::V2026_04_08.as_str(): format!("{endpoint}/.well-known/ucp/{}", UcpVersion::V2026_04_08.as_str()),
                });
            }
            json!({
                "ucp": ucp,
                "payment": { "handlers": handlers.iter().map(|h| handler_wire(h, version)).collect::<Vec<_>>() },
                "signing_keys": [key.jwk()],
            })
        }
        UcpVersion::V2026_04_08 => {
            let mut capabilities = serde_json::Map::new();
            for (name, page, schema, extends) in CAPABILITIES {
                let mut c = json!({
                    "version": v,
                    "spec": format!("https://ucp.dev/{v}/specification/{page}"),
                    "schema": format!("https://ucp.dev/{v}/schemas/shopping/{schema}.json"),
                });
                if let Some(parent) = extends {
                    c["extends"] = json!(parent);
                }
                capabilities.insert(name.to_string(), json!([c]));
            }
            json!({
                "ucp": {
                    "version": v,
                    "services": {
                        "dev.ucp.shopping": [{
                            "version": v,
                            "spec": format!("https://ucp.dev/{v}/specification/overview"),
                            "transport": "rest",
                            "endpoint": endpoint,
                            "schema": format!("https://ucp.dev/{v}/services/shopping/rest.openapi.json"),
                        }]
                    },
                    "capabilities": capabilities,
                    "payment_handlers": handlers_by_name(handlers, true),
                },
                "signing_keys": [key.jwk()],
            })
        }
    }
}

/// The version an agent asks for in `UCP-Agent`, if it names one served here.
fn asked_version(headers: &HeaderMap) -> Option<UcpVersion> {
    let raw = headers.get("ucp-agent")?.to_str().ok()?;
    UcpVersion::parse(parse_agent(raw).ok()?.version.as_deref()?)
}

async fn serve_profile(
    state: &AppState,
    merchant: &str,
    pinned: Option<&str>,
    headers: &HeaderMap,
) -> UcpResult<Response> {
    let (version, leaf) = match pinned {
        Some(raw) => (
            UcpVersion::parse(raw).ok_or_else(|| {
                UcpError::new(ApiError::not_found("profile version"), UcpVersion::DEFAULT)
            })?,
            true,
        ),
        None => match asked_version(headers) {
            Some(v) => (v, true),
            None => (UcpVersion::DEFAULT, false),
        },
    };
    let (merchant_id, _) = open_door(state, merchant, version).await?;
    let (_, key) = state
        .checkout
        .ucp_door(merchant_id)
        .await
        .in_version(version)?
        .ok_or_else(|| UcpError::new(ApiError::not_found("UCP endpoint"), version))?;
    let provider = state
        .checkout
        .live_provider(merchant_id)
        .await
        .in_version(version)?;
    let handlers = payment::handlers(
        &provider,
        &state.config.base_url,
        merchant_id,
        state.ucp.settings.test_mode,
    );
    let endpoint = super::endpoint(&state.config.base_url, merchant_id);
    let body = profile_body(&endpoint, &key, &handlers, version, leaf);
    let mut response = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={PROFILE_MAX_AGE_S}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    Ok(response)
}

/// The operator's UCP merchant (`/.well-known/ucp` at the root).
fn root(state: &AppState) -> UcpResult<MerchantId> {
    state.ucp.settings.root_merchant.ok_or_else(|| {
        UcpError::new(
            ApiError::not_found("UCP profile at this host (set ucp_root_merchant)"),
            UcpVersion::DEFAULT,
        )
    })
}

/// The UCP profile of this host's merchant.
#[utoipa::path(get, path = "/.well-known/ucp", tag = "UCP",
    responses((status = 200, body = Object), (status = 404, body = Object)))]
pub async fn root_profile(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let run = async {
        let m = root(&state)?;
        serve_profile(&state, &m.to_string(), None, &headers).await
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// This host's merchant's profile in one version.
#[utoipa::path(get, path = "/.well-known/ucp/{version}", tag = "UCP",
    params(("version" = String, Path, description = "2026-01-11 or 2026-04-08")),
    responses((status = 200, body = Object), (status = 404, body = Object)))]
pub async fn root_profile_version(
    State(state): State<AppState>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let m = root(&state)?;
        serve_profile(&state, &m.to_string(), Some(&version), &headers).await
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// A merchant's UCP profile.
#[utoipa::path(get, path = "/ucp/{merchant_id}/.well-known/ucp", tag = "UCP",
    params(("merchant_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = Object)))]
pub async fn profile(
    State(state): State<AppState>,
    Path(merchant): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve_profile(&state, &merchant, None, &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// A merchant's UCP profile in one version.
#[utoipa::path(get, path = "/ucp/{merchant_id}/.well-known/ucp/{version}", tag = "UCP",
    params(("merchant_id" = String, Path), ("version" = String, Path, description = "2026-01-11 or 2026-04-08")),
    responses((status = 200, body = Object), (status = 404, body = Object)))]
pub async fn profile_version(
    State(state): State<AppState>,
    Path((merchant, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    serve_profile(&state, &merchant, Some(&version), &headers)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}
