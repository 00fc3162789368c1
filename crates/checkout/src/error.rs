//! Why a checkout step refused or failed: one enum for every door.
//!
//! The variants say what happened in the checkout's own terms. Each door decides how
//! to show it (the HTTP server maps every variant to an API error code, status and
//! sentence in one exhaustive `match`); `Display` here is for logs.

use crate::inventory::EngineError;
use anycart_core::session::CheckoutStatus;
use anycart_core::{Currency, VariantId};
use anycart_store::StoreError;

/// What a caller asked for that does not exist *for this merchant* (other
/// merchants' ids are indistinguishable from ids that were never issued).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    CheckoutSession,
    Placement,
    /// A returning shopper's saved details.
    SavedDetails,
    Merchant,
    Product,
    Variant,
    Location,
    Order,
    WaitingRoomTicket,
    AgentPlatform,
}

impl Resource {
    /// The resource in words, for messages ("No such checkout session.").
    pub fn noun(self) -> &'static str {
        match self {
            Resource::CheckoutSession => "checkout session",
            Resource::Placement => "placement",
            Resource::SavedDetails => "saved details for this email",
            Resource::Merchant => "merchant",
            Resource::Product => "product",
            Resource::Variant => "variant",
            Resource::Location => "location",
            Resource::Order => "order",
            Resource::WaitingRoomTicket => "waiting room ticket",
            Resource::AgentPlatform => "agent platform",
        }
    }
}

/// Why a payment credential was refused before anything was charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// The provider does not know the token.
    Unknown,
    /// A returning shopper's token has expired or was signed out.
    ShopperSignInExpired,
    /// The shopper token belongs to another email than the session's.
    OtherEmail,
    /// The shopper token is live but nothing is saved for its email.
    NoSavedCard,
    /// A shared payment token past its `expires_at`, or deactivated by the agent.
    SharedTokenExpired,
    /// The session's total is above what the shared payment token allows.
    SharedTokenAllowanceExceeded { max_amount_minor: i64 },
    /// The shared payment token is for another currency.
    SharedTokenCurrency,
    /// The token is of a kind this handler does not take (a sandbox token on
    /// Stripe, a card token where a shared payment token is required).
    WrongKind,
}

/// Why a payment provider's webhook delivery was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// The merchant has not configured this provider (no secret to check with).
    NotConfigured,
    /// Not signed by the provider with the merchant's secret, or too old: a
    /// forgery or a replay.
    Forged(String),
    /// Correctly signed, but not something anycart can read.
    Unreadable(String),
}

/// Why an agent platform's signed request was refused (see `agents::signing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRefusal {
    #[error("the Signature and Timestamp headers are required")]
    Missing,
    #[error("Signature must be base64url and Timestamp RFC 3339")]
    Malformed,
    #[error("the Timestamp is more than 5 minutes from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// Which limit a sign-in code request ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeLimit {
    /// Too many codes for this email at this merchant.
    Email,
    /// Too many codes for this merchant (caps mail sent on its behalf).
    Merchant,
}

/// Why a returning shopper's sign-in step refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShopperError {
    #[error("invalid email address")]
    InvalidEmail,
    /// A sign-in code that is not six digits.
    #[error("sign-in code malformed")]
    InvalidCode,
    #[error("sign-in code expired or used")]
    CodeExpired,
    #[error("sign-in code incorrect ({tries_left} tries left)")]
    CodeIncorrect { tries_left: i64 },
    #[error("too many wrong sign-in codes")]
    TooManyAttempts,
    #[error("sign-in codes rate limited ({0:?})")]
    CodeRateLimited(CodeLimit),
    #[error("shopper token invalid or expired")]
    InvalidShopperToken,
}

/// Why a merchant dashboard sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// Unknown email or wrong password (never says which).
    #[error("email or password incorrect")]
    InvalidCredentials,
    /// Too many wrong passwords for this email lately.
    #[error("too many failed sign-ins; retry in {retry_after_s} s")]
    TooManyAttempts { retry_after_s: i64 },
    /// A sign-in link that is unknown, used or expired.
    #[error("sign-in link expired or used")]
    LinkExpired,
}

/// Why a report of funnel events was refused; nothing was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventRefusal {
    /// The key is not the placement's own publishable key.
    #[error("the key does not belong to this placement")]
    WrongPlacement,
    /// The view's signature is not the iframe page's (a forged view).
    #[error("view signature invalid")]
    ForgedView,
    /// The view was signed too long ago (or claims a time in the future).
    #[error("view expired")]
    StaleView,
}

