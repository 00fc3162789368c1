//! UCP's error shapes. A failure is an [`ApiError`] from the one catalogue (its
//! code decides the status), rendered the way the agent's version reads it:
//!
//! - 2026-01-11: `messages` (type `error`, `code`, `content`, `severity`,
//!   `path`), and `detail` with the same sentence, which the official
//!   conformance suite reads (a FastAPI convention of its reference server);
//! - 2026-04-08: `code` and `content`, the REST binding's protocol errors.
//!
//! Both carry `code` and `content` at the top, so either kind of agent finds
//! them. Business outcomes of 2026-04-08 (an unavailable item, a declined card)
//! are not errors: they come back as 200s with messages (see `checkout`).

use super::version::UcpVersion;
use crate::error::{ApiError, ErrorCode};
use crate::idempotency::Outcome;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The body of a UCP error, for the OpenAPI document: `code` and `content` in
/// both versions; 2026-01-11 adds `messages` and `detail`. Requests refused
/// before they reach the UCP door (a timeout, a failing database) carry the
/// API's flat error instead, so UCP operations document either.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: the body is built by [`UcpError::body`]
pub struct UcpErrorWire {
    pub code: String,
    pub content: String,
    /// 2026-01-11: the same sentence (read by the official conformance suite).
    pub detail: Option<String>,
    /// 2026-01-11: one message of type `error` with `code`, `content`,
    /// `severity` and, where a field is at fault, `path`.
    pub messages: Option<Vec<serde_json::Value>>,
}

/// An error answered to a UCP agent (boxed: errors are the rare path, and
/// results stay small).
#[derive(Debug)]
pub struct UcpError {
    pub api: Box<ApiError>,
    pub version: UcpVersion,
}

impl UcpError {
    /// `api` in `version`'s shape.
    pub fn new(api: ApiError, version: UcpVersion) -> Self {
        UcpError {
            api: Box::new(api),
            version,
        }
    }

    /// The status it is sent with.
    pub fn status(&self) -> StatusCode {
        self.api.status()
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let code = self.api.code.as_str();
        let content = self.api.message.as_str();
        match self.version {
            UcpVersion::V2026_01_11 => {
                let mut message = json!({
                    "type": "error",
                    "code": code,
                    "content": content,
                    "severity": severity(&self.api),
                });
                if let Some(path) = &self.api.param {
                    message["path"] = json!(path);
                }
                json!({
                    "code": code,
                    "content": content,
                    "messages": [message],
                    "detail": content,
                })
            }
            UcpVersion::V2026_04_08 => json!({ "code": code, "content": content }),
        }
    }

    /// The outcome the idempotency layer sends and stores.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            status: self.status(),
            body: self.body().to_string(),
            retry_after_s: self.api.retry_after_s,
            log: Some(self.api.log()),
        }
    }
}

/// UCP's severity: what the buyer or agent must do about it.
fn severity(api: &ApiError) -> &'static str {
    match api.code {
        ErrorCode::PaymentDeclined | ErrorCode::InsufficientStock => "requires_buyer_input",
        _ if api.param.is_some() && api.status() == StatusCode::BAD_REQUEST => {
            "requires_buyer_input"
        }
        _ => "recoverable",
    }
}

impl IntoResponse for UcpError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Some(s) = self.api.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.api.code == ErrorCode::InvalidApiKey {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ucp\""),
            );
        }
        response.extensions_mut().insert(self.api.log());
        response
    }
}

/// A result whose error is already in UCP's shape.
pub type UcpResult<T> = Result<T, UcpError>;

/// Puts an error into the shape of `version`.
pub trait InVersion<T> {
    fn in_version(self, version: UcpVersion) -> UcpResult<T>;
}

impl<T, E: Into<ApiError>> InVersion<T> for Result<T, E> {
    fn in_version(self, version: UcpVersion) -> UcpResult<T> {
        self.map_err(|e| UcpError::new(e.into(), version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_reads_its_own_shape_and_both_find_code_and_content() {
        let api = ApiError::new(
            ErrorCode::InsufficientStock,
            "Insufficient stock for item gardenias.",
        )
        .with_param("$.line_items[0]");
        let old = UcpError::new(api.clone(), UcpVersion::V2026_01_11);
        assert_eq!(old.status(), StatusCode::BAD_REQUEST);
        let body = old.body();
        assert_eq!(body["detail"], "Insufficient stock for item gardenias.");
        assert_eq!(body["messages"][0]["severity"], "requires_buyer_input");
        assert_eq!(body["messages"][0]["path"], "$.line_items[0]");
        let new = UcpError::new(api, UcpVersion::V2026_04_08).body();
        assert_eq!(
            new,
            json!({"code": "insufficient_stock", "content": "Insufficient stock for item gardenias."})
        );
        assert_eq!(body["code"], new["code"]);
    }
}
