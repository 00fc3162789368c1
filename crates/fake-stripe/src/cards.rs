//! Stripe's test cards: the magic PaymentMethod ids a server passes
//! (`pm_card_visa`, `pm_card_chargeDeclined`, …) and the numbers a shopper types into
//! Stripe.js (4242 4242 4242 4242, …), each with the behaviour Stripe documents for it.
//!
//! No card number is stored anywhere: a PaymentMethod keeps the name of its test
//! card (`pm_card_visa`), its brand and last four digits.

/// What confirming a payment with the card does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// The charge succeeds.
    Succeeds,
    /// The charge is declined (and so is attaching it to a customer).
    Declines(Decline),
    /// Attaching to a customer succeeds; every charge is declined (`generic_decline`).
    AttachSucceedsChargeDeclines,
    /// 3-D Secure is required.
    ThreeDs(ThreeDs),
}

/// When a 3-D Secure card asks for authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreeDs {
    /// Every payment, even off-session ones after a set-up (4000 0027 6000 3184).
    Always,
    /// Unless the card was set up for future use with a customer (4000 0025 0000 3155).
    UnlessSetUp,
}

/// A decline: Stripe's `code`, `decline_code` and shopper-facing message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decline {
    pub code: &'static str,
    pub decline_code: &'static str,
    pub message: &'static str,
}

pub const GENERIC_DECLINE: Decline = Decline {
    code: "card_declined",
    decline_code: "generic_decline",
    message: "Your card was declined.",
};
const INSUFFICIENT_FUNDS: Decline = Decline {
    code: "card_declined",
    decline_code: "insufficient_funds",
    message: "Your card has insufficient funds.",
};
const LOST_CARD: Decline = Decline {
    code: "card_declined",
    decline_code: "lost_card",
    message: "Your card was declined.",
};
const EXPIRED_CARD: Decline = Decline {
    code: "expired_card",
    decline_code: "expired_card",
    message: "Your card has expired.",
};
const INCORRECT_CVC: Decline = Decline {
    code: "incorrect_cvc",
    decline_code: "incorrect_cvc",
    message: "Your card's security code is incorrect.",
};
const PROCESSING_ERROR: Decline = Decline {
    code: "processing_error",
    decline_code: "processing_error",
    message: "An error occurred while processing your card. Try again in a little bit.",
};
/// An off-session charge of a card that needs 3-D Secure.
pub const AUTHENTICATION_REQUIRED: Decline = Decline {
    code: "authentication_required",
    decline_code: "authentication_required",
    message: "Your card was declined. This transaction requires authentication.",
};

/// One test card.
#[derive(Clone, Copy, Debug)]
pub struct TestCard {
    /// The magic PaymentMethod id; also the name a stored PaymentMethod keeps.
    pub name: &'static str,
    pub number: &'static str,
    pub brand: &'static str,
    pub funding: &'static str,
    pub behaviour: Behaviour,
}

impl TestCard {
    pub fn last4(&self) -> &'static str {
        &self.number[self.number.len() - 4..]
    }
}

