//! Returning shoppers of the checkout widget: email → one-time code → saved details
//! → one-tap buy, per merchant, across host sites and without cookies.
//!
//! - `POST /widget/shoppers/codes`: emails a 6-digit code (CSPRNG) through the
//!   merchant's mailer, or writes it to the log in demo mode only. Only an HMAC of
//!   the code (server secret, bound to merchant and email) is stored. It answers the
//!   same whether or not a profile exists, so it reveals no accounts.
//! - `POST /widget/shoppers/verify`: code → a random shopper token (stored as its
//!   SHA-256, 30 minutes, this merchant only) and the saved profile, masked.
//! - `POST /widget/shoppers/prefill`: applies the saved details to a checkout
//!   session (buyer, address, preferred shipping) and returns it in ACP form.
//! - `POST /widget/shoppers/remember`: "remember me" for a session; the profile is
//!   saved when that session is paid ([`remember_paid`]), with the token that paid.
//! - `POST /widget/shoppers/sign_out`: ends a shopper token early ("Not you?").
//! - One-tap pay: the widget completes through the ACP API with the shopper token as
//!   the credential token; [`payment_token`] swaps it for the saved provider token,
//!   only for a live token of the same merchant and the session's email. The widget
//!   never sees the saved provider token.

use crate::acp::convert::session_wire;
use crate::acp::wire::CheckoutSessionWire;
use crate::auth::{Caller, hash_key};
use crate::checkout::{self, SessionInput};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::extract::AcpJson;
use crate::state::AppState;
use anycart_core::session::{Buyer, CheckoutSession, Fulfillment};
use anycart_core::{Email, MerchantId, PlacementId, SessionId, ShippingRateId};
use anycart_store::{
    CodeIssue, CodeLimits, NewShopperCode, SavedDetails, ShopperProfile, ShopperTokenRecord,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How long a sign-in code is valid.
pub const CODE_TTL_MS: i64 = 10 * 60_000;
/// Wrong guesses allowed per code before it is dead.
pub const CODE_ATTEMPTS_MAX: i64 = 5;
/// The rate-limit window (equal to the code TTL, so purging expired codes never
/// forgets a code that still counts).
pub const CODE_WINDOW_MS: i64 = CODE_TTL_MS;
/// Codes per email and merchant within the window.
pub const CODES_PER_EMAIL_MAX: i64 = 3;
/// Codes per merchant within the window (caps mail sent on a merchant's behalf).
pub const CODES_PER_MERCHANT_MAX: i64 = 500;
/// How long a verified shopper token lasts.
pub const SHOPPER_TOKEN_TTL_MS: i64 = 30 * 60_000;
/// Shopper tokens start with this, which is how complete recognises one.
pub const SHOPPER_TOKEN_PREFIX: &str = "sht_";

/// The returning-shopper routes (merged into the widget's).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget/shoppers/codes", post(request_code))
        .route("/widget/shoppers/verify", post(verify_code))
        .route("/widget/shoppers/prefill", post(prefill))
        .route("/widget/shoppers/remember", post(remember))
        .route("/widget/shoppers/sign_out", post(sign_out))
        .route("/widget/shoppers/forget", post(forget))
}

/// The key under which emails are compared: trimmed and lowercased.
pub fn normalize_email(raw: &str) -> Result<String, ApiError> {
    Email::parse(raw)
        .map(|e| e.as_ref().to_lowercase())
        .map_err(|_| {
            ApiError::bad_request("invalid_email", "Enter a valid email address.")
                .with_param("$.email")
        })
}

/// The HMAC of a code, bound to merchant and email so a row cannot be replayed
/// for another address.
fn code_mac(secret: &SecretString, merchant: MerchantId, email: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(merchant.to_string().as_bytes());
    mac.update(&[0]);
    mac.update(email.as_bytes());
    mac.update(&[0]);
    mac
}

