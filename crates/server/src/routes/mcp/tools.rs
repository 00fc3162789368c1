//! The MCP tools: ACP's five checkout operations (`docs/mcp-binding.md`) and
//! two catalogue tools, with input schemas generated (schemars) from the same
//! request types the REST API parses, so the two bindings cannot drift.

use crate::routes::acp::wire::{
    CancelSessionRequest, CompleteSessionRequest, CreateSessionRequest, UpdateSessionRequest,
};
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use std::sync::Arc;

/// Most products one search returns.
pub const SEARCH_LIMIT_MAX: u32 = 50;
/// Most variants one availability call asks about.
pub const AVAILABILITY_VARIANTS_MAX: usize = 50;

/// ACP protocol headers as tool arguments (`meta`). Unknown fields are ignored.
#[derive(JsonSchema)]
#[allow(dead_code)] // a schema only: arguments are read field by field (call.rs)
pub struct Meta {
    /// `API-Version`: `2026-04-17`.
    pub api_version: String,
    /// `Idempotency-Key`: a retry with the same key and payload is answered
    /// with the first result and never charges twice. Recommended for create
    /// and complete.
    pub idempotency_key: Option<String>,
    /// `Request-Id`, for correlation.
    pub request_id: Option<String>,
    pub user_agent: Option<String>,
    pub accept_language: Option<String>,
    /// `Signature` (agent platforms that sign their requests): base64url
    /// HMAC-SHA256 of `{timestamp}.{METHOD} {path}.{canonical payload}` with
    /// the REST method and path this tool stands for.
    pub signature: Option<String>,
    /// `Timestamp` (RFC 3339) of the signature.
    pub timestamp: Option<String>,
}

/// Create a checkout session: `meta` (ACP headers) and `payload` (the body of
/// `POST /checkout_sessions`).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct CreateArgs {
    pub meta: Meta,
    pub payload: CreateSessionRequest,
}

/// Retrieve a checkout session: `meta` and the session `id`.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct GetArgs {
    pub meta: Meta,
    /// The checkout session id (`cs_…`).
    pub id: String,
}

/// Update a checkout session: `meta`, `id` and `payload` (the body of
/// `POST /checkout_sessions/{id}`; absent fields are unchanged).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct UpdateArgs {
    pub meta: Meta,
    pub id: String,
    pub payload: UpdateSessionRequest,
}

/// Pay and place the order: `meta`, `id` and `payload` (the body of
/// `POST /checkout_sessions/{id}/complete`).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct CompleteArgs {
    pub meta: Meta,
    pub id: String,
    pub payload: CompleteSessionRequest,
}

/// Cancel a checkout session: `meta`, `id` and, optionally, `payload` with an
/// intent trace saying why.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct CancelArgs {
    pub meta: Meta,
    pub id: String,
    pub payload: Option<CancelSessionRequest>,
}

/// Search the catalogue.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct SearchArgs {
    /// Words to find in titles, descriptions, SKUs and option values (all of
    /// them must match); empty lists everything on sale.
    pub query: Option<String>,
    /// 1 to 50 (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub limit: Option<u32>,
}

/// Live availability of variants.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct AvailabilityArgs {
    /// Variant ids (`var_…`) as the product search lists them, 1 to 50.
    #[schemars(length(min = 1, max = 50))]
    pub variant_ids: Vec<String>,
}

/// The tool names.
pub const CREATE: &str = "create_checkout_session";
pub const GET: &str = "get_checkout_session";
pub const UPDATE: &str = "update_checkout_session";
pub const COMPLETE: &str = "complete_checkout_session";
pub const CANCEL: &str = "cancel_checkout_session";
pub const SEARCH: &str = "search_products";
pub const AVAILABILITY: &str = "get_product_availability";

/// The input schema of `T`, its definitions bundled in it (`$defs`).
fn schema<T: JsonSchema>() -> Arc<JsonObject> {
    let value = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

fn tool<T: JsonSchema>(name: &'static str, description: &'static str, read_only: bool) -> Tool {
    let mut t = Tool::new(name, description, schema::<T>());
    let mut hints = ToolAnnotations::new();
    hints.read_only_hint = Some(read_only);
    hints.open_world_hint = Some(false);
    t.annotations = Some(hints);
    t
}

/// Every tool, as `tools/list` shows them.
pub fn all() -> Vec<Tool> {
    vec![
        tool::<SearchArgs>(
            SEARCH,
            "Search the merchant's catalogue: products on sale with their variants, prices (minor units) and live availability. A variant's id is the line item id create_checkout_session takes.",
            true,
        ),
        tool::<AvailabilityArgs>(
            AVAILABILITY,
            "Live availability of variants (units free to sell now, and ACP's in_stock / limited_stock / out_of_stock).",
            true,
        ),
        tool::<CreateArgs>(
            CREATE,
            "Create an ACP checkout session (POST /checkout_sessions): line items, currency, optional buyer and fulfillment details. Holds the stock. Returns the CheckoutSession.",
            false,
        ),
        tool::<GetArgs>(
            GET,
            "Retrieve a checkout session (GET /checkout_sessions/{id}).",
            true,
        ),
        tool::<UpdateArgs>(
            UPDATE,
            "Update a checkout session (POST /checkout_sessions/{id}): items, buyer, address, the selected fulfillment option, discount codes. Absent fields are unchanged.",
            false,
        ),
        tool::<CompleteArgs>(
            COMPLETE,
            "Pay and place the order (POST /checkout_sessions/{id}/complete) with payment_data from one of the session's payment handlers. Returns the session with its order.",
            false,
        ),
        tool::<CancelArgs>(
            CANCEL,
            "Cancel a checkout session and release its stock (POST /checkout_sessions/{id}/cancel), optionally saying why (intent_trace).",
            false,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_with_its_required_arguments() {
        let tools = all();
        assert_eq!(tools.len(), 7);
        for t in &tools {
            let s = &t.input_schema;
            assert_eq!(
                s.get("type").and_then(|v| v.as_str()),
                Some("object"),
                "{}",
                t.name
            );
        }
        let create = tools.iter().find(|t| t.name == CREATE).unwrap();
        let required = create.input_schema["required"].as_array().unwrap();
        assert!(required.contains(&"meta".into()) && required.contains(&"payload".into()));
        let cancel = tools.iter().find(|t| t.name == CANCEL).unwrap();
        let required = cancel.input_schema["required"].as_array().unwrap();
        assert!(
            !required.contains(&"payload".into()),
            "cancel's payload is optional"
        );
        // The payload is the REST request type itself: its fields are there.
        let text = serde_json::to_string(&create.input_schema).unwrap();
        for field in [
            "line_items",
            "currency",
            "affiliate_attribution",
            "api_version",
        ] {
            assert!(
                text.contains(field),
                "{field} missing from the create schema"
            );
        }
    }
}
