//! The checkout session: its data, its status machine, and the messages it shows.
//!
//! Handlers never set a status by hand: they compute an [`Event`] and call [`next`].

use crate::catalogue::VariantOption;
use crate::pricing::{AppliedDiscount, PricedLine, RejectedDiscount, ShippingRate, Totals};
use crate::{
    Address, Currency, Email, LineItemId, MerchantId, Money, OrderId, ProductId, Quantity,
    SessionId, ShippingRateId, VariantId,
};
use serde::{Deserialize, Serialize};

/// Where a session is in its life. Names and wire values are ACP's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    NotReadyForPayment,
    ReadyForPayment,
    AuthenticationRequired,
    Completed,
    Canceled,
    Expired,
}

impl CheckoutStatus {
    /// Terminal states accept no further events.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Canceled | Self::Expired)
    }

    /// The ACP wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotReadyForPayment => "not_ready_for_payment",
            Self::ReadyForPayment => "ready_for_payment",
            Self::AuthenticationRequired => "authentication_required",
            Self::Completed => "completed",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
        }
    }

    /// Parses the wire value (used when reading the store).
    pub fn parse(value: &str) -> Option<Self> {
        ALL_STATUSES.into_iter().find(|s| s.as_str() == value)
    }
}

/// Every status, for exhaustive tests and parsing.
pub const ALL_STATUSES: [CheckoutStatus; 6] = [
    CheckoutStatus::NotReadyForPayment,
    CheckoutStatus::ReadyForPayment,
    CheckoutStatus::AuthenticationRequired,
    CheckoutStatus::Completed,
    CheckoutStatus::Canceled,
    CheckoutStatus::Expired,
];

/// Something that happened to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The session was (re)priced after a create or update; `ready` says whether
    /// nothing blocks payment.
    Evaluated { ready: bool },
    /// The provider asked for 3-D Secure before it will authorise.
    AuthenticationRequested,
    /// Payment authorised and the order written.
    PaymentSucceeded,
    /// The provider declined; the shopper may try another card.
    PaymentDeclined,
    /// The shopper or agent cancelled.
    Cancel,
    /// The session outlived its expiry.
    Expire,
}

/// A transition that is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} checkout session cannot take {event:?}")]
pub struct TransitionError {
    pub from: CheckoutStatus,
    pub event: Event,
}

/// The one place session statuses change.
pub fn next(from: CheckoutStatus, event: Event) -> Result<CheckoutStatus, TransitionError> {
    use CheckoutStatus::*;
    let to = match (from, event) {
        (s, _) if s.is_terminal() => None,
        (_, Event::Evaluated { ready: true }) => Some(ReadyForPayment),
        (_, Event::Evaluated { ready: false }) => Some(NotReadyForPayment),
        (ReadyForPayment, Event::AuthenticationRequested) => Some(AuthenticationRequired),
        (ReadyForPayment | AuthenticationRequired, Event::PaymentSucceeded) => Some(Completed),
        (ReadyForPayment | AuthenticationRequired, Event::PaymentDeclined) => Some(ReadyForPayment),
        (_, Event::Cancel) => Some(Canceled),
        (_, Event::Expire) => Some(Expired),
        _ => None,
    };
    to.ok_or(TransitionError { from, event })
}

/// ACP `MessageError.code` values anycart emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Missing,
    Invalid,
    OutOfStock,
    QuantityExceeded,
    PaymentDeclined,
    #[serde(rename = "requires_3ds")]
    Requires3ds,
    CouponInvalid,
    CouponExpired,
    NotFound,
    Expired,
}

/// ACP `MessageWarning.code` values anycart emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    LowStock,
    PriceChange,
    DiscountCodeExpired,
    DiscountCodeInvalid,
    DiscountCodeAlreadyApplied,
    DiscountCodeCombinationDisallowed,
    DiscountCodeMinimumNotMet,
    DiscountCodeUsageLimitReached,
}

/// Severity of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Info,
    Warning(WarningCode),
    Error(ErrorCode),
}

/// A message shown with the session. `blocking` errors keep it from payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub kind: MessageKind,
    /// RFC 9535 JSONPath into the request/session, e.g. `$.line_items[0]`.
    pub param: Option<String>,
    pub content: String,
    pub blocking: bool,
}

