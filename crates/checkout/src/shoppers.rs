//! Returning shoppers: email → one-time code → saved details → one-tap buy, per
//! merchant, across host sites and without cookies.
//!
//! - [`CheckoutService::request_sign_in_code`] mails a 6-digit code (CSPRNG)
//!   through the merchant's mailer, or writes it to the log in demo mode only.
//!   Only an HMAC of the code (server secret, bound to merchant and email) is
//!   stored. The answer is the same whether or not a profile exists.
//! - [`CheckoutService::verify_sign_in_code`]: code → a random shopper token
//!   (stored as its SHA-256, [`SHOPPER_TOKEN_TTL_MS`], this merchant only) and the
//!   saved profile, masked.
//! - [`CheckoutService::prefill`] applies the saved details to a session.
//! - [`CheckoutService::remember`]: "remember me" for a session; the profile is
//!   saved when that session is paid, with the token that paid.
//! - One-tap pay: the shopper token is presented as the credential token of a
//!   complete request and swapped for the saved provider token (see
//!   `shopper_tokens`), so the widget never sees the saved token.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, CodeLimit, Resource, ShopperError};
use crate::keys::hash_key;
use crate::sessions::SessionInput;
use anycart_core::session::{Buyer, CheckoutSession, Fulfillment};
use anycart_core::{Email, MerchantId, PlacementId, SessionId, ShippingRateId};
use anycart_store::{CodeIssue, CodeLimits, NewShopperCode, ShopperProfile, ShopperTokenRecord};
use hmac::{Hmac, KeyInit, Mac};
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub use crate::shopper_tokens::SHOPPER_TOKEN_PREFIX;

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
/// Digits in a sign-in code.
pub const CODE_DIGITS: usize = 6;

// Purging expired codes must never forget one that still counts against a rate
// limit, so the window cannot outlast a code.
const _: () = assert!(CODE_WINDOW_MS <= CODE_TTL_MS);
// Five guesses at a 6-digit code: a 1-in-200,000 chance per code.
const _: () = assert!(CODE_ATTEMPTS_MAX > 0 && CODE_ATTEMPTS_MAX <= 10 && CODE_DIGITS == 6);
// A "remember me" opt-in must outlive the sign-in that made it.
const _: () = assert!(SHOPPER_TOKEN_TTL_MS <= anycart_store::SHOPPER_OPTIN_TTL_MS);

/// What a shopper sees of their saved details: enough to recognise, not to copy.
#[derive(Clone, Debug, PartialEq, Eq)]
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
#[derive(Debug)]
pub struct Verified {
    /// Opaque: for `prefill` and as the credential token of a one-tap complete.
    pub shopper_token: SecretString,
    pub expires_at_ms: i64,
    /// The normalised email.
    pub email: String,
    /// `None` when nothing is saved for this email at this merchant.
    pub profile: Option<ProfileView>,
}

/// The key under which emails are compared: trimmed and lowercased.
pub fn normalize_email(raw: &str) -> CheckoutResult<String> {
    Email::parse(raw)
        .map(|e| e.as_ref().to_lowercase())
        .map_err(|_| ShopperError::InvalidEmail.into())
}

/// The HMAC of a code, bound to merchant and email so a row cannot be replayed
/// for another address.
fn code_mac(secret: &SecretString, merchant: MerchantId, email: &str, code: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail; the fallback is never used.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
    mac.update(merchant.to_string().as_bytes());
    mac.update(&[0]);
    mac.update(email.as_bytes());
    mac.update(&[0]);
    mac.update(code.as_bytes());
    mac
}

impl CheckoutService {
    /// The widget's placement of `merchant`: it must exist and be enabled.
    async fn check_placement(&self, merchant: MerchantId, id: PlacementId) -> CheckoutResult<()> {
        match self.store.get_placement(merchant, id).await? {
            Some(p) if p.enabled => Ok(()),
            _ => Err(CheckoutError::NotFound(Resource::Placement)),
        }
    }

