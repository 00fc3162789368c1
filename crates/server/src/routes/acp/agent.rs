//! Who is calling the checkout API, beyond the key: the agent platform whose
//! key it is (if any) and the binding it came through, with the platform's
//! request signature checked when the merchant turned that on. Shared by the
//! REST handlers and the MCP tools, so both authenticate alike.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use anycart_checkout::agents::signing::SignedRequest;
use anycart_core::attribution::{AgentProtocol, Attribution};
use anycart_store::{AgentPlatform, ApiKeyKind};
use axum::http::HeaderMap;

/// An authenticated checkout caller.
#[derive(Clone, Debug)]
pub struct AcpCaller {
    pub caller: Caller,
    /// The agent platform whose key this is.
    pub platform: Option<AgentPlatform>,
    /// The binding the call came through (ACP's REST API or MCP).
    pub protocol: AgentProtocol,
    /// An admitted waiting-room ticket the request carries (see
    /// [`crate::extract::waiting_room_ticket`]).
    pub waiting_room_ticket: Option<String>,
}

impl AcpCaller {
    /// Resolves the caller's agent platform and verifies `method path` with
    /// `body` against its signature headers (`Signature`, `Timestamp`) when the
    /// platform must sign.
    pub async fn resolve(
        state: &AppState,
        mut caller: Caller,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: &[u8],
        protocol: AgentProtocol,
    ) -> Result<AcpCaller, ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let request = SignedRequest {
            signature: header("signature"),
            timestamp: header("timestamp"),
            method,
            path,
            body,
        };
        // Authentication read whether the key is an enabled platform's (agent
        // platforms' keys are publishable-kind keys of their own: a secret key, a
        // placement's key or a dashboard session is never one); only then is the
        // platform read, and its signature checked.
        let platform = match caller.key_id {
            Some(key)
                if caller.agent_platform
                    && caller.kind != ApiKeyKind::Secret
                    && caller.placement.is_none() =>
            {
                state.checkout.agent_of_request(key, &request).await?
            }
            _ => None,
        };
        if platform.is_some() {
            // A registered platform is the merchant's authenticated partner, like
            // a secret key: not throttled as an anonymous client (its traffic is
            // many shoppers behind a few addresses; the merchant can disable it).
            caller.client = None;
        }
        Ok(AcpCaller {
            caller,
            platform,
            protocol,
            waiting_room_ticket: crate::extract::waiting_room_ticket(headers),
        })
    }

    /// Where a checkout this caller opens comes from.
    pub async fn attribution(&self, state: &AppState) -> Result<Attribution, ApiError> {
        Ok(state
            .checkout
            .agent_attribution(
                self.caller.merchant,
                self.caller.kind,
                self.caller.placement,
                self.platform.as_ref(),
                self.protocol,
            )
            .await?)
    }
}