impl Message {
    /// A blocking error (payment cannot proceed until it is fixed).
    pub fn blocking(code: ErrorCode, param: impl Into<String>, content: impl Into<String>) -> Self {
        Message {
            kind: MessageKind::Error(code),
            param: Some(param.into()),
            content: content.into(),
            blocking: true,
        }
    }
    /// A non-blocking error (e.g. a declined card: the shopper can retry).
    pub fn error(code: ErrorCode, param: Option<String>, content: impl Into<String>) -> Self {
        Message {
            kind: MessageKind::Error(code),
            param,
            content: content.into(),
            blocking: false,
        }
    }
    /// A warning.
    pub fn warning(code: WarningCode, param: Option<String>, content: impl Into<String>) -> Self {
        Message {
            kind: MessageKind::Warning(code),
            param,
            content: content.into(),
            blocking: false,
        }
    }
}

/// One requested line, with the catalogue facts captured when it was priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLine {
    pub id: LineItemId,
    pub variant_id: VariantId,
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub title: String,
    pub sku: String,
    pub unit_price: Money,
    pub image_url: Option<String>,
    pub options: Vec<VariantOption>,
    pub max_quantity_per_order: Option<u32>,
    /// Units available to this session right now (its own holds included).
    pub available: i64,
}

/// Who is buying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Buyer {
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// Where and to whom to deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Fulfillment {
    pub name: Option<String>,
    pub email: Option<Email>,
    pub phone_number: Option<String>,
    pub address: Option<Address>,
}

impl Buyer {
    /// This buyer updated by a partial `update`: its fields that are set replace
    /// ours, absent ones keep their value (how every door patches a session).
    pub fn merged(self, update: Buyer) -> Buyer {
        Buyer {
            email: update.email.or(self.email),
            first_name: update.first_name.or(self.first_name),
            last_name: update.last_name.or(self.last_name),
            phone_number: update.phone_number.or(self.phone_number),
        }
    }
}

impl Fulfillment {
    /// These details updated by a partial `update` (set fields win, as for [`Buyer::merged`]).
    pub fn merged(self, update: Fulfillment) -> Fulfillment {
        Fulfillment {
            name: update.name.or(self.name),
            email: update.email.or(self.email),
            phone_number: update.phone_number.or(self.phone_number),
            address: update.address.or(self.address),
        }
    }
}

/// What a session needs before it can be paid, besides its lines. The door that
/// opens a session decides: the widget and ACP need both (the shopper is
/// anycart's to confirm to and ship to); a UCP agent keeps the buyer relationship,
/// so needs no email; the UCP conformance mode ships to a bare country.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirements {
    /// An email to confirm the order to.
    pub email: bool,
    /// A full street address (a region is enough to quote, not to pay).
    pub street_address: bool,
}

impl Default for Requirements {
    fn default() -> Self {
        Requirements {
            email: true,
            street_address: true,
        }
    }
}

impl Requirements {
    /// True for the default (stored documents omit it then).
    pub fn is_default(&self) -> bool {
        *self == Requirements::default()
    }
}

/// A shipping option offered for the current address, with its price for this basket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentQuote {
    pub rate: ShippingRate,
    pub amount_minor: i64,
}

/// Everything priced: what the shopper sees. Recomputed on every change and stored,
/// so a read never re-prices (prices may change in the catalogue later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub lines: Vec<PricedLine>,
    pub fulfillment_options: Vec<FulfillmentQuote>,
    pub applied_discounts: Vec<AppliedDiscount>,
    pub rejected_discounts: Vec<RejectedDiscount>,
    pub totals: Totals,
    pub messages: Vec<Message>,
}

impl Quote {
    /// True when no message blocks payment.
    pub fn is_ready(&self) -> bool {
        !self.messages.iter().any(|m| m.blocking)
    }
}

/// A payment the provider has not finished (3-D Secure pending).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPayment {
    pub provider_reference: String,
    pub handler_id: String,
    pub amount_minor: i64,
    /// What the shopper's browser runs the challenge with (Stripe's PaymentIntent
    /// `client_secret`); absent where the caller answers it (the sandbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// The prefix of an anonymous client's buyer key (an email's key never has it).
