//! The error catalogue: every code the HTTP API answers with, its status and ACP
//! `type`, in one enum; and [`ApiError`], rendered in the flat ACP error shape
//! `{"type", "code", "message", "param"}`.
//!
//! Service, store and connector errors are mapped here, each with an exhaustive
//! `match`, so a new variant cannot slip through as a vague 500. Nothing here logs:
//! a rendered error carries an [`ErrorLog`] in its response extensions, and the
//! `log_errors` middleware writes one line per failed request.

use anycart_checkout::error::{CodeLimit, ShopperError, TokenRefusal};
use anycart_checkout::{CheckoutError, Resource};
use anycart_connectors::ConnectorError;
use anycart_store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// ACP `Error.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    ProcessingError,
    ServiceUnavailable,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::ProcessingError => "processing_error",
            ErrorKind::ServiceUnavailable => "service_unavailable",
        }
    }
}

/// Every machine-readable `code` of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // 400: the request itself is wrong.
    InvalidJson,
    InvalidField,
    InvalidBody,
    Missing,
    Invalid,
    MissingApiVersion,
    UnsupportedApiVersion,
    IdempotencyKeyRequired,
    InvalidIdempotencyKey,
    InvalidItemId,
    InvalidQuantity,
    TooManyLineItems,
    InvalidEmail,
    InvalidAddress,
    TooManyCodes,
    InvalidCode,
    InvalidLocale,
    InvalidFulfillmentOption,
    UnsupportedCurrency,
    ItemUnavailable,
    InvalidPaymentHandler,
    Requires3ds,
    InvalidPaymentToken,
    AmountOutOfRange,
    CodeExpired,
    CodeIncorrect,
    InvalidCard,
    InvalidVariants,
    InvalidWebhook,
    InvalidConnection,
    // 401, 403: who is asking.
    InvalidApiKey,
    InvalidShopperToken,
    InvalidSignature,
    SecretKeyRequired,
    // 404, 405: what is asked for.
    NotFound,
    MethodNotAllowed,
    NotCancelable,
    // 409: the resource's state refuses it.
    InvalidState,
    ConcurrentUpdate,
    StockChanged,
    BuyerLimitReached,
    PaymentNotFound,
    Duplicate,
    DuplicateSku,
    DuplicateCode,
    ConstraintViolation,
    BelowHeld,
    IdempotencyInFlight,
    // 413, 422, 429.
    RequestTooLarge,
    BodyTooLarge,
    IdempotencyConflict,
    RateLimited,
    TooManyAttempts,
    // 5xx: our side or a dependency.
    InternalError,
    PlatformError,
    PaymentUnavailable,
    InventoryUnavailable,
    DatabaseBusy,
}

impl ErrorCode {
    /// Every code, for the catalogue's own tests and the documentation.
    pub const ALL: [ErrorCode; 58] = {
        use ErrorCode::*;
        [
            InvalidJson,
            InvalidField,
            InvalidBody,
            Missing,
            Invalid,
            MissingApiVersion,
            UnsupportedApiVersion,
            IdempotencyKeyRequired,
            InvalidIdempotencyKey,
            InvalidItemId,
            InvalidQuantity,
            TooManyLineItems,
            InvalidEmail,
            InvalidAddress,
            TooManyCodes,
            InvalidCode,
            InvalidLocale,
            InvalidFulfillmentOption,
            UnsupportedCurrency,
            ItemUnavailable,
            InvalidPaymentHandler,
            Requires3ds,
            InvalidPaymentToken,
            AmountOutOfRange,
            CodeExpired,
            CodeIncorrect,
            InvalidCard,
            InvalidVariants,
            InvalidWebhook,
            InvalidConnection,
            InvalidApiKey,
            InvalidShopperToken,
            InvalidSignature,
            SecretKeyRequired,
            NotFound,
            MethodNotAllowed,
            NotCancelable,
            InvalidState,
            ConcurrentUpdate,
            StockChanged,
            BuyerLimitReached,
            PaymentNotFound,
            Duplicate,
            DuplicateSku,
            DuplicateCode,
            ConstraintViolation,
            BelowHeld,
            IdempotencyInFlight,
            RequestTooLarge,
            BodyTooLarge,
            IdempotencyConflict,
            RateLimited,
            TooManyAttempts,
            InternalError,
            PlatformError,
            PaymentUnavailable,
            InventoryUnavailable,
            DatabaseBusy,
        ]
    };

