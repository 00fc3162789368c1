//! Whether a payment credential may pay for a session, checked before anything
//! is journaled or charged.
//!
//! Each provider takes its own kinds of token: the sandbox its test tokens,
//! Stripe payment methods made by Stripe.js in the widget (`pm_…`) and Shared
//! Payment Tokens an agent was granted for this merchant (`spt_…`, ACP delegated
//! payments). A shared token carries an allowance (amount, currency, expiry) set
//! by the buyer; a session outside it is refused with the reason, instead of a
//! decline from Stripe.

use crate::CheckoutService;
use crate::error::{CheckoutError, CheckoutResult, TokenRefusal};
use crate::payment_providers::LiveProvider;
use anycart_core::session::CheckoutSession;
use anycart_payments::PaymentError;

/// Prefix of a Stripe payment method id.
pub const STRIPE_PAYMENT_METHOD_PREFIX: &str = "pm_";
/// Prefix of a Stripe Shared Payment Token granted to the merchant.
pub const STRIPE_SHARED_TOKEN_PREFIX: &str = "spt_";

impl CheckoutService {
    /// Refuses a provider token the live provider cannot charge for `session`.
    pub(crate) async fn check_credential(
        &self,
        live: &LiveProvider,
        session: &CheckoutSession,
        token: &str,
    ) -> CheckoutResult<()> {
        let refused = |why| Err(CheckoutError::InvalidPaymentToken(why));
        let Some(stripe) = live.stripe_client() else {
            return Ok(()); // the sandbox knows its own tokens
        };
        if token.starts_with(STRIPE_PAYMENT_METHOD_PREFIX) {
            return Ok(());
        }
        if !token.starts_with(STRIPE_SHARED_TOKEN_PREFIX) {
            return refused(TokenRefusal::WrongKind);
        }
        let granted = stripe.granted_token(token).await.map_err(|e| match e {
            PaymentError::InvalidToken | PaymentError::UnknownReference => {
                // Never granted to this merchant's account (or another account's).
                CheckoutError::InvalidPaymentToken(TokenRefusal::Unknown)
            }
            other => CheckoutError::PaymentUnavailable(other.to_string()),
        })?;
        let now_s = self.now_ms() / 1000;
        if granted.deactivated_at.is_some() {
            return refused(TokenRefusal::SharedTokenExpired);
        }
        let Some(limits) = granted.usage_limits else {
            return Ok(());
        };
        if limits.expires_at.is_some_and(|at| at <= now_s) {
            return refused(TokenRefusal::SharedTokenExpired);
        }
        if !limits
            .currency
            .eq_ignore_ascii_case(&session.currency.code_lower())
        {
            return refused(TokenRefusal::SharedTokenCurrency);
        }
        if session.quote.totals.total_minor > limits.max_amount {
            return refused(TokenRefusal::SharedTokenAllowanceExceeded {
                max_amount_minor: limits.max_amount,
            });
        }
        Ok(())
    }
}
