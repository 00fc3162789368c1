//! The ACP idempotency contract for every checkout POST (ACP §6):
//! 400 `idempotency_key_required`, 422 `idempotency_conflict` (same key, different
//! body), 409 `idempotency_in_flight` with `Retry-After`, replays with
//! `Idempotent-Replayed: true`, 5xx never stored, keys scoped to merchant + endpoint.

use crate::api_version::check_api_version;
use crate::error::{ApiError, ErrorCode, ErrorLog};
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
/// How long a claim on a key lasts without renewal. The running request renews it
/// every [`IDEMPOTENCY_HEARTBEAT_MS`], so only a claim whose node died (or whose
/// request was cut off) lapses, and a retry takes it over within this time.
pub const IDEMPOTENCY_LOCK_MS: i64 = 5_000;
/// How often a running request renews its claim.
pub const IDEMPOTENCY_HEARTBEAT_MS: u64 = 1_500;
// Two heartbeats may be missed (a slow database) before the claim lapses.
#[allow(clippy::cast_possible_wrap)] // compile-time constants far below i64::MAX
const _: () = assert!(IDEMPOTENCY_LOCK_MS > 3 * IDEMPOTENCY_HEARTBEAT_MS as i64);

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

/// The `Idempotency-Key` header: required, 1 to [`IDEMPOTENCY_KEY_LEN_MAX`] characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => Err(ApiError::new(
            ErrorCode::IdempotencyKeyRequired,
            "Idempotency-Key header is required on all POST requests",
        )),
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= IDEMPOTENCY_KEY_LEN_MAX => {
            Ok(k.to_string())
        }
        Some(_) => Err(ApiError::new(
            ErrorCode::InvalidIdempotencyKey,
            format!(
                "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_LEN_MAX} visible ASCII characters."
            ),
        )),
    }
}

/// One request's outcome as it is sent and (unless it is "retry later") stored.
struct Outcome {
    status: StatusCode,
    body: String,
    retry_after_s: Option<u64>,
    log: Option<ErrorLog>,
}

impl Outcome {
    fn of_success(status: StatusCode, value: &impl Serialize) -> Outcome {
        match serde_json::to_string(value) {
            Ok(body) => Outcome {
                status,
                body,
                retry_after_s: None,
                log: None,
            },
            Err(e) => Outcome::of_error(&ApiError::internal(format!(
                "response not serialisable: {e}"
            ))),
        }
    }

    fn of_error(e: &ApiError) -> Outcome {
        Outcome {
            status: e.status(),
            body: serde_json::to_string(&e.body()).unwrap_or_default(),
            retry_after_s: e.retry_after_s,
            log: Some(e.log()),
        }
    }

    /// 5xx are never stored (ACP §6.5); neither are "retry later" answers, which
    /// describe a passing condition rather than the request's outcome.
    fn is_stored(&self) -> bool {
        !self.status.is_server_error() && self.retry_after_s.is_none()
    }

    fn into_response(self, key: &str) -> Response {
        let mut response = json_response(self.status, self.body, key, false);
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(log) = self.log {
            response.extensions_mut().insert(log);
        }
        response
    }
}

/// What an ACP POST is, for the idempotency contract.
pub struct AcpPost<'a> {
    pub merchant: MerchantId,
    pub headers: &'a HeaderMap,
    /// The key's scope besides the merchant, e.g. `POST /checkout_sessions/{id}`.
    pub endpoint: String,
    /// The status of a successful answer (201 for a create).
    pub success: StatusCode,
}

/// Runs `run` at most once per (merchant, endpoint, key) and replays its response.
/// `run` gets its own handle on the state and the raw body.
pub async fn acp_post<T, F, Fut>(
    state: &AppState,
    post: AcpPost<'_>,
    body: Result<Bytes, BytesRejection>,
    run: F,
) -> Response
where
    T: Serialize,
    F: FnOnce(AppState, Bytes) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let AcpPost {
        merchant,
        headers,
        endpoint,
        success,
    } = post;
    let checked = check_api_version(headers)
        .and_then(|()| body.map_err(crate::extract::body_rejection))
        .and_then(|body| Ok((body, idempotency_key(headers)?)));
    let (body, key) = match checked {
        Ok(ok) => ok,
        Err(e) => return e.into_response(),
    };
    let scope = IdempotencyScope {
        merchant,
        endpoint,
        key: key.clone(),
    };
    let begin = state
        .store
        .idempotency_begin(
            &scope,
            &fingerprint(&body),
            state.now_ms(),
            IDEMPOTENCY_LOCK_MS,
        )
        .await;
    match begin {
        Err(e) => ApiError::from(e).into_response(),
        Ok(IdempotencyBegin::Proceed) => {
            let ran = while_renewing(state, &scope, run(state.clone(), body)).await;
            let outcome = match ran {
                Ok(value) => Outcome::of_success(success, &value),
                Err(e) => Outcome::of_error(&e),
            };
            record(state, &scope, &outcome).await;
            outcome.into_response(&key)
        }
        Ok(IdempotencyBegin::Replay { status, body }) => replay(status, body, &key),
        Ok(IdempotencyBegin::Conflict) => ApiError::new(
            ErrorCode::IdempotencyConflict,
            "Idempotency-Key has already been used with a different request body",
        )
        .into_response(),
        Ok(IdempotencyBegin::InFlight { retry_after_ms }) => in_flight(retry_after_ms),
    }
}

/// Runs `work` while renewing the key's claim, so other nodes see it alive.
async fn while_renewing<T>(
    state: &AppState,
    scope: &IdempotencyScope,
    work: impl Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    let period = std::time::Duration::from_millis(IDEMPOTENCY_HEARTBEAT_MS);
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = beat.tick() => {
                if let Err(e) = state.store.idempotency_renew(scope, state.now_ms(), IDEMPOTENCY_LOCK_MS).await {
                    tracing::warn!(error = %e, "could not renew an idempotency claim");
                }
            }
        }
    }
}

/// The stored response of the request that ran with this key.
fn replay(status: u16, body: String, key: &str) -> Response {
    metrics::counter!("anycart_idempotent_replays_total").increment(1);
    json_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        body,
        key,
        true,
    )
}

/// The key's request is still running (on this or another node): retry soon.
fn in_flight(retry_after_ms: i64) -> Response {
    let seconds = ((retry_after_ms + 999) / 1000).clamp(1, RETRY_AFTER_S_MAX);
    ApiError::new(
        ErrorCode::IdempotencyInFlight,
        "A request with this Idempotency-Key is currently being processed",
    )
    .retry_after(u64::try_from(seconds).unwrap_or(1))
    .into_response()
}

/// Stores the outcome for replays, or releases the key when it must not be kept.
async fn record(state: &AppState, scope: &IdempotencyScope, outcome: &Outcome) {
    let recorded = if outcome.is_stored() {
        state
            .store
            .idempotency_finish(scope, outcome.status.as_u16(), &outcome.body)
            .await
    } else {
        state.store.idempotency_abandon(scope).await
    };
    if let Err(e) = recorded {
        tracing::error!(error = %e, "could not record an idempotency result");
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
