//! A deterministic test provider with the token names developers already know from
//! Stripe's test mode, so scripts and agents can exercise every branch offline.
//!
//! | card number         | token                                  | result                 |
//! |---------------------|----------------------------------------|------------------------|
//! | 4242 4242 4242 4242 | `tok_visa`                             | authorised             |
//! | 4000 0000 0000 0002 | `tok_chargeDeclined`                   | generic decline        |
//! | 4000 0000 0000 9995 | `tok_chargeDeclinedInsufficientFunds`  | insufficient funds     |
//! | 4000 0027 6000 3184 | `tok_threeDSecure2Required`            | 3-D Secure required    |

use crate::{
    AuthorizeOutcome, AuthorizeRequest, DeclineReason, PaymentError, PaymentProvider, Refunded,
};
use anycart_core::Money;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

/// The ACP payment handler id anycart advertises for sandbox cards.
pub const SANDBOX_HANDLER_ID: &str = "card_sandbox";

const CARDS: [(&str, &str); 4] = [
    ("4242424242424242", "tok_visa"),
    ("4000000000000002", "tok_chargeDeclined"),
    ("4000000000009995", "tok_chargeDeclinedInsufficientFunds"),
    ("4000002760003184", "tok_threeDSecure2Required"),
];

/// Why a card could not be tokenised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizeError {
    #[error("the card number is not valid")]
    InvalidNumber,
    #[error("the sandbox accepts only test cards, e.g. 4242 4242 4242 4242")]
    NotATestCard,
}

/// Turns a test card number (spaces allowed) into its sandbox token. The number is
/// checked with the Luhn algorithm and never stored.
pub fn tokenize_card(number: &str) -> Result<&'static str, TokenizeError> {
    let digits: String = number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if !(12..=19).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !luhn_valid(&digits)
    {
        return Err(TokenizeError::InvalidNumber);
    }
    CARDS
        .iter()
        .find(|(n, _)| *n == digits)
        .map(|(_, t)| *t)
        .ok_or(TokenizeError::NotATestCard)
}

/// The card brand behind a sandbox token, from the test number's issuer prefix, for
/// showing a saved card (`visa`); `None` for tokens the sandbox does not know.
pub fn card_brand(token: &str) -> Option<&'static str> {
    let (number, _) = CARDS.iter().find(|(_, t)| *t == token)?;
    match number.as_bytes() {
        [b'4', ..] => Some("visa"),
        [b'5', b'1'..=b'5', ..] | [b'2', ..] => Some("mastercard"),
        [b'3', b'4' | b'7', ..] => Some("amex"),
        _ => None,
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What the sandbox remembers about one payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxPayment {
    pub reference: String,
    pub amount: Money,
    pub token: String,
    pub state: SandboxState,
    /// Minor units refunded so far (never more than `amount`).
    pub refunded_minor: i64,
}

/// Life of a sandbox payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxState {
    Authorized,
    Captured,
    Declined,
    AwaitingAuthentication,
    Voided,
    /// Refunded in full (a partial refund leaves the payment `Captured`).
    Refunded,
}

/// The sandbox provider. It keeps a ledger (in memory) so tests can prove that no
/// payment was taken twice.
#[derive(Debug, Default)]
pub struct SandboxProvider {
    ledger: Mutex<Ledger>,
}

#[derive(Debug, Default)]
struct Ledger {
    payments: HashMap<String, SandboxPayment>,
    /// Refunds by idempotency key: (payment reference, refund).
    refunds: HashMap<String, (String, Refunded)>,
}

impl SandboxProvider {
    /// A provider with an empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every payment seen so far, for assertions.
    pub fn payments(&self) -> Vec<SandboxPayment> {
        self.lock().payments.values().cloned().collect()
    }