pub const ANONYMOUS_BUYER_PREFIX: &str = "client:";

/// A checkout session as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: SessionId,
    pub merchant_id: MerchantId,
    pub status: CheckoutStatus,
    pub currency: Currency,
    pub lines: Vec<SessionLine>,
    pub buyer: Buyer,
    pub fulfillment: Fulfillment,
    pub selected_shipping: Option<ShippingRateId>,
    /// Codes as submitted (ACP `discounts.codes`).
    pub discount_codes: Vec<String>,
    /// Whether codes came through the deprecated `coupons` field (messages differ).
    pub codes_from_coupons: bool,
    pub quote: Quote,
    pub pending_payment: Option<PendingPayment>,
    /// Bumped whenever what would be charged may change (an update, a decline): the
    /// provider idempotency key is `{session id}-{attempt}`, so a retried complete
    /// can never authorise twice, while a new card after a decline can.
    pub payment_attempt: u32,
    /// Interventions the client can handle (e.g. `3ds`), from its capabilities.
    pub client_interventions: Vec<String>,
    /// The latest payment problem, shown until the next attempt.
    pub payment_message: Option<Message>,
    pub order_id: Option<OrderId>,
    pub locale: Option<String>,
    /// Where the sale comes from, set at creation; `None` for sessions stored
    /// before sales were attributed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::attribution::Attribution>,
    /// Who opened it, as a keyed hash of their address and key (never the
    /// address itself): until the shopper gives an email, per-customer limits
    /// count against this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub expires_at_ms: i64,
    /// What besides the lines must be known before payment.
    #[serde(default, skip_serializing_if = "Requirements::is_default")]
    pub requirements: Requirements,
    /// What the door that opened the session keeps with it (UCP: fulfillment
    /// methods and destinations as the agent named them, buyer consent), written
    /// in the same write as the rest so the two never disagree. Opaque here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door_state: Option<serde_json::Value>,
    /// A TV handed the session to the shopper's phone (a hand-off code was
    /// issued): someone is now finishing it on a second screen, so its holds get
    /// the full session TTL even before an email is given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handed_off: bool,
}

/// Absolute cap on a session's life however active the shopper is (24 hours).
pub const SESSION_LIFETIME_MS_MAX: i64 = 24 * 60 * 60 * 1000;

impl Quote {
    /// The quote of an empty basket: nothing priced yet.
    pub fn empty() -> Quote {
        Quote {
            lines: vec![],
            fulfillment_options: vec![],
            applied_discounts: vec![],
            rejected_discounts: vec![],
            totals: crate::pricing::Totals::default(),
            messages: vec![],
        }
    }
}

impl CheckoutSession {
    /// A new, empty session of `merchant` in `currency`, not yet priced or held
    /// (it expires at once unless a write gives it a lifetime).
    pub fn new(merchant: MerchantId, currency: Currency, now_ms: i64) -> CheckoutSession {
        CheckoutSession {
            id: SessionId::new(),
            merchant_id: merchant,
            status: CheckoutStatus::NotReadyForPayment,
            currency,
            lines: vec![],
            buyer: Buyer::default(),
            fulfillment: Fulfillment::default(),
            selected_shipping: None,
            discount_codes: vec![],
            codes_from_coupons: false,
            quote: Quote::empty(),
            pending_payment: None,
            payment_attempt: 0,
            client_interventions: vec![],
            payment_message: None,
            order_id: None,
            locale: None,
            attribution: None,
            client: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            expires_at_ms: now_ms,
            requirements: Requirements::default(),
            door_state: None,
            handed_off: false,
        }
    }

    /// The email to send the confirmation to: the buyer's, else the fulfillment contact's.
    pub fn contact_email(&self) -> Option<&Email> {
        self.buyer
            .email
            .as_ref()
            .or(self.fulfillment.email.as_ref())
    }

    /// Whom per-customer limits count against: the buyer's email (normalised,
    /// see [`Email::buyer_key`]), else the anonymous client that opened the
    /// session (`client:…`), else nobody.
    pub fn buyer_key(&self) -> Option<String> {
        match (self.contact_email(), &self.client) {
            (Some(email), _) => Some(email.buyer_key()),
            (None, Some(client)) => Some(format!("{ANONYMOUS_BUYER_PREFIX}{client}")),
            (None, None) => None,
        }
    }

