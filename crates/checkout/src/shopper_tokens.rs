//! Returning shoppers' tokens and saved cards, as completing a session needs them.
//!
//! Split from [`crate::shoppers`] (the sign-in flows, which update sessions) so
//! that completing a session can look up a saved card without depending on the
//! flows that depend on sessions: the dependency runs one way.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, ShopperError, TokenRefusal};
use crate::keys::{PRESENTED_KEY_LEN_MAX, hash_key};
use anycart_core::MerchantId;
use anycart_core::session::CheckoutSession;
use anycart_store::{SavedDetails, ShopperProfile, ShopperTokenRecord};
use secrecy::{ExposeSecret, SecretString};

/// Shopper tokens start with this, which is how complete recognises one.
pub const SHOPPER_TOKEN_PREFIX: &str = "sht_";

impl CheckoutService {
    /// The live token's record, or [`ShopperError::InvalidShopperToken`].
    pub(crate) async fn shopper(
        &self,
        merchant: MerchantId,
        token: &str,
    ) -> CheckoutResult<ShopperTokenRecord> {
        let token = token.trim();
        if !token.starts_with(SHOPPER_TOKEN_PREFIX) || token.len() > PRESENTED_KEY_LEN_MAX {
            return Err(ShopperError::InvalidShopperToken.into());
        }
        self.store
            .find_shopper_token(merchant, &hash_key(token), self.now_ms())
            .await?
            .ok_or(ShopperError::InvalidShopperToken.into())
    }

    /// The provider token to charge for a complete request's credential token: a
    /// shopper token becomes the saved token of its profile, but only when it is
    /// live, of this merchant, and for the session's own email. Other tokens pass
    /// unchanged.
    pub(crate) async fn payment_token(
        &self,
        session: &CheckoutSession,
        presented: &str,
    ) -> CheckoutResult<String> {
        if !presented.starts_with(SHOPPER_TOKEN_PREFIX) {
            return Ok(presented.to_string());
        }
        let refused = CheckoutError::InvalidPaymentToken;
        let who = self
            .shopper(session.merchant_id, presented)
            .await
            .map_err(|_| refused(TokenRefusal::ShopperSignInExpired))?;
        if contact_key(session).as_deref() != Some(who.email.as_str()) {
            return Err(refused(TokenRefusal::OtherEmail));
        }
        let profile = self
            .store
            .get_shopper(session.merchant_id, &who.email)
            .await?
            .ok_or(refused(TokenRefusal::NoSavedCard))?;
        Ok(profile.payment_token.expose_secret().to_string())
    }

    /// After a paid session: saves its details when the shopper ticked "remember
    /// me". A profile that already exists is replaced only when the opt-in carried
    /// a live shopper token for the same email (so nobody can overwrite another
    /// person's details by typing their email). Never fails the payment: problems
    /// are logged.
    pub(crate) async fn remember_paid(
        &self,
        session: &CheckoutSession,
        charged_token: &str,
        card_last4: Option<&str>,
    ) {
        if let Err(e) = self.save_profile(session, charged_token, card_last4).await {
            tracing::warn!(session_id = %session.id, error = %e, "could not save the shopper's details");
        }
    }

    async fn save_profile(
        &self,
        session: &CheckoutSession,
        charged_token: &str,
        card_last4: Option<&str>,
    ) -> CheckoutResult<()> {
        let merchant = session.merchant_id;
        let Some(token_hash) = self.store.take_shopper_optin(merchant, session.id).await? else {
            return Ok(());
        };
        let Some(email) = contact_key(session) else {
            return Ok(());
        };
        let now = self.now_ms();
        let existing = self.store.get_shopper(merchant, &email).await?;
        if existing.is_some() && !self.verified_for(merchant, token_hash, &email, now).await? {
            tracing::info!(session_id = %session.id, "saved details not replaced: the shopper did not verify this email");
            return Ok(());
        }
        let profile = ShopperProfile {
            merchant_id: merchant,
            email,
            details: saved_details(session),
            payment_token: SecretString::from(charged_token.to_string()),
            card_brand: anycart_payments::sandbox::card_brand(charged_token).map(String::from),
            card_last4: card_last4.map(String::from),
            created_at_ms: existing.as_ref().map_or(now, |p| p.created_at_ms),
            updated_at_ms: now,
        };
        self.store.upsert_shopper(&profile).await?;
        metrics::counter!("anycart_shopper_profiles_saved_total").increment(1);
        Ok(())
    }

    /// Whether the opt-in's token (by hash) is live and signed in as `email`.
    async fn verified_for(
        &self,
        merchant: MerchantId,
        token_hash: Option<String>,
        email: &str,
        now_ms: i64,
    ) -> CheckoutResult<bool> {
        let Some(hash) = token_hash else {
            return Ok(false);
        };
        Ok(self
            .store
            .find_shopper_token(merchant, &hash, now_ms)
            .await?
            .is_some_and(|t| t.email == email))
    }
}

/// The session's contact email as profiles are keyed: lowercased.
fn contact_key(session: &CheckoutSession) -> Option<String> {
    session.contact_email().map(|e| e.as_ref().to_lowercase())
}

/// What a paid session leaves for next time.
fn saved_details(session: &CheckoutSession) -> SavedDetails {
    SavedDetails {
        first_name: session.buyer.first_name.clone(),
        last_name: session.buyer.last_name.clone(),
        phone_number: session
            .buyer
            .phone_number
            .clone()
            .or_else(|| session.fulfillment.phone_number.clone()),
        address: session.fulfillment.address.clone(),
        shipping_rate_id: session.selected_shipping.map(|r| r.to_string()),
    }
}
