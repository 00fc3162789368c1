//! Money as integer minor units plus an ISO 4217 currency. Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest absolute amount we accept anywhere, in minor units (10^13 ≈ $100 billion).
/// Far above any real basket, far below `i64::MAX`, so sums of many lines cannot overflow.
pub const AMOUNT_MINOR_MAX: i64 = 10_000_000_000_000;

/// An ISO 4217 currency. Parsed case-insensitively; shown lowercase, as ACP does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses a three-letter ISO 4217 code such as `usd` or `EUR`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        if code.len() != 3 || !code.is_ascii() {
            return Err(MoneyError::UnknownCurrency(code.chars().take(16).collect()));
        }
        iso_currency::Currency::from_code(&code.to_ascii_uppercase())
            .map(Currency)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    /// The lowercase code, e.g. `usd`: the form ACP puts on the wire.
    pub fn code_lower(&self) -> String {
        self.0.code().to_ascii_lowercase()
    }

    /// Number of minor-unit digits (2 for USD, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(0)
    }

    /// Formats an amount for humans, e.g. `$12.34` / `12.34 EUR`, for order pages and emails.
    pub fn format_minor(&self, amount_minor: i64) -> String {
        let exp = self.exponent();
        let sign = if amount_minor < 0 { "-" } else { "" };
        let abs = amount_minor.unsigned_abs();
        let body = if exp == 0 {
            abs.to_string()
        } else {
            let scale = 10u64.pow(exp);
            format!(
                "{}.{:0width$}",
                abs / scale,
                abs % scale,
                width = exp as usize
            )
        };
        match self.0.code() {
            "USD" => format!("{sign}${body}"),
            "EUR" => format!("{sign}€{body}"),
            "GBP" => format!("{sign}£{body}"),
            code => format!("{sign}{body} {code}"),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code_lower())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.code_lower())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency `{0}`")]
    UnknownCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    OutOfRange,
}

/// An amount in minor units of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    /// A money value, refused when outside ±[`AMOUNT_MINOR_MAX`].
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if amount_minor.unsigned_abs() > AMOUNT_MINOR_MAX as u64 {
            return Err(MoneyError::OutOfRange);
        }
        Ok(Money {
            amount_minor,
            currency,
        })
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money {
            amount_minor: 0,
            currency,
        }
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(MoneyError::OutOfRange)?;
        Money::new(sum, self.currency)
    }

    /// Difference of two amounts of the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let diff = self
            .amount_minor
            .checked_sub(other.amount_minor)
            .ok_or(MoneyError::OutOfRange)?;
        Money::new(diff, self.currency)
    }

    /// This amount times a whole number (a unit price times a quantity).
    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let product = self
            .amount_minor
            .checked_mul(factor)
            .ok_or(MoneyError::OutOfRange)?;
        Money::new(product, self.currency)
    }

    /// `rate_bps` basis points of this amount, rounded half away from zero
    /// (10 000 bps = 100 %). Used for tax and percentage discounts.
    pub fn percent_bps(self, rate_bps: u32) -> Result<Money, MoneyError> {
        let scaled = i128::from(self.amount_minor) * i128::from(rate_bps);
        let half = if scaled >= 0 { 5_000 } else { -5_000 };
        let rounded = (scaled + half) / 10_000;
        let amount = i64::try_from(rounded).map_err(|_| MoneyError::OutOfRange)?;
        Money::new(amount, self.currency)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn currency_parse_is_case_insensitive_and_strict() {
        assert_eq!(Currency::parse("USD").unwrap(), usd());
        assert_eq!(usd().to_string(), "usd");
        for bad in ["", "us", "usdd", "xyz", "💵💵💵", "u d"] {
            assert!(Currency::parse(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(Currency::parse("jpy").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("kwd").unwrap().exponent(), 3);
    }

    #[test]
    fn mixing_currencies_is_refused() {
        let eur = Currency::parse("eur").unwrap();
        let err = Money::zero(usd())
            .checked_add(Money::zero(eur))
            .unwrap_err();
        assert!(matches!(err, MoneyError::CurrencyMismatch(_, _)));
    }

    #[test]
    fn formatting_uses_the_currency_exponent() {
        assert_eq!(usd().format_minor(1234), "$12.34");
        assert_eq!(usd().format_minor(-5), "-$0.05");
        assert_eq!(Currency::parse("jpy").unwrap().format_minor(500), "500 JPY");
        assert_eq!(
            Currency::parse("kwd").unwrap().format_minor(1500),
            "1.500 KWD"
        );
    }

    #[test]
    fn percent_rounds_half_away_from_zero() {
        let m = Money::new(1005, usd()).unwrap();
        assert_eq!(m.percent_bps(1_000).unwrap().amount_minor, 101); // 100.5 -> 101
        assert_eq!(m.percent_bps(0).unwrap().amount_minor, 0);
        assert_eq!(m.percent_bps(10_000).unwrap().amount_minor, 1005);
    }

    #[test]
    fn out_of_range_amounts_are_refused() {
        assert!(Money::new(AMOUNT_MINOR_MAX + 1, usd()).is_err());
        let big = Money::new(AMOUNT_MINOR_MAX, usd()).unwrap();
        assert!(big.checked_add(big).is_err());
        assert!(big.checked_mul(i64::MAX).is_err());
    }

    proptest! {
        #[test]
        fn add_then_sub_round_trips(a in -AMOUNT_MINOR_MAX/2..AMOUNT_MINOR_MAX/2, b in -AMOUNT_MINOR_MAX/2..AMOUNT_MINOR_MAX/2) {
            let (a, b) = (Money::new(a, usd()).unwrap(), Money::new(b, usd()).unwrap());
            prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
        }

        #[test]
        fn percent_never_exceeds_the_base(a in 0..AMOUNT_MINOR_MAX, bps in 0u32..=10_000) {
            let part = Money::new(a, usd()).unwrap().percent_bps(bps).unwrap();
            prop_assert!(part.amount_minor >= 0 && part.amount_minor <= a);
        }
    }
}
