//! The checkout funnel: the steps a shopper passes in a placement, the reasons
//! they leave, and the arithmetic of drop-off between steps. Pure values: the
//! widget reports steps, the store counts them per hour, analytics reads them back.

use serde::{Deserialize, Serialize};

/// A step of the funnel, in the order a shopper passes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelStep {
    /// At least half of the widget was in view for one second (IAB viewability).
    Impression,
    /// The shopper interacted with the widget (first tap or key press).
    Opened,
    /// A checkout session was created: stock is held.
    CheckoutStarted,
    /// Contact details (email) given.
    Contact,
    /// Shipping address and option chosen.
    Shipping,
    /// The shopper pressed Pay.
    PaymentAttempted,
    /// The order was written.
    Paid,
}

impl FunnelStep {
    /// Every step, in funnel order.
    pub const ALL: [FunnelStep; 7] = [
        FunnelStep::Impression,
        FunnelStep::Opened,
        FunnelStep::CheckoutStarted,
        FunnelStep::Contact,
        FunnelStep::Shipping,
        FunnelStep::PaymentAttempted,
        FunnelStep::Paid,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            FunnelStep::Impression => "impression",
            FunnelStep::Opened => "opened",
            FunnelStep::CheckoutStarted => "checkout_started",
            FunnelStep::Contact => "contact",
            FunnelStep::Shipping => "shipping",
            FunnelStep::PaymentAttempted => "payment_attempted",
            FunnelStep::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<FunnelStep> {
        FunnelStep::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Position in the funnel (0 = impression).
    pub fn index(self) -> usize {
        FunnelStep::ALL
            .iter()
            .position(|s| *s == self)
            .unwrap_or_default()
    }
}

/// Why a shopper left without paying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Closed or cancelled the checkout.
    Closed,
    /// The item (or the quantity asked) was out of stock.
    OutOfStock,
    /// The card was declined.
    Declined,
    /// The price changed before paying.
    PriceChanged,
    /// The 3-D Secure challenge failed.
    ThreeDsFailed,
    /// The stock hold expired.
    HoldExpired,
    /// A per-shopper purchase limit was reached.
    LimitReached,
}

impl DropReason {
    pub const ALL: [DropReason; 7] = [
        DropReason::Closed,
        DropReason::OutOfStock,
        DropReason::Declined,
        DropReason::PriceChanged,
        DropReason::ThreeDsFailed,
        DropReason::HoldExpired,
        DropReason::LimitReached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Closed => "closed",
            DropReason::OutOfStock => "out_of_stock",
            DropReason::Declined => "declined",
            DropReason::PriceChanged => "price_changed",
            DropReason::ThreeDsFailed => "three_ds_failed",
            DropReason::HoldExpired => "hold_expired",
            DropReason::LimitReached => "limit_reached",
        }
    }

    pub fn parse(s: &str) -> Option<DropReason> {
        DropReason::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One thing the widget reports: a step reached, or the shopper leaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FunnelEvent {
    Step(FunnelStep),
    Left(DropReason),
}

impl FunnelEvent {
    /// Storage form: (`step` column, `reason` column); a departure is step `left`.
    pub fn columns(self) -> (&'static str, &'static str) {
        match self {
            FunnelEvent::Step(s) => (s.as_str(), ""),
            FunnelEvent::Left(r) => ("left", r.as_str()),
        }
    }

    /// The event stored as `columns`, if it is one.
    pub fn from_columns(step: &str, reason: &str) -> Option<FunnelEvent> {
        match step {
            "left" => DropReason::parse(reason).map(FunnelEvent::Left),
            s if reason.is_empty() => FunnelStep::parse(s).map(FunnelEvent::Step),
            _ => None,
        }
    }
}

/// Counts per step and per reason: what a funnel chart shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunnelCounts {
    /// Indexed by [`FunnelStep::index`].
    pub steps: [u64; 7],
    /// Indexed like [`DropReason::ALL`].
    pub reasons: [u64; 7],
}

impl FunnelCounts {
    /// Adds `count` occurrences of `event`.
    pub fn add(&mut self, event: FunnelEvent, count: u64) {
        match event {
            FunnelEvent::Step(s) => {
                self.steps[s.index()] = self.steps[s.index()].saturating_add(count);
            }
            FunnelEvent::Left(r) => {
                let i = DropReason::ALL
                    .iter()
                    .position(|x| *x == r)
                    .unwrap_or_default();
                self.reasons[i] = self.reasons[i].saturating_add(count);
            }
        }
    }

