//! Payment providers behind one trait.
//!
//! anycart never sees card numbers beyond tokenisation: providers receive a token
//! and return an opaque reference. The trait covers the whole life of a payment
//! (authorise → capture / void → refund) so a real provider
//! ([`stripe`], PaymentIntents) sits beside the deterministic [`sandbox`].

pub mod sandbox;
pub mod stripe;

use anycart_core::Money;
use async_trait::async_trait;

/// What the checkout asks of a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub amount: Money,
    /// The payment credential token from ACP `payment_data.instrument.credential.token`.
    pub token: String,
    /// Stable per checkout attempt: a retry with the same key never charges twice.
    pub idempotency_key: String,
    /// Capture immediately (digital goods) or only authorise (ship later).
    pub capture: bool,
    /// What the payment is for, recorded with it at the provider (Stripe
    /// `metadata`): the anycart order and session ids, the attempt.
    pub metadata: Vec<(String, String)>,
    /// Whether the card is saved for later, or is a saved card charged again.
    pub future_use: FutureUse,
}

/// A returning shopper's card at the provider (Stripe: a PaymentMethod attached to
/// a Customer). Providers whose tokens are reusable as they are (the sandbox)
/// ignore it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FutureUse {
    /// A one-off payment.
    #[default]
    None,
    /// The shopper ticked "Remember me": set the card up on `customer` for later
    /// charges (Stripe `setup_future_usage=off_session`, also through 3-D Secure).
    Save { customer: String },
    /// One tap: charge the card saved on `customer` (Stripe `off_session=true`;
    /// an issuer that insists on 3-D Secure declines, and the shopper types a card).
    SavedCard { customer: String },
}

/// Why a card was declined (shown to the shopper, mapped to ACP `payment_declined`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    Generic,
    InsufficientFunds,
    AuthenticationFailed,
}

impl DeclineReason {
    /// A sentence for the shopper.
    pub fn explain(self) -> &'static str {
        match self {
            DeclineReason::Generic => "Your card was declined. Try another card.",
            DeclineReason::InsufficientFunds => {
                "Your card has insufficient funds. Try another card."
            }
            DeclineReason::AuthenticationFailed => {
                "Card authentication failed. Try again or use another card."
            }
        }
    }
}

/// A provider's answer to an authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    Authorized {
        reference: String,
        card_last4: Option<String>,
        captured: bool,
    },
    Declined {
        reference: String,
        reason: DeclineReason,
    },
    /// The issuer wants 3-D Secure; finish with [`PaymentProvider::confirm_authentication`].
    RequiresAuthentication {
        reference: String,
        /// What the shopper's browser needs to run the challenge (Stripe's
        /// PaymentIntent `client_secret`, for Stripe.js `handleNextAction`); `None`
        /// where the challenge is answered by the caller (the sandbox).
        client_secret: Option<String>,
    },
}

/// A provider call that failed for a reason other than a decline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The token is unknown or malformed (a client error).
    #[error("the payment token is not valid")]
    InvalidToken,
    /// The reference does not name a payment of this provider.
    #[error("unknown payment reference")]
    UnknownReference,
    /// The provider could not be reached or failed; safe to retry with the same key.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the operation for good (a refund above what is left,
    /// a capture of a cancelled payment): retrying will not help.
    #[error("the payment provider refused: {0}")]
    Refused(String),
}

/// A refund the provider accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refunded {
    /// The provider's id of the refund (`re_…`, `sbx_re_…`).
    pub reference: String,
    /// Accepted but not final yet (Stripe `pending`); a webhook settles it.
    pub pending: bool,
}

/// One payment provider. Implementations must be idempotent on
/// [`AuthorizeRequest::idempotency_key`].
#[async_trait]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Short, stable name recorded on orders (`sandbox`, `stripe`).
    fn name(&self) -> &'static str;
    /// Authorises (and optionally captures) an amount.
    async fn authorize(&self, request: &AuthorizeRequest)
    -> Result<AuthorizeOutcome, PaymentError>;
    /// Resumes a payment after 3-D Secure with the agent's/shopper's result.
    async fn confirm_authentication(
        &self,
        reference: &str,
        authenticated: bool,
        capture: bool,
    ) -> Result<AuthorizeOutcome, PaymentError>;
    /// Captures an authorised amount.
    async fn capture(&self, reference: &str, amount: Money) -> Result<(), PaymentError>;
    /// Releases an authorisation that will not be captured (e.g. the order could not be written).
    async fn void(&self, reference: &str) -> Result<(), PaymentError>;
    /// Refunds some or all of a captured amount. `idempotency_key` names this
    /// refund: a retry with the same key returns the first refund, never a second.
    async fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<Refunded, PaymentError>;
}
