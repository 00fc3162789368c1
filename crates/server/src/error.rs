//! One error type for every HTTP response that is not a success, always rendered in
//! the flat ACP error shape: `{"type", "code", "message", "param"}`.

use crate::acp::wire::{API_VERSION, ErrorWire};
use anycart_store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;

/// ACP `Error.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    ProcessingError,
    ServiceUnavailable,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::ProcessingError => "processing_error",
            ErrorKind::ServiceUnavailable => "service_unavailable",
        }
    }
}

/// An error response.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub code: Cow<'static, str>,
    pub message: String,
    pub param: Option<String>,
    pub supported_versions: Option<Vec<String>>,
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    /// A client error with a status, a machine code and a sentence.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        let kind = match status.as_u16() {
            503 => ErrorKind::ServiceUnavailable,
            500..=599 => ErrorKind::ProcessingError,
            _ => ErrorKind::InvalidRequest,
        };
        ApiError {
            status,
            kind,
            code: code.into(),
            message: message.into(),
            param: None,
            supported_versions: None,
            retry_after_s: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 for something that does not exist *for this caller* (other tenants' ids too).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No such {what}."),
        )
    }

    /// 409 for a request that conflicts with the resource's state.
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 500; the message is generic on purpose (details go to the log, not the client).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. Please retry.",
        )
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

    /// The body as JSON text (used by the idempotency layer to store it).
    pub fn body(&self) -> ErrorWire {
        ErrorWire {
            kind: self.kind.as_str().to_string(),
            code: self.code.to_string(),
            message: self.message.clone(),
            param: self.param.clone(),
            supported_versions: self.supported_versions.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Duplicate(_) => ApiError::conflict(
                "duplicate",
                "A resource with this unique value already exists.",
            ),
            StoreError::VersionConflict => ApiError::conflict(
                "concurrent_update",
                "The resource was changed by another request; retry.",
            )
            .retry_after(1),
            StoreError::Constraint(detail) => {
                tracing::warn!(%detail, "constraint refused a write");
                ApiError::conflict(
                    "constraint_violation",
                    "The change would break a stock or data rule and was refused.",
                )
            }
            StoreError::BuyerLimit(detail) => {
                tracing::info!(%detail, "per-buyer limit refused an order");
                ApiError::conflict(
                    "buyer_limit_reached",
                    "This order would exceed the limit per customer for an item; nothing was charged.",
                )
            }
            ref busy if busy.is_pool_timeout() => {
                tracing::error!("database pool exhausted");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_busy",
                    "The service is busy; retry shortly.",
                )
                .retry_after(1)
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

/// The `API-Version` header rules (ACP §: clients MUST send it; servers validate).
pub fn check_api_version(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let supported = || Some(vec![API_VERSION.to_string()]);
    match headers.get("api-version").map(|v| v.to_str().unwrap_or("")) {
        None => Err(ApiError {
            supported_versions: supported(),
            ..ApiError::bad_request(
                "missing_api_version",
                format!("The API-Version header is required (supported: {API_VERSION})."),
            )
        }),
        Some(API_VERSION) => Ok(()),
        Some(other) => Err(ApiError {
            supported_versions: supported(),
            ..ApiError::bad_request(
                "unsupported_api_version",
                format!(
                    "API-Version `{}` is not supported (supported: {API_VERSION}).",
                    other.chars().take(32).collect::<String>()
                ),
            )
        }),
    }
}
