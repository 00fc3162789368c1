//! The extractors that authenticate callers by their API key
//! (`Authorization: Bearer pk_…|sk_…`); keys themselves live in
//! [`anycart_checkout::keys`].

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_core::{ApiKeyId, MerchantId, PlacementId};
use anycart_store::ApiKeyKind;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// An authenticated caller (publishable or secret key).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub merchant: MerchantId,
    pub kind: ApiKeyKind,
    pub key_id: ApiKeyId,
    /// The placement whose own publishable key this is, if it is one.
    pub placement: Option<PlacementId>,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidApiKey, message)
}

impl Caller {
    /// The caller behind a presented key (header or query), or a 401.
    pub async fn from_key(state: &AppState, presented: &str) -> Result<Caller, ApiError> {
        let record = state
            .checkout
            .authenticate(presented)
            .await?
            .ok_or_else(|| unauthorized("The API key is not valid."))?;
        tracing::Span::current().record("merchant_id", tracing::field::display(record.merchant_id));
        Ok(Caller {
            merchant: record.merchant_id,
            kind: record.kind,
            key_id: record.id,
            placement: record.placement_id,
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
        Caller::from_key(state, token).await
    }
}

/// A caller holding a secret key (admin API).
#[derive(Clone, Copy, Debug)]
pub struct SecretCaller(pub Caller);

impl FromRequestParts<AppState> for SecretCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
