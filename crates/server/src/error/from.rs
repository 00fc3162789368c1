//! Service, store and connector errors to API errors, each with an exhaustive
//! `match`: a new variant cannot slip through as a vague 500.

use super::{ApiError, ErrorCode};
use anycart_checkout::agents::signing::SignatureRefusal;
use anycart_checkout::error::{
    CodeLimit, EventRefusal, ShopperError, TokenRefusal, UserError, WebhookRefusal,
};
use anycart_checkout::{CheckoutError, Resource};
use anycart_connectors::ConnectorError;
use anycart_store::StoreError;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let detail = e.to_string();
        if e.is_pool_timeout() {
            return ApiError::new(
                ErrorCode::DatabaseBusy,
                "The service is busy; retry shortly.",
            )
            .retry_after(1)
            .with_detail(detail);
        }
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Duplicate(_) => ApiError::new(
                ErrorCode::Duplicate,
                "A resource with this unique value already exists.",
            ),
            StoreError::VersionConflict => ApiError::new(
                ErrorCode::ConcurrentUpdate,
                "The resource was changed by another request; retry.",
            )
            .retry_after(1),
            StoreError::Constraint(_) => ApiError::new(
                ErrorCode::ConstraintViolation,
                "The change would break a stock or data rule and was refused.",
            ),
            StoreError::BuyerLimit(_) => buyer_limit(),
            StoreError::DiscountUsedUp(_) => discount_used_up(),
            StoreError::PaymentSettled(_) => ApiError::new(
                ErrorCode::ConcurrentUpdate,
                "The payment was settled while the order was written; check the order and retry.",
            )
            .retry_after(1),
            StoreError::RefundTooLarge { left_minor } => {
                return CheckoutError::RefundTooLarge { left_minor }.into();
            }
            StoreError::PaymentState(what) => return CheckoutError::PaymentState(what).into(),
            StoreError::Database(_)
            | StoreError::Corrupt(_)
            | StoreError::UnsupportedUrl
            | StoreError::CommitFailed(_)
            | StoreError::Migrate(_) => ApiError::internal(detail.clone()),
        }
        .with_detail(detail)
    }
}

fn buyer_limit() -> ApiError {
    ApiError::new(
        ErrorCode::BuyerLimitReached,
        "This order would exceed the limit per customer for an item; nothing was charged.",
    )
}

fn discount_used_up() -> ApiError {
    ApiError::new(
        ErrorCode::DiscountUsedUp,
        "A discount code on this order was used up while you were paying; nothing was charged. Review the new total and pay again.",
    )
}

fn session_ended(status: anycart_core::session::CheckoutStatus) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidState,
        format!(
            "This checkout session is {} and can no longer change.",
            status.as_str().replace('_', " ")
        ),
    )
}

/// The ACP `param` of the credential token.
const TOKEN_PARAM: &str = "$.payment_data.instrument.credential.token";

fn token_refused(why: TokenRefusal) -> ApiError {
    let allowance;
    let message = match why {
        TokenRefusal::Unknown => "The payment token is not valid.",
        TokenRefusal::SharedTokenExpired => {
            "The shared payment token has expired or was revoked. Ask the buyer to authorise the payment again."
        }
        TokenRefusal::SharedTokenAllowanceExceeded { max_amount_minor } => {
            allowance = format!(
                "The total is above what the shared payment token allows ({max_amount_minor} in minor units). Ask the buyer for a new token."
            );
            allowance.as_str()
        }
        TokenRefusal::SharedTokenCurrency => {
            "The shared payment token is for another currency than this checkout."
        }
        TokenRefusal::WrongKind => {
            "This payment handler does not take that kind of token (see the handler's instrument schemas)."
        }
        TokenRefusal::ShopperSignInExpired => {
            "Your sign-in has expired. Verify your email again or enter a card."
        }
        TokenRefusal::OtherEmail => {
            "The saved card belongs to another email address. Enter a card."
        }
        TokenRefusal::NoSavedCard => "There is no saved card for this email. Enter a card.",
    };
    ApiError::new(ErrorCode::InvalidPaymentToken, message).with_param(TOKEN_PARAM)
}

