//! Customers and card PaymentMethods.

use crate::cards::TestCard;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What Stripe shows of a card: never the number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub funding: String,
    pub country: String,
    pub fingerprint: String,
    /// `apple_pay` / `google_pay` for a wallet card.
    pub wallet: Option<String>,
}

impl CardDetails {
    pub fn for_test_card(
        card: &TestCard,
        exp_month: i64,
        exp_year: i64,
        wallet: Option<String>,
    ) -> CardDetails {
        // The same card always has the same fingerprint, as on Stripe.
        let digest = Sha256::digest(card.name.as_bytes());
        CardDetails {
            brand: card.brand.to_string(),
            last4: card.last4().to_string(),
            exp_month,
            exp_year,
            funding: card.funding.to_string(),
            country: "US".to_string(),
            fingerprint: hex::encode(&digest[..8]),
            wallet,
        }
    }

    fn wallet_json(&self) -> Value {
        match &self.wallet {
            None => Value::Null,
            Some(w) => json!({ "dynamic_last4": self.last4, w.as_str(): {}, "type": w }),
        }
    }

    /// `card` on a PaymentMethod.
    pub fn payment_method_json(&self) -> Value {
        json!({
            "brand": self.brand,
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
            "country": self.country,
            "display_brand": self.brand,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": self.fingerprint,
            "funding": self.funding,
            "generated_from": null,
            "last4": self.last4,
            "networks": {"available": [self.brand], "preferred": null},
            "three_d_secure_usage": {"supported": true},
            "wallet": self.wallet_json(),
        })
    }

    /// `payment_method_details.card` on a Charge.
    pub fn charge_json(&self) -> Value {
        json!({
            "brand": self.brand,
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
            "country": self.country,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": self.fingerprint,
            "funding": self.funding,
            "last4": self.last4,
            "network": self.brand,
            "three_d_secure": null,
            "wallet": self.wallet_json(),
        })
    }
}

/// `billing_details` with nothing known.
pub fn empty_billing_details() -> Value {
    json!({
        "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
        "email": null, "name": null, "phone": null
    })
}

/// A card PaymentMethod.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub created: i64,
    /// The test card it stands for (`pm_card_visa`, …).
    pub test_card: String,
    pub card: CardDetails,
    pub billing_details: Value,
    pub customer: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Used once without a customer (or detached): Stripe refuses it afterwards.
    pub consumed: bool,
    /// Set up for future use (saved through `setup_future_usage`, or attached):
    /// cards that need 3-D Secure "unless set up" then pay without it.
    pub set_up: bool,
}

impl PaymentMethod {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": self.billing_details,
            "card": self.card.payment_method_json(),
            "created": self.created,
            "customer": self.customer,
            "livemode": false,
            "metadata": self.metadata,
            "type": "card",
        })
    }
}

/// A Customer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl Customer {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "customer",
            "address": null,
            "balance": 0,
            "created": self.created,
            "currency": null,
            "default_source": null,
            "delinquent": false,
            "description": self.description,
            "email": self.email,
            "invoice_prefix": self.id.trim_start_matches("cus_").chars().take(8).collect::<String>().to_uppercase(),
            "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
            "livemode": false,
            "metadata": self.metadata,
            "name": self.name,
            "next_invoice_sequence": 1,
            "phone": self.phone,
            "preferred_locales": [],
            "shipping": null,
            "tax_exempt": "none",
            "test_clock": null,
        })
    }
}
