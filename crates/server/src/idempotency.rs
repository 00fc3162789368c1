//! The ACP idempotency contract for every checkout POST (ACP §6):
//! 400 `idempotency_key_required`, 422 `idempotency_conflict` (same key, different
//! body), 409 `idempotency_in_flight` with `Retry-After`, replays with
//! `Idempotent-Replayed: true`, 5xx never stored, keys scoped to merchant + endpoint.

use crate::error::{ApiError, check_api_version};
use crate::state::AppState;
use anycart_core::MerchantId;
use anycart_store::{IdempotencyBegin, IdempotencyScope};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Longest key accepted (ACP: max 255 characters).
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 255;
/// How long a running request owns its key before another node may take it over.
pub const IDEMPOTENCY_LOCK_MS: i64 = 60_000;
/// Cap on the `Retry-After` we suggest for in-flight collisions.
const RETRY_AFTER_S_MAX: i64 = 5;

/// Fingerprint of a body by semantic JSON equality: key order does not matter,
/// array order and `null` vs absent do (ACP §6.2). Non-JSON bodies hash as bytes.
pub fn fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_else(|_| body.to_vec());
    hex::encode(Sha256::digest(&canonical))
}

fn json_response(status: StatusCode, body: String, key: &str, replayed: bool) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Ok(v) = HeaderValue::from_str(key) {
        response.headers_mut().insert("idempotency-key", v);
    }
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Runs `run` at most once per (merchant, endpoint, key) and replays its response.
/// `run` gets its own handle on the state and the raw body.
pub async fn acp_post<T, F, Fut>(
    state: &AppState,
    merchant: MerchantId,
    headers: &HeaderMap,
    endpoint: String,
    body: Result<Bytes, BytesRejection>,
    success: StatusCode,
    run: F,
) -> Response
where
    T: Serialize,
    F: FnOnce(AppState, Bytes) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    if let Err(e) = check_api_version(headers) {
        return e.into_response();
    }
    let body = match body.map_err(crate::extract::body_rejection) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => {
            return ApiError::bad_request(
                "idempotency_key_required",
                "Idempotency-Key header is required on all POST requests",
            )
            .into_response();
        }
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= IDEMPOTENCY_KEY_LEN_MAX => k.to_string(),
        Some(_) => {
            return ApiError::bad_request("invalid_idempotency_key", format!("Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_LEN_MAX} visible ASCII characters.")).into_response();
        }
    };
    let scope = IdempotencyScope {
        merchant,
        endpoint,
        key: key.clone(),
    };
    let begin = match state
        .store
        .idempotency_begin(
            &scope,
            &fingerprint(&body),
            state.now_ms(),
            IDEMPOTENCY_LOCK_MS,
        )
        .await
    {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match begin {
        IdempotencyBegin::Replay { status, body } => {
            metrics::counter!("anycart_idempotent_replays_total").increment(1);
            json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                body,
                &key,
                true,
            )
        }
        IdempotencyBegin::Conflict => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_conflict",
            "Idempotency-Key has already been used with a different request body",
        )
        .into_response(),
        IdempotencyBegin::InFlight { retry_after_ms } => {
            let seconds = ((retry_after_ms + 999) / 1000).clamp(1, RETRY_AFTER_S_MAX) as u64;
            ApiError::conflict(
                "idempotency_in_flight",
                "A request with this Idempotency-Key is currently being processed",
            )
            .retry_after(seconds)
            .into_response()
        }
        IdempotencyBegin::Proceed => {
            let (status, text, retry_after) = match run(state.clone(), body).await {
                Ok(value) => match serde_json::to_string(&value) {
                    Ok(text) => (success, text, None),
                    Err(_) => {
                        let e = ApiError::internal();
                        (
                            e.status,
                            serde_json::to_string(&e.body()).unwrap_or_default(),
                            None,
                        )
                    }
                },
                Err(e) => (
                    e.status,
                    serde_json::to_string(&e.body()).unwrap_or_default(),
                    e.retry_after_s,
                ),
            };
            // 5xx are never stored (ACP §6.5); neither are "retry later" answers, which
            // describe a passing condition rather than the request's outcome.
            let result = if status.is_server_error() || retry_after.is_some() {
                state.store.idempotency_abandon(&scope).await
            } else {
                state
                    .store
                    .idempotency_finish(&scope, status.as_u16(), &text)
                    .await
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "could not record an idempotency result");
            }
            let mut response = json_response(status, text, &key, false);
            if let Some(s) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn fingerprint_ignores_key_order_but_not_arrays_or_nulls() {
        assert_eq!(
            fingerprint(br#"{"a":1,"b":[1,2]}"#),
            fingerprint(br#"{ "b":[1,2], "a":1 }"#)
        );
        assert_ne!(
            fingerprint(br#"{"b":[1,2]}"#),
            fingerprint(br#"{"b":[2,1]}"#)
        );
        assert_ne!(fingerprint(br#"{"a":null}"#), fingerprint(br#"{}"#));
        assert_ne!(fingerprint(b"not json"), fingerprint(b"not json!"));
    }
}