/// Every way a checkout step can refuse or fail.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("no such {}", .0.noun())]
    NotFound(Resource),
    /// Line `line` (0-based) names a variant this merchant does not have.
    #[error("line {line}: unknown item {id}")]
    UnknownItem { line: usize, id: VariantId },
    /// Line `line` names a variant that is no longer for sale.
    #[error("line {line}: item {id} is not for sale")]
    ItemUnavailable { line: usize, id: VariantId },
    /// The session's currency is not the one the item is sold in.
    #[error("item sold in {sold_in}, session in {requested}")]
    WrongCurrency {
        sold_in: Currency,
        requested: Currency,
    },
    /// The session is completed, canceled or expired and can no longer change.
    #[error("session is {}", .0.as_str())]
    SessionEnded(CheckoutStatus),
    /// A hand-off code was asked for a session a phone has already claimed.
    #[error("the checkout is already open on a phone")]
    HandoffClaimed,
    /// Cancel asked of a session that already ended.
    #[error("session is already {}", .0.as_str())]
    NotCancelable(CheckoutStatus),
    /// The complete request names a payment handler this merchant does not offer.
    #[error("unknown payment handler (expected {expected})")]
    UnknownPaymentHandler { expected: &'static str },
    /// The session waits for 3-D Secure and the request carries no outcome.
    #[error("authentication result required")]
    AuthenticationResultRequired,
    #[error("payment token refused: {0:?}")]
    InvalidPaymentToken(TokenRefusal),
    /// The provider no longer knows the pending payment.
    #[error("pending payment unknown to the provider")]
    PaymentNotFound,
    #[error("payment provider unavailable: {0}")]
    PaymentUnavailable(String),
    /// The provider refused for good (e.g. a capture of a cancelled payment).
    #[error("payment provider refused: {0}")]
    PaymentRefused(String),
    /// A refund above what is left to refund of the order.
    #[error("refund exceeds the {left_minor} left to refund")]
    RefundTooLarge { left_minor: i64 },
    /// The order's payment cannot be refunded or captured in its state.
    #[error("payment not in a state to {0}")]
    PaymentState(&'static str),
    /// An idempotency key reused with another request body.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    InventoryUnavailable(#[from] EngineError),
    /// Another request changed the session first (optimistic concurrency).
    #[error("concurrent update")]
    ConcurrentUpdate,
    /// The session changed between authorising and writing the order; the
    /// payment was voided.
    #[error("session changed while paying; payment voided")]
    ChangedWhilePaying,
    /// The held stock was gone when the order was written; the payment was voided.
    #[error("stock no longer held; payment voided")]
    StockChanged,
    /// The order would take the buyer past a per-customer limit; payment voided.
    #[error("buyer limit reached: {0}")]
    BuyerLimitReached(String),
    /// A discount code of the order was used up by other orders while this one
    /// paid; payment voided. The next attempt is priced without it.
    #[error("discount code used up: {0}")]
    DiscountUsedUp(String),
    /// A total does not fit the money type (absurd quantities or prices).
    #[error("amount out of range: {0}")]
    AmountOutOfRange(String),
    /// A returning shopper's sign-in was refused.
    #[error(transparent)]
    Shopper(#[from] ShopperError),
    /// A merchant dashboard sign-in was refused.
    #[error(transparent)]
    User(#[from] UserError),
    /// A funnel events report was refused.
    #[error(transparent)]
    Events(#[from] EventRefusal),
    /// The client spent its budget for this action (see [`crate::throttle`]).
    #[error("rate limited ({}), retry after {retry_after_ms} ms", .action.as_str())]
    RateLimited {
        action: crate::throttle::Action,
        retry_after_ms: u64,
    },
    /// Line `line` is of a variant behind a waiting room, and no admitted ticket
    /// for it came with the request.
    #[error("line {line}: item {id} is behind a waiting room")]
    WaitingRoomRequired { line: usize, id: VariantId },
    /// The variant has no waiting room to join.
    #[error("no waiting room for this item")]
    NoWaitingRoom,
    /// This checkout took too many declined cards; it takes no more.
    #[error("too many declined cards for this checkout")]
    TooManyDeclines,
    /// A payment provider's webhook delivery refused; nothing changed.
    #[error("webhook refused: {0:?}")]
    Webhook(WebhookRefusal),
    /// Merchant input (placements, the demo) refused: `param` is the JSONPath of
    /// the field in the request that carried it.
    #[error("{param}: {message}")]
    Invalid { param: String, message: String },
    /// Personal data where an agent may send none (affiliate attribution):
    /// `param` is the JSONPath of the field.
    #[error("{param}: looks like personal data")]
    PersonalData { param: String },
    /// An agent platform that must sign its requests sent one that does not verify.
    #[error("agent request signature refused: {0}")]
    AgentSignature(SignatureRefusal),
    #[error(transparent)]
    Store(StoreError),
}

impl CheckoutError {
    /// A refused field of merchant input.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        CheckoutError::Invalid {
            param: param.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for CheckoutError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::VersionConflict => CheckoutError::ConcurrentUpdate,
            StoreError::BuyerLimit(detail) => CheckoutError::BuyerLimitReached(detail),
            StoreError::DiscountUsedUp(id) => CheckoutError::DiscountUsedUp(id),
            StoreError::RefundTooLarge { left_minor } => {
                CheckoutError::RefundTooLarge { left_minor }
            }
            StoreError::PaymentState(what) => CheckoutError::PaymentState(what),
            other => CheckoutError::Store(other),
        }
    }
}

/// What every checkout step returns.
pub type CheckoutResult<T> = Result<T, CheckoutError>;
