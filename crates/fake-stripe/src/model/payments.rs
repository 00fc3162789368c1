//! PaymentIntents, their Charges, Refunds and Disputes.

use super::customers::CardDetails;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

/// A PaymentIntent's `status`. Compares equal to its wire string
/// (`view.status == "succeeded"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentIntentStatus {
    RequiresPaymentMethod,
    RequiresConfirmation,
    RequiresAction,
    Processing,
    RequiresCapture,
    Canceled,
    Succeeded,
}

impl PaymentIntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentIntentStatus::RequiresPaymentMethod => "requires_payment_method",
            PaymentIntentStatus::RequiresConfirmation => "requires_confirmation",
            PaymentIntentStatus::RequiresAction => "requires_action",
            PaymentIntentStatus::Processing => "processing",
            PaymentIntentStatus::RequiresCapture => "requires_capture",
            PaymentIntentStatus::Canceled => "canceled",
            PaymentIntentStatus::Succeeded => "succeeded",
        }
    }

    /// The statuses Stripe lets a PaymentIntent be canceled from.
    pub fn cancelable(self) -> bool {
        matches!(
            self,
            PaymentIntentStatus::RequiresPaymentMethod
                | PaymentIntentStatus::RequiresCapture
                | PaymentIntentStatus::RequiresConfirmation
                | PaymentIntentStatus::RequiresAction
                | PaymentIntentStatus::Processing
        )
    }

    /// The statuses Stripe lets a PaymentIntent be confirmed (or updated) from.
    pub fn confirmable(self) -> bool {
        matches!(
            self,
            PaymentIntentStatus::RequiresPaymentMethod
                | PaymentIntentStatus::RequiresConfirmation
                | PaymentIntentStatus::RequiresAction
        )
    }
}

impl fmt::Display for PaymentIntentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for PaymentIntentStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for PaymentIntentStatus {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// A PaymentIntent's `capture_method`. Compares equal to its wire string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMethod {
    Automatic,
    AutomaticAsync,
    Manual,
}

impl CaptureMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMethod::Automatic => "automatic",
            CaptureMethod::AutomaticAsync => "automatic_async",
            CaptureMethod::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<CaptureMethod> {
        match s {
            "automatic" => Some(CaptureMethod::Automatic),
            "automatic_async" => Some(CaptureMethod::AutomaticAsync),
            "manual" => Some(CaptureMethod::Manual),
            _ => None,
        }
    }
}

impl fmt::Display for CaptureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for CaptureMethod {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A PaymentIntent's `confirmation_method`: with `manual`, a payment that needed
/// 3-D Secure waits in `requires_confirmation` for the server's confirm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationMethod {
    Automatic,
    Manual,
}

impl ConfirmationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmationMethod::Automatic => "automatic",
            ConfirmationMethod::Manual => "manual",
        }
    }
}

/// A PaymentIntent as the fake keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentIntentStatus,
    pub capture_method: CaptureMethod,
    pub confirmation_method: ConfirmationMethod,
    pub client_secret: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub payment_method: Option<String>,
    pub setup_future_usage: Option<String>,
    /// `automatic_payment_methods`: `Some(allow_redirects)` when enabled.
    pub automatic_payment_methods: Option<String>,
    pub payment_method_types: Vec<String>,
    pub receipt_email: Option<String>,
    pub statement_descriptor: Option<String>,
    pub return_url: Option<String>,
    pub last_payment_error: Option<Value>,
    pub next_action: Option<Value>,
    pub latest_charge: Option<String>,
    pub amount_capturable: i64,
    pub amount_received: i64,
    pub canceled_at: Option<i64>,
    pub cancellation_reason: Option<String>,
    /// Every `Idempotency-Key` sent with a request about this intent.
    pub idempotency_keys: Vec<String>,
    /// 3-D Secure completed for the current payment method.
    pub authenticated: bool,
    /// The shared payment token this intent's payment method was cloned from.
    pub granted_token: Option<String>,
}