    /// True while the shopper has given no email.
    pub fn is_anonymous(&self) -> bool {
        self.contact_email().is_none()
    }

    /// True when the last write was a declined payment. A decline gives the
    /// session's held stock back (the shopper may try another card), and its
    /// message stays until the next rebuild takes the holds again and clears it.
    pub fn holds_released_by_decline(&self) -> bool {
        matches!(
            &self.payment_message,
            Some(Message {
                kind: MessageKind::Error(ErrorCode::PaymentDeclined),
                ..
            })
        )
    }

    /// Applies an event through [`next`].
    pub fn apply(&mut self, event: Event) -> Result<(), TransitionError> {
        self.status = next(self.status, event)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckoutStatus::*;

    const ALL_EVENTS: [Event; 7] = [
        Event::Evaluated { ready: true },
        Event::Evaluated { ready: false },
        Event::AuthenticationRequested,
        Event::PaymentSucceeded,
        Event::PaymentDeclined,
        Event::Cancel,
        Event::Expire,
    ];

    #[test]
    fn partial_updates_keep_what_they_do_not_name() {
        let email = Email::parse("jane@example.com").unwrap();
        let current = Buyer {
            email: Some(email.clone()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            phone_number: None,
        };
        let update = Buyer {
            first_name: Some("Janet".into()),
            phone_number: Some("+1 555".into()),
            ..Buyer::default()
        };
        let merged = current.merged(update);
        assert_eq!(merged.email, Some(email));
        assert_eq!(merged.first_name.as_deref(), Some("Janet"));
        assert_eq!(merged.last_name.as_deref(), Some("Doe"));
        assert_eq!(merged.phone_number.as_deref(), Some("+1 555"));
        let kept = Fulfillment {
            name: Some("Jane Doe".into()),
            ..Fulfillment::default()
        }
        .merged(Fulfillment::default());
        assert_eq!(kept.name.as_deref(), Some("Jane Doe"));
    }

    #[test]
    fn transition_table_is_exhaustive() {
        // (from, event) -> expected; anything not listed must be refused.
        let allowed = |from: CheckoutStatus, event: Event| -> Option<CheckoutStatus> {
            match (from, event) {
                (Completed | Canceled | Expired, _) => None,
                (_, Event::Evaluated { ready }) => Some(if ready {
                    ReadyForPayment
                } else {
                    NotReadyForPayment
                }),
                (ReadyForPayment, Event::AuthenticationRequested) => Some(AuthenticationRequired),
                (ReadyForPayment | AuthenticationRequired, Event::PaymentSucceeded) => {
                    Some(Completed)
                }
                (ReadyForPayment | AuthenticationRequired, Event::PaymentDeclined) => {
                    Some(ReadyForPayment)
                }
                (_, Event::Cancel) => Some(Canceled),
                (_, Event::Expire) => Some(Expired),
                _ => None,
            }
        };
        for from in ALL_STATUSES {
            for event in ALL_EVENTS {
                assert_eq!(
                    next(from, event).ok(),
                    allowed(from, event),
                    "{from:?} + {event:?}"
                );
            }
        }
    }

    #[test]
    fn cannot_pay_before_ready_or_after_the_end() {
        assert!(next(NotReadyForPayment, Event::PaymentSucceeded).is_err());
        assert!(next(Completed, Event::Cancel).is_err());
        assert!(next(Canceled, Event::PaymentSucceeded).is_err());
        assert!(next(Expired, Event::Evaluated { ready: true }).is_err());
    }

    #[test]
    fn message_codes_use_acp_spelling() {
        assert_eq!(
            serde_json::to_value(ErrorCode::Requires3ds).unwrap(),
            "requires_3ds"
        );
        assert_eq!(
            serde_json::to_value(ErrorCode::OutOfStock).unwrap(),
            "out_of_stock"
        );
        assert_eq!(
            serde_json::to_value(WarningCode::DiscountCodeUsageLimitReached).unwrap(),
            "discount_code_usage_limit_reached"
        );
    }

    #[test]
    fn status_wire_values_round_trip() {
        for s in ALL_STATUSES {
            assert_eq!(CheckoutStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }
}
