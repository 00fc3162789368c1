//! Dashboard sign-in: the session cookie, its CSRF token, and the sign-in,
//! sign-out and "who am I" endpoints.
//!
//! The cookie (`anycart_dashboard`) is HttpOnly (page scripts cannot read it),
//! SameSite=Strict (other sites' pages cannot send it) and Secure when anycart is
//! served over https. Every state change made with it must also carry
//! `X-CSRF-Token`, which only a page of this origin can learn (from
//! `GET /dashboard/session`). Sign-in by password is rate-limited per email by the
//! service.
//!
//! Signing in is refused from another site's page (login CSRF: a hostile page
//! must not sign the browser into the attacker's account), judged by the
//! browser's `Sec-Fetch-Site` or `Origin`. A one-time link opens a page whose
//! button spends it, so mail scanners that fetch links do not burn it.

use crate::auth::session_cookie::{COOKIE, cookie_value, sign_in_required};
use crate::error::{ApiError, ErrorCode};
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::users::{DASHBOARD_SESSION_TTL_MS, SignedIn, csrf_token};
use anycart_store::DashboardUser;
use axum::Form;
use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /dashboard/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    pub email: String,
    pub password: String,
}

/// `PUT /dashboard/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// 10 to 256 characters.
    pub password: String,
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardUserWire {
    pub id: String,
    pub email: String,
    /// `owner` or `staff`.
    pub role: String,
    /// False until the user sets one (a link-only user).
    pub has_password: bool,
}

/// A dashboard session: who, for which merchant, and the CSRF token to send as
/// `X-CSRF-Token` with every state change.
#[derive(Debug, Serialize, ToSchema)]
pub struct DashboardSessionWire {
    pub user: DashboardUserWire,
    pub merchant_id: String,
    pub merchant_name: String,
    pub csrf_token: String,
    pub expires_at: String,
}

/// `GET /dashboard/sign_in?token=…` (the one-time link), and the form its page
/// posts to `POST /dashboard/sign_in`.
#[derive(Debug, Deserialize, utoipa::IntoParams, ToSchema)]
pub struct LinkQuery {
    pub token: String,
}

/// Refuses a sign-in that a page of another site made the browser send.
/// Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`);
/// a client that is not a browser says neither and has no cookies to abuse.
fn same_site_sign_in(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let cross_site = match (text("sec-fetch-site"), text(header::ORIGIN.as_str())) {
        (Some(site), _) => !matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => {
            let host = text(header::HOST.as_str()).unwrap_or("");
            origin.split_once("://").map(|(_, h)| h) != Some(host)
        }
        (None, None) => false,
    };
    if cross_site {
        return Err(ApiError::new(
            ErrorCode::CsrfTokenInvalid,
            "Sign in from the anycart dashboard's own page.",
        ));
    }
    Ok(())
}

/// `Set-Cookie` for a new session (or to clear it, with `None`).
fn set_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let secure = if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let value = match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            DASHBOARD_SESSION_TTL_MS / 1000
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value)
        .unwrap_or(HeaderValue::from_static("anycart_dashboard=; Max-Age=0"))
}

async fn session_wire(
    state: &AppState,
    user: &DashboardUser,
    token: &str,
    expires_at_ms: i64,
) -> Result<DashboardSessionWire, ApiError> {
    let merchant = state
        .store
        .get_merchant(user.merchant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("merchant"))?;
    Ok(DashboardSessionWire {
        user: DashboardUserWire {
            id: user.id.to_string(),
            email: user.email.clone(),
            role: user.role.as_str().to_string(),
            has_password: user.password_hash.is_some(),
        },
        merchant_id: merchant.id.to_string(),
        merchant_name: merchant.name,
        csrf_token: csrf_token(token),
        expires_at: rfc3339(expires_at_ms),
    })
}

async fn signed_in_response(state: &AppState, signed: SignedIn) -> Result<Response, ApiError> {
    let token = signed.token.expose_secret();
    let wire = session_wire(state, &signed.user, token, signed.expires_at_ms).await?;
    Ok((
        [
            (header::SET_COOKIE, set_cookie(state, Some(token))),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Json(wire),
    )
        .into_response())
}

/// Sign in with email and password: sets the session cookie. Wrong passwords are
/// rate-limited per email (429 with `Retry-After`).
#[utoipa::path(post, path = "/dashboard/session", tag = "Dashboard", request_body = SignInBody,
    responses((status = 200, body = DashboardSessionWire, description = "Signed in; the session cookie is set"),
        (status = 401, body = crate::routes::acp::wire::ErrorWire), (status = 403, body = crate::routes::acp::wire::ErrorWire, description = "Sent by another site's page"),
        (status = 429, body = crate::routes::acp::wire::ErrorWire)))]
pub async fn dashboard_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: AcpJson<SignInBody>,
) -> Result<Response, ApiError> {
    same_site_sign_in(&headers)?;
    let signed = state
        .checkout
        .sign_in_with_password(&body.value.email, &body.value.password)
        .await?;
    signed_in_response(&state, signed).await
}

