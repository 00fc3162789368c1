//! The MCP server handler (rmcp's `ServerHandler`): what `initialize` says,
//! `tools/list`, and `tools/call` handed to [`super::call`] with the caller the
//! HTTP layer authenticated.

use super::{call, tools};
use crate::auth::Caller;
use crate::state::AppState;
use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, InitializeResult, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};

/// What an agent is told when it connects.
const INSTRUCTIONS: &str = "anycart checkout (Agentic Commerce Protocol 2026-04-17 over MCP). \
To buy: search_products (or get_product_availability) to find a variant id; \
create_checkout_session with meta.api_version \"2026-04-17\" and payload {currency, line_items:[{id, quantity}], buyer, fulfillment_details}; \
update_checkout_session with selected_fulfillment_options [{type:\"shipping\", option_id}] from the session's fulfillment_options; \
when its status is ready_for_payment, complete_checkout_session with payload.payment_data for one of capabilities.payment.handlers. \
Send meta.idempotency_key on create and complete: a retry with the same key never charges twice. \
Errors are JSON-RPC errors whose data is the ACP error (type, code, message, param).";

/// The handler; what it works with (the state, the authenticated caller)
/// travels on each request, which the HTTP layer in `mod.rs` puts there.
#[derive(Clone, Copy, Debug)]
pub struct AnycartMcp;

impl AnycartMcp {
    /// The state and caller the HTTP layer put on the request.
    fn context(context: &RequestContext<RoleServer>) -> Result<(AppState, Caller), McpError> {
        let parts = context.extensions.get::<axum::http::request::Parts>();
        let state = parts.and_then(|p| p.extensions.get::<AppState>().cloned());
        let caller = parts.and_then(|p| p.extensions.get::<Caller>().cloned());
        state
            .zip(caller)
            .ok_or_else(|| McpError::internal_error("the request was not authenticated", None))
    }
}

impl ServerHandler for AnycartMcp {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("anycart", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::all()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let (state, caller) = Self::context(&context)?;
        let args = request.arguments.unwrap_or_default();
        let outcome = call::call(&state, caller, &request.name, &args).await;
        if let Err(e) = &outcome {
            let code = e
                .data
                .as_ref()
                .and_then(|d| d.get("code"))
                .and_then(|c| c.as_str())
                .unwrap_or("");
            tracing::info!(tool = %request.name, rpc_code = e.code.0, code, "mcp tool call refused");
        }
        outcome.map(CallToolResponse::from)
    }
}
