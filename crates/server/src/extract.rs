//! Request extractors that fail in the ACP error shape instead of axum's plain text.

use crate::error::{ApiError, ErrorCode};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// Largest request body accepted anywhere (64 KiB: a 50-line basket is ~10 KiB).
pub const BODY_BYTES_MAX: usize = 64 * 1024;
// Platform webhooks get their own, larger limit; a basket must fit the API's.
const _: () = assert!(BODY_BYTES_MAX < anycart_connectors::WEBHOOK_BODY_BYTES_MAX);

/// A JSON body parsed into `T`, with the raw bytes kept (the idempotency layer
/// fingerprints them). Errors name the failing field as a JSONPath in `param`.
pub struct AcpJson<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AcpJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let raw = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        let value = parse_json(&raw)?;
        Ok(AcpJson { value, raw })
    }
}

/// An [`AcpJson`] body that also satisfies its `garde` rules (bounds on
/// amounts, lengths, windows, URLs): the first broken rule is a 400 `invalid`
/// whose `param` names the field, before the handler runs or anything changes.
pub struct ValidJson<T> {
    pub value: T,
}

impl<S: Send + Sync, T: DeserializeOwned + garde::Validate<Context = ()>> FromRequest<S>
    for ValidJson<T>
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let AcpJson { value, .. } = AcpJson::<T>::from_request(req, state).await?;
        value.validate().map_err(|report| rule_broken(&report))?;
        Ok(ValidJson { value })
    }
}

/// The first broken rule of a validation report, as the API's 400.
fn rule_broken(report: &garde::Report) -> ApiError {
    let Some((path, error)) = report.iter().next() else {
        return ApiError::new(ErrorCode::Invalid, "The request is invalid.");
    };
    let path = path.to_string();
    let param = match path.as_str() {
        "" => "$".to_string(),
        p if p.starts_with('[') => format!("${p}"),
        p => format!("$.{p}"),
    };
    ApiError::new(ErrorCode::Invalid, format!("{param}: {}", error.message())).with_param(param)
}

/// Maps a failure to read the body to the ACP error shape (413 over the limit,
/// 408 when it stopped arriving, else 400).
pub fn body_rejection(rejection: axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::RequestTooLarge,
            format!("The request body exceeds {BODY_BYTES_MAX} bytes."),
        )
    } else if body_timed_out(&rejection) {
        ApiError::new(
            ErrorCode::RequestTimeout,
            "The request body stopped arriving.",
        )
        .retry_after(1)
    } else {
        ApiError::new(
            ErrorCode::InvalidBody,
            "The request body could not be read.",
        )
    }
}

/// Whether reading the body failed because it stopped arriving (the listener's
/// body read timeout, `tower_http::timeout::RequestBodyTimeoutLayer`).
fn body_timed_out(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = source {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Parses JSON, turning serde errors into a 400 that points at the field.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "A JSON request body is required.",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(raw);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(
                ErrorCode::InvalidJson,
                format!("The request body is not valid JSON: {message}"),
            )
        } else {
            let param = if path == "." {
                "$".to_string()
            } else {
                format!("$.{path}")
            };
            ApiError::new(
                ErrorCode::InvalidField,
                format!("Invalid request: {message} (at {param})"),
            )
            .with_param(param)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Thing {
        items: Vec<Item>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        quantity: i64,
    }

    #[test]
    fn errors_point_at_the_field() {
        let err =
            parse_json::<Thing>(br#"{"items":[{"quantity":1},{"quantity":"x"}]}"#).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("$.items[1].quantity"));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            parse_json::<Thing>(b"{").unwrap_err().code,
            ErrorCode::InvalidJson
        );
        assert_eq!(
            parse_json::<Thing>(b"").unwrap_err().code,
            ErrorCode::InvalidJson
        );
        assert_eq!(
            parse_json::<Thing>(b"{}").unwrap_err().param.as_deref(),
            Some("$")
        );
    }
}
