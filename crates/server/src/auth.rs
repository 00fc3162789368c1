//! The extractors that authenticate callers by their API key
//! (`Authorization: Bearer pk_…|sk_…`); keys themselves live in
//! [`anycart_checkout::keys`]. The admin API also takes a signed-in dashboard
//! user's session cookie (with its CSRF token on every state change, see
//! [`session_cookie`]): the dashboard is one more client of
//! the same API.

pub mod session_cookie;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_checkout::throttle::ClientId;
use anycart_core::{ApiKeyId, MerchantId, PlacementId, UserId};
use anycart_store::{ApiKeyKind, UserRole};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// An authenticated caller (publishable or secret key).
#[derive(Clone, Debug)]
pub struct Caller {
    pub merchant: MerchantId,
    pub kind: ApiKeyKind,
    /// The key presented; `None` for a dashboard user's session.
    pub key_id: Option<ApiKeyId>,
    /// An enabled agent platform calls with the key (as of authentication).
    pub agent_platform: bool,
    /// The placement whose own publishable key this is, if it is one.
    pub placement: Option<PlacementId>,
    /// The dashboard user whose session cookie this is, if it is one.
    pub user: Option<SessionUser>,
    /// Who is asking, for per-client limits: set for publishable keys (shoppers'
    /// browsers), `None` for secret keys (the merchant's own servers and agents).
    pub client: Option<ClientId>,
}

/// The address a request came from: the first hop of the configured forwarding
/// header when the operator says a proxy in front sets it (anyone can send one),
/// else the peer of the TCP connection.
pub fn client_address(parts: &Parts, state: &AppState) -> Option<String> {
    if let Some(header) = &state.config.client_ip_header
        && let Some(first) = parts
            .headers
            .get(header.as_str())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return Some(first.to_string());
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// A signed-in dashboard user acting through the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionUser {
    pub id: UserId,
    pub role: UserRole,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidApiKey, message)
}

impl Caller {
    /// The caller behind a presented key (header or query), or a 401.
    pub async fn from_key(
        state: &AppState,
        presented: &str,
        address: Option<&str>,
    ) -> Result<Caller, ApiError> {
        let key = state
            .checkout
            .authenticate(presented)
            .await?
            .ok_or_else(|| unauthorized("The API key is not valid."))?;
        let record = key.record;
        tracing::Span::current().record("merchant_id", tracing::field::display(record.merchant_id));
        Ok(Caller {
            merchant: record.merchant_id,
            kind: record.kind,
            key_id: Some(record.id),
            agent_platform: key.agent_platform,
            placement: record.placement_id,
            user: None,
            client: (record.kind == ApiKeyKind::Publishable)
                .then(|| ClientId::of(address.unwrap_or("unknown"), Some(presented))),
        })
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("Authorization: Bearer <pk_… or sk_…> is required."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= anycart_checkout::keys::PRESENTED_KEY_LEN_MAX)
            .ok_or_else(|| unauthorized("The Authorization header must be `Bearer <key>`."))?;
        let address = client_address(parts, state);
        Caller::from_key(state, token, address.as_deref()).await
    }
}

/// A caller holding a secret key, or a signed-in dashboard user (admin API).
#[derive(Clone, Debug)]
pub struct SecretCaller(pub Caller);

impl SecretCaller {
    /// Refuses a staff member: keys, connections and payment settings are the
    /// owner's (a secret key is the owner's too).
    pub fn require_owner(&self) -> Result<(), ApiError> {
        match self.0.user {
            Some(SessionUser {
                role: UserRole::Staff,
                ..
            }) => Err(ApiError::new(
                ErrorCode::OwnerRequired,
                "Only the merchant's owner may do this; ask them to.",
            )),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<AppState> for SecretCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
            && let Some(caller) = session_cookie::cookie_caller(parts, state).await?
        {
            return Ok(SecretCaller(caller));
        }
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.kind != ApiKeyKind::Secret {
            return Err(ApiError::new(
                ErrorCode::SecretKeyRequired,
                "This endpoint needs a secret key (sk_…); publishable keys may only drive checkout sessions.",
            ));
        }
        Ok(SecretCaller(caller))
    }
}

/// A [`SecretCaller`] who may manage keys, connections and payment settings: a
/// secret key, or a dashboard owner (checked before the body is read, so a
/// staff member gets 403 whatever they send).
#[derive(Clone, Debug)]
pub struct OwnerCaller(pub Caller);

impl FromRequestParts<AppState> for OwnerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = SecretCaller::from_request_parts(parts, state).await?;
        caller.require_owner()?;
        Ok(OwnerCaller(caller.0))
    }
}