    /// Every refund the sandbox accepted, as `(payment reference, refund)`.
    pub fn refunds(&self) -> Vec<(String, Refunded)> {
        self.lock().refunds.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A poisoned lock only means another test thread panicked; the map is still usable.
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn outcome(p: &SandboxPayment) -> AuthorizeOutcome {
        let reference = p.reference.clone();
        match p.state {
            SandboxState::Authorized
            | SandboxState::Captured
            | SandboxState::Voided
            | SandboxState::Refunded => AuthorizeOutcome::Authorized {
                reference,
                card_last4: CARDS
                    .iter()
                    .find(|(_, t)| *t == p.token)
                    .map(|(n, _)| n[12..].to_string()),
                captured: p.state == SandboxState::Captured,
            },
            SandboxState::Declined => AuthorizeOutcome::Declined {
                reference,
                reason: if p.token == "tok_chargeDeclinedInsufficientFunds" {
                    DeclineReason::InsufficientFunds
                } else {
                    DeclineReason::Generic
                },
            },
            SandboxState::AwaitingAuthentication => AuthorizeOutcome::RequiresAuthentication {
                reference,
                client_secret: None,
            },
        }
    }

    fn transition(
        &self,
        reference: &str,
        allowed: &[SandboxState],
        to: SandboxState,
    ) -> Result<(), PaymentError> {
        let mut ledger = self.lock();
        let p = ledger
            .payments
            .get_mut(reference)
            .ok_or(PaymentError::UnknownReference)?;
        if p.state == to {
            return Ok(()); // idempotent
        }
        if !allowed.contains(&p.state) {
            return Err(PaymentError::Unavailable(format!(
                "cannot move a {:?} payment to {:?}",
                p.state, to
            )));
        }
        p.state = to;
        Ok(())
    }
}

#[async_trait]
impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn authorize(
        &self,
        request: &AuthorizeRequest,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        let reference = format!("sbx_{}", request.idempotency_key);
        let mut ledger = self.lock();
        if let Some(existing) = ledger.payments.get(&reference) {
            return Ok(Self::outcome(existing)); // a retry: same answer, no second charge
        }
        let state = match request.token.as_str() {
            "tok_visa" if request.capture => SandboxState::Captured,
            "tok_visa" => SandboxState::Authorized,
            "tok_chargeDeclined" | "tok_chargeDeclinedInsufficientFunds" => SandboxState::Declined,
            "tok_threeDSecure2Required" => SandboxState::AwaitingAuthentication,
            _ => return Err(PaymentError::InvalidToken),
        };
        let payment = SandboxPayment {
            reference: reference.clone(),
            amount: request.amount,
            token: request.token.clone(),
            state,
            refunded_minor: 0,
        };
        let outcome = Self::outcome(&payment);
        ledger.payments.insert(reference, payment);
        Ok(outcome)
    }

    async fn confirm_authentication(
        &self,
        reference: &str,
        authenticated: bool,
        capture: bool,
    ) -> Result<AuthorizeOutcome, PaymentError> {
        let mut ledger = self.lock();
        let p = ledger
            .payments
            .get_mut(reference)
            .ok_or(PaymentError::UnknownReference)?;
        if p.state == SandboxState::AwaitingAuthentication {
            p.state = match (authenticated, capture) {
                (false, _) => SandboxState::Declined,
                (true, true) => SandboxState::Captured,
                (true, false) => SandboxState::Authorized,
            };
        }
        if p.state == SandboxState::Declined && !authenticated {
            return Ok(AuthorizeOutcome::Declined {
                reference: reference.to_string(),
                reason: DeclineReason::AuthenticationFailed,
            });
        }
        Ok(Self::outcome(p))
    }

    async fn capture(&self, reference: &str, _amount: Money) -> Result<(), PaymentError> {
        self.transition(
            reference,
            &[SandboxState::Authorized],
            SandboxState::Captured,
        )
    }

    async fn void(&self, reference: &str) -> Result<(), PaymentError> {
        self.transition(
            reference,
            &[
                SandboxState::Authorized,
                SandboxState::Captured,
                SandboxState::AwaitingAuthentication,
            ],
            SandboxState::Voided,
        )
    }

