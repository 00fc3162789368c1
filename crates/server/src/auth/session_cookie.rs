//! The dashboard's session cookie as the admin API reads it: whose session it
//! is, and the CSRF token every state change made with it must carry. Sign-in and
//! sign-out (which set and clear the cookie) are `routes::dashboard::session`.

use super::{Caller, SessionUser};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use anycart_checkout::users::{constant_time_eq, csrf_token};
use anycart_store::ApiKeyKind;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};

/// The session cookie's name.
pub const COOKIE: &str = "anycart_dashboard";
/// The header that carries the CSRF token on state changes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in `headers`, if sent.
pub fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

pub fn sign_in_required() -> ApiError {
    ApiError::new(
        ErrorCode::SignInRequired,
        "Your dashboard session has ended; sign in again.",
    )
}

/// The caller behind a dashboard session cookie: `Ok(None)` without the cookie,
/// 401 when its session is not live, 403 when a state change lacks the CSRF token.
pub async fn cookie_caller(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let Some(token) = cookie_value(&parts.headers, COOKIE) else {
        return Ok(None);
    };
    let session = state
        .checkout
        .dashboard_session(token)
        .await?
        .ok_or_else(sign_in_required)?;
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !constant_time_eq(sent, &csrf_token(token)) {
            return Err(ApiError::new(
                ErrorCode::CsrfTokenInvalid,
                "This change needs the X-CSRF-Token header of your dashboard session.",
            ));
        }
    }
    let user = session.user;
    tracing::Span::current().record("merchant_id", tracing::field::display(user.merchant_id));
    Ok(Some(Caller {
        merchant: user.merchant_id,
        kind: ApiKeyKind::Secret,
        key_id: None,
        agent_platform: false,
        placement: None,
        client: None,
        user: Some(SessionUser {
            id: user.id,
            role: user.role,
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; anycart_dashboard_x=2"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("anycart_dashboard=dss_3 ; b=4"),
        );
        assert_eq!(cookie_value(&h, COOKIE), Some("dss_3"));
        assert_eq!(cookie_value(&h, "b"), Some("4"));
        assert_eq!(cookie_value(&h, "c"), None);
        assert_eq!(cookie_value(&HeaderMap::new(), COOKIE), None);
    }
}
