//! Stripe's JSON, as much of it as anycart reads (unknown fields are ignored:
//! Stripe adds fields without a new API version).

use serde::Deserialize;

/// A PaymentIntent (`pi_…`).
#[derive(Clone, Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    /// `requires_payment_method`, `requires_confirmation`, `requires_action`,
    /// `processing`, `requires_capture`, `canceled` or `succeeded`.
    pub status: String,
    pub amount: i64,
    #[serde(default)]
    pub amount_received: i64,
    #[serde(default)]
    pub amount_capturable: i64,
    pub currency: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub last_payment_error: Option<StripeError>,
    /// Expanded with `expand[]=payment_method`: its id or the object.
    #[serde(default)]
    pub payment_method: Option<serde_json::Value>,
    #[serde(default)]
    pub customer: Option<String>,
}

impl PaymentIntent {
    /// The card's last four digits, when the payment method was expanded.
    pub fn card_last4(&self) -> Option<String> {
        self.payment_method
            .as_ref()?
            .pointer("/card/last4")?
            .as_str()
            .map(String::from)
    }

    /// The card's brand (`visa`), when the payment method was expanded.
    pub fn card_brand(&self) -> Option<String> {
        self.payment_method
            .as_ref()?
            .pointer("/card/brand")?
            .as_str()
            .map(String::from)
    }

    /// The payment method's id, expanded or not.
    pub fn payment_method_id(&self) -> Option<String> {
        match self.payment_method.as_ref()? {
            serde_json::Value::String(id) => Some(id.clone()),
            other => other.get("id")?.as_str().map(String::from),
        }
    }
}

/// A Refund (`re_…`).
#[derive(Clone, Debug, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`.
    pub status: String,
    #[serde(default)]
    pub currency: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// anycart's own refunds carry [`super::REFUND_METADATA_KEY`].
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// A page of a list endpoint (`GET /v1/refunds`).
#[derive(Clone, Debug, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// The account the keys belong to (`acct_…`).
#[derive(Clone, Debug, Deserialize)]
pub struct Account {
    pub id: String,
}

/// A Customer (`cus_…`).
#[derive(Clone, Debug, Deserialize)]
pub struct Customer {
    pub id: String,
}

/// A shared payment token an agent granted the merchant (`spt_…`).
#[derive(Clone, Debug, Deserialize)]
pub struct GrantedToken {
    pub id: String,
    #[serde(default)]
    pub usage_limits: Option<UsageLimits>,
    #[serde(default)]
    pub deactivated_at: Option<i64>,
}

/// What a shared payment token may be used for.
#[derive(Clone, Debug, Deserialize)]
pub struct UsageLimits {
    pub currency: String,
    pub max_amount: i64,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// Stripe's error envelope: `{"error": {…}}`.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorEnvelope {
    pub error: StripeError,
}

/// One Stripe error.
#[derive(Clone, Debug, Deserialize)]
pub struct StripeError {
    /// `card_error`, `invalid_request_error`, `api_error`, `idempotency_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    /// The PaymentIntent a card error left behind.
    #[serde(default)]
    pub payment_intent: Option<Box<PaymentIntent>>,
}
