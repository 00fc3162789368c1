//! Returning shoppers' cards at a real provider (Stripe).
//!
//! The sandbox's tokens can be charged again as they are. Stripe's cannot: a
//! PaymentMethod used once without a customer is spent. So when a shopper ticks
//! "Remember me" at a Stripe merchant, the payment is made on a Stripe Customer
//! with `setup_future_usage=off_session` (which also holds through 3-D Secure),
//! the profile keeps the customer and the PaymentMethod, one tap charges them
//! off-session, and "Forget my details" detaches the card at Stripe.

use crate::CheckoutService;
use crate::payment_providers::LiveProvider;
use anycart_core::MerchantId;
use anycart_core::session::CheckoutSession;
use anycart_store::{CardUse, PaymentAttempt, ShopperProfile};

/// A saved card as a Stripe profile keeps it.
pub(crate) struct SavedStripeCard {
    pub payment_method: String,
    pub customer: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
}

impl CheckoutService {
    /// What a new card presented for `session` does beyond this payment: set up
    /// on a customer when the shopper opted in at a Stripe merchant. Saving is a
    /// convenience: when Stripe cannot make the customer, the payment goes ahead
    /// unsaved.
    pub(crate) async fn card_use_for_new_card(
        &self,
        live: &LiveProvider,
        session: &CheckoutSession,
        email: Option<&str>,
    ) -> CardUse {
        let Some(stripe) = live.stripe_client() else {
            return CardUse::OneOff;
        };
        let Some(email) = email else {
            return CardUse::OneOff;
        };
        let optin = match self
            .store
            .shopper_optin(session.merchant_id, session.id)
            .await
        {
            Ok(Some(token_hash)) => token_hash,
            Ok(None) => return CardUse::OneOff,
            Err(e) => {
                tracing::warn!(session_id = %session.id, error = %e, "could not read the remember-me opt-in; paying without saving");
                return CardUse::OneOff;
            }
        };
        if let Some(customer) = self.verified_customer(session, email, optin).await {
            return CardUse::Save { customer };
        }
        // One customer per remembered purchase (keyed by the session, so a retry
        // finds it): an unverified shopper never adds a card to someone's customer.
        let key = format!("customer-{}", session.id);
        match stripe.create_customer(email, &key).await {
            Ok(c) => CardUse::Save { customer: c.id },
            Err(e) => {
                tracing::warn!(session_id = %session.id, error = %e, "Stripe could not make the customer; paying without saving the card");
                CardUse::OneOff
            }
        }
    }

    /// The Stripe customer of `email`'s profile, when the opt-in was made by a
    /// shopper signed in as that email (only they may add to it).
    async fn verified_customer(
        &self,
        session: &CheckoutSession,
        email: &str,
        optin_token_hash: Option<String>,
    ) -> Option<String> {
        let merchant = session.merchant_id;
        let profile = self.store.get_shopper(merchant, email).await.ok()??;
        let customer = profile
            .provider_customer
            .filter(|_| profile.payment_provider == "stripe")?;
        let verified = self
            .verified_for(merchant, optin_token_hash, email, self.now_ms())
            .await
            .unwrap_or(false);
        verified.then_some(customer)
    }

    /// The card a remembered Stripe payment set up: the PaymentIntent's
    /// PaymentMethod (now attached to the customer), with brand and last four.
    pub(crate) async fn saved_stripe_card(
        &self,
        attempt: &PaymentAttempt,
        reference: &str,
    ) -> Option<SavedStripeCard> {
        let CardUse::Save { customer } = &attempt.card_use else {
            return None;
        };
        let live = self
            .provider_named(attempt.key.merchant, &attempt.provider)
            .await
            .ok()?;
        let pi = match live
            .stripe_client()?
            .retrieve_payment_intent(reference)
            .await
        {
            Ok(pi) => pi,
            Err(e) => {
                tracing::warn!(session_id = %attempt.key.session, error = %e, "could not read the saved card from Stripe");
                return None;
            }
        };
        Some(SavedStripeCard {
            payment_method: pi.payment_method_id()?,
            customer: customer.clone(),
            brand: pi.card_brand(),
            last4: pi.card_last4(),
        })
    }

    /// Detaches a profile's saved Stripe card, so it can never be charged again
    /// (forgetting, or a card replaced by another). Best effort: logged.
    pub(crate) async fn detach_saved_card(&self, merchant: MerchantId, profile: &ShopperProfile) {
        if profile.payment_provider != "stripe" {
            return;
        }
        let stripe = match self.provider_named(merchant, "stripe").await {
            Ok(live) => live.stripe_client(),
            Err(_) => None,
        };
        let Some(stripe) = stripe else {
            tracing::warn!(merchant_id = %merchant, "no Stripe settings left to detach a saved card with");
            return;
        };
        use secrecy::ExposeSecret;
        if let Err(e) = stripe
            .detach_payment_method(profile.payment_token.expose_secret())
            .await
        {
            tracing::warn!(merchant_id = %merchant, error = %e, "could not detach a saved card at Stripe");
        }
    }
}
