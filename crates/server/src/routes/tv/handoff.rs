//! The hand-off between a TV and the shopper's phone:
//!
//! - `POST /widget/handoffs` (the TV page, with the placement's publishable key):
//!   a code for the session the TV just opened, its URL and the URL's QR code as
//!   SVG (drawn here by the `qrcode` crate, so the TV needs no library);
//! - `GET /h/{code}` (the phone): claims the code for this phone (a cookie) and
//!   serves the checkout app continuing that same session; a code opened on
//!   another phone, expired or unknown gets a page that says so;
//! - `GET /h?code=…` (a code typed in): on to `/h/{code}`.

use crate::auth::session_cookie::cookie_value;
use crate::auth::{Caller, client_address};
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::routes::acp::wire::ErrorWire;
use crate::routes::widget::page::{
    Refusal, WidgetView, app_config, notice_page, page_response, refuse,
};
use crate::state::AppState;
use anycart_checkout::handoff::{HANDOFF_CODE_LEN, OpenedHandoff, normalize_code};
use anycart_checkout::placements::parse_origin;
use anycart_checkout::throttle::ClientId;
use anycart_checkout::{CheckoutError, Resource};
use anycart_core::SessionId;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The phone's claim on hand-off codes: a random secret in an HttpOnly cookie,
/// so the phone that opened a code can reload it and no other phone can.
const CLAIM_COOKIE: &str = "anycart_handoff";
/// How long the phone keeps its claim cookie (a day: far past any session).
const CLAIM_COOKIE_MAX_AGE_S: u32 = 86_400;
/// Smallest side of the QR drawing, in SVG pixels (scaled by the page anyway).
const QR_SIDE_PX: u32 = 320;

/// `POST /widget/handoffs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    /// The session the TV opened (`cs_…`), still held.
    pub checkout_session_id: String,
}

/// A hand-off code to show on the TV.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffWire {
    /// The code (8 characters, upper case, no separators).
    pub code: String,
    /// The code as the TV shows it: two groups of four, e.g. `K7QM-2XWD`.
    pub code_display: String,
    /// The phone's page for this code (what the QR code encodes).
    pub url: String,
    /// Where to type the code instead (shown under the QR code).
    pub short_url: String,
    /// The QR code of `url`, an SVG document.
    pub qr_svg: String,
    /// When the code stops working (RFC 3339): the hold's end at the latest.
    pub expires_at: String,
}

/// The QR code of `text` as an SVG document.
fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::internal(format!("hand-off URL too long for a QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(QR_SIDE_PX, QR_SIDE_PX)
        .quiet_zone(true)
        .build())
}

/// `K7QM2XWD` → `K7QM-2XWD`.
fn display_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// A hand-off code for the TV's session: the shopper's phone opens its URL (or
/// scans its QR code) and continues the same held checkout. Only a placement's
/// own publishable key may ask, for a live session of its merchant. Issuing
/// renews the session's hold for the full session TTL. A session has one current
/// code: asking again replaces an unopened code (the old one stops working);
/// once a phone has opened one, asking again is `409 handoff_taken`.
#[utoipa::path(post, path = "/widget/handoffs", tag = "Widget",
    request_body = HandoffRequest,
    responses((status = 201, body = HandoffWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
pub async fn issue_handoff(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<HandoffRequest>,
) -> Result<(StatusCode, axum::Json<HandoffWire>), ApiError> {
    let req = body.value;
    let placement = caller
        .placement
        .ok_or(CheckoutError::NotFound(Resource::Placement))?;
    let session = SessionId::parse(&req.checkout_session_id)
        .map_err(|_| CheckoutError::NotFound(Resource::CheckoutSession))?;
    let issued = state
        .checkout
        .issue_handoff(caller.merchant, placement, session)
        .await?;
    let base = state.config.base_url.trim_end_matches('/');
    let url = format!("{base}/h/{}", issued.code);
    Ok((
        StatusCode::CREATED,
        axum::Json(HandoffWire {
            code_display: display_code(&issued.code),
            qr_svg: qr_svg(&url)?,
            short_url: format!("{base}/h"),
            url,
            code: issued.code,
            expires_at: anycart_checkout::clock::rfc3339(issued.expires_at_ms),
        }),
    ))
}

/// The phone's claim secret: the cookie's, or a fresh one to set.
fn claim_secret(headers: &HeaderMap) -> (String, bool) {
    match cookie_value(headers, CLAIM_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(v) => (v.to_string(), false),
        None => {
            let mut raw = [0u8; 32];
            rand::rng().fill_bytes(&mut raw);
            (hex::encode(raw), true)
        }
    }
}

fn claim_cookie(state: &AppState, secret: &str) -> Option<HeaderValue> {
    let secure = if state.config.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{CLAIM_COOKIE}={secret}; Path=/h; HttpOnly; SameSite=Lax; Max-Age={CLAIM_COOKIE_MAX_AGE_S}{secure}"
    ))
    .ok()
}

/// The phone's page for a hand-off code: the checkout app continuing the TV's
/// held session. The first phone to open a live code owns it; others, expired
/// and unknown codes get a page that says so. Tries are throttled per client.
#[utoipa::path(get, path = "/h/{code}", tag = "Widget",
    params(("code" = String, Path, description = "The code shown on the TV")),
    responses((status = 200, content_type = "text/html", description = "The checkout, continuing the TV's session"),
              (status = 404, content_type = "text/html", description = "No such code"),
              (status = 409, content_type = "text/html", description = "Already opened on another device"),
              (status = 410, content_type = "text/html", description = "The code expired, a newer one replaced it, or the checkout ended"),
              (status = 429, content_type = "text/html", description = "Too many codes tried from here")))]