/// The widget's placement of `caller`'s merchant: it must exist and be enabled.
async fn check_placement(state: &AppState, caller: &Caller, raw: &str) -> Result<(), ApiError> {
    let missing = || ApiError::not_found("placement").with_param("$.placement_id");
    let id = PlacementId::parse(raw).map_err(|_| missing())?;
    match state.store.get_placement(caller.merchant, id).await? {
        Some(p) if p.enabled => Ok(()),
        _ => Err(missing()),
    }
}

/// `POST /widget/shoppers/codes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The placement the widget runs in (`plc_…`).
    pub placement_id: String,
    /// The shopper's email.
    pub email: String,
}

/// The same answer for every accepted email.
#[derive(Debug, Serialize)]
pub struct CodeSent {
    /// Always `sent`: whether a profile exists is never told.
    pub status: &'static str,
    /// Seconds until the code expires.
    pub expires_in: i64,
}

async fn request_code(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<CodeRequest>,
) -> Result<Response, ApiError> {
    let req = body.value;
    check_placement(&state, &caller, &req.placement_id).await?;
    let email = normalize_email(&req.email)?;
    let now = state.now_ms();
    let code = SecretString::from(format!("{:06}", rand::rng().random_range(0..1_000_000u32)));
    let mut mac = code_mac(&state.config.shopper_secret, caller.merchant, &email);
    mac.update(code.expose_secret().as_bytes());
    let mut id = [0u8; 16];
    rand::rng().fill_bytes(&mut id);
    let record = NewShopperCode {
        id: hex::encode(id),
        merchant_id: caller.merchant,
        email: email.clone(),
        code_mac: hex::encode(mac.finalize().into_bytes()),
        created_at_ms: now,
        expires_at_ms: now + CODE_TTL_MS,
    };
    let limits = CodeLimits {
        window_ms: CODE_WINDOW_MS,
        per_email: CODES_PER_EMAIL_MAX,
        per_merchant: CODES_PER_MERCHANT_MAX,
    };
    let limited = |msg: &str| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            msg.to_string(),
        )
        .retry_after(u64::try_from(CODE_WINDOW_MS / 1000).unwrap_or(600))
    };
    match state.store.issue_shopper_code(&record, limits).await? {
        CodeIssue::Issued => {}
        CodeIssue::EmailLimited => {
            return Err(limited(
                "Too many codes were requested for this email. Use the last one or try again in 10 minutes.",
            ));
        }
        CodeIssue::MerchantLimited => {
            return Err(limited(
                "Too many codes are being requested right now. Please try again in a few minutes.",
            ));
        }
    }
    metrics::counter!("anycart_shopper_codes_total").increment(1);
    if state.config.log_sign_in_codes {
        // Demo mode only: there is usually no mailer, and the demo must be usable.
        tracing::info!(email = %email, code = %code.expose_secret(), "demo sign-in code");
    }
    // Sent in the background so the answer takes as long for every email.
    let merchant = caller.merchant;
    tokio::spawn(async move { send_code(&state, merchant, &email, &code).await });
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(CodeSent {
            status: "sent",
            expires_in: CODE_TTL_MS / 1000,
        }),
    )
        .into_response())
}

/// Mails the code through the merchant's configured mailer (native SMTP).
async fn send_code(state: &AppState, merchant: MerchantId, email: &str, code: &SecretString) {
    let connection = match state.store.get_connection(merchant).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "could not load the mailer for a sign-in code");
            return;
        }
    };
    let sent = match anycart_connectors::mailer_for(connection.as_ref()) {
        Ok(mailer) => {
            mailer
                .send_sign_in_code(email, code, CODE_TTL_MS / 60_000)
                .await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(true) => {}
        Ok(false) if state.config.log_sign_in_codes => {}
        Ok(false) => {
            tracing::warn!(%merchant, "sign-in code not sent: the merchant has no SMTP mailer")
        }
        Err(e) => tracing::warn!(%merchant, error = %e, "sign-in code email failed"),
    }
}

