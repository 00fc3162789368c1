//! Admission at a merchant's UCP door: the door must be open, the agent must
//! say who it is (`UCP-Agent`), speak a version served here, and identify
//! itself the way the merchant chose: not at all (open), with an RFC 9421
//! signature verified against its profile's keys (signed), or with the
//! merchant's API key (keyed).

use super::error::{UcpError, UcpResult};
use super::version::{AgentHeader, UcpVersion, parse_agent};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_checkout::ucp::profiles::{AgentProfile, ProfileError, check_url};
use anycart_checkout::ucp::signatures::{self, SignatureError};
use anycart_checkout::ucp::{UcpAccess, UcpDoor};
use anycart_core::MerchantId;
use axum::http::{HeaderMap, Method, Uri};
use std::sync::Arc;

/// A request the door let in.
#[derive(Clone, Debug)]
pub struct Admitted {
    pub merchant: MerchantId,
    pub door: UcpDoor,
    /// The version to answer in.
    pub version: UcpVersion,
    /// The agent's profile URL, as presented.
    pub agent_url: String,
    /// The agent's profile, when it was fetched to admit the request.
    pub profile: Option<Arc<AgentProfile>>,
    /// The request came with the merchant's own API key.
    pub keyed: bool,
}

/// What admission looks at.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The merchant behind `/ucp/{merchant_id}` and its open door, or a 404.
pub async fn open_door(
    state: &AppState,
    merchant: &str,
    version: UcpVersion,
) -> UcpResult<(MerchantId, UcpDoor)> {
    let not_found = || UcpError::new(ApiError::not_found("UCP endpoint"), version);
    let merchant = MerchantId::parse(merchant).map_err(|_| not_found())?;
    let door = state
        .store
        .get_ucp_door(merchant)
        .await
        .map_err(|e| UcpError::new(e.into(), version))?
        .filter(|d| d.enabled)
        .ok_or_else(not_found)?;
    Ok((merchant, door))
}

/// Admits a request at `merchant`'s door (see the module docs).
pub async fn admit(state: &AppState, merchant: &str, req: Incoming<'_>) -> UcpResult<Admitted> {
    let agent = agent_header(req.headers)?;
    let hinted = match agent.version.as_deref() {
        Some(v) => Some(UcpVersion::parse(v).ok_or_else(|| unsupported(v))?),
        None => None,
    };
    let shape = hinted.unwrap_or(UcpVersion::DEFAULT);
    let (merchant, door) = open_door(state, merchant, shape).await?;
    let agent_url = agent.profile.clone().unwrap_or_default();
    let err = |api: ApiError| UcpError::new(api, shape);
    let mut profile = None;
    let mut keyed = false;
    match door.access {
        UcpAccess::Open => {}
        UcpAccess::Keyed => {
            keyed_caller(state, req.headers, merchant)
                .await
                .map_err(err)?;
            keyed = true;
        }
        UcpAccess::Signed => {
            let p = fetch(state, &agent_url).await.map_err(err)?;
            verify_signature(&req, &p).map_err(err)?;
            profile = Some(p);
        }
    }
    let version = match (hinted, &profile) {
        (Some(v), _) => v,
        (None, Some(p)) => UcpVersion::parse(&p.version).ok_or_else(|| unsupported(&p.version))?,
        (None, None) => {
            let p = fetch(state, &agent_url).await.map_err(err)?;
            let v = UcpVersion::parse(&p.version).ok_or_else(|| unsupported(&p.version))?;
            profile = Some(p);
            v
        }
    };
    Ok(Admitted {
        merchant,
        door,
        version,
        agent_url,
        profile,
        keyed,
    })
}

impl Admitted {
    /// Where the agent wants its order events, from its profile (fetched now if
    /// it was not yet). An unreachable profile or an unacceptable URL means no
    /// webhook (logged): it never blocks the checkout.
    pub async fn webhook_url(&self, state: &AppState) -> Option<String> {
        let profile = match &self.profile {
            Some(p) => p.clone(),
            None => match state.ucp.profiles.fetch(&self.agent_url).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::info!(merchant_id = %self.merchant, agent = %self.agent_url, error = %e, "no order webhooks: the agent's profile is unusable");
                    return None;
                }
            },
        };
        let url = profile.webhook_url.clone()?;
        match check_url(&url, state.ucp.profiles.policy().allow_insecure) {
            Ok(_) => Some(url),
            Err(e) => {
                tracing::info!(merchant_id = %self.merchant, agent = %self.agent_url, error = %e, "no order webhooks: the agent's webhook URL is refused");
                None
            }
        }
    }
}