    /// The code on the wire and the HTTP status it is always sent with.
    pub const fn spec(self) -> (&'static str, StatusCode) {
        use ErrorCode::*;
        match self {
            InvalidJson => ("invalid_json", StatusCode::BAD_REQUEST),
            InvalidField => ("invalid_field", StatusCode::BAD_REQUEST),
            InvalidBody => ("invalid_body", StatusCode::BAD_REQUEST),
            Missing => ("missing", StatusCode::BAD_REQUEST),
            Invalid => ("invalid", StatusCode::BAD_REQUEST),
            MissingApiVersion => ("missing_api_version", StatusCode::BAD_REQUEST),
            UnsupportedApiVersion => ("unsupported_api_version", StatusCode::BAD_REQUEST),
            IdempotencyKeyRequired => ("idempotency_key_required", StatusCode::BAD_REQUEST),
            InvalidIdempotencyKey => ("invalid_idempotency_key", StatusCode::BAD_REQUEST),
            InvalidItemId => ("invalid_item_id", StatusCode::BAD_REQUEST),
            InvalidQuantity => ("invalid_quantity", StatusCode::BAD_REQUEST),
            TooManyLineItems => ("too_many_line_items", StatusCode::BAD_REQUEST),
            InvalidEmail => ("invalid_email", StatusCode::BAD_REQUEST),
            InvalidAddress => ("invalid_address", StatusCode::BAD_REQUEST),
            TooManyCodes => ("too_many_codes", StatusCode::BAD_REQUEST),
            InvalidCode => ("invalid_code", StatusCode::BAD_REQUEST),
            InvalidLocale => ("invalid_locale", StatusCode::BAD_REQUEST),
            InvalidFulfillmentOption => ("invalid_fulfillment_option", StatusCode::BAD_REQUEST),
            UnsupportedCurrency => ("unsupported_currency", StatusCode::BAD_REQUEST),
            ItemUnavailable => ("item_unavailable", StatusCode::BAD_REQUEST),
            InvalidPaymentHandler => ("invalid_payment_handler", StatusCode::BAD_REQUEST),
            Requires3ds => ("requires_3ds", StatusCode::BAD_REQUEST),
            InvalidPaymentToken => ("invalid_payment_token", StatusCode::BAD_REQUEST),
            AmountOutOfRange => ("amount_out_of_range", StatusCode::BAD_REQUEST),
            CodeExpired => ("code_expired", StatusCode::BAD_REQUEST),
            CodeIncorrect => ("code_incorrect", StatusCode::BAD_REQUEST),
            InvalidCard => ("invalid_card", StatusCode::BAD_REQUEST),
            InvalidVariants => ("invalid_variants", StatusCode::BAD_REQUEST),
            InvalidWebhook => ("invalid_webhook", StatusCode::BAD_REQUEST),
            InvalidConnection => ("invalid_connection", StatusCode::BAD_REQUEST),
            InvalidApiKey => ("invalid_api_key", StatusCode::UNAUTHORIZED),
            InvalidShopperToken => ("invalid_shopper_token", StatusCode::UNAUTHORIZED),
            InvalidSignature => ("invalid_signature", StatusCode::UNAUTHORIZED),
            SecretKeyRequired => ("secret_key_required", StatusCode::FORBIDDEN),
            NotFound => ("not_found", StatusCode::NOT_FOUND),
            MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            NotCancelable => ("not_cancelable", StatusCode::METHOD_NOT_ALLOWED),
            InvalidState => ("invalid_state", StatusCode::CONFLICT),
            ConcurrentUpdate => ("concurrent_update", StatusCode::CONFLICT),
            StockChanged => ("stock_changed", StatusCode::CONFLICT),
            BuyerLimitReached => ("buyer_limit_reached", StatusCode::CONFLICT),
            PaymentNotFound => ("payment_not_found", StatusCode::CONFLICT),
            Duplicate => ("duplicate", StatusCode::CONFLICT),
            DuplicateSku => ("duplicate_sku", StatusCode::CONFLICT),
            DuplicateCode => ("duplicate_code", StatusCode::CONFLICT),
            ConstraintViolation => ("constraint_violation", StatusCode::CONFLICT),
            BelowHeld => ("below_held", StatusCode::CONFLICT),
            IdempotencyInFlight => ("idempotency_in_flight", StatusCode::CONFLICT),
            RequestTooLarge => ("request_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            BodyTooLarge => ("body_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            IdempotencyConflict => ("idempotency_conflict", StatusCode::UNPROCESSABLE_ENTITY),
            RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            TooManyAttempts => ("too_many_attempts", StatusCode::TOO_MANY_REQUESTS),
            InternalError => ("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
            PlatformError => ("platform_error", StatusCode::BAD_GATEWAY),
            PaymentUnavailable => ("payment_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            InventoryUnavailable => ("inventory_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            DatabaseBusy => ("database_busy", StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    /// The code as sent.
    pub const fn as_str(self) -> &'static str {
        self.spec().0
    }

    /// The HTTP status this code is always sent with.
    pub const fn status(self) -> StatusCode {
        self.spec().1
    }

    /// ACP `type`, which follows from the status.
    pub fn kind(self) -> ErrorKind {
        match self.status().as_u16() {
            503 => ErrorKind::ServiceUnavailable,
            500..=599 => ErrorKind::ProcessingError,
            _ => ErrorKind::InvalidRequest,
        }
    }
}

/// The body of every error response: the flat ACP `Error` shape.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorWire {
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_versions: Option<Vec<String>>,
}

/// What the `log_errors` middleware logs about a failed request (never sent).
#[derive(Clone, Debug)]
pub struct ErrorLog {
    pub code: ErrorCode,
    /// The underlying cause, for operators only (may name internals, never secrets).
    pub detail: Option<String>,
}

/// An error response.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub param: Option<String>,
    pub supported_versions: Option<Vec<String>>,
    pub retry_after_s: Option<u64>,
    /// Why, for the log; the client sees only `message`.
    pub detail: Option<String>,
}

impl ApiError {
    /// An error with a code and a sentence for the caller.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            param: None,
            supported_versions: None,
            retry_after_s: None,
            detail: None,
        }
    }

    /// 404 for something that does not exist *for this caller* (other tenants' ids too).
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    /// 500; the message is generic on purpose (details go to the log, not the client).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            ErrorCode::InternalError,
            "Something went wrong on our side. Please retry.",
        )
        .with_detail(detail)
    }

    /// A refused field (`invalid`), pointing at it.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message).with_param(param)
    }

    /// Points at the offending field (RFC 9535 JSONPath).
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// Records the cause for the log.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The status it is sent with.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The body (also what the idempotency layer stores).
    pub fn body(&self) -> ErrorWire {
        ErrorWire {
            kind: self.code.kind().as_str().to_string(),
            code: self.code.as_str().to_string(),
            message: self.message.clone(),
            param: self.param.clone(),
            supported_versions: self.supported_versions.clone(),
        }
    }

    /// What the log line says about it.
    pub fn log(&self) -> ErrorLog {
        ErrorLog {
            code: self.code,
            detail: self.detail.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        response.extensions_mut().insert(self.log());
        response
    }
}

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
    let message = match why {
        TokenRefusal::Unknown => "The payment token is not valid.",
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
            E::AmountOutOfRange(m) => ApiError::new(ErrorCode::AmountOutOfRange, m),
            E::Shopper(refusal) => shopper_refused(refusal),
            E::Invalid { param, message } => ApiError::invalid(&param, message),
            E::Store(store) => return store.into(),
        };
        api.with_detail(detail)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_catalogue_lists_every_code_once_in_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} appears twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name} is not snake_case"
            );
            assert!(
                code.status().is_client_error() || code.status().is_server_error(),
                "{name} is not an error status"
            );
        }
    }

    #[test]
    fn the_acp_type_follows_the_status() {
        assert_eq!(ErrorCode::InvalidJson.kind(), ErrorKind::InvalidRequest);
        assert_eq!(ErrorCode::NotFound.kind(), ErrorKind::InvalidRequest);
        assert_eq!(ErrorCode::InternalError.kind(), ErrorKind::ProcessingError);
        assert_eq!(ErrorCode::PlatformError.kind(), ErrorKind::ProcessingError);
        assert_eq!(
            ErrorCode::DatabaseBusy.kind(),
            ErrorKind::ServiceUnavailable
        );
    }

    #[test]
    fn store_errors_keep_their_meaning() {
        let e = ApiError::from(StoreError::VersionConflict);
        assert_eq!(e.code, ErrorCode::ConcurrentUpdate);
        assert_eq!(e.retry_after_s, Some(1));
        let e = ApiError::from(StoreError::Corrupt("bad doc".into()));
        assert_eq!(e.code, ErrorCode::InternalError);
        assert!(!e.message.contains("bad doc"), "internals stay in the log");
        assert!(e.detail.as_deref().is_some_and(|d| d.contains("bad doc")));
    }
}
