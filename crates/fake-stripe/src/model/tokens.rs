//! Shared payment granted tokens (agentic commerce) and payment method domains.

use super::customers::{CardDetails, empty_billing_details};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A SharedPaymentGrantedToken: a limited-use grant of a buyer's card to this
/// account, with a currency, a maximum amount and an expiry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantedToken {
    pub id: String,
    pub created: i64,
    pub max_amount: i64,
    pub currency: String,
    pub expires_at: i64,
    pub deactivated_at: Option<i64>,
    /// `consumed`, `revoked`, `expired`, `resolved`.
    pub deactivated_reason: Option<String>,
    /// The test card behind the grant (`pm_card_visa` unless told otherwise).
    pub test_card: String,
    pub card: CardDetails,
    pub amount_captured: i64,
}

impl GrantedToken {
    /// Deactivated now: explicitly, or by its expiry passing.
    pub fn deactivation(&self, now: i64) -> Option<(i64, &str)> {
        match (&self.deactivated_at, &self.deactivated_reason) {
            (Some(at), Some(reason)) => Some((*at, reason.as_str())),
            (Some(at), None) => Some((*at, "revoked")),
            _ if now >= self.expires_at => Some((self.expires_at, "expired")),
            _ => None,
        }
    }

    pub fn to_json(&self, now: i64) -> Value {
        let deactivation = self.deactivation(now);
        json!({
            "id": self.id,
            "object": "shared_payment.granted_token",
            "agent_details": null,
            "created": self.created,
            "deactivated_at": deactivation.map(|(at, _)| at),
            "deactivated_reason": deactivation.map(|(_, r)| r),
            "livemode": false,
            "payment_method_details": {
                "type": "card",
                "billing_details": empty_billing_details(),
                "card": self.card.payment_method_json(),
            },
            "shared_metadata": {},
            "usage_details": {"amount_captured": {"value": self.amount_captured, "currency": self.currency}},
            "usage_limits": {"currency": self.currency, "expires_at": self.expires_at, "max_amount": self.max_amount},
        })
    }
}

/// A web domain registered for wallets (Apple Pay, Google Pay, Link, …).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentMethodDomain {
    pub id: String,
    pub created: i64,
    pub domain_name: String,
    pub enabled: bool,
}

impl PaymentMethodDomain {
    pub fn to_json(&self) -> Value {
        let active = json!({"status": "active"});
        json!({
            "id": self.id,
            "object": "payment_method_domain",
            "amazon_pay": active,
            "apple_pay": active,
            "created": self.created,
            "domain_name": self.domain_name,
            "enabled": self.enabled,
            "google_pay": active,
            "klarna": active,
            "link": active,
            "livemode": false,
            "paypal": active,
        })
    }
}