    /// Issues a sign-in code for `email` and sends it in the background (so the
    /// answer takes as long for every email). Returns the code's lifetime in ms.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn request_sign_in_code(
        &self,
        merchant: MerchantId,
        placement: PlacementId,
        email: &str,
        client: Option<&crate::throttle::ClientId>,
    ) -> CheckoutResult<i64> {
        if let Some(client) = client {
            self.throttle(crate::throttle::Action::SignInCode, client)?;
        }
        self.check_placement(merchant, placement).await?;
        let email = normalize_email(email)?;
        let now = self.now_ms();
        let code = SecretString::from(format!("{:06}", rand::rng().random_range(0..1_000_000u32)));
        let mac = code_mac(
            &self.config.shopper_secret,
            merchant,
            &email,
            code.expose_secret(),
        );
        let mut id = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        let record = NewShopperCode {
            id: hex::encode(id),
            merchant_id: merchant,
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
        match self.store.issue_shopper_code(&record, limits).await? {
            CodeIssue::Issued => {}
            CodeIssue::EmailLimited => {
                return Err(ShopperError::CodeRateLimited(CodeLimit::Email).into());
            }
            CodeIssue::MerchantLimited => {
                return Err(ShopperError::CodeRateLimited(CodeLimit::Merchant).into());
            }
        }
        metrics::counter!("anycart_shopper_codes_total").increment(1);
        if self.config.log_sign_in_codes {
            // Demo mode only: there is usually no mailer, and the demo must be usable.
            tracing::info!(email = %email, code = %code.expose_secret(), "demo sign-in code");
        }
        let service = self.clone();
        tokio::spawn(async move { service.send_code(merchant, &email, &code).await });
        Ok(CODE_TTL_MS)
    }

    /// Mails the code through the merchant's configured mailer (native SMTP).
    async fn send_code(&self, merchant: MerchantId, email: &str, code: &SecretString) {
        let connection = match self.store.get_connection(merchant).await {
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
            Ok(false) if self.config.log_sign_in_codes => {}
            Ok(false) => {
                tracing::warn!(%merchant, "sign-in code not sent: the merchant has no SMTP mailer")
            }
            Err(e) => tracing::warn!(%merchant, error = %e, "sign-in code email failed"),
        }
    }

    /// Checks a sign-in code; on success signs the shopper in for
    /// [`SHOPPER_TOKEN_TTL_MS`] and shows what is saved for them (masked).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn verify_sign_in_code(
        &self,
        merchant: MerchantId,
        placement: PlacementId,
        email: &str,
        code: &str,
    ) -> CheckoutResult<Verified> {
        self.check_placement(merchant, placement).await?;
        let email = normalize_email(email)?;
        let code = code.trim();
        if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ShopperError::InvalidCode.into());
        }
        self.consume_code(merchant, &email, code).await?;
        let now = self.now_ms();
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = format!("{SHOPPER_TOKEN_PREFIX}{}", hex::encode(raw));
        let record = ShopperTokenRecord {
            merchant_id: merchant,
            email: email.clone(),
            expires_at_ms: now + SHOPPER_TOKEN_TTL_MS,
        };
        self.store
            .insert_shopper_token(&hash_key(&token), &record, now)
            .await?;
        let profile = self.store.get_shopper(merchant, &email).await?;
        Ok(Verified {
            shopper_token: SecretString::from(token),
            expires_at_ms: record.expires_at_ms,
            email,
            profile: profile.as_ref().map(profile_view),
        })
    }

    /// Uses up the live code of `email` if `code` is it, counting a wrong guess
    /// otherwise (at most [`CODE_ATTEMPTS_MAX`], compared in constant time).
    async fn consume_code(
        &self,
        merchant: MerchantId,
        email: &str,
        code: &str,
    ) -> CheckoutResult<()> {
        let now = self.now_ms();
        let live = self
            .store
            .live_shopper_code(merchant, email, now)
            .await?
            .ok_or(ShopperError::CodeExpired)?;
        if live.attempts >= CODE_ATTEMPTS_MAX {
            return Err(ShopperError::TooManyAttempts.into());
        }
        let mac = code_mac(&self.config.shopper_secret, merchant, email, code);
        let stored = hex::decode(&live.code_mac).map_err(|e| {
            CheckoutError::Store(anycart_store::StoreError::Corrupt(format!("code mac: {e}")))
        })?;
        if mac.verify_slice(&stored).is_err() {
            let counted = self
                .store
                .fail_shopper_code(&live.id, CODE_ATTEMPTS_MAX)
                .await?;
            let tries_left = CODE_ATTEMPTS_MAX - live.attempts - 1;
            if !counted || tries_left <= 0 {
                return Err(ShopperError::TooManyAttempts.into());
            }
            return Err(ShopperError::CodeIncorrect { tries_left }.into());
        }
        if !self
            .store
            .consume_shopper_code(&live.id, CODE_ATTEMPTS_MAX, now)
            .await?
        {
            return Err(ShopperError::CodeExpired.into());
        }
        Ok(())
    }

    /// Applies the signed-in shopper's saved details to a session (buyer, address,
    /// preferred shipping).
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %session))]
    pub async fn prefill(
        &self,
        merchant: MerchantId,
        session: SessionId,
        shopper_token: &str,
    ) -> CheckoutResult<CheckoutSession> {
        let who = self.shopper(merchant, shopper_token).await?;
        let profile = self
            .store
            .get_shopper(merchant, &who.email)
            .await?
            .ok_or(CheckoutError::NotFound(Resource::SavedDetails))?;
        let email = Email::parse(&who.email).map_err(|e| {
            CheckoutError::Store(anycart_store::StoreError::Corrupt(format!(
                "shopper email: {e}"
            )))
        })?;
        self.update(merchant, session, prefill_input(email, profile))
            .await
    }

    /// Records the "remember me" box for a session about to be paid. With a
    /// shopper token (the shopper verified their email here), the payment may
    /// replace details saved earlier.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant, session_id = %session))]
    pub async fn remember(
        &self,
        merchant: MerchantId,
        session: SessionId,
        remember: bool,
        shopper_token: Option<&str>,
    ) -> CheckoutResult<()> {
        let current = self.get(merchant, session).await?;
        if current.status.is_terminal() {
            return Err(CheckoutError::SessionEnded(current.status));
        }
        let token_hash = match shopper_token {
            Some(t) => {
                self.shopper(merchant, t).await?;
                Some(hash_key(t.trim()))
            }
            None => None,
        };
        self.store
            .set_shopper_optin(
                merchant,
                session,
                remember,
                token_hash.as_deref(),
                self.now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Ends a shopper token early ("Not you?"). Unknown tokens are fine.
    pub async fn sign_out(&self, merchant: MerchantId, shopper_token: &str) -> CheckoutResult<()> {
        self.store
            .delete_shopper_token(merchant, &hash_key(shopper_token.trim()))
            .await?;
        Ok(())
    }

    /// The signed-in shopper deletes their saved details, tokens and codes for this
    /// merchant ("Forget my details"). Orders stay.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn forget_me(&self, merchant: MerchantId, shopper_token: &str) -> CheckoutResult<()> {
        let who = self.shopper(merchant, shopper_token).await?;
        self.forget(merchant, &who.email).await?;
        tracing::info!("returning shopper forgotten at their request");
        Ok(())
    }

    /// The merchant handles a privacy request: forgets what is saved for `email`.
    /// False when nothing was saved.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn forget_shopper(&self, merchant: MerchantId, email: &str) -> CheckoutResult<bool> {
        let email = normalize_email(email)?;
        let forgotten = self.forget(merchant, &email).await?;
        if forgotten {
            tracing::info!("returning shopper forgotten by the merchant");
        }
        Ok(forgotten)
    }

    /// The platform asked to forget the whole shop (Shopify's `shop/redact`):
    /// forgets every saved shopper of `merchant`, cards detached first. Returns
    /// how many were forgotten.
    #[tracing::instrument(skip_all, fields(merchant_id = %merchant))]
    pub async fn forget_every_shopper(&self, merchant: MerchantId) -> CheckoutResult<u64> {
        let mut forgotten = 0;
        loop {
            let emails = self.store.shopper_emails(merchant, FORGET_PAGE).await?;
            let mut progress = false;
            for email in &emails {
                if self.forget(merchant, email).await? {
                    forgotten += 1;
                    progress = true;
                }
            }
            // Each pass deletes what it listed; stop once nothing is left (or,
            // defensively, when a pass deleted nothing).
            if emails.is_empty() || !progress {
                break;
            }
        }
        tracing::info!(
            forgotten,
            "every returning shopper of the merchant forgotten"
        );
        Ok(forgotten)
    }

    /// Deletes what is saved for `email`, its card detached at the provider first
    /// (so it can never be charged again, whatever happens after).
    async fn forget(&self, merchant: MerchantId, email: &str) -> CheckoutResult<bool> {
        if let Some(profile) = self.store.get_shopper(merchant, email).await? {
            self.detach_saved_card(merchant, &profile).await;
        }
        Ok(self.store.forget_shopper(merchant, email).await?)
    }
}

/// Saved shoppers forgotten per page when a whole shop is forgotten.
const FORGET_PAGE: i64 = 100;

/// The session changes that apply a saved profile.
fn prefill_input(email: Email, profile: ShopperProfile) -> SessionInput {
    let d = profile.details;
    SessionInput {
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
        ..SessionInput::default()
    }
}

/// What a shopper may see of a profile: name and initial, the address with its
/// numbers masked, the card's brand and last four digits.
pub fn profile_view(p: &ShopperProfile) -> ProfileView {
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