/// Stripe's documented test cards this fake knows (docs.stripe.com/testing).
pub const TEST_CARDS: &[TestCard] = &[
    card(
        "pm_card_visa",
        "4242424242424242",
        "visa",
        Behaviour::Succeeds,
    ),
    TestCard {
        funding: "debit",
        ..card(
            "pm_card_visa_debit",
            "4000056655665556",
            "visa",
            Behaviour::Succeeds,
        )
    },
    card(
        "pm_card_mastercard",
        "5555555555554444",
        "mastercard",
        Behaviour::Succeeds,
    ),
    card(
        "pm_card_amex",
        "378282246310005",
        "amex",
        Behaviour::Succeeds,
    ),
    card(
        "pm_card_chargeDeclined",
        "4000000000000002",
        "visa",
        Behaviour::Declines(GENERIC_DECLINE),
    ),
    card(
        "pm_card_chargeDeclinedInsufficientFunds",
        "4000000000009995",
        "visa",
        Behaviour::Declines(INSUFFICIENT_FUNDS),
    ),
    card(
        "pm_card_chargeDeclinedLostCard",
        "4000000000009987",
        "visa",
        Behaviour::Declines(LOST_CARD),
    ),
    card(
        "pm_card_chargeDeclinedExpiredCard",
        "4000000000000069",
        "visa",
        Behaviour::Declines(EXPIRED_CARD),
    ),
    card(
        "pm_card_chargeDeclinedIncorrectCvc",
        "4000000000000127",
        "visa",
        Behaviour::Declines(INCORRECT_CVC),
    ),
    card(
        "pm_card_chargeDeclinedProcessingError",
        "4000000000000119",
        "visa",
        Behaviour::Declines(PROCESSING_ERROR),
    ),
    card(
        "pm_card_chargeCustomerFail",
        "4000000000000341",
        "visa",
        Behaviour::AttachSucceedsChargeDeclines,
    ),
    card(
        "pm_card_authenticationRequired",
        "4000002760003184",
        "visa",
        Behaviour::ThreeDs(ThreeDs::Always),
    ),
    card(
        "pm_card_authenticationRequiredOnSetup",
        "4000002500003155",
        "visa",
        Behaviour::ThreeDs(ThreeDs::UnlessSetUp),
    ),
    card(
        "pm_card_threeDSecure2Required",
        "4000000000003220",
        "visa",
        Behaviour::ThreeDs(ThreeDs::UnlessSetUp),
    ),
];

const fn card(
    name: &'static str,
    number: &'static str,
    brand: &'static str,
    behaviour: Behaviour,
) -> TestCard {
    TestCard {
        name,
        number,
        brand,
        funding: "credit",
        behaviour,
    }
}

/// The card a magic id (`pm_card_visa`) or a stored card name stands for.
pub fn by_name(name: &str) -> Option<&'static TestCard> {
    TEST_CARDS.iter().find(|c| c.name == name)
}

/// What typing `number` (spaces allowed) into a card field gives.
pub fn by_number(number: &str) -> Result<&'static TestCard, NumberProblem> {
    let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() < 12
        || digits.len() > 19
        || !digits.chars().all(|c| c.is_ascii_digit())
        || !luhn_ok(&digits)
    {
        return Err(NumberProblem::Incorrect);
    }
    TEST_CARDS
        .iter()
        .find(|c| c.number == digits)
        .ok_or(NumberProblem::LiveCardInTestMode)
}

/// Why a typed number gives no card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberProblem {
    /// Not a card number (`incorrect_number`).
    Incorrect,
    /// A real card number: test mode takes only test cards.
    LiveCardInTestMode,
}

/// The Luhn checksum every card number carries.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0_u32;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_card_passes_luhn_and_is_found_by_number_and_name() {
        for c in TEST_CARDS {
            assert!(luhn_ok(c.number), "{}", c.number);
            assert_eq!(by_number(c.number).unwrap().name, c.name);
            assert_eq!(by_name(c.name).unwrap().number, c.number);
        }
    }

    #[test]
    fn typed_numbers_map_as_stripe_documents() {
        assert_eq!(
            by_number("4242 4242 4242 4242").unwrap().name,
            "pm_card_visa"
        );
        assert_eq!(
            by_number("4000 0000 0000 0002").unwrap().behaviour,
            Behaviour::Declines(GENERIC_DECLINE)
        );
        assert_eq!(
            by_number("4000 0000 0000 9995").unwrap().behaviour,
            Behaviour::Declines(INSUFFICIENT_FUNDS)
        );
        assert_eq!(
            by_number("4000 0027 6000 3184").unwrap().behaviour,
            Behaviour::ThreeDs(ThreeDs::Always)
        );
        assert_eq!(
            by_number("4242 4242 4242 4241").unwrap_err(),
            NumberProblem::Incorrect
        );
        assert_eq!(
            by_number("4111 1111 1111 1111").unwrap_err(),
            NumberProblem::LiveCardInTestMode
        );
        assert_eq!(by_name("pm_card_visa").unwrap().last4(), "4242");
    }
}