fn rate_limited(limit: CodeLimit) -> ApiError {
    let message = match limit {
        CodeLimit::Email => {
            "Too many codes were requested for this email. Use the last one or try again in 10 minutes."
        }
        CodeLimit::Merchant => {
            "Too many codes are being requested right now. Please try again in a few minutes."
        }
    };
    let window_s = anycart_checkout::shoppers::CODE_WINDOW_MS / 1000;
    ApiError::new(ErrorCode::RateLimited, message)
        .retry_after(u64::try_from(window_s).unwrap_or(600))
}

impl From<CheckoutError> for ApiError {
    fn from(e: CheckoutError) -> Self {
        use CheckoutError as E;
        let detail = e.to_string();
        let api = match e {
            E::NotFound(what) => not_found(what),
            E::UnknownItem { line, id } => ApiError::new(
                ErrorCode::InvalidItemId,
                format!("The item ID '{id}' does not exist."),
            )
            .with_param(format!("$.line_items[{line}].id")),
            E::ItemUnavailable { line, id } => ApiError::new(
                ErrorCode::ItemUnavailable,
                format!("The item ID '{id}' is no longer for sale."),
            )
            .with_param(format!("$.line_items[{line}].id")),
            E::WrongCurrency { sold_in, requested } => ApiError::new(
                ErrorCode::UnsupportedCurrency,
                format!("This item is sold in {sold_in}, not {requested}."),
            )
            .with_param("$.currency"),
            E::SessionEnded(status) => session_ended(status),
            E::HandoffClaimed => ApiError::new(
                ErrorCode::HandoffTaken,
                "This checkout is already open on a phone; finish it there, or cancel it and start again.",
            )
            .with_param("$.checkout_session_id"),
            E::NotCancelable(status) => ApiError::new(
                ErrorCode::NotCancelable,
                format!("This checkout session is already {}.", status.as_str()),
            ),
            E::UnknownPaymentHandler { expected } => ApiError::new(
                ErrorCode::InvalidPaymentHandler,
                format!("Unknown payment handler; use `{expected}`."),
            )
            .with_param("$.payment_data.handler_id"),
            E::AuthenticationResultRequired => ApiError::new(
                ErrorCode::Requires3ds,
                "This checkout session requires issuer authentication. The request must include 'authentication_result' as provided by the issuer authentication flow.",
            )
            .with_param("$.authentication_result"),
            E::InvalidPaymentToken(why) => token_refused(why),
            E::PaymentNotFound => ApiError::new(
                ErrorCode::PaymentNotFound,
                "The pending payment is unknown to the provider; start again.",
            ),
            E::PaymentUnavailable(_) => ApiError::new(
                ErrorCode::PaymentUnavailable,
                "The payment provider is unavailable; retry shortly.",
            )
            .retry_after(2),
            E::PaymentRefused(_) => ApiError::new(
                ErrorCode::PaymentRefused,
                "The payment provider refused this operation.",
            ),
            E::RefundTooLarge { left_minor } => ApiError::new(
                ErrorCode::RefundExceedsRemaining,
                format!("The refund is larger than what is left to refund ({left_minor} in minor units)."),
            )
            .with_param("$.amount"),
            E::PaymentState(what) => ApiError::new(
                ErrorCode::InvalidPaymentState,
                format!("This order's payment cannot {what} in its current state."),
            ),
            E::IdempotencyKeyReused => ApiError::new(
                ErrorCode::IdempotencyConflict,
                "This Idempotency-Key was used with a different request.",
            ),
            E::InventoryUnavailable(_) => ApiError::new(
                ErrorCode::InventoryUnavailable,
                "Stock could not be checked right now; retry shortly.",
            )
            .retry_after(1),
            E::ConcurrentUpdate => ApiError::new(
                ErrorCode::ConcurrentUpdate,
                "The resource was changed by another request; retry.",
            )
            .retry_after(1),
            E::ChangedWhilePaying => ApiError::new(
                ErrorCode::ConcurrentUpdate,
                "The checkout changed while paying; nothing was charged. Please retry.",
            )
            .retry_after(1),
            E::StockChanged => ApiError::new(
                ErrorCode::StockChanged,
                "The stock for this order is no longer held; nothing was charged. Please retry.",
            ),
            E::BuyerLimitReached(_) => buyer_limit(),
            E::DiscountUsedUp(_) => discount_used_up(),
            E::AmountOutOfRange(m) => ApiError::new(ErrorCode::AmountOutOfRange, m),
            E::Shopper(refusal) => shopper_refused(refusal),
            E::User(refusal) => user_refused(refusal),
            E::Events(refusal) => events_refused(refusal),
            E::Invalid { param, message } => ApiError::invalid(&param, message),
            E::PersonalData { param } => ApiError::new(
                ErrorCode::PiiNotAllowed,
                "Attribution fields must not contain personal data (emails, phone numbers, names, addresses).",
            )
            .with_param(param),
            E::AgentSignature(why) => agent_signature_refused(why),
            E::Webhook(refusal) => webhook_refused(refusal),
            E::RateLimited {
                action,
                retry_after_ms,
            } => throttled(action, retry_after_ms),
            E::WaitingRoomRequired { line, id } => ApiError::new(
                ErrorCode::WaitingRoomRequired,
                format!("The item '{id}' is behind a waiting room: join it (POST /widget/waiting_room) and start the checkout once admitted, with the ticket in the Anycart-Waiting-Room-Ticket header."),
            )
            .with_param(format!("$.line_items[{line}].id")),
            E::NoWaitingRoom => ApiError::new(
                ErrorCode::NotFound,
                "This item has no waiting room: check out directly.",
            )
            .with_param("$.variant_id"),
            E::TooManyDeclines => ApiError::new(
                ErrorCode::TooManyAttempts,
                "Too many cards were declined for this checkout. Start a new checkout or contact the shop.",
            )
            .with_param("$.payment_data"),
            E::Store(store) => return store.into(),
        };
        api.with_detail(detail)
    }
}