/// `POST /widget/shoppers/verify`.
#[derive(Deserialize)]
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
#[derive(Debug, Serialize)]
pub struct ProfileView {
    /// First name and initial, e.g. `Jane D.`.
    pub name: Option<String>,
    /// The address with house numbers and most of the postcode hidden.
    pub address: Option<String>,
    /// Card brand for display, e.g. `visa`.
    pub card_brand: Option<String>,
    /// Last four digits of the saved card.
    pub card_last4: Option<String>,
}

/// A verified shopper.
#[derive(Debug, Serialize)]
pub struct Verified {
    /// Opaque; send it to `prefill` and as the credential token of a one-tap complete.
    pub shopper_token: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The normalised email.
    pub email: String,
    /// `null` when nothing is saved for this email at this merchant.
    pub profile: Option<ProfileView>,
}

async fn verify_code(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<VerifyRequest>,
) -> Result<axum::Json<Verified>, ApiError> {
    let req = body.value;
    check_placement(&state, &caller, &req.placement_id).await?;
    let email = normalize_email(&req.email)?;
    let code = req.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            "invalid_code",
            "The code is the 6 digits from the email.",
        )
        .with_param("$.code"));
    }
    let now = state.now_ms();
    let expired = || {
        ApiError::bad_request(
            "code_expired",
            "This code has expired or was already used. Ask for a new one.",
        )
        .with_param("$.code")
    };
    let locked = || {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many wrong codes. Ask for a new one.",
        )
        .with_param("$.code")
    };
    let live = state
        .store
        .live_shopper_code(caller.merchant, &email, now)
        .await?
        .ok_or_else(expired)?;
    if live.attempts >= CODE_ATTEMPTS_MAX {
        return Err(locked());
    }
    let mut mac = code_mac(&state.config.shopper_secret, caller.merchant, &email);
    mac.update(code.as_bytes());
    let stored = hex::decode(&live.code_mac).map_err(|_| ApiError::internal())?;
    // `verify_slice` compares in constant time.
    if mac.verify_slice(&stored).is_err() {
        if !state
            .store
            .fail_shopper_code(&live.id, CODE_ATTEMPTS_MAX)
            .await?
            || live.attempts + 1 >= CODE_ATTEMPTS_MAX
        {
            return Err(locked());
        }
        let left = CODE_ATTEMPTS_MAX - live.attempts - 1;
        return Err(ApiError::bad_request(
            "code_incorrect",
            format!(
                "That code is not right. {left} {} left.",
                if left == 1 { "try" } else { "tries" }
            ),
        )
        .with_param("$.code"));
    }
    if !state
        .store
        .consume_shopper_code(&live.id, CODE_ATTEMPTS_MAX, now)
        .await?
    {
        return Err(expired());
    }
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = format!("{SHOPPER_TOKEN_PREFIX}{}", hex::encode(raw));
    let record = ShopperTokenRecord {
        merchant_id: caller.merchant,
        email: email.clone(),
        expires_at_ms: now + SHOPPER_TOKEN_TTL_MS,
    };
    state
        .store
        .insert_shopper_token(&hash_key(&token), &record, now)
        .await?;
    let profile = state.store.get_shopper(caller.merchant, &email).await?;
    Ok(axum::Json(Verified {
        shopper_token: token,
        expires_at: rfc3339(record.expires_at_ms),
        email,
        profile: profile.as_ref().map(profile_view),
    }))
}

fn profile_view(p: &ShopperProfile) -> ProfileView {
    let d = &p.details;
    let name = match (&d.first_name, &d.last_name) {
        (Some(f), Some(l)) => Some(format!(
            "{f} {}.",
            l.chars().next().map(String::from).unwrap_or_default()
        )),
        (Some(f), None) => Some(f.clone()),
        _ => d
            .address
            .as_ref()
            .and_then(|a| a.name.split_whitespace().next().map(String::from)),
    };
    ProfileView {
        name,
        address: d.address.as_ref().map(|a| {
            let postal: String = a
                .postal_code
                .chars()
                .enumerate()
                .map(|(i, c)| if i < 2 || c == ' ' { c } else { '•' })
                .collect();
            format!(
                "{}, {} {}, {}",
                mask_digits(&a.line_one),
                a.city,
                postal,
                a.country.as_ref()
            )
        }),
        card_brand: p.card_brand.clone(),
        card_last4: p.card_last4.clone(),
    }
}

