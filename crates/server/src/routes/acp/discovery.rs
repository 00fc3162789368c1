//! ACP discovery (`rfc.discovery`): `GET /.well-known/acp.json`, public and
//! cacheable, says this is an ACP seller, which version it speaks, where the
//! REST API and the MCP server are, and what it offers. It names no merchant
//! (anycart hosts many; the key each agent is given says which).

use crate::api_version::API_VERSION;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// How long agents may cache the document (ACP: at least an hour).
pub const DISCOVERY_MAX_AGE_S: u32 = 3_600;

/// ACP `DiscoveryProtocol`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryProtocolWire {
    pub name: &'static str,
    pub version: &'static str,
    pub supported_versions: Vec<&'static str>,
    pub documentation_url: String,
}

/// ACP `DiscoveryExtension`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryExtensionWire {
    pub name: &'static str,
    pub spec: String,
}

/// ACP `DiscoveryCapabilities`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryCapabilitiesWire {
    pub services: Vec<&'static str>,
    pub extensions: Vec<DiscoveryExtensionWire>,
    pub intervention_types: Vec<&'static str>,
}

/// ACP `DiscoveryResponse`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryWire {
    pub protocol: DiscoveryProtocolWire,
    pub api_base_url: String,
    pub transports: Vec<&'static str>,
    pub capabilities: DiscoveryCapabilitiesWire,
}

/// The document for a server reachable at `base_url`.
pub fn document(base_url: &str) -> DiscoveryWire {
    DiscoveryWire {
        protocol: DiscoveryProtocolWire {
            name: "acp",
            version: API_VERSION,
            supported_versions: vec![API_VERSION],
            documentation_url: format!("{base_url}/manual/acp.html"),
        },
        api_base_url: base_url.to_string(),
        transports: vec!["rest", "mcp"],
        capabilities: DiscoveryCapabilitiesWire {
            // `orders`: order_create / order_update webhooks to agent platforms.
            services: vec!["checkout", "orders"],
            extensions: vec![DiscoveryExtensionWire {
                name: "discount",
                spec: format!("{base_url}/manual/acp.html#the-discount-extension"),
            }],
            intervention_types: vec!["3ds"],
        },
    }
}

/// The routes of discovery (mounted at the root).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(discovery))
}

/// ACP discovery document: protocol version, API base URL, transports (REST and
/// MCP at `/mcp`), services and extensions. No key needed.
#[utoipa::path(get, path = "/.well-known/acp.json", tag = "Checkout",
    responses((status = 200, body = DiscoveryWire, description = "Cache-Control: public, max-age=3600")))]
async fn discovery(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={DISCOVERY_MAX_AGE_S}"),
        )],
        Json(document(&state.config.base_url)),
    )
}