/// An agent platform's request that had to be signed and was not (or not
/// right): 401, saying what to fix.
fn agent_signature_refused(why: SignatureRefusal) -> ApiError {
    let message = match why {
        SignatureRefusal::Missing => {
            "This agent platform must sign its requests: send Signature and Timestamp headers."
        }
        SignatureRefusal::Malformed => {
            "Signature must be base64url and Timestamp an RFC 3339 date-time."
        }
        SignatureRefusal::Stale => "The Timestamp is more than 5 minutes from now.",
        SignatureRefusal::Mismatch => "The request signature does not verify.",
    };
    ApiError::new(ErrorCode::InvalidSignature, message)
}

/// A client past its own budget (never the merchant's or another shopper's).
fn throttled(action: anycart_checkout::throttle::Action, retry_after_ms: u64) -> ApiError {
    use anycart_checkout::throttle::Action;
    let message = match action {
        Action::CreateSession => "Too many checkouts were started from here. Try again shortly.",
        Action::CompleteSession => "Too many payment attempts from here. Try again later.",
        Action::SignInCode => "Too many codes were asked for from here. Try again shortly.",
        Action::OpenHandoff => "Too many codes were tried from here. Try again shortly.",
    };
    ApiError::new(ErrorCode::RateLimited, message).retry_after(retry_after_ms.div_ceil(1000))
}

/// A payment provider's delivery refused: 401 when it is not the provider's
/// (forged, tampered, stale, unsigned), 400 otherwise.
fn webhook_refused(e: WebhookRefusal) -> ApiError {
    match e {
        WebhookRefusal::NotConfigured => ApiError::new(
            ErrorCode::InvalidWebhook,
            "This merchant has not configured this payment provider.",
        ),
        WebhookRefusal::Forged(_) => ApiError::new(
            ErrorCode::InvalidSignature,
            "The webhook signature does not verify (or is too old).",
        ),
        WebhookRefusal::Unreadable(why) => ApiError::new(
            ErrorCode::InvalidWebhook,
            format!("The event cannot be read: {why}"),
        ),
    }
}