/// Hides house and flat numbers: every digit becomes `•`.
fn mask_digits(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { '•' } else { c })
        .collect()
}

/// The live token's record, or a 401 in the ACP shape.
async fn shopper(
    state: &AppState,
    merchant: MerchantId,
    token: &str,
) -> Result<ShopperTokenRecord, ApiError> {
    let token = token.trim();
    let found = if token.starts_with(SHOPPER_TOKEN_PREFIX) && token.len() <= 128 {
        state
            .store
            .find_shopper_token(merchant, &hash_key(token), state.now_ms())
            .await?
    } else {
        None
    };
    found.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_shopper_token",
            "Your sign-in has expired. Enter your email again to get a new code.",
        )
        .with_param("$.shopper_token")
    })
}

/// `POST /widget/shoppers/prefill`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefillRequest {
    /// The session to fill (`cs_…`).
    pub checkout_session_id: String,
    /// From `verify`.
    pub shopper_token: String,
}

async fn prefill(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<PrefillRequest>,
) -> Result<axum::Json<CheckoutSessionWire>, ApiError> {
    let req = body.value;
    let who = shopper(&state, caller.merchant, &req.shopper_token).await?;
    let id = session_id(&req.checkout_session_id)?;
    let profile = state
        .store
        .get_shopper(caller.merchant, &who.email)
        .await?
        .ok_or_else(|| ApiError::not_found("saved details for this email"))?;
    let email = Email::parse(&who.email).map_err(|_| ApiError::internal())?;
    let d = profile.details;
    let input = SessionInput {
        buyer: Some(Buyer {
            email: Some(email.clone()),
            first_name: d.first_name,
            last_name: d.last_name,
            phone_number: d.phone_number.clone(),
        }),
        fulfillment: Some(Fulfillment {
            name: d.address.as_ref().map(|a| a.name.clone()),
            email: Some(email),
            phone_number: d.phone_number,
            address: d.address,
        }),
        selected_shipping: d
            .shipping_rate_id
            .as_deref()
            .and_then(|r| ShippingRateId::parse(r).ok()),
        ..Default::default()
    };
    let session = checkout::update(&state, caller.merchant, id, input).await?;
    Ok(axum::Json(session_wire(
        &session,
        None,
        &state.config.base_url,
    )))
}

fn session_id(raw: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(raw)
        .map_err(|_| ApiError::not_found("checkout session").with_param("$.checkout_session_id"))
}

/// `POST /widget/shoppers/remember`.
#[derive(Deserialize)]
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

