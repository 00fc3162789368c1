//! The HTTP edge of the Stripe API: `Authorization: Bearer sk_test_…`, form bodies,
//! `Stripe-Version`, faults, idempotency (stored first answers, replays, 400 on a
//! changed request, 409 while the first is still running), the request log and
//! persistence. The endpoints themselves are in `api`.

use crate::api::{self, Auth, Request, Route};
use crate::control;
use crate::error::{ApiError, ErrorType};
use crate::faults::Fault;
use crate::ids::{new_id, now};
use crate::params::Params;
use crate::shared::Shared;
use crate::state::{REQUEST_LOG_MAX, RequestLog, StoredResponse, idempotency_slot, push_bounded};
use crate::stripe_js;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use std::sync::Arc;

/// The API version answered when a request sends no `Stripe-Version`.
pub const DEFAULT_API_VERSION: &str = "2026-04-22.dahlia";
/// Stripe's limit on idempotency keys.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

/// The whole fake: Stripe API, Stripe.js stand-in, control API.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v3", get(stripe_js::serve))
        .route("/v3/", get(stripe_js::serve))
        .route(stripe_js::STRIPE_JS_CSS_PATH, get(stripe_js::serve_css))
        .nest("/test_control", control::routes())
        .fallback(api_request)
        .layer(middleware::from_fn(cors))
        .with_state(shared)
}

/// Stripe's API answers browsers (Stripe.js) from any origin; so does the fake.
async fn cors(req: axum::extract::Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut resp = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "Authorization, Content-Type, Idempotency-Key, Stripe-Version, Stripe-Account",
        ),
    );
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(
            "Request-Id, Stripe-Version, Idempotency-Key, Idempotent-Replayed, Original-Request",
        ),
    );
    h.insert("access-control-max-age", HeaderValue::from_static("300"));
    resp
}

/// What one API request is, for the log and the answer's headers.
struct Ctx {
    method: String,
    path: String,
    key: Option<String>,
    version: Option<String>,
    request_id: String,
    params: Vec<(String, String)>,
    auth: &'static str,
}

/// What to send back.
struct Answer {
    status: u16,
    body: Value,
    replayed: Option<String>,
    drop_connection: bool,
}

