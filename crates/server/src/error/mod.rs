//! The error catalogue: every code the HTTP API answers with, its status and ACP
//! `type`, in one enum; and [`ApiError`], rendered in the flat ACP error shape
//! `{"type", "code", "message", "param"}`.
//!
//! [`codes`] is the catalogue; [`from`] maps service, store and connector errors
//! into it, each with an exhaustive `match`, so a new variant cannot slip through
//! as a vague 500. Nothing here logs:
//! a rendered error carries an [`ErrorLog`] in its response extensions, and the
//! `log_errors` middleware writes one line per failed request.

mod codes;
mod from;

pub use codes::{ErrorCode, ErrorKind};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response: the flat ACP `Error` shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorWire {
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_versions: Option<Vec<String>>,
}

/// What the `log_errors` middleware logs about a failed request (never sent).
#[derive(Clone, Debug)]
pub struct ErrorLog {
    pub code: ErrorCode,
    /// The underlying cause, for operators only (may name internals, never secrets).
    pub detail: Option<String>,
}

/// An error response.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub param: Option<String>,
    pub supported_versions: Option<Vec<String>>,
    pub retry_after_s: Option<u64>,
    /// Why, for the log; the client sees only `message`.
    pub detail: Option<String>,
}

impl ApiError {
    /// An error with a code and a sentence for the caller.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            param: None,
            supported_versions: None,
            retry_after_s: None,
            detail: None,
        }
    }

    /// 404 for something that does not exist *for this caller* (other tenants' ids too).
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    /// 500; the message is generic on purpose (details go to the log, not the client).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            ErrorCode::InternalError,
            "Something went wrong on our side. Please retry.",
        )
        .with_detail(detail)
    }

    /// A refused field (`invalid`), pointing at it.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message).with_param(param)
    }

    /// Points at the offending field (RFC 9535 JSONPath).
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// Records the cause for the log.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The status it is sent with.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The body (also what the idempotency layer stores).
    pub fn body(&self) -> ErrorWire {
        ErrorWire {
            kind: self.code.kind().as_str().to_string(),
            code: self.code.as_str().to_string(),
            message: self.message.clone(),
            param: self.param.clone(),
            supported_versions: self.supported_versions.clone(),
        }
    }

    /// What the log line says about it.
    pub fn log(&self) -> ErrorLog {
        ErrorLog {
            code: self.code,
            detail: self.detail.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response.extensions_mut().insert(self.log());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_store::StoreError;
    use std::collections::HashSet;

    #[test]
    fn the_catalogue_lists_every_code_once_in_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} appears twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name} is not snake_case"
            );
            assert!(
                code.status().is_client_error() || code.status().is_server_error(),
                "{name} is not an error status"
            );
        }
    }

    #[test]
    fn the_acp_type_follows_the_status() {
        assert_eq!(ErrorCode::InvalidJson.kind(), ErrorKind::InvalidRequest);
        assert_eq!(ErrorCode::NotFound.kind(), ErrorKind::InvalidRequest);
        assert_eq!(ErrorCode::InternalError.kind(), ErrorKind::ProcessingError);
        assert_eq!(ErrorCode::PlatformError.kind(), ErrorKind::ProcessingError);
        assert_eq!(
            ErrorCode::DatabaseBusy.kind(),
            ErrorKind::ServiceUnavailable
        );
    }

    #[test]
    fn store_errors_keep_their_meaning() {
        let e = ApiError::from(StoreError::VersionConflict);
        assert_eq!(e.code, ErrorCode::ConcurrentUpdate);
        assert_eq!(e.retry_after_s, Some(1));
        let e = ApiError::from(StoreError::Corrupt("bad doc".into()));
        assert_eq!(e.code, ErrorCode::InternalError);
        assert!(!e.message.contains("bad doc"), "internals stay in the log");
        assert!(e.detail.as_deref().is_some_and(|d| d.contains("bad doc")));
    }
}
