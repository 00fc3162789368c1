//! Stripe's error envelope: `{"error": {"type", "code", "decline_code", "message",
//! "param", "payment_intent", …}}` with the HTTP status Stripe pairs with each type.
//! Absent fields are left out, as Stripe does.

use serde_json::{Map, Value, json};

/// The `type` of a Stripe error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    Api,
    Card,
    Idempotency,
    InvalidRequest,
    Authentication,
    RateLimit,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Api => "api_error",
            ErrorType::Card => "card_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Authentication => "authentication_error",
            ErrorType::RateLimit => "rate_limit_error",
        }
    }
}

/// One error answer: status and body fields.
#[derive(Clone, Debug)]
pub struct ErrorFields {
    pub status: u16,
    pub kind: ErrorType,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    pub charge: Option<String>,
    pub payment_intent: Option<Value>,
    pub payment_method: Option<Value>,
}

/// An error answer, boxed: it travels through every `Result` of the API and is
/// far larger than the values it sits beside. Reads and writes its fields
/// through `Deref`.
#[derive(Clone, Debug)]
pub struct ApiError(Box<ErrorFields>);

impl std::ops::Deref for ApiError {
    type Target = ErrorFields;
    fn deref(&self) -> &ErrorFields {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorFields {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: u16, kind: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorFields {
            status,
            kind,
            code: None,
            decline_code: None,
            message: message.into(),
            param: None,
            charge: None,
            payment_intent: None,
            payment_method: None,
        }))
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, ErrorType::InvalidRequest, message)
    }

    /// 400 `invalid_request_error` with `param` set.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> ApiError {
        ApiError::invalid(message).param(param)
    }

    /// `parameter_missing`, as Stripe words it.
    pub fn missing_param(param: &str) -> ApiError {
        ApiError::invalid_param(param, format!("Missing required param: {param}."))
            .code("parameter_missing")
    }

    /// An id given in a parameter that names nothing: 400 `resource_missing`.
    pub fn no_such_param(resource: &str, id: &str, param: &str) -> ApiError {
        ApiError::invalid_param(param, format!("No such {resource}: '{id}'"))
            .code("resource_missing")
    }

    /// An id in the URL that names nothing: 404 `resource_missing`, `param: id`.
    pub fn no_such(resource: &str, id: &str) -> ApiError {
        let mut e = ApiError::no_such_param(resource, id, "id");
        e.status = 404;
        e
    }

    /// An operation the object's status does not allow.
    pub fn unexpected_state(message: impl Into<String>) -> ApiError {
        ApiError::invalid(message).code("payment_intent_unexpected_state")
    }

    /// 402 `card_error`.
    pub fn card(code: &str, decline_code: Option<&str>, message: &str) -> ApiError {
        let mut e = ApiError::new(402, ErrorType::Card, message).code(code);
        e.decline_code = decline_code.map(str::to_string);
        e
    }

    /// 401: no key, or a key this account does not have.
    pub fn authentication(message: impl Into<String>) -> ApiError {
        ApiError::new(401, ErrorType::Authentication, message)
    }

    /// The error a bare HTTP status stands for, with Stripe's wording (faults).
    pub fn for_status(status: u16) -> ApiError {
        match status {
            429 => ApiError::new(
                429,
                ErrorType::RateLimit,
                "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
            ),
            401 => ApiError::authentication("Invalid API Key provided."),
            402 => ApiError::card(
                "card_declined",
                Some("generic_decline"),
                "Your card was declined.",
            ),
            404 => ApiError::new(404, ErrorType::InvalidRequest, "Unrecognized request URL.")
                .code("resource_missing"),
            400..=499 => ApiError::new(status, ErrorType::InvalidRequest, "Invalid request."),
            _ => ApiError::new(
                status,
                ErrorType::Api,
                "An unknown error occurred while processing your request. Please try again.",
            ),
        }
    }

    pub fn code(mut self, code: &str) -> ApiError {
        self.code = Some(code.to_string());
        self
    }

    pub fn param(mut self, param: &str) -> ApiError {
        self.param = Some(param.to_string());
        self
    }

    /// The `{"error": {…}}` body.
    pub fn body(&self) -> Value {
        let mut e = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                e.insert(k.to_string(), v);
            }
        };
        put("charge", self.charge.clone().map(Value::String));
        put("code", self.code.clone().map(Value::String));
        put("decline_code", self.decline_code.clone().map(Value::String));
        put(
            "doc_url",
            self.code.as_ref().map(|c| {
                Value::String(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    c.replace('_', "-")
                ))
            }),
        );
        put("message", Some(Value::String(self.message.clone())));
        put("param", self.param.clone().map(Value::String));
        put("payment_intent", self.payment_intent.clone());
        put("payment_method", self.payment_method.clone());
        put("type", Some(Value::String(self.kind.as_str().to_string())));
        json!({ "error": Value::Object(e) })
    }

    /// The error as it sits in a PaymentIntent's `last_payment_error` (no nested intent).
    pub fn as_last_payment_error(&self) -> Value {
        let mut without_intent = self.clone();
        without_intent.payment_intent = None;
        without_intent.body()["error"].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_are_left_out_and_doc_url_follows_the_code() {
        let b = ApiError::no_such_param("payment_method", "pm_x", "payment_method").body();
        assert_eq!(b["error"]["type"], "invalid_request_error");
        assert_eq!(b["error"]["code"], "resource_missing");
        assert_eq!(b["error"]["param"], "payment_method");
        assert_eq!(
            b["error"]["doc_url"],
            "https://stripe.com/docs/error-codes/resource-missing"
        );
        assert!(b["error"].get("decline_code").is_none());
    }

    #[test]
    fn statuses_map_to_stripe_types() {
        assert_eq!(ApiError::for_status(429).kind, ErrorType::RateLimit);
        assert_eq!(ApiError::for_status(500).kind, ErrorType::Api);
        assert_eq!(ApiError::for_status(503).kind, ErrorType::Api);
        assert_eq!(ApiError::no_such("payment_intent", "pi_x").status, 404);
    }
}