pub async fn phone_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    parts: Parts,
) -> Result<Response, ApiError> {
    let (secret, fresh) = claim_secret(&parts.headers);
    let address = client_address(&parts, &state);
    let client = ClientId::of(address.as_deref().unwrap_or("unknown"), Some("handoff"));
    let opened = match state
        .checkout
        .open_handoff(&code, &secret, Some(&client))
        .await
    {
        Ok(o) => o,
        Err(CheckoutError::RateLimited { .. }) => {
            return Ok(notice_page(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many codes were tried from here. Wait a minute and try again.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let mut res = match opened {
        OpenedHandoff::Session { placement, session } => {
            continue_page(&state, placement, &session).await?
        }
        OpenedHandoff::TakenByAnother => notice_page(
            StatusCode::CONFLICT,
            "handoff_taken",
            "This checkout is already open on another device. Start again on the TV to get a new code.",
        ),
        OpenedHandoff::Expired => notice_page(
            StatusCode::GONE,
            "handoff_expired",
            "This code has expired. Start again on the TV to get a new one.",
        ),
        OpenedHandoff::Replaced => notice_page(
            StatusCode::GONE,
            "handoff_replaced",
            "The TV shows a newer code now. Use that one.",
        ),
        OpenedHandoff::Unknown => notice_page(
            StatusCode::NOT_FOUND,
            "handoff_unknown",
            "We do not know this code. Check it against the one on the TV.",
        ),
    };
    if fresh && let Some(cookie) = claim_cookie(&state, &secret) {
        res.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(res)
}

/// The checkout app on the phone, continuing `session`, with a signed view so
/// its funnel events count for the TV's placement.
async fn continue_page(
    state: &AppState,
    placement: anycart_core::PlacementId,
    session: &anycart_core::session::CheckoutSession,
) -> Result<Response, ApiError> {
    if session.status.is_terminal() {
        return Ok(notice_page(
            StatusCode::GONE,
            "handoff_ended",
            "This checkout has ended (paid, cancelled or timed out). Start again on the TV.",
        ));
    }
    let Some(p) = state
        .store
        .get_placement(session.merchant_id, placement)
        .await?
        .filter(|p| p.enabled)
    else {
        return Ok(refuse(Refusal::Disabled));
    };
    let live = state.checkout.live_provider(p.merchant_id).await?;
    let origin = parse_origin(&state.config.base_url).unwrap_or_default();
    let Some(mut config) = app_config(state, &p, origin, None, &live).await? else {
        return Ok(refuse(Refusal::ProductUnavailable));
    };
    config.resume_session_id = Some(session.id.to_string());
    // The phone reports the funnel like the widget, attributed to the placement.
    let ticket = state.checkout.issue_view(p.id);
    config.view = Some(WidgetView {
        view_id: ticket.view_id,
        view_token: ticket.view_token,
    });
    // The phone's page is the top-level document: nobody may frame it.
    page_response(&config, &live, "'none'")
}

/// `?code=` as typed on the phone.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EntryQuery {
    pub code: Option<String>,
}

/// Where a shopper types the TV's code (the short URL under the QR code); a
/// submitted code goes on to `/h/{code}`.
#[utoipa::path(get, path = "/h", tag = "Widget", params(EntryQuery),
    responses((status = 200, content_type = "text/html", description = "A form for the code"),
              (status = 303, description = "On to the code's page")))]
pub async fn entry_page(Query(q): Query<EntryQuery>) -> Response {
    if let Some(code) = q.code.as_deref().and_then(normalize_code) {
        return Redirect::to(&format!("/h/{code}")).into_response();
    }
    let retry = if q.code.is_some() {
        "<p role=\"alert\" data-code=\"handoff_malformed\">That is not a code from a TV: it has 8 letters and digits.</p>"
    } else {
        ""
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Continue your TV checkout</title>\
<style>body{{margin:0;font:18px/1.4 system-ui,sans-serif;color:#1a202c;display:flex;align-items:center;justify-content:center;min-height:100vh;padding:16px;box-sizing:border-box}}form{{display:grid;gap:12px;max-width:320px}}input,button{{font:inherit;padding:12px;border-radius:8px;border:1px solid #718096}}input{{text-transform:uppercase;letter-spacing:.15em}}button{{background:#2b6cb0;color:#fff;border:0}}</style></head>\
<body><form method=\"get\" action=\"/h\"><h1>Continue your TV checkout</h1>{retry}<label for=\"code\">The code on the TV</label>\
<input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" autocapitalize=\"characters\" maxlength=\"{max}\" required>\
<button type=\"submit\">Continue</button></form></body></html>",
        max = HANDOFF_CODE_LEN + 2
    );
    let mut res = axum::response::Html(body).into_response();
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_shown_in_two_groups() {
        assert_eq!(display_code("K7QM2XWD"), "K7QM-2XWD");
    }

    #[test]
    fn the_qr_code_is_an_svg_document() {
        let svg = qr_svg("http://127.0.0.1:8080/h/K7QM2XWD").unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    }
}
