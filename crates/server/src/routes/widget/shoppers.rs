//! The returning-shopper routes of the widget (`/widget/shoppers/…`, publishable
//! key): ask for a code, verify it, prefill a session, "remember me", sign out and
//! "forget my details". The flows are [`anycart_checkout::shoppers`]; this is the
//! wire shape.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::routes::acp::handlers::render;
use crate::routes::acp::wire::{CheckoutSessionWire, ErrorWire};
use crate::state::AppState;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::shoppers::ProfileView;
use anycart_checkout::{CheckoutError, Resource};
use anycart_core::{PlacementId, SessionId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The returning-shopper routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_code))
        .routes(routes!(verify_code))
        .routes(routes!(prefill))
        .routes(routes!(remember))
        .routes(routes!(sign_out))
        .routes(routes!(forget))
}

/// A service error with `param` naming this door's fields.
fn refused(e: CheckoutError) -> ApiError {
    let param = match &e {
        CheckoutError::NotFound(Resource::Placement) => Some("$.placement_id"),
        CheckoutError::NotFound(Resource::CheckoutSession) => Some("$.checkout_session_id"),
        _ => None,
    };
    let api = ApiError::from(e);
    match param {
        Some(p) => api.with_param(p),
        None => api,
    }
}

fn placement_id(raw: &str) -> Result<PlacementId, ApiError> {
    PlacementId::parse(raw).map_err(|_| refused(CheckoutError::NotFound(Resource::Placement)))
}

fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw).map_err(|_| refused(CheckoutError::NotFound(Resource::CheckoutSession)))
}

/// `POST /widget/shoppers/codes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The placement the widget runs in (`plc_…`).
    pub placement_id: String,
    /// The shopper's email.
    pub email: String,
}

/// The same answer for every accepted email.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Always `sent`: whether a profile exists is never told.
    pub status: &'static str,
    /// Seconds until the code expires.
    pub expires_in: i64,
}

/// Email a 6-digit sign-in code (at most 3 per email and 500 per merchant per 10
/// minutes). Answers 202 whether or not anything is saved for the email.
#[utoipa::path(post, path = "/widget/shoppers/codes", tag = "Widget", request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn request_code(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<CodeRequest>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let req = body.value;
    let ttl_ms = state
        .checkout
        .request_sign_in_code(
            caller.merchant,
            placement_id(&req.placement_id)?,
            &req.email,
            caller.client.as_ref(),
        )
        .await
        .map_err(refused)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            status: "sent",
            expires_in: ttl_ms / 1000,
        }),
    ))
}

/// `POST /widget/shoppers/verify`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The placement the widget runs in.
    pub placement_id: String,
    /// The email the code was sent to.
    pub email: String,
    /// The six digits.
    pub code: String,
}

/// What a shopper sees of their saved details: enough to recognise, not to copy.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileWire {
    /// First name and initial, e.g. `Jane D.`.
    pub name: Option<String>,
    /// The address with house numbers and most of the postcode hidden.
    pub address: Option<String>,
    /// Card brand for display, e.g. `visa`.
    pub card_brand: Option<String>,
    /// Last four digits of the saved card.
    pub card_last4: Option<String>,
}

impl From<ProfileView> for ProfileWire {
    fn from(p: ProfileView) -> Self {
        ProfileWire {
            name: p.name,
            address: p.address,
            card_brand: p.card_brand,
            card_last4: p.card_last4,
        }
    }
}

/// A verified shopper.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    /// Opaque; send it to `prefill` and as the credential token of a one-tap complete.
    pub shopper_token: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The normalised email.
    pub email: String,
    /// `null` when nothing is saved for this email at this merchant.
    pub profile: Option<ProfileWire>,
}

/// Check a sign-in code (5 tries) and sign the shopper in for 30 minutes.
#[utoipa::path(post, path = "/widget/shoppers/verify", tag = "Widget", request_body = VerifyRequest,
    responses((status = 200, body = Verified), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn verify_code(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<VerifyRequest>,
) -> Result<Json<Verified>, ApiError> {
    let req = body.value;
    let v = state
        .checkout
        .verify_sign_in_code(
            caller.merchant,
            placement_id(&req.placement_id)?,
            &req.email,
            &req.code,
        )
        .await
        .map_err(refused)?;
    Ok(Json(Verified {
        shopper_token: v.shopper_token.expose_secret().to_string(),
        expires_at: rfc3339(v.expires_at_ms),
        email: v.email,
        profile: v.profile.map(ProfileWire::from),
    }))
}

/// `POST /widget/shoppers/prefill`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrefillRequest {
    /// The session to fill (`cs_…`).
    pub checkout_session_id: String,
    /// From `verify`.
    pub shopper_token: String,
}

/// Fill a checkout session with the signed-in shopper's saved details (buyer,
/// address, preferred shipping). Answers the session in ACP form.
#[utoipa::path(post, path = "/widget/shoppers/prefill", tag = "Widget", request_body = PrefillRequest,
    responses((status = 200, body = CheckoutSessionWire), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn prefill(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<PrefillRequest>,
) -> Result<Json<CheckoutSessionWire>, ApiError> {
    let req = body.value;
    let id = session_id(&req.checkout_session_id)?;
    let session = state
        .checkout
        .prefill(caller.merchant, id, &req.shopper_token)
        .await
        .map_err(refused)?;
    Ok(Json(render(&state, &session).await?))
}

/// `POST /widget/shoppers/remember`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RememberRequest {
    /// The session about to be paid.
    pub checkout_session_id: String,
    /// The box's state: false withdraws an earlier opt-in.
    pub remember: bool,
    /// The shopper token, when the shopper verified their email in this widget:
    /// only then may the payment replace details saved earlier.
    #[serde(default)]
    pub shopper_token: Option<String>,
}

/// "Remember me": save this session's details (and the card that pays it) for
/// next time, once it is paid. 204.
#[utoipa::path(post, path = "/widget/shoppers/remember", tag = "Widget", request_body = RememberRequest,
    responses((status = 204), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn remember(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<RememberRequest>,
) -> Result<StatusCode, ApiError> {
    let req = body.value;
    let id = session_id(&req.checkout_session_id)?;
    state
        .checkout
        .remember(
            caller.merchant,
            id,
            req.remember,
            req.shopper_token.as_deref(),
        )
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /widget/shoppers/sign_out` and `/forget`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShopperTokenRequest {
    /// The shopper token from `verify`.
    pub shopper_token: String,
}

/// End a shopper token early ("Not you?"). 204, whether or not it was live.
#[utoipa::path(post, path = "/widget/shoppers/sign_out", tag = "Widget", request_body = ShopperTokenRequest,
    responses((status = 204), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<ShopperTokenRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .checkout
        .sign_out(caller.merchant, &body.value.shopper_token)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Forget my details": the signed-in shopper deletes their saved details,
/// sign-in tokens and pending codes at this merchant. Orders stay. 204.
#[utoipa::path(post, path = "/widget/shoppers/forget", tag = "Widget", request_body = ShopperTokenRequest,
    responses((status = 204), (status = "4XX", body = ErrorWire)),
    security(("bearer" = [])))]
async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<ShopperTokenRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .checkout
        .forget_me(caller.merchant, &body.value.shopper_token)
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}
