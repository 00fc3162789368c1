//! Validated value types: parse once at the edge, then only valid values exist.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Most units of one variant a single line may ask for. Also caps what one request can
/// hold, so a bot cannot lock a whole pool with one call.
pub const QUANTITY_MAX: u32 = 999;
/// Longest free-text field we store (names, address lines).
pub const TEXT_LEN_MAX: usize = 256;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("quantity must be between 1 and {QUANTITY_MAX}")]
    Quantity,
    #[error("`{0}` is not a valid email address")]
    Email(String),
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code")]
    Country(String),
    #[error("{field} must be 1 to {TEXT_LEN_MAX} characters")]
    Text { field: &'static str },
}

/// A line quantity in `1..=QUANTITY_MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Quantity(u32);

impl Quantity {
    /// Accepts any integer and refuses what is out of range, so callers can pass raw JSON numbers.
    pub fn parse(value: i64) -> Result<Self, ValueError> {
        u32::try_from(value)
            .ok()
            .filter(|v| (1..=QUANTITY_MAX).contains(v))
            .map(Quantity)
            .ok_or(ValueError::Quantity)
    }

    /// The number of units.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        Quantity::parse(v).map_err(serde::de::Error::custom)
    }
}

/// A syntactically valid email address (RFC 5322 via the `email_address` crate), at most 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    /// Parses and normalises (trims; the domain part is lowercased).
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        let trimmed = value.trim();
        let bad = || ValueError::Email(trimmed.chars().take(80).collect());
        if trimmed.len() > 254 || !email_address::EmailAddress::is_valid(trimmed) {
            return Err(bad());
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(bad)?;
        if !domain.contains('.') {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The identity used for per-buyer limits: the address lowercased, without a
    /// `+tag` in the local part, and without dots for Gmail (which ignores them),
    /// so `Sam.Doe+1@gmail.com` and `samdoe+2@googlemail.com` are one buyer. Never
    /// used to send mail.
    pub fn buyer_key(&self) -> String {
        let lower = self.0.to_lowercase();
        let Some((local, domain)) = lower.rsplit_once('@') else {
            return lower;
        };
        let local = local.split('+').next().unwrap_or(local);
        let (local, domain) = match domain {
            "gmail.com" | "googlemail.com" => (local.replace('.', ""), "gmail.com"),
            _ => (local.to_string(), domain),
        };
        format!("{local}@{domain}")
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Email::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An ISO 3166-1 alpha-2 country code, stored uppercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CountryCode(String);

impl CountryCode {
    /// Two ASCII letters, any case.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(CountryCode(value.to_ascii_uppercase()))
        } else {
            Err(ValueError::Country(value.chars().take(16).collect()))
        }
    }
}

impl AsRef<str> for CountryCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CountryCode::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Checks a required free-text field: trimmed, non-empty, bounded.
pub fn required_text(field: &'static str, value: &str) -> Result<String, ValueError> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > TEXT_LEN_MAX {
        return Err(ValueError::Text { field });
    }
    Ok(t.to_string())
}

/// A postal address, validated field by field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line_one: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_two: Option<String>,
    pub city: String,
    /// State, province or region code (e.g. `CA`); may be empty where a country has none.
    pub state: String,
    pub country: CountryCode,
    pub postal_code: String,
}

