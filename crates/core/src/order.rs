//! Orders: what a completed checkout becomes.

use crate::pricing::Totals;
use crate::session::{Fulfillment, SessionLine};
use crate::{Currency, Email, MerchantId, OrderId, SessionId};
use serde::{Deserialize, Serialize};

/// An order's life as anycart tracks it (ACP `Order.status` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Confirmed,
    Processing,
    Shipped,
    Completed,
    Canceled,
}

impl OrderStatus {
    /// The ACP wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Processing => "processing",
            Self::Shipped => "shipped",
            Self::Completed => "completed",
            Self::Canceled => "canceled",
        }
    }
}

/// How the order was paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub provider: String,
    pub provider_reference: String,
    pub amount_minor: i64,
    /// Last four digits of the card when the provider tells us; never the number.
    pub card_last4: Option<String>,
    pub captured: bool,
}

/// A placed order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub merchant_id: MerchantId,
    pub session_id: SessionId,
    /// Per-merchant, human-friendly, increasing number (1001, 1002…).
    pub number: i64,
    pub status: OrderStatus,
    pub currency: Currency,
    pub lines: Vec<SessionLine>,
    pub totals: Totals,
    pub email: Option<Email>,
    pub fulfillment: Fulfillment,
    pub shipping_title: Option<String>,
    pub payment: PaymentRecord,
    /// Where the sale came from (the session's); `None` for orders written before
    /// sales were attributed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::attribution::Attribution>,
    pub created_at_ms: i64,
}

impl Order {
    /// The customer-facing number, e.g. `#1001`.
    pub fn display_number(&self) -> String {
        format!("#{}", self.number)
    }
}
