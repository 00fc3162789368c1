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
use anycart_store::{CardUse, PaymentAttempt, SavedDetails, ShopperProfile, ShopperTokenRecord};
use secrecy::{ExposeSecret, SecretString};

/// Shopper tokens start with this, which is how complete recognises one.
pub const SHOPPER_TOKEN_PREFIX: &str = "sht_";

/// A session's "remember me" opt-in as the order's transaction took it: `None`
/// when the shopper did not tick it, `Some(token_hash)` when they did (with the
/// hash of the shopper token held then, if any).
pub(crate) type ShopperOptin = Option<Option<String>>;

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

    /// The saved card a complete request's shopper token stands for: the token of
    /// its profile, but only when the shopper token is live, of this merchant, for
    /// the session's own email, and the card was saved with the provider that is
    /// live now. `None` for any other token (a card presented as it is).
    pub(crate) async fn saved_card(
        &self,
        session: &CheckoutSession,
        presented: &str,
    ) -> CheckoutResult<Option<SavedCard>> {
        if !presented.starts_with(SHOPPER_TOKEN_PREFIX) {
            return Ok(None);
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
        let live = self.live_provider(session.merchant_id).await?;
        if profile.payment_provider != live.name() {
            return Err(refused(TokenRefusal::NoSavedCard));
        }
        let card_use = match (live.stripe(), profile.provider_customer) {
            (None, _) => CardUse::OneOff,
            (Some(_), Some(customer)) => CardUse::SavedCard { customer },
            (Some(_), None) => return Err(refused(TokenRefusal::NoSavedCard)),
        };
        Ok(Some(SavedCard {
            token: profile.payment_token.expose_secret().to_string(),
            card_use,
        }))
    }

    /// After a paid session: saves its details when the shopper ticked "remember
    /// me". A profile that already exists is replaced only when the opt-in carried
    /// a live shopper token for the same email (so nobody can overwrite another
    /// person's details by typing their email). Never fails the payment: problems
    /// are logged.
    pub(crate) async fn remember_paid(
        &self,
        session: &CheckoutSession,
        paid: &PaidCard<'_>,
        optin: ShopperOptin,
    ) {
        let Some(token_hash) = optin else {
            return;
        };
        if let Err(e) = self.save_profile(session, paid, token_hash).await {
            tracing::warn!(session_id = %session.id, error = %e, "could not save the shopper's details");
        }
    }

    async fn save_profile(
        &self,
        session: &CheckoutSession,
        paid: &PaidCard<'_>,
        token_hash: Option<String>,
    ) -> CheckoutResult<()> {
        let merchant = session.merchant_id;
        let Some(email) = contact_key(session) else {
            return Ok(());
        };
        let now = self.now_ms();
        let existing = self.store.get_shopper(merchant, &email).await?;
        if existing.is_some() && !self.verified_for(merchant, token_hash, &email, now).await? {
            tracing::info!(session_id = %session.id, "saved details not replaced: the shopper did not verify this email");
            return Ok(());
        }
        let Some(card) = self.card_to_save(paid).await else {
            return Ok(());
        };
        let profile = ShopperProfile {
            merchant_id: merchant,
            email,
            details: saved_details(session),
            payment_token: SecretString::from(card.token),
            payment_provider: paid.attempt.provider.clone(),
            provider_customer: card.customer,
            card_brand: card.brand,
            card_last4: card.last4,
            created_at_ms: existing.as_ref().map_or(now, |p| p.created_at_ms),
            updated_at_ms: now,
        };
        self.store.upsert_shopper(&profile).await?;
        if let Some(old) = existing
            && old.payment_token.expose_secret() != profile.payment_token.expose_secret()
        {
            // The new card replaces the old one, which is never charged again.
            self.detach_saved_card(merchant, &old).await;
        }
        metrics::counter!("anycart_shopper_profiles_saved_total").increment(1);
        Ok(())
    }

    /// The reusable token a paid card leaves: the sandbox's token itself; at
    /// Stripe the PaymentMethod the payment set up on the customer. `None` when
    /// the card cannot be charged again (a one-off Stripe card).
    async fn card_to_save(&self, paid: &PaidCard<'_>) -> Option<CardToSave> {
        let attempt = paid.attempt;
        if attempt.provider == "sandbox" {
            let token = attempt.token.expose_secret().to_string();
            return Some(CardToSave {
                brand: anycart_payments::sandbox::card_brand(&token).map(String::from),
                last4: paid.card_last4.map(String::from),
                customer: None,
                token,
            });
        }
        let card = self.saved_stripe_card(attempt, paid.reference).await?;
        Some(CardToSave {
            token: card.payment_method,
            customer: Some(card.customer),
            brand: card.brand,
            last4: card.last4.or_else(|| paid.card_last4.map(String::from)),
        })
    }

    /// Whether the opt-in's token (by hash) is live and signed in as `email`.
    pub(crate) async fn verified_for(
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

/// A returning shopper's saved card, as a complete request presents it.
pub(crate) struct SavedCard {
    /// The provider token to charge.
    pub token: String,
    pub card_use: CardUse,
}

/// A paid attempt, as saving its card needs it.
pub(crate) struct PaidCard<'a> {
    pub attempt: &'a PaymentAttempt,
    /// The provider's payment reference.
    pub reference: &'a str,
    pub card_last4: Option<&'a str>,
}

/// What a profile keeps of a paid card.
struct CardToSave {
    token: String,
    customer: Option<String>,
    brand: Option<String>,
    last4: Option<String>,
}

/// The session's contact email as profiles are keyed: lowercased.
pub(crate) fn contact_key(session: &CheckoutSession) -> Option<String> {
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
