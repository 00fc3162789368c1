//! Typed identifiers: a UUIDv7 inside, a readable prefix outside (`cs_…`, `var_…`).
//!
//! The prefix makes ids self-describing in logs and support tickets, and parsing
//! checks it, so a variant id can never be passed where a session id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Why an id string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id (expected `{prefix}` followed by 32 hex digits)")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The wire prefix, including the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }

            /// Parses `prefix_` + 32 lowercase or uppercase hex digits.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                let err = || IdError {
                    kind: $kind,
                    prefix: $prefix,
                    value: value.chars().take(80).collect(),
                };
                let hex = value.strip_prefix($prefix).ok_or_else(err)?;
                if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err());
                }
                Uuid::try_parse(hex).map($name).map_err(|_| err())
            }

            /// The smallest possible id (for range scans).
            pub const MIN: Self = $name(Uuid::nil());
            /// The largest possible id (for range scans).
            pub const MAX: Self = $name(Uuid::max());

            /// The UUID inside, for ordering and storage.
            pub fn uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0.simple())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(/// A merchant (tenant).
    MerchantId, "mer_", "merchant");
prefixed_id!(/// An API key record (not the secret itself).
    ApiKeyId, "key_", "api key");
prefixed_id!(/// A product: the thing a shopper sees; it has one or more variants.
    ProductId, "prod_", "product");
prefixed_id!(/// A purchasable variant (size, colour…): the unit stock and prices attach to.
    VariantId, "var_", "variant");
prefixed_id!(/// A stock location (warehouse, store).
    LocationId, "loc_", "location");
prefixed_id!(/// A checkout session.
    SessionId, "cs_", "checkout session");
prefixed_id!(/// A line inside a checkout session.
    LineItemId, "li_", "line item");
prefixed_id!(/// A stock hold taken for a checkout session.
    HoldId, "hold_", "hold");
prefixed_id!(/// An order.
    OrderId, "ord_", "order");
prefixed_id!(/// A shipping zone (a set of countries with rates).
    ShippingZoneId, "shz_", "shipping zone");
prefixed_id!(/// A shipping rate inside a zone; also the ACP fulfillment option id.
    ShippingRateId, "ship_", "shipping rate");
prefixed_id!(/// A tax rate for a country (and optionally a region).
    TaxRateId, "tax_", "tax rate");
prefixed_id!(/// A discount code definition.
    DiscountId, "disc_", "discount");
prefixed_id!(/// A payment attempt recorded against a session.
    PaymentId, "pay_", "payment");
prefixed_id!(/// A refund of (part of) an order's payment.
    RefundId, "rf_", "refund");
prefixed_id!(/// A person who signs in to the merchant dashboard.
    UserId, "usr_", "user");
prefixed_id!(/// A placement: one embed of the checkout widget (an ad slot, an article, a post).
    PlacementId, "plc_", "placement");
prefixed_id!(/// An agent platform a merchant sells through (ACP, MCP): its webhooks, key and feed.
    AgentPlatformId, "agp_", "agent platform");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = SessionId::new();
        let text = id.to_string();
        assert!(text.starts_with("cs_") && text.len() == 35);
        assert_eq!(SessionId::parse(&text).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
    }

    #[test]
    fn wrong_prefix_or_body_is_refused() {
        let var = VariantId::new().to_string();
        assert!(SessionId::parse(&var).is_err());
        for bad in [
            "",
            "cs_",
            "cs_xyz",
            "cs_0123456789abcdef0123456789abcdeg",
            "CS_0123456789abcdef0123456789abcdef",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_ids_are_time_ordered() {
        let a = OrderId::new();
        let b = OrderId::new();
        assert!(a < b);
    }
}
