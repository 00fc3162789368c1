//! The ACP `API-Version` header: the one version served, and the rule that every
//! checkout request names it (clients MUST send it; servers validate).

use crate::error::{ApiError, ErrorCode};

/// The Agentic Commerce Protocol version this server speaks.
pub const API_VERSION: &str = "2026-04-17";

/// The `API-Version` header rules (ACP: clients MUST send it; servers validate).
pub fn check_api_version(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let supported = Some(vec![API_VERSION.to_string()]);
    let refused = |code, message: String| ApiError {
        supported_versions: supported.clone(),
        ..ApiError::new(code, message)
    };
    match headers.get("api-version").map(|v| v.to_str().unwrap_or("")) {
        None => Err(refused(
            ErrorCode::MissingApiVersion,
            format!("The API-Version header is required (supported: {API_VERSION})."),
        )),
        Some(API_VERSION) => Ok(()),
        Some(other) => Err(refused(
            ErrorCode::UnsupportedApiVersion,
            format!(
                "API-Version `{}` is not supported (supported: {API_VERSION}).",
                other.chars().take(32).collect::<String>()
            ),
        )),
    }
}