impl Address {
    /// Builds an address from raw parts, refusing empty or oversized fields.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        name: &str,
        line_one: &str,
        line_two: Option<&str>,
        city: &str,
        state: &str,
        country: &str,
        postal_code: &str,
    ) -> Result<Self, ValueError> {
        let state = state.trim();
        if state.chars().count() > TEXT_LEN_MAX {
            return Err(ValueError::Text { field: "state" });
        }
        Ok(Address {
            name: required_text("name", name)?,
            line_one: required_text("line_one", line_one)?,
            line_two: match line_two.map(str::trim).filter(|s| !s.is_empty()) {
                Some(l) => Some(required_text("line_two", l)?),
                None => None,
            },
            city: required_text("city", city)?,
            state: state.to_string(),
            country: CountryCode::parse(country)?,
            postal_code: required_text("postal_code", postal_code)?,
        })
    }

    /// A destination known only by its region, as a wallet shares it while the
    /// shopper is still choosing (Apple Pay and Google Pay give city, state, postal
    /// code and country before the payment is authorised): enough to quote shipping
    /// and tax, never to ship to. It has no street (`line_one` is empty), and a
    /// session holding one is not ready for payment until the full address comes.
    pub fn destination(
        name: &str,
        city: &str,
        state: &str,
        country: &str,
        postal_code: &str,
    ) -> Result<Self, ValueError> {
        let bounded = |field: &'static str, v: &str| -> Result<String, ValueError> {
            let t = v.trim();
            if t.chars().count() > TEXT_LEN_MAX {
                return Err(ValueError::Text { field });
            }
            Ok(t.to_string())
        };
        Ok(Address {
            name: bounded("name", name)?,
            line_one: String::new(),
            line_two: None,
            city: bounded("city", city)?,
            state: bounded("state", state)?,
            country: CountryCode::parse(country)?,
            postal_code: bounded("postal_code", postal_code)?,
        })
    }

    /// A [`destination`](Address::destination) only: no street to deliver to.
    pub fn is_destination_only(&self) -> bool {
        self.line_one.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buyer_keys_see_through_tags_case_and_gmail_dots() {
        let key = |s: &str| Email::parse(s).unwrap().buyer_key();
        assert_eq!(key("Sam.Doe+1@Gmail.com"), "samdoe@gmail.com");
        assert_eq!(key("samdoe+drop@googlemail.com"), "samdoe@gmail.com");
        assert_eq!(key("Sam.Doe+x@example.com"), "sam.doe@example.com");
        assert_ne!(key("sam.doe@example.com"), key("samdoe@example.com"));
        assert_ne!(key("sam@example.com"), key("sam@example.org"));
    }

    #[test]
    fn quantity_bounds() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-1).is_err());
        assert!(Quantity::parse(i64::MAX).is_err());
        assert!(Quantity::parse(i64::from(QUANTITY_MAX) + 1).is_err());
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert!(serde_json::from_str::<Quantity>("2.5").is_err());
    }

    #[test]
    fn email_rejects_obvious_garbage() {
        for bad in [
            "",
            "a",
            "a@",
            "@b.c",
            "a b@c.d",
            "a@localhost",
            &format!("{}@x.io", "a".repeat(260)),
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse(" Jo@Example.COM ").unwrap().as_ref(),
            "Jo@example.com"
        );
    }

    #[test]
    fn country_codes() {
        assert_eq!(CountryCode::parse("us").unwrap().as_ref(), "US");
        for bad in ["", "USA", "1A", "ü1"] {
            assert!(CountryCode::parse(bad).is_err());
        }
    }

    #[test]
    fn address_requires_fields() {
        assert!(Address::parse("A", "1 St", None, "Town", "CA", "US", "94000").is_ok());
        assert!(Address::parse("", "1 St", None, "Town", "CA", "US", "94000").is_err());
        assert!(Address::parse("A", "1 St", None, "Town", "CA", "USA", "94000").is_err());
        let long = "x".repeat(TEXT_LEN_MAX + 1);
        assert!(Address::parse("A", &long, None, "Town", "CA", "US", "94000").is_err());
    }

    #[test]
    fn a_destination_is_a_region_without_a_street() {
        let d = Address::destination("", " San Francisco ", "CA", "us", "94105").unwrap();
        assert!(d.is_destination_only());
        assert_eq!(
            (d.city.as_str(), d.country.as_ref()),
            ("San Francisco", "US")
        );
        // Wallets may leave any part but the country out.
        assert!(Address::destination("", "", "", "GB", "").is_ok());
        assert!(Address::destination("", "Paris", "", "France", "75001").is_err());
        let long = "x".repeat(TEXT_LEN_MAX + 1);
        assert!(Address::destination("", &long, "", "FR", "").is_err());
        let full = Address::parse("A", "1 St", None, "SF", "CA", "US", "94000").unwrap();
        assert!(!full.is_destination_only());
    }

    proptest! {
        #[test]
        fn valid_quantities_parse(q in 1i64..=i64::from(QUANTITY_MAX)) {
            prop_assert_eq!(i64::from(Quantity::parse(q).unwrap().get()), q);
        }

        #[test]
        fn generated_emails_parse(local in "[a-z][a-z0-9._]{0,20}[a-z0-9]", domain in "[a-z]{1,10}\\.[a-z]{2,6}") {
            let text = format!("{local}@{domain}");
            prop_assume!(!local.contains(".."));
            let parsed = Email::parse(&text).unwrap();
            prop_assert_eq!(parsed.as_ref(), text.as_str());
        }
    }
}