    pub fn step(&self, s: FunnelStep) -> u64 {
        self.steps[s.index()]
    }

    /// Shoppers lost between each step and the next (never negative: a later step
    /// can outnumber an earlier one when reports were lost, e.g. a closed tab
    /// before the impression second passed).
    pub fn drop_off(&self) -> [u64; 6] {
        let mut out = [0; 6];
        for (i, d) in out.iter_mut().enumerate() {
            *d = self.steps[i].saturating_sub(self.steps[i + 1]);
        }
        out
    }

    /// Share of `step` that reached the next one, in basis points (1/100 of a
    /// percent), or `None` when nobody reached `step`.
    pub fn pass_rate_bp(&self, step: FunnelStep) -> Option<u64> {
        let i = step.index();
        let from = self.steps[i];
        let to = *self.steps.get(i + 1)?;
        (from > 0).then(|| to.min(from).saturating_mul(10_000) / from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in FunnelStep::ALL {
            assert_eq!(FunnelStep::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
            let (step, reason) = FunnelEvent::Step(s).columns();
            assert_eq!(
                FunnelEvent::from_columns(step, reason),
                Some(FunnelEvent::Step(s))
            );
        }
        for r in DropReason::ALL {
            assert_eq!(DropReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
            let (step, reason) = FunnelEvent::Left(r).columns();
            assert_eq!(
                FunnelEvent::from_columns(step, reason),
                Some(FunnelEvent::Left(r))
            );
        }
        assert_eq!(FunnelEvent::from_columns("left", ""), None);
        assert_eq!(FunnelEvent::from_columns("paid", "declined"), None);
        assert_eq!(FunnelStep::parse("bought"), None);
        assert_eq!(FunnelStep::Paid.index(), 6);
    }

    #[test]
    fn drop_off_and_pass_rates() {
        let mut c = FunnelCounts::default();
        c.add(FunnelEvent::Step(FunnelStep::Impression), 1000);
        c.add(FunnelEvent::Step(FunnelStep::Opened), 100);
        c.add(FunnelEvent::Step(FunnelStep::CheckoutStarted), 40);
        c.add(FunnelEvent::Step(FunnelStep::Paid), 10);
        c.add(FunnelEvent::Left(DropReason::Declined), 3);
        assert_eq!(c.drop_off(), [900, 60, 40, 0, 0, 0]);
        assert_eq!(c.pass_rate_bp(FunnelStep::Impression), Some(1000));
        assert_eq!(c.pass_rate_bp(FunnelStep::Contact), None);
        assert_eq!(c.pass_rate_bp(FunnelStep::Paid), None);
        assert_eq!(c.reasons[2], 3);
    }

    proptest! {
        /// Drop-offs never exceed the step they leave, and pass rates stay within 0–100 %.
        #[test]
        fn drop_off_is_bounded(steps in proptest::array::uniform7(0u64..1_000_000)) {
            let c = FunnelCounts { steps, reasons: [0; 7] };
            for (i, d) in c.drop_off().iter().enumerate() {
                prop_assert!(*d <= c.steps[i]);
            }
            for s in FunnelStep::ALL {
                if let Some(bp) = c.pass_rate_bp(s) {
                    prop_assert!(bp <= 10_000);
                }
            }
        }
    }
}