/// The current session (and its CSRF token), or 401 `sign_in_required`.
#[utoipa::path(get, path = "/dashboard/session", tag = "Dashboard",
    responses((status = 200, body = DashboardSessionWire), (status = 401, body = crate::routes::acp::wire::ErrorWire)))]
pub async fn dashboard_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = cookie_value(&headers, COOKIE).ok_or_else(sign_in_required)?;
    let session = state
        .checkout
        .dashboard_session(token)
        .await?
        .ok_or_else(sign_in_required)?;
    let wire = session_wire(&state, &session.user, token, session.expires_at_ms).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(wire),
    )
        .into_response())
}

/// Sign out: ends the session and clears the cookie (needs `X-CSRF-Token`).
#[utoipa::path(delete, path = "/dashboard/session", tag = "Dashboard",
    responses((status = 204, description = "Signed out"), (status = 401, body = crate::routes::acp::wire::ErrorWire), (status = 403, body = crate::routes::acp::wire::ErrorWire)))]
pub async fn dashboard_sign_out(
    State(state): State<AppState>,
    caller: crate::auth::SecretCaller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if caller.0.user.is_some()
        && let Some(token) = cookie_value(&headers, COOKIE)
    {
        state.checkout.dashboard_sign_out(token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie(&state, None))],
    )
        .into_response())
}

/// Set the signed-in user's password (needs `X-CSRF-Token`).
#[utoipa::path(put, path = "/dashboard/password", tag = "Dashboard", request_body = PasswordBody,
    responses((status = 204, description = "Password set"), (status = 400, body = crate::routes::acp::wire::ErrorWire),
        (status = 401, body = crate::routes::acp::wire::ErrorWire), (status = 403, body = crate::routes::acp::wire::ErrorWire)))]
pub async fn dashboard_set_password(
    State(state): State<AppState>,
    caller: crate::auth::SecretCaller,
    body: AcpJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let user = caller.0.user.ok_or_else(sign_in_required)?;
    state
        .checkout
        .set_user_password(caller.0.merchant, user.id, &body.value.password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The one-time sign-in link opens a page with a "Sign in" button that spends
/// it: fetching the link (a mail scanner, a link preview) changes nothing.
#[utoipa::path(get, path = "/dashboard/sign_in", tag = "Dashboard", params(LinkQuery),
    responses((status = 200, content_type = "text/html", description = "The page whose button signs in with the link")))]
pub async fn dashboard_sign_in_link(Query(q): Query<LinkQuery>) -> Response {
    let token = anycart_core::text::escape_html(&q.token);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Sign in · anycart dashboard</title>\
         <style>body{{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0}}\
         main{{text-align:center}}button{{font:inherit;padding:.7em 1.6em;border-radius:8px;border:0;background:#1d4ed8;color:#fff;cursor:pointer}}\
         button:focus-visible{{outline:3px solid #f59e0b;outline-offset:3px}}</style></head>\
         <body><main><h1>anycart dashboard</h1><p>This link signs you in once.</p>\
         <form method=\"post\" action=\"/dashboard/sign_in\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button type=\"submit\" autofocus>Sign in</button></form></main></body></html>"
    );
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            // The token is in this page's URL: it must not leave in a Referer.
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        html,
    )
        .into_response()
}

/// A form that is not one, or not readable, in the API's error shape.
fn form_rejection(rejection: FormRejection) -> ApiError {
    match rejection {
        FormRejection::InvalidFormContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the link's form as application/x-www-form-urlencoded.",
        ),
        FormRejection::BytesRejection(e) => crate::extract::body_rejection(e),
        other => ApiError::invalid("token", other.body_text()),
    }
}

/// The link page's button: spends the link, sets the session cookie and opens
/// the dashboard; an expired or used link opens the sign-in form with a notice.
#[utoipa::path(post, path = "/dashboard/sign_in", tag = "Dashboard",
    request_body(content = LinkQuery, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To the dashboard (signed in) or its sign-in form"),
        (status = 403, body = crate::routes::acp::wire::ErrorWire, description = "Sent by another site's page")))]
pub async fn dashboard_spend_sign_in_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LinkQuery>, FormRejection>,
) -> Result<Response, ApiError> {
    same_site_sign_in(&headers)?;
    let Form(link) = form.map_err(form_rejection)?;
    match state.checkout.sign_in_with_link(&link.token).await {
        Ok(signed) => Ok((
            [
                (
                    header::SET_COOKIE,
                    set_cookie(&state, Some(signed.token.expose_secret())),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            Redirect::to("/dashboard/#/"),
        )
            .into_response()),
        Err(anycart_checkout::CheckoutError::User(_)) => {
            Ok(Redirect::to("/dashboard/#/sign-in?link=expired").into_response())
        }
        Err(e) => Err(e.into()),
    }
}