impl Answer {
    fn error(e: &ApiError) -> Answer {
        Answer {
            status: e.status,
            body: e.body(),
            replayed: None,
            drop_connection: false,
        }
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

async fn api_request(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut ctx = Ctx {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        key: header_str(&headers, "idempotency-key").filter(|_| method == Method::POST),
        version: header_str(&headers, "stripe-version"),
        request_id: new_id("req"),
        params: Vec::new(),
        auth: "missing",
    };
    let raw: &[u8] = if method == Method::POST {
        &body
    } else {
        uri.query().unwrap_or_default().as_bytes()
    };
    let answer = match prepare(&shared, &mut ctx, &headers, raw) {
        Err(e) => {
            log_request(&shared, &ctx, e.status, false);
            Answer::error(&e)
        }
        Ok(prepared) => dispatch(&shared, &ctx, prepared).await,
    };
    respond(&shared, &ctx, answer)
}

/// A request that passed the checks before any endpoint runs.
struct Prepared {
    route: Route,
    params: Params,
    auth: Auth,
    api_version: String,
}

fn prepare(
    shared: &Shared,
    ctx: &mut Ctx,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Prepared, ApiError> {
    let params = Params::parse(raw)?;
    ctx.params = params.redacted_pairs();
    let api_version = match &ctx.version {
        Some(v) if !valid_version(v) => {
            return Err(
                ApiError::invalid(format!("Invalid Stripe API version: {v}"))
                    .code("invalid_api_version"),
            );
        }
        Some(v) => v.clone(),
        None => shared.api_version.clone(),
    };
    let auth = authenticate(shared, ctx, headers)?;
    let route = Route::parse(&ctx.method, &ctx.path).ok_or_else(|| {
        ApiError::new(
            404,
            ErrorType::InvalidRequest,
            format!("Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", ctx.method, ctx.path),
        )
    })?;
    if matches!(auth, Auth::Publishable(_)) && !route.publishable_allowed() {
        return Err(ApiError::authentication(
            "This API call cannot be made with a publishable API key. Please use a secret API key. You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        ));
    }
    if let Some(key) = &ctx.key
        && key.chars().count() > IDEMPOTENCY_KEY_CHARS_MAX
    {
        return Err(ApiError::invalid(format!(
            "Keys for idempotent requests can be no longer than {IDEMPOTENCY_KEY_CHARS_MAX} characters."
        )));
    }
    Ok(Prepared {
        route,
        params,
        auth,
        api_version,
    })
}

/// `2026-04-22` or `2026-04-22.dahlia`.
fn valid_version(v: &str) -> bool {
    let (date, name) = match v.split_once('.') {
        Some((d, n)) => (d, Some(n)),
        None => (v, None),
    };
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && name.is_none_or(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase()))
}

fn authenticate(shared: &Shared, ctx: &mut Ctx, headers: &HeaderMap) -> Result<Auth, ApiError> {
    let Some(key) = api_key(headers) else {
        return Err(ApiError::authentication(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        ));
    };
    if key == shared.keys.publishable {
        ctx.auth = "publishable";
        return Ok(Auth::Publishable(key));
    }
    if shared.is_secret_key(&shared.lock(), &key) {
        ctx.auth = "secret";
        return Ok(Auth::Secret(key));
    }
    ctx.auth = "invalid";
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = key.chars().take(8).collect();
    Err(ApiError::authentication(format!(
        "Invalid API Key provided: {head}****{tail}"
    )))
}

/// `Authorization: Bearer <key>`, or Basic with the key as user name (curl's `-u sk_…:`).
fn api_key(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    if let Some(k) = v.strip_prefix("Bearer ") {
        return Some(k.trim().to_string()).filter(|k| !k.is_empty());
    }
    let decoded = base64_decode(v.strip_prefix("Basic ")?.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_string()).filter(|k| !k.is_empty())
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0_u32, 0_u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// Applies a fault, then runs the request (after a hang, on its own task so that a
/// client giving up does not stop it).
async fn dispatch(shared: &Arc<Shared>, ctx: &Ctx, prepared: Prepared) -> Answer {
    let fault = shared.take_fault(&ctx.path);
    if let Some(Fault::Status { status, .. }) = &fault {
        let e = ApiError::for_status(*status);
        log_request(shared, ctx, e.status, false);
        return Answer::error(&e);
    }
    let slot = match (&ctx.key, &prepared.auth) {
        (Some(key), Auth::Secret(api_key) | Auth::Publishable(api_key)) => {
            Some(idempotency_slot(api_key, key))
        }
        _ => None,
    };
    let answered_status = match &fault {
        Some(Fault::LoseAnswer { .. }) => Some(500),
        Some(Fault::DropConnection { .. }) => Some(0),
        _ => None,
    };
    let mut answer = if let Some(Fault::Hang { duration, .. }) = fault {
        if let Some(early) = claim_for_hang(shared, ctx, &prepared, slot.as_deref()) {
            return early;
        }
        let (shared2, ctx2, duration) = (Arc::clone(shared), ctx_copy(ctx), duration);
        let task = tokio::spawn(async move {
            tokio::time::sleep(duration).await;
            run(&shared2, &ctx2, &prepared, slot.as_deref(), true, None)
        });
        match task.await {
            Ok(a) => a,
            Err(_) => Answer::error(&ApiError::for_status(500)),
        }
    } else {
        run(
            shared,
            ctx,
            &prepared,
            slot.as_deref(),
            false,
            answered_status,
        )
    };
    match fault {
        Some(Fault::LoseAnswer { .. }) => {
            answer = Answer::error(&ApiError::for_status(500));
        }
        Some(Fault::DropConnection { .. }) => answer.drop_connection = true,
        _ => {}
    }
    answer
}

fn ctx_copy(ctx: &Ctx) -> Ctx {
    Ctx {
        method: ctx.method.clone(),
        path: ctx.path.clone(),
        key: ctx.key.clone(),
        version: ctx.version.clone(),
        request_id: ctx.request_id.clone(),
        params: ctx.params.clone(),
        auth: ctx.auth,
    }
}

/// Before a hang: answers a replay, a conflict or an in-flight key now; otherwise
/// takes the key so that retries during the hang get 409.
fn claim_for_hang(
    shared: &Shared,
    ctx: &Ctx,
    prepared: &Prepared,
    slot: Option<&str>,
) -> Option<Answer> {
    let slot = slot?;
    let mut state = shared.lock();
    if state.idempotency.contains_key(slot) {
        drop(state);
        return Some(run(shared, ctx, prepared, Some(slot), false, None));
    }
    let placeholder = StoredResponse {
        seq: 0,
        method: ctx.method.clone(),
        path: ctx.path.clone(),
        fingerprint: prepared.params.fingerprint(),
        status: 0,
        body: Value::Null,
        intent: None,
        request_id: ctx.request_id.clone(),
        in_flight: true,
    };
    state.store_response(slot.to_string(), placeholder);
    None
}

/// Runs the endpoint under the state lock, with Stripe's idempotency rules, then
/// logs and (for a POST) persists. `own_claim`: this request holds the in-flight
/// claim on its key. `answered_status`: what the client will really get (faults).
fn run(
    shared: &Shared,
    ctx: &Ctx,
    prepared: &Prepared,
    slot: Option<&str>,
    own_claim: bool,
    answered_status: Option<u16>,
) -> Answer {
    let mut state = shared.lock();
    let fingerprint = prepared.params.fingerprint();
    if let Some(slot) = slot
        && let Some(stored) = state.idempotency.get(slot)
    {
        let key = ctx.key.clone().unwrap_or_default();
        let answer = if stored.in_flight && !own_claim {
            let e = ApiError::new(
                409,
                ErrorType::Idempotency,
                format!(
                    "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): {key}. Please try again later."
                ),
            );
            Some(Answer::error(&e))
        } else if stored.in_flight {
            None
        } else if stored.method == ctx.method
            && stored.path == ctx.path
            && stored.fingerprint == fingerprint
        {
            Some(Answer {
                status: stored.status,
                body: stored.body.clone(),
                replayed: Some(stored.request_id.clone()),
                drop_connection: false,
            })
        } else {
            let e = ApiError::new(
                400,
                ErrorType::Idempotency,
                format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                ),
            );
            Some(Answer::error(&e))
        };
        if let Some(answer) = answer {
            let replayed = answer.replayed.is_some();
            push_log(
                &mut state,
                ctx,
                answered_status.unwrap_or(answer.status),
                replayed,
            );
            return answer;
        }
    }
    let req = Request {
        params: &prepared.params,
        auth: &prepared.auth,
        now: now(),
        idempotency_key: ctx.key.as_deref(),
        api_version: &prepared.api_version,
    };
    let answer = match api::execute(&mut state, &prepared.route, &req) {
        Ok(done) => {
            if let Some(slot) = slot {
                let stored = StoredResponse {
                    seq: 0,
                    method: ctx.method.clone(),
                    path: ctx.path.clone(),
                    fingerprint,
                    status: done.status,
                    body: done.body.clone(),
                    intent: done.intent.clone(),
                    request_id: ctx.request_id.clone(),
                    in_flight: false,
                };
                state.store_response(slot.to_string(), stored);
            }
            if let (Some(key), Some(intent)) = (&ctx.key, &done.intent)
                && let Some(pi) = state.intent_mut(intent)
                && !pi.idempotency_keys.contains(key)
            {
                pi.idempotency_keys.push(key.clone());
            }
            shared.record_events(
                &mut state,
                done.events,
                Some(&ctx.request_id),
                ctx.key.as_deref(),
                true,
            );
            Answer {
                status: done.status,
                body: done.body,
                replayed: None,
                drop_connection: false,
            }
        }
        Err(e) => {
            // Refused before running: nothing is kept for the key (Stripe's rule).
            if own_claim && let Some(slot) = slot {
                state.idempotency.remove(slot);
            }
            Answer::error(&e)
        }
    };
    push_log(
        &mut state,
        ctx,
        answered_status.unwrap_or(answer.status),
        false,
    );
    if ctx.method == "POST" {
        shared.save(&state);
    }
    answer
}

fn push_log(state: &mut crate::state::State, ctx: &Ctx, status: u16, replayed: bool) {
    let entry = RequestLog {
        method: ctx.method.clone(),
        path: ctx.path.clone(),
        idempotency_key: ctx.key.clone(),
        params: ctx.params.clone(),
        status,
        auth: ctx.auth.to_string(),
        stripe_version: ctx.version.clone(),
        replayed,
        request_id: ctx.request_id.clone(),
        at: now(),
    };
    push_bounded(&mut state.requests, entry, REQUEST_LOG_MAX);
}

fn log_request(shared: &Shared, ctx: &Ctx, status: u16, replayed: bool) {
    push_log(&mut shared.lock(), ctx, status, replayed);
}

fn respond(shared: &Shared, ctx: &Ctx, answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = if answer.drop_connection {
        // Headers may go out; the body never completes: the client sees a broken connection.
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped by a fault"))
        });
        Response::new(Body::from_stream(broken))
    } else {
        Response::new(Body::from(
            serde_json::to_vec_pretty(&answer.body).unwrap_or_default(),
        ))
    };
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put("request-id", &ctx.request_id);
    put(
        "stripe-version",
        ctx.version.as_deref().unwrap_or(&shared.api_version),
    );
    if let Some(key) = &ctx.key {
        put("idempotency-key", key);
    }
    if let Some(original) = &answer.replayed {
        put("idempotent-replayed", "true");
        put("original-request", original);
    }
    match answer.status {
        429 => {
            put("retry-after", "1");
            put("stripe-should-retry", "true");
        }
        409 => put("stripe-should-retry", "true"),
        401 => put("www-authenticate", "Basic realm=\"Stripe\""),
        _ => {}
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dates_with_an_optional_release_name() {
        assert!(valid_version("2026-04-22"));
        assert!(valid_version("2026-04-22.dahlia"));
        assert!(!valid_version("latest"));
        assert!(!valid_version("2026-4-22"));
        assert!(!valid_version("2026-04-22."));
    }

    #[test]
    fn basic_auth_takes_the_key_as_user_name() {
        let mut h = HeaderMap::new();
        // base64("sk_test_x:")
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic c2tfdGVzdF94Og=="),
        );
        assert_eq!(api_key(&h).as_deref(), Some("sk_test_x"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sk_test_y"),
        );
        assert_eq!(api_key(&h).as_deref(), Some("sk_test_y"));
    }
}