impl PaymentIntent {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount_capturable,
            "amount_details": {"tip": {}},
            "amount_received": self.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": self.automatic_payment_methods.as_ref()
                .map(|r| json!({"allow_redirects": r, "enabled": true})),
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method.as_str(),
            "client_secret": self.client_secret,
            "confirmation_method": self.confirmation_method.as_str(),
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": self.next_action,
            "on_behalf_of": null,
            "payment_method": self.payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {"card": {
                "installments": null, "mandate_options": null, "network": null,
                "request_three_d_secure": "automatic"
            }},
            "payment_method_types": self.payment_method_types,
            "processing": null,
            "receipt_email": self.receipt_email,
            "review": null,
            "setup_future_usage": self.setup_future_usage,
            "shipping": null,
            "source": null,
            "statement_descriptor": self.statement_descriptor,
            "statement_descriptor_suffix": null,
            "status": self.status.as_str(),
            "transfer_data": null,
            "transfer_group": null,
        })
    }

    /// What a publishable key with the client secret may read (Stripe.js).
    pub fn to_client_json(&self) -> Value {
        let mut v = self.to_json();
        if let Some(o) = v.as_object_mut() {
            for private in [
                "metadata",
                "customer",
                "application_fee_amount",
                "transfer_data",
                "on_behalf_of",
            ] {
                o.remove(private);
            }
        }
        v
    }
}

/// A Charge: one attempt to move money for a PaymentIntent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub captured: bool,
    pub currency: String,
    pub payment_intent: String,
    pub payment_method: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// `succeeded` or `failed`.
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    /// The issuer's reason for a decline (`generic_decline`, …).
    pub decline_code: Option<String>,
    pub card: CardDetails,
    pub billing_details: Value,
    pub disputed: bool,
}

impl Charge {
    /// Fully refunded (Stripe's `refunded`), or, uncaptured, its authorisation
    /// released (which Stripe also shows as refunded).
    pub fn refunded(&self) -> bool {
        let refundable = if self.captured {
            self.amount_captured
        } else {
            self.amount
        };
        self.amount_refunded > 0 && self.amount_refunded >= refundable
    }

    pub fn to_json(&self) -> Value {
        let succeeded = self.status == "succeeded";
        let outcome = if succeeded {
            json!({"network_status": "approved_by_network", "reason": null, "risk_level": "normal",
                   "seller_message": "Payment complete.", "type": "authorized"})
        } else {
            json!({"network_status": "declined_by_network", "reason": self.decline_code, "risk_level": "normal",
                   "seller_message": "The bank did not return any further details with this decline.",
                   "type": "issuer_declined"})
        };
        json!({
            "id": self.id,
            "object": "charge",
            "amount": self.amount,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "balance_transaction": null,
            "billing_details": self.billing_details,
            "captured": self.captured,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "disputed": self.disputed,
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "livemode": false,
            "metadata": self.metadata,
            "outcome": outcome,
            "paid": succeeded,
            "payment_intent": self.payment_intent,
            "payment_method": self.payment_method,
            "payment_method_details": {"card": self.card.charge_json(), "type": "card"},
            "receipt_url": null,
            "refunded": self.refunded(),
            "status": self.status,
        })
    }
}

/// A Refund of (part of) a captured Charge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub charge: String,
    pub payment_intent: String,
    pub currency: String,
    pub reason: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub status: String,
    pub idempotency_key: Option<String>,
}

impl Refund {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": null,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "destination_details": {"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"}, "type": "card"},
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": self.status,
            "transfer_reversal": null,
        })
    }
}

/// A Dispute (chargeback) opened on a Charge, sent only through webhooks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dispute {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    /// `needs_response`, `under_review`, `won`, `lost`, …
    pub status: String,
    pub reason: String,
}

/// How long a merchant has to answer a dispute (Stripe: about a week or more).
const DISPUTE_RESPONSE_S: i64 = 7 * 24 * 3600;

impl Dispute {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "dispute",
            "amount": self.amount,
            "balance_transactions": [],
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "evidence": {},
            "evidence_details": {"due_by": self.created + DISPUTE_RESPONSE_S, "has_evidence": false,
                                  "past_due": false, "submission_count": 0},
            "is_charge_refundable": false,
            "livemode": false,
            "metadata": {},
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "status": self.status,
        })
    }
}