/// A dashboard sign-in refusal (the sign-in form shows `message` as is).
fn user_refused(e: UserError) -> ApiError {
    match e {
        UserError::InvalidCredentials => ApiError::new(
            ErrorCode::InvalidCredentials,
            "The email or password is not right.",
        ),
        UserError::TooManyAttempts { retry_after_s } => ApiError::new(
            ErrorCode::TooManyAttempts,
            "Too many failed sign-ins for this email; wait a few minutes or use a sign-in link.",
        )
        .retry_after(u64::try_from(retry_after_s).unwrap_or(1).max(1)),
        UserError::LinkExpired => ApiError::new(
            ErrorCode::SignInLinkExpired,
            "This sign-in link has expired or was already used; ask for a new one.",
        ),
    }
}

/// A funnel events report refused: nothing was counted.
fn events_refused(e: EventRefusal) -> ApiError {
    match e {
        EventRefusal::WrongPlacement => ApiError::new(
            ErrorCode::InvalidApiKey,
            "Events must be sent with the placement's own publishable key.",
        ),
        EventRefusal::ForgedView | EventRefusal::StaleView => ApiError::new(
            ErrorCode::InvalidViewToken,
            "The view token is not valid (forged or expired); reload the widget.",
        )
        .with_param("$.view_token"),
    }
}

/// A returning shopper's sign-in refusal (the widget shows `message` as is).
fn shopper_refused(e: ShopperError) -> ApiError {
    match e {
        ShopperError::InvalidEmail => {
            ApiError::new(ErrorCode::InvalidEmail, "Enter a valid email address.")
                .with_param("$.email")
        }
        ShopperError::InvalidCode => ApiError::new(
            ErrorCode::InvalidCode,
            "The code is the 6 digits from the email.",
        )
        .with_param("$.code"),
        ShopperError::CodeExpired => ApiError::new(
            ErrorCode::CodeExpired,
            "This code has expired or was already used. Ask for a new one.",
        )
        .with_param("$.code"),
        ShopperError::CodeIncorrect { tries_left } => ApiError::new(
            ErrorCode::CodeIncorrect,
            format!(
                "That code is not right. {tries_left} {} left.",
                if tries_left == 1 { "try" } else { "tries" }
            ),
        )
        .with_param("$.code"),
        ShopperError::TooManyAttempts => ApiError::new(
            ErrorCode::TooManyAttempts,
            "Too many wrong codes. Ask for a new one.",
        )
        .with_param("$.code"),
        ShopperError::CodeRateLimited(limit) => rate_limited(limit),
        ShopperError::InvalidShopperToken => ApiError::new(
            ErrorCode::InvalidShopperToken,
            "Your sign-in has expired. Enter your email again to get a new code.",
        )
        .with_param("$.shopper_token"),
    }
}

fn not_found(what: Resource) -> ApiError {
    ApiError::not_found(what.noun())
}

impl From<ConnectorError> for ApiError {
    fn from(e: ConnectorError) -> Self {
        let detail = e.to_string();
        match e {
            ConnectorError::Unauthorized => ApiError::new(
                ErrorCode::InvalidSignature,
                "The webhook signature is missing or does not match the body.",
            ),
            ConnectorError::Malformed(m) => ApiError::new(ErrorCode::InvalidWebhook, m),
            ConnectorError::Misconfigured(m) => ApiError::new(ErrorCode::InvalidConnection, m),
            ConnectorError::Store(e) => return e.into(),
            ConnectorError::Transient(m) | ConnectorError::Permanent(m) => {
                ApiError::new(ErrorCode::PlatformError, m)
            }
        }
        .with_detail(detail)
    }
}
