//! The objects the fake keeps, each with its Stripe JSON shape (`to_json`). They
//! are plain data: the rules that change them live in `api`.

mod customers;
mod payments;
mod tokens;

pub use customers::{CardDetails, Customer, PaymentMethod, empty_billing_details};
pub use payments::{
    CaptureMethod, Charge, ConfirmationMethod, Dispute, PaymentIntent, PaymentIntentStatus, Refund,
};
pub use tokens::{GrantedToken, PaymentMethodDomain};

/// Currencies whose amounts have no minor unit (Stripe's list).
const ZERO_DECIMAL_CURRENCIES: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// An amount as Stripe's messages print it: `$1.00` for usd, `1.00 EUR` otherwise.
pub fn format_amount(amount_minor: i64, currency: &str) -> String {
    if ZERO_DECIMAL_CURRENCIES.contains(&currency) {
        return format!("{amount_minor} {}", currency.to_uppercase());
    }
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let major = abs / 100;
    let minor = abs % 100;
    if currency == "usd" {
        format!("{sign}${major}.{minor:02}")
    } else {
        format!("{sign}{major}.{minor:02} {}", currency.to_uppercase())
    }
}

/// The smallest amount Stripe charges in a currency (docs: minimum charge amounts),
/// for the currencies it names; others take any positive amount.
pub fn minimum_charge(currency: &str) -> i64 {
    match currency {
        "usd" | "eur" | "cad" | "aud" | "chf" | "nzd" | "sgd" | "jpy" => 50,
        "gbp" => 30,
        "dkk" => 250,
        "sek" | "nok" => 300,
        "mxn" => 1000,
        "hkd" => 400,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_print_as_stripe_messages_do() {
        assert_eq!(format_amount(100, "usd"), "$1.00");
        assert_eq!(format_amount(1999, "eur"), "19.99 EUR");
        assert_eq!(format_amount(500, "jpy"), "500 JPY");
    }
}