/// `UCP-Agent`, which every request must carry.
fn agent_header(headers: &HeaderMap) -> UcpResult<AgentHeader> {
    let bad = |message: String| {
        UcpError::new(
            ApiError::new(ErrorCode::InvalidProfileUrl, message),
            UcpVersion::DEFAULT,
        )
    };
    let raw = headers
        .get("ucp-agent")
        .ok_or_else(|| bad("The UCP-Agent header is required: profile=\"https://…\".".into()))?
        .to_str()
        .map_err(|_| bad("UCP-Agent must be ASCII.".into()))?;
    let agent = parse_agent(raw).map_err(|e| bad(format!("UCP-Agent: {e}")))?;
    if agent.profile.as_deref().is_none_or(str::is_empty) {
        return Err(bad(
            "UCP-Agent must name the agent's profile: profile=\"https://…\".".into(),
        ));
    }
    Ok(agent)
}

/// 400 `version_unsupported` (in the default shape: the agent's is unknown).
fn unsupported(version: &str) -> UcpError {
    UcpError::new(
        ApiError::new(
            ErrorCode::VersionUnsupported,
            format!(
                "UCP version {} is not supported; this business supports {}.",
                version.chars().take(32).collect::<String>(),
                UcpVersion::list()
            ),
        ),
        UcpVersion::DEFAULT,
    )
}

/// The agent's profile, mapped to UCP's discovery errors.
async fn fetch(state: &AppState, url: &str) -> Result<Arc<AgentProfile>, ApiError> {
    state.ucp.profiles.fetch(url).await.map_err(|e| {
        let code = match &e {
            ProfileError::InvalidUrl(_) => ErrorCode::InvalidProfileUrl,
            ProfileError::Unreachable(_) => ErrorCode::ProfileUnreachable,
            ProfileError::Malformed(_) => ErrorCode::ProfileMalformed,
        };
        ApiError::new(code, format!("The agent's profile cannot be used: {e}."))
    })
}

/// A keyed door: the merchant's own API key, as `Authorization: Bearer` or
/// `X-API-Key`.
async fn keyed_caller(
    state: &AppState,
    headers: &HeaderMap,
    merchant: MerchantId,
) -> Result<(), ApiError> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|h| h.to_str().ok()))
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= anycart_checkout::keys::PRESENTED_KEY_LEN_MAX)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidApiKey,
                "This door needs the merchant's API key (Authorization: Bearer … or X-API-Key).",
            )
        })?;
    // An agent platform's server, not a shopper: no per-client throttles.
    let caller = Caller::from_key(state, presented, None).await?;
    if caller.merchant != merchant {
        return Err(ApiError::new(
            ErrorCode::InvalidApiKey,
            "The API key is not this merchant's.",
        ));
    }
    Ok(())
}

/// A signed door: the request's RFC 9421 signature, with the agent's keys.
fn verify_signature(req: &Incoming<'_>, profile: &AgentProfile) -> Result<(), ApiError> {
    let header = |name: &str| -> Option<String> {
        let values: Vec<&str> = req
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let authority = req
        .headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let msg = signatures::Message {
        method: req.method.as_str(),
        authority: &authority,
        path: req.uri.path(),
        query: req.uri.query(),
        header: &header,
        body: req.body,
    };
    signatures::verify(&msg, &profile.signing_keys)
        .map(|_| ())
        .map_err(|e| {
            let code = match &e {
                SignatureError::Missing => ErrorCode::SignatureMissing,
                SignatureError::Malformed(_) | SignatureError::Invalid(_) => {
                    ErrorCode::SignatureInvalid
                }
                SignatureError::KeyNotFound(_) => ErrorCode::KeyNotFound,
                SignatureError::AlgorithmUnsupported(_) => ErrorCode::AlgorithmUnsupported,
                SignatureError::DigestMismatch => ErrorCode::DigestMismatch,
            };
            ApiError::new(code, format!("Request signature refused: {e}."))
        })
}