    /// Partial refunds add up; together they never exceed the captured amount.
    async fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<Refunded, PaymentError> {
        let mut ledger = self.lock();
        if let Some((of, refund)) = ledger.refunds.get(idempotency_key) {
            return if of == reference {
                Ok(refund.clone())
            } else {
                Err(PaymentError::Refused(
                    "this idempotency key was used for another payment".into(),
                ))
            };
        }
        let count = ledger.refunds.len();
        let p = ledger
            .payments
            .get_mut(reference)
            .ok_or(PaymentError::UnknownReference)?;
        if p.state != SandboxState::Captured {
            return Err(PaymentError::Refused(format!(
                "a {:?} payment cannot be refunded",
                p.state
            )));
        }
        if amount.currency != p.amount.currency || amount.amount_minor <= 0 {
            return Err(PaymentError::Refused("invalid refund amount".into()));
        }
        let left = p.amount.amount_minor - p.refunded_minor;
        if amount.amount_minor > left {
            return Err(PaymentError::Refused(format!(
                "refund of {} exceeds the {left} left to refund",
                amount.amount_minor
            )));
        }
        p.refunded_minor += amount.amount_minor;
        if p.refunded_minor == p.amount.amount_minor {
            p.state = SandboxState::Refunded;
        }
        let refund = Refunded {
            reference: format!("sbx_re_{}", count + 1),
            pending: false,
        };
        ledger.refunds.insert(
            idempotency_key.to_string(),
            (reference.to_string(), refund.clone()),
        );
        Ok(refund)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anycart_core::Currency;

    fn req(token: &str, key: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            amount: Money::new(1000, Currency::parse("usd").unwrap()).unwrap(),
            token: token.into(),
            idempotency_key: key.into(),
            capture: true,
            metadata: vec![],
            future_use: crate::FutureUse::None,
        }
    }

    #[test]
    fn test_cards_tokenise() {
        assert_eq!(tokenize_card("4242 4242 4242 4242"), Ok("tok_visa"));
        assert_eq!(
            tokenize_card("4000-0000-0000-0002"),
            Ok("tok_chargeDeclined")
        );
        assert_eq!(
            tokenize_card("4000000000009995"),
            Ok("tok_chargeDeclinedInsufficientFunds")
        );
        assert_eq!(
            tokenize_card("4000002760003184"),
            Ok("tok_threeDSecure2Required")
        );
        assert_eq!(
            tokenize_card("4242424242424241"),
            Err(TokenizeError::InvalidNumber)
        );
        assert_eq!(
            tokenize_card("5555555555554444"),
            Err(TokenizeError::NotATestCard)
        );
        assert_eq!(tokenize_card("abc"), Err(TokenizeError::InvalidNumber));
    }

    #[tokio::test]
    async fn tokens_drive_every_branch() {
        let p = SandboxProvider::new();
        assert!(matches!(
            p.authorize(&req("tok_visa", "a")).await.unwrap(),
            AuthorizeOutcome::Authorized { captured: true, .. }
        ));
        assert!(matches!(
            p.authorize(&req("tok_chargeDeclined", "b")).await.unwrap(),
            AuthorizeOutcome::Declined {
                reason: DeclineReason::Generic,
                ..
            }
        ));
        assert!(matches!(
            p.authorize(&req("tok_chargeDeclinedInsufficientFunds", "c"))
                .await
                .unwrap(),
            AuthorizeOutcome::Declined {
                reason: DeclineReason::InsufficientFunds,
                ..
            }
        ));
        let AuthorizeOutcome::RequiresAuthentication { reference, .. } = p
            .authorize(&req("tok_threeDSecure2Required", "d"))
            .await
            .unwrap()
        else {
            panic!()
        };
        assert!(matches!(
            p.confirm_authentication(&reference, true, true)
                .await
                .unwrap(),
            AuthorizeOutcome::Authorized { .. }
        ));
        assert_eq!(
            p.authorize(&req("tok_bogus", "e")).await,
            Err(PaymentError::InvalidToken)
        );
    }

    #[tokio::test]
    async fn retries_never_charge_twice() {
        let p = SandboxProvider::new();
        let first = p.authorize(&req("tok_visa", "same")).await.unwrap();
        let again = p.authorize(&req("tok_visa", "same")).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(p.payments().len(), 1);
        let AuthorizeOutcome::Authorized { reference, .. } = first else {
            panic!()
        };
        let usd = |minor| Money::new(minor, Currency::parse("usd").unwrap()).unwrap();
        let first = p.refund(&reference, usd(400), "r1").await.unwrap();
        assert_eq!(p.refund(&reference, usd(400), "r1").await.unwrap(), first);
        assert!(matches!(
            p.refund(&reference, usd(601), "r2").await,
            Err(PaymentError::Refused(_))
        ));
        p.refund(&reference, usd(600), "r2").await.unwrap();
        assert_eq!(p.payments()[0].state, SandboxState::Refunded);
        assert!(
            p.void(&reference).await.is_err(),
            "a refunded payment cannot be voided"
        );
    }
}
