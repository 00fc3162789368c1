//! The catalogue: every `code` of the API with the HTTP status it is always sent
//! with, and the ACP `type` that follows from it.

use axum::http::StatusCode;

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
    InvalidPaymentProvider,
    /// A query string the route cannot read (`?limit=AAA`).
    InvalidQuery,
    /// A path segment the route cannot read (not UTF-8, not an id).
    InvalidPath,
    /// Any other request the framework refused before a handler saw it.
    BadRequest,
    // 401, 403: who is asking.
    InvalidApiKey,
    InvalidShopperToken,
    InvalidSignature,
    SecretKeyRequired,
    InvalidCredentials,
    SignInRequired,
    SignInLinkExpired,
    CsrfTokenInvalid,
    OwnerRequired,
    InvalidViewToken,
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
    PaymentRefused,
    RefundExceedsRemaining,
    InvalidPaymentState,
    Duplicate,
    DuplicateSku,
    DuplicateCode,
    ConstraintViolation,
    BelowHeld,
    IdempotencyInFlight,
    // 408, 413, 414, 415, 422, 429.
    RequestTimeout,
    RequestTooLarge,
    BodyTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    IdempotencyConflict,
    RateLimited,
    TooManyAttempts,
    // 5xx: our side or a dependency.
    InternalError,
    PlatformError,
    PaymentUnavailable,
    InventoryUnavailable,
    DatabaseBusy,
    /// Too many requests in flight: shed fast rather than queued.
    Overloaded,
}

impl ErrorCode {
    /// Every code, for the catalogue's own tests and the documentation.
    pub const ALL: [ErrorCode; 75] = {
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
            InvalidPaymentProvider,
            InvalidQuery,
            InvalidPath,
            BadRequest,
            InvalidApiKey,
            InvalidShopperToken,
            InvalidSignature,
            SecretKeyRequired,
            InvalidCredentials,
            SignInRequired,
            SignInLinkExpired,
            CsrfTokenInvalid,
            OwnerRequired,
            InvalidViewToken,
            NotFound,
            MethodNotAllowed,
            NotCancelable,
            InvalidState,
            ConcurrentUpdate,
            StockChanged,
            BuyerLimitReached,
            PaymentNotFound,
            PaymentRefused,
            RefundExceedsRemaining,
            InvalidPaymentState,
            Duplicate,
            DuplicateSku,
            DuplicateCode,
            ConstraintViolation,
            BelowHeld,
            IdempotencyInFlight,
            RequestTimeout,
            RequestTooLarge,
            BodyTooLarge,
            UriTooLong,
            UnsupportedMediaType,
            IdempotencyConflict,
            RateLimited,
            TooManyAttempts,
            InternalError,
            PlatformError,
            PaymentUnavailable,
            InventoryUnavailable,
            DatabaseBusy,
            Overloaded,
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
            InvalidPaymentProvider => ("invalid_payment_provider", StatusCode::BAD_REQUEST),
            InvalidQuery => ("invalid_query", StatusCode::BAD_REQUEST),
            InvalidPath => ("invalid_path", StatusCode::BAD_REQUEST),
            BadRequest => ("bad_request", StatusCode::BAD_REQUEST),
            InvalidApiKey => ("invalid_api_key", StatusCode::UNAUTHORIZED),
            InvalidShopperToken => ("invalid_shopper_token", StatusCode::UNAUTHORIZED),
            InvalidSignature => ("invalid_signature", StatusCode::UNAUTHORIZED),
            SecretKeyRequired => ("secret_key_required", StatusCode::FORBIDDEN),
            InvalidCredentials => ("invalid_credentials", StatusCode::UNAUTHORIZED),
            SignInRequired => ("sign_in_required", StatusCode::UNAUTHORIZED),
            SignInLinkExpired => ("sign_in_link_expired", StatusCode::UNAUTHORIZED),
            CsrfTokenInvalid => ("csrf_token_invalid", StatusCode::FORBIDDEN),
            OwnerRequired => ("owner_required", StatusCode::FORBIDDEN),
            InvalidViewToken => ("invalid_view_token", StatusCode::FORBIDDEN),
            NotFound => ("not_found", StatusCode::NOT_FOUND),
            MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            NotCancelable => ("not_cancelable", StatusCode::METHOD_NOT_ALLOWED),
            InvalidState => ("invalid_state", StatusCode::CONFLICT),
            ConcurrentUpdate => ("concurrent_update", StatusCode::CONFLICT),
            StockChanged => ("stock_changed", StatusCode::CONFLICT),
            BuyerLimitReached => ("buyer_limit_reached", StatusCode::CONFLICT),
            PaymentNotFound => ("payment_not_found", StatusCode::CONFLICT),
            PaymentRefused => ("payment_refused", StatusCode::CONFLICT),
            RefundExceedsRemaining => ("refund_exceeds_remaining", StatusCode::CONFLICT),
            InvalidPaymentState => ("invalid_payment_state", StatusCode::CONFLICT),
            Duplicate => ("duplicate", StatusCode::CONFLICT),
            DuplicateSku => ("duplicate_sku", StatusCode::CONFLICT),
            DuplicateCode => ("duplicate_code", StatusCode::CONFLICT),
            ConstraintViolation => ("constraint_violation", StatusCode::CONFLICT),
            BelowHeld => ("below_held", StatusCode::CONFLICT),
            IdempotencyInFlight => ("idempotency_in_flight", StatusCode::CONFLICT),
            RequestTimeout => ("request_timeout", StatusCode::REQUEST_TIMEOUT),
            RequestTooLarge => ("request_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            BodyTooLarge => ("body_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            UriTooLong => ("uri_too_long", StatusCode::URI_TOO_LONG),
            UnsupportedMediaType => ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            IdempotencyConflict => ("idempotency_conflict", StatusCode::UNPROCESSABLE_ENTITY),
            RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            TooManyAttempts => ("too_many_attempts", StatusCode::TOO_MANY_REQUESTS),
            InternalError => ("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
            PlatformError => ("platform_error", StatusCode::BAD_GATEWAY),
            PaymentUnavailable => ("payment_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            InventoryUnavailable => ("inventory_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            DatabaseBusy => ("database_busy", StatusCode::SERVICE_UNAVAILABLE),
            Overloaded => ("overloaded", StatusCode::SERVICE_UNAVAILABLE),
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