async fn remember(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<RememberRequest>,
) -> Result<StatusCode, ApiError> {
    let req = body.value;
    let id = session_id(&req.checkout_session_id)?;
    let session = checkout::get(&state, caller.merchant, id).await?;
    if session.status.is_terminal() {
        return Err(ApiError::conflict(
            "invalid_state",
            "This checkout session has ended.",
        ));
    }
    let token_hash = match req.shopper_token.as_deref() {
        Some(t) => {
            shopper(&state, caller.merchant, t).await?;
            Some(hash_key(t.trim()))
        }
        None => None,
    };
    state
        .store
        .set_shopper_optin(
            caller.merchant,
            id,
            req.remember,
            token_hash.as_deref(),
            state.now_ms(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /widget/shoppers/sign_out`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignOutRequest {
    /// The token to end.
    pub shopper_token: String,
}

async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<SignOutRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_shopper_token(caller.merchant, &hash_key(body.value.shopper_token.trim()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /widget/shoppers/forget`: the signed-in shopper deletes their saved
/// details, tokens and codes for this merchant ("Forget me"). 204.
async fn forget(
    State(state): State<AppState>,
    caller: Caller,
    body: AcpJson<SignOutRequest>,
) -> Result<StatusCode, ApiError> {
    let who = shopper(&state, caller.merchant, &body.value.shopper_token).await?;
    state
        .store
        .forget_shopper(caller.merchant, &who.email)
        .await?;
    tracing::info!(merchant_id = %caller.merchant, "returning shopper forgotten at their request");
    Ok(StatusCode::NO_CONTENT)
}

/// The provider token to charge for a complete request's credential token: a
/// shopper token becomes the saved token of its profile, but only when it is live,
/// of this merchant, and for the session's own email. Other tokens pass unchanged.
pub async fn payment_token(
    state: &AppState,
    session: &CheckoutSession,
    presented: &str,
) -> Result<String, ApiError> {
    if !presented.starts_with(SHOPPER_TOKEN_PREFIX) {
        return Ok(presented.to_string());
    }
    let refused = |msg: &str| {
        ApiError::bad_request("invalid_payment_token", msg.to_string())
            .with_param("$.payment_data.instrument.credential.token")
    };
    let who = shopper(state, session.merchant_id, presented)
        .await
        .map_err(|_| {
            refused("Your sign-in has expired. Verify your email again or enter a card.")
        })?;
    let email = session.contact_email().map(|e| e.as_ref().to_lowercase());
    if email.as_deref() != Some(who.email.as_str()) {
        return Err(refused(
            "The saved card belongs to another email address. Enter a card.",
        ));
    }
    let profile = state
        .store
        .get_shopper(session.merchant_id, &who.email)
        .await?
        .ok_or_else(|| refused("There is no saved card for this email. Enter a card."))?;
    Ok(profile.payment_token.expose_secret().to_string())
}

/// After a paid session: saves its details when the shopper ticked "remember me".
/// A profile that already exists is replaced only when the opt-in carried a live
/// shopper token for the same email (so nobody can overwrite another person's
/// details by typing their email). Never fails the payment: problems are logged.
pub async fn remember_paid(
    state: &AppState,
    session: &CheckoutSession,
    charged_token: &str,
    card_last4: Option<&str>,
) {
    if let Err(e) = save_profile(state, session, charged_token, card_last4).await {
        tracing::warn!(session_id = %session.id, error = %e.message, "could not save the shopper's details");
    }
}

async fn save_profile(
    state: &AppState,
    session: &CheckoutSession,
    charged_token: &str,
    card_last4: Option<&str>,
) -> Result<(), ApiError> {
    let merchant = session.merchant_id;
    let Some(token_hash) = state.store.take_shopper_optin(merchant, session.id).await? else {
        return Ok(());
    };
    let Some(email) = session.contact_email().map(|e| e.as_ref().to_lowercase()) else {
        return Ok(());
    };
    let now = state.now_ms();
    let existing = state.store.get_shopper(merchant, &email).await?;
    if existing.is_some() {
        let verified = match token_hash {
            Some(h) => state
                .store
                .find_shopper_token(merchant, &h, now)
                .await?
                .is_some_and(|t| t.email == email),
            None => false,
        };
        if !verified {
            tracing::info!(session_id = %session.id, "saved details not replaced: the shopper did not verify this email");
            return Ok(());
        }
    }
    let profile = ShopperProfile {
        merchant_id: merchant,
        email,
        details: SavedDetails {
            first_name: session.buyer.first_name.clone(),
            last_name: session.buyer.last_name.clone(),
            phone_number: session
                .buyer
                .phone_number
                .clone()
                .or_else(|| session.fulfillment.phone_number.clone()),
            address: session.fulfillment.address.clone(),
            shipping_rate_id: session.selected_shipping.map(|r| r.to_string()),
        },
        payment_token: SecretString::from(charged_token.to_string()),
        card_brand: anycart_payments::sandbox::card_brand(charged_token).map(String::from),
        card_last4: card_last4.map(String::from),
        created_at_ms: existing.as_ref().map_or(now, |p| p.created_at_ms),
        updated_at_ms: now,
    };
    state.store.upsert_shopper(&profile).await?;
    metrics::counter!("anycart_shopper_profiles_saved_total").increment(1);
    Ok(())
}
