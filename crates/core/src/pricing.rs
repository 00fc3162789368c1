//! Pricing: shipping options, discount codes, tax and the totals of a checkout.
//!
//! One function, [`price`], turns a basket plus the merchant's rules into every
//! amount the shopper sees. Invariants (checked by property tests):
//! `subtotal = items_base − discount`, `total = subtotal + fulfillment + tax`,
//! line discounts add up to the order discount, nothing is negative.

use crate::{
    CountryCode, Currency, DiscountId, Money, MoneyError, ProductId, ShippingRateId,
    ShippingZoneId, TaxRateId,
};
use serde::{Deserialize, Serialize};

/// Most discount codes one session may submit.
pub const DISCOUNT_CODES_MAX: usize = 5;
/// Longest discount code.
pub const DISCOUNT_CODE_LEN_MAX: usize = 64;

/// A shipping rate offered inside a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    pub id: ShippingRateId,
    pub title: String,
    pub carrier: Option<String>,
    pub amount: Money,
    /// Free when the discounted item subtotal reaches this many minor units.
    pub free_over_minor: Option<i64>,
    pub min_delivery_days: u32,
    pub max_delivery_days: u32,
    /// Free when the basket holds any of these products (a "free shipping on
    /// roses" promotion).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub free_with_products: Vec<ProductId>,
    /// The merchant's own name for the rate (e.g. `std-ship`), which agents see as
    /// the option id; one code may name the rate of a service level in several
    /// zones, each with its own [`ShippingRateId`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ShippingRate {
    /// Whether the basket's products make this rate free.
    pub fn free_for(&self, products: &[ProductId]) -> bool {
        self.free_with_products.iter().any(|p| products.contains(p))
    }
}

/// Countries served together with a set of rates. An empty country list means
/// "everywhere no other zone covers".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingZone {
    pub id: ShippingZoneId,
    pub name: String,
    pub countries: Vec<CountryCode>,
    pub rates: Vec<ShippingRate>,
}

/// A tax rate for a country, or one region of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    pub id: TaxRateId,
    pub name: String,
    pub country: CountryCode,
    /// Region/state code; `None` means the whole country.
    pub region: Option<String>,
    /// Rate in basis points: 825 = 8.25 %.
    pub rate_bps: u32,
    pub applies_to_shipping: bool,
}

/// What a discount takes off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscountKind {
    /// A percentage of the item subtotal, in basis points (1 000 = 10 %).
    Percentage { rate_bps: u32 },
    /// A fixed amount, never more than the item subtotal.
    FixedAmount { amount: Money },
}

/// A discount code definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    pub id: DiscountId,
    /// Stored uppercase; matched case-insensitively.
    pub code: String,
    pub name: String,
    pub kind: DiscountKind,
    pub min_subtotal_minor: Option<i64>,
    pub starts_at_ms: Option<i64>,
    pub ends_at_ms: Option<i64>,
    pub max_redemptions: Option<u32>,
    pub times_redeemed: u32,
    pub active: bool,
    /// May apply together with other combinable codes (each taking its share of
    /// what the earlier ones left); a code that is not combinable applies alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub combinable: bool,
}

/// Why a code was not applied (ACP `DiscountErrorCode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountRejection {
    DiscountCodeInvalid,
    DiscountCodeExpired,
    DiscountCodeMinimumNotMet,
    DiscountCodeUsageLimitReached,
    DiscountCodeAlreadyApplied,
    DiscountCodeCombinationDisallowed,
}

impl DiscountRejection {
    /// A sentence for the shopper.
    pub fn explain(self) -> &'static str {
        match self {
            Self::DiscountCodeInvalid => "This discount code is not valid.",
            Self::DiscountCodeExpired => "This discount code has expired.",
            Self::DiscountCodeMinimumNotMet => "Your order does not reach this code's minimum.",
            Self::DiscountCodeUsageLimitReached => "This discount code has been used up.",
            Self::DiscountCodeAlreadyApplied => "This discount code is already applied.",
            Self::DiscountCodeCombinationDisallowed => {
                "This discount code cannot be combined with the other codes."
            }
        }
    }
}

/// Normalises a code for matching.
pub fn normalise_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// One line of a basket to price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub unit_price: Money,
    pub quantity: u32,
}

/// Everything [`price`] needs.
#[derive(Clone, Debug)]
pub struct PricingInput<'a> {
    pub currency: Currency,
    pub lines: &'a [LineInput],
    pub codes: &'a [String],
    pub discounts: &'a [Discount],
    /// The shipping rate the shopper picked, if it is valid for the address.
    pub shipping: Option<&'a ShippingRate>,
    pub tax: Option<&'a TaxRate>,
    pub now_ms: i64,
}

/// Amounts for one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub base_minor: i64,
    pub discount_minor: i64,
    pub subtotal_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

/// A code that was applied, and what it took off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDiscount {
    pub discount_id: DiscountId,
    pub code: String,
    pub name: String,
    pub kind: DiscountKind,
    pub amount_minor: i64,
    /// Per line, same order as the input lines.
    pub allocations_minor: Vec<i64>,
}

/// A code that was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedDiscount {
    pub code: String,
    pub reason: DiscountRejection,
}

/// Checkout totals, all in minor units of one currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub items_base_minor: i64,
    pub discount_minor: i64,
    pub subtotal_minor: i64,
    pub fulfillment_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
}

/// The result of pricing a basket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priced {
    pub lines: Vec<PricedLine>,
    pub applied: Vec<AppliedDiscount>,
    pub rejected: Vec<RejectedDiscount>,
    pub totals: Totals,
}

/// The shipping rates offered for a destination: zones listing the country win over
/// the catch-all zone.
pub fn shipping_rates_for<'a>(
    zones: &'a [ShippingZone],
    country: &CountryCode,
) -> Vec<&'a ShippingRate> {
    let explicit: Vec<_> = zones
        .iter()
        .filter(|z| z.countries.contains(country))
        .collect();
    let chosen = if explicit.is_empty() {
        zones.iter().filter(|z| z.countries.is_empty()).collect()
    } else {
        explicit
    };
    chosen.into_iter().flat_map(|z| z.rates.iter()).collect()
}

/// What a rate costs for a given discounted item subtotal.
pub fn shipping_cost_minor(rate: &ShippingRate, items_subtotal_minor: i64) -> i64 {
    match rate.free_over_minor {
        Some(threshold) if items_subtotal_minor >= threshold => 0,
        _ => rate.amount.amount_minor,
    }
}

/// The tax rate for an address: a region-specific rate wins over a country-wide one.
pub fn tax_rate_for<'a>(
    rates: &'a [TaxRate],
    country: &CountryCode,
    region: &str,
) -> Option<&'a TaxRate> {
    let region = region.trim();
    rates
        .iter()
        .filter(|r| &r.country == country)
        .find(|r| {
            r.region
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(region))
        })
        .or_else(|| {
            rates
                .iter()
                .find(|r| &r.country == country && r.region.is_none())
        })
}

fn check_discount(
    d: &Discount,
    items_base_minor: i64,
    currency: Currency,
    now_ms: i64,
) -> Result<(), DiscountRejection> {
    if !d.active {
        return Err(DiscountRejection::DiscountCodeInvalid);
    }
    if let DiscountKind::FixedAmount { amount } = &d.kind
        && amount.currency != currency
    {
        return Err(DiscountRejection::DiscountCodeInvalid);
    }
    if d.starts_at_ms.is_some_and(|s| now_ms < s) {
        return Err(DiscountRejection::DiscountCodeInvalid);
    }
    if d.ends_at_ms.is_some_and(|e| now_ms >= e) {
        return Err(DiscountRejection::DiscountCodeExpired);
    }
    if d.max_redemptions.is_some_and(|m| d.times_redeemed >= m) {
        return Err(DiscountRejection::DiscountCodeUsageLimitReached);
    }
    if d.min_subtotal_minor.is_some_and(|m| items_base_minor < m) {
        return Err(DiscountRejection::DiscountCodeMinimumNotMet);
    }
    Ok(())
}

/// Splits `amount` across `weights` proportionally; the remainder goes to the
/// largest fractional parts so the pieces add up exactly.
pub fn allocate_proportionally(amount: i64, weights: &[i64]) -> Vec<i64> {
    debug_assert!(weights.iter().all(|w| *w >= 0), "weights are amounts");
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if total <= 0 || amount == 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<(usize, i64, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = i128::from(amount) * i128::from(*w);
            // A share of `amount` (weights are not negative), so it fits an i64.
            let share = i64::try_from(exact / total).unwrap_or(amount);
            (i, share, exact % total)
        })
        .collect();
    let mut left = amount - parts.iter().map(|p| p.1).sum::<i64>();
    parts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for p in parts.iter_mut() {
        if left == 0 {
            break;
        }
        p.1 += 1;
        left -= 1;
    }
    parts.sort_by_key(|p| p.0);
    parts.into_iter().map(|p| p.1).collect()
}

/// Prices a basket. Codes stack only where they are combinable (see [`apply_codes`]).
pub fn price(input: &PricingInput<'_>) -> Result<Priced, MoneyError> {
    let currency = input.currency;
    let bases = line_bases_minor(input.lines, currency)?;
    let items_base = sum_minor(&bases, currency)?;
    let (applied, rejected) = apply_codes(input, items_base, &bases)?;
    let line_discounts = line_discounts_minor(&applied, bases.len());
    let discount = line_discounts.iter().sum::<i64>();
    let subtotal = items_base.amount_minor - discount;
    let fulfillment = input
        .shipping
        .map_or(0, |r| shipping_cost_minor(r, subtotal));
    let rate_bps = input.tax.map_or(0, |t| t.rate_bps);
    let lines = priced_lines(&bases, &line_discounts, rate_bps, currency)?;
    let shipping_tax = shipping_tax_minor(input.tax, fulfillment, currency)?;
    let tax = lines.iter().map(|l| l.tax_minor).sum::<i64>() + shipping_tax;
    let total = Money::new(subtotal, currency)?
        .checked_add(Money::new(fulfillment, currency)?)?
        .checked_add(Money::new(tax, currency)?)?;
    let totals = Totals {
        items_base_minor: items_base.amount_minor,
        discount_minor: discount,
        subtotal_minor: subtotal,
        fulfillment_minor: fulfillment,
        tax_minor: tax,
        total_minor: total.amount_minor,
    };
    debug_assert_eq!(
        totals.subtotal_minor + totals.fulfillment_minor + totals.tax_minor,
        totals.total_minor
    );
    Ok(Priced {
        lines,
        applied,
        rejected,
        totals,
    })
}

/// Each line's undiscounted amount (unit price × quantity). Every line must be in
/// the basket's currency: a mixed basket is refused, never converted.
fn line_bases_minor(lines: &[LineInput], currency: Currency) -> Result<Vec<i64>, MoneyError> {
    let mut bases = Vec::with_capacity(lines.len());
    for line in lines {
        if line.unit_price.currency != currency {
            return Err(MoneyError::CurrencyMismatch(
                line.unit_price.currency,
                currency,
            ));
        }
        bases.push(
            line.unit_price
                .checked_mul(i64::from(line.quantity))?
                .amount_minor,
        );
    }
    Ok(bases)
}

/// The sum of `amounts`, with checked arithmetic so an absurd basket is an error
/// rather than a wrapped total.
fn sum_minor(amounts: &[i64], currency: Currency) -> Result<Money, MoneyError> {
    amounts.iter().try_fold(Money::zero(currency), |acc, a| {
        acc.checked_add(Money::new(*a, currency)?)
    })
}

/// Goes through the submitted codes in order (at most [`DISCOUNT_CODES_MAX`]).
/// The first acceptable code applies; a later one applies too when it and every
/// code applied before it are combinable, on what those left (so 10 % then 20 %
/// of 3500 is 350 then 630). Every other code is rejected with its reason.
fn apply_codes(
    input: &PricingInput<'_>,
    items_base: Money,
    bases: &[i64],
) -> Result<(Vec<AppliedDiscount>, Vec<RejectedDiscount>), MoneyError> {
    let mut applied: Vec<AppliedDiscount> = Vec::new();
    let mut rejected = Vec::new();
    let mut seen = Vec::new();
    // What each line still costs after the codes applied so far.
    let mut remaining = bases.to_vec();
    let mut stack = Stack::Empty;
    for raw in input.codes.iter().take(DISCOUNT_CODES_MAX) {
        let code = normalise_code(raw);
        let verdict = if seen.contains(&code) {
            Err(DiscountRejection::DiscountCodeAlreadyApplied)
        } else {
            seen.push(code.clone());
            screen_code(input, &code, items_base.amount_minor, stack)
        };
        match verdict {
            Err(reason) => rejected.push(RejectedDiscount { code, reason }),
            Ok(d) => {
                let left = sum_minor(&remaining, items_base.currency)?;
                let amount = discount_amount_minor(&d.kind, left)?;
                let allocations = allocate_proportionally(amount, &remaining);
                for (line, share) in remaining.iter_mut().zip(&allocations) {
                    *line -= share;
                }
                debug_assert!(
                    remaining.iter().all(|r| *r >= 0),
                    "a line discounted below zero"
                );
                stack = if d.combinable && stack != Stack::Exclusive {
                    Stack::Combinable
                } else {
                    Stack::Exclusive
                };
                applied.push(AppliedDiscount {
                    discount_id: d.id,
                    code,
                    name: d.name.clone(),
                    kind: d.kind.clone(),
                    amount_minor: amount,
                    allocations_minor: allocations,
                });
            }
        }
    }
    Ok((applied, rejected))
}

/// What the codes applied so far allow next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stack {
    /// No code applied yet: any acceptable code may apply.
    Empty,
    /// Only combinable codes applied: another combinable one may join them.
    Combinable,
    /// A code that applies alone is in: nothing else may.
    Exclusive,
}

/// The discount a (normalised, not yet seen) code names, if it may apply now:
/// it must exist, pass [`check_discount`], and combine with what is applied.
fn screen_code<'a>(
    input: &PricingInput<'a>,
    code: &str,
    items_base_minor: i64,
    stack: Stack,
) -> Result<&'a Discount, DiscountRejection> {
    let d = input
        .discounts
        .iter()
        .find(|d| d.code == code)
        .ok_or(DiscountRejection::DiscountCodeInvalid)?;
    check_discount(d, items_base_minor, input.currency, input.now_ms)?;
    let combines = match stack {
        Stack::Empty => true,
        Stack::Combinable => d.combinable,
        Stack::Exclusive => false,
    };
    if !combines {
        return Err(DiscountRejection::DiscountCodeCombinationDisallowed);
    }
    Ok(d)
}

/// What a discount takes off the item subtotal: never more than 100 % of it, and
/// a fixed amount never more than the subtotal itself.
fn discount_amount_minor(kind: &DiscountKind, items_base: Money) -> Result<i64, MoneyError> {
    Ok(match kind {
        DiscountKind::Percentage { rate_bps } => {
            items_base
                .percent_bps((*rate_bps).min(10_000))?
                .amount_minor
        }
        DiscountKind::FixedAmount { amount } => {
            amount.amount_minor.clamp(0, items_base.amount_minor)
        }
    })
}

/// The discount each line carries: its share of every applied code.
fn line_discounts_minor(applied: &[AppliedDiscount], line_count: usize) -> Vec<i64> {
    (0..line_count)
        .map(|i| applied.iter().map(|a| a.allocations_minor[i]).sum())
        .collect()
}

/// Per-line amounts. Tax is computed on each discounted line (and rounded there),
/// so line taxes add up to the order's item tax exactly.
fn priced_lines(
    bases: &[i64],
    line_discounts: &[i64],
    rate_bps: u32,
    currency: Currency,
) -> Result<Vec<PricedLine>, MoneyError> {
    let mut lines = Vec::with_capacity(bases.len());
    for (base, line_discount) in bases.iter().zip(line_discounts) {
        let line_subtotal = base - line_discount;
        let tax = Money::new(line_subtotal, currency)?
            .percent_bps(rate_bps)?
            .amount_minor;
        lines.push(PricedLine {
            base_minor: *base,
            discount_minor: *line_discount,
            subtotal_minor: line_subtotal,
            tax_minor: tax,
            total_minor: line_subtotal + tax,
        });
    }
    Ok(lines)
}

/// Tax on the shipping cost, only where the rate says shipping is taxed.
fn shipping_tax_minor(
    tax: Option<&TaxRate>,
    fulfillment_minor: i64,
    currency: Currency,
) -> Result<i64, MoneyError> {
    Ok(match tax {
        Some(t) if t.applies_to_shipping => {
            Money::new(fulfillment_minor, currency)?
                .percent_bps(t.rate_bps)?
                .amount_minor
        }
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }
    fn m(a: i64) -> Money {
        Money::new(a, usd()).unwrap()
    }
    fn discount(code: &str, kind: DiscountKind) -> Discount {
        Discount {
            id: DiscountId::new(),
            code: code.into(),
            name: code.into(),
            kind,
            min_subtotal_minor: None,
            starts_at_ms: None,
            ends_at_ms: None,
            max_redemptions: None,
            times_redeemed: 0,
            active: true,
            combinable: false,
        }
    }
    fn rate(amount: i64, free_over: Option<i64>) -> ShippingRate {
        ShippingRate {
            id: ShippingRateId::new(),
            title: "Standard".into(),
            carrier: None,
            amount: m(amount),
            free_over_minor: free_over,
            min_delivery_days: 3,
            max_delivery_days: 5,
            free_with_products: vec![],
            code: None,
        }
    }
    fn tax(bps: u32, shipping: bool) -> TaxRate {
        TaxRate {
            id: TaxRateId::new(),
            name: "Sales tax".into(),
            country: CountryCode::parse("US").unwrap(),
            region: Some("CA".into()),
            rate_bps: bps,
            applies_to_shipping: shipping,
        }
    }

    #[test]
    fn worked_example() {
        let lines = [
            LineInput {
                unit_price: m(2500),
                quantity: 2,
            },
            LineInput {
                unit_price: m(1000),
                quantity: 1,
            },
        ];
        let codes = vec!["save10".to_string()];
        let discounts = vec![discount(
            "SAVE10",
            DiscountKind::Percentage { rate_bps: 1000 },
        )];
        let ship = rate(500, None);
        let t = tax(825, false);
        let p = price(&PricingInput {
            currency: usd(),
            lines: &lines,
            codes: &codes,
            discounts: &discounts,
            shipping: Some(&ship),
            tax: Some(&t),
            now_ms: 0,
        })
        .unwrap();
        assert_eq!(p.totals.items_base_minor, 6000);
        assert_eq!(p.totals.discount_minor, 600);
        assert_eq!(p.totals.subtotal_minor, 5400);
        assert_eq!(p.totals.fulfillment_minor, 500);
        // Tax per discounted line: 8.25 % of 4500 = 371.25 -> 371; of 900 = 74.25 -> 74.
        assert_eq!(p.totals.tax_minor, 445);
        assert_eq!(p.totals.total_minor, 5400 + 500 + 445);
        assert_eq!(p.applied[0].allocations_minor, vec![500, 100]);
    }

    #[test]
    fn codes_are_rejected_with_reasons() {
        let mut expired = discount("OLD", DiscountKind::Percentage { rate_bps: 500 });
        expired.ends_at_ms = Some(10);
        let mut minimum = discount("BIG", DiscountKind::FixedAmount { amount: m(100) });
        minimum.min_subtotal_minor = Some(1_000_000);
        let good = discount("GOOD", DiscountKind::FixedAmount { amount: m(100) });
        let also = discount("ALSO", DiscountKind::FixedAmount { amount: m(100) });
        let discounts = vec![expired, minimum, good, also];
        let codes: Vec<String> = ["nope", "old", "big", "good", "GOOD", "also"]
            .map(String::from)
            .to_vec();
        let lines = [LineInput {
            unit_price: m(1000),
            quantity: 1,
        }];
        let p = price(&PricingInput {
            currency: usd(),
            lines: &lines,
            codes: &codes,
            discounts: &discounts,
            shipping: None,
            tax: None,
            now_ms: 20,
        })
        .unwrap();
        let reasons: Vec<_> = p.rejected.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            vec![
                DiscountRejection::DiscountCodeInvalid,
                DiscountRejection::DiscountCodeExpired,
                DiscountRejection::DiscountCodeMinimumNotMet,
                DiscountRejection::DiscountCodeAlreadyApplied,
            ]
        );
        // Only five codes are considered at most; "also" is the sixth.
        assert_eq!(p.applied.len(), 1);
        assert_eq!(p.totals.discount_minor, 100);
    }

    #[test]
    fn combinable_codes_stack_on_what_the_earlier_ones_left() {
        let combinable = |code: &str, kind| Discount {
            combinable: true,
            ..discount(code, kind)
        };
        let discounts = vec![
            combinable("10OFF", DiscountKind::Percentage { rate_bps: 1000 }),
            combinable("WELCOME20", DiscountKind::Percentage { rate_bps: 2000 }),
            combinable("FIXED500", DiscountKind::FixedAmount { amount: m(500) }),
            discount("ALONE", DiscountKind::FixedAmount { amount: m(100) }),
        ];
        let lines = [
            LineInput {
                unit_price: m(3000),
                quantity: 1,
            },
            LineInput {
                unit_price: m(500),
                quantity: 1,
            },
        ];
        let run = |codes: &[&str]| {
            let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            price(&PricingInput {
                currency: usd(),
                lines: &lines,
                codes: &codes,
                discounts: &discounts,
                shipping: None,
                tax: None,
                now_ms: 0,
            })
            .unwrap()
        };
        // 3500 -> 10 % (350) -> 3150 -> 20 % (630) -> 2520.
        let p = run(&["10off", "welcome20"]);
        let amounts: Vec<i64> = p.applied.iter().map(|a| a.amount_minor).collect();
        assert_eq!(amounts, vec![350, 630]);
        assert_eq!(p.totals.total_minor, 2520);
        for a in &p.applied {
            assert_eq!(a.allocations_minor.iter().sum::<i64>(), a.amount_minor);
        }
        assert_eq!(run(&["FIXED500", "10OFF"]).totals.total_minor, 2700);
        // A code that is not combinable applies alone, first or later.
        let p = run(&["ALONE", "10OFF"]);
        assert_eq!(p.totals.discount_minor, 100);
        assert_eq!(
            p.rejected[0].reason,
            DiscountRejection::DiscountCodeCombinationDisallowed
        );
        let p = run(&["10OFF", "ALONE", "WELCOME20"]);
        assert_eq!(p.totals.discount_minor, 350 + 630);
        assert_eq!(p.rejected.len(), 1);
        // Stacked fixed amounts never take a line below zero.
        let p = run(&["FIXED500"; 1]);
        assert_eq!(p.totals.discount_minor, 500);
    }

    #[test]
    fn free_shipping_threshold_and_shipping_tax() {
        let lines = [LineInput {
            unit_price: m(5000),
            quantity: 1,
        }];
        let ship = rate(700, Some(5000));
        let p = price(&PricingInput {
            currency: usd(),
            lines: &lines,
            codes: &[],
            discounts: &[],
            shipping: Some(&ship),
            tax: None,
            now_ms: 0,
        })
        .unwrap();
        assert_eq!(p.totals.fulfillment_minor, 0);
        let cheap = [LineInput {
            unit_price: m(100),
            quantity: 1,
        }];
        let t = tax(1000, true);
        let p = price(&PricingInput {
            currency: usd(),
            lines: &cheap,
            codes: &[],
            discounts: &[],
            shipping: Some(&ship),
            tax: Some(&t),
            now_ms: 0,
        })
        .unwrap();
        assert_eq!(p.totals.fulfillment_minor, 700);
        assert_eq!(p.totals.tax_minor, 10 + 70);
    }

    #[test]
    fn zones_and_tax_lookup() {
        let us = CountryCode::parse("US").unwrap();
        let fr = CountryCode::parse("FR").unwrap();
        let zones = vec![
            ShippingZone {
                id: ShippingZoneId::new(),
                name: "US".into(),
                countries: vec![us.clone()],
                rates: vec![rate(500, None)],
            },
            ShippingZone {
                id: ShippingZoneId::new(),
                name: "World".into(),
                countries: vec![],
                rates: vec![rate(2000, None), rate(4000, None)],
            },
        ];
        assert_eq!(shipping_rates_for(&zones, &us).len(), 1);
        assert_eq!(shipping_rates_for(&zones, &fr).len(), 2);
        let mut country_wide = tax(600, false);
        country_wide.region = None;
        let rates = vec![country_wide, tax(825, false)];
        assert_eq!(tax_rate_for(&rates, &us, "ca").unwrap().rate_bps, 825);
        assert_eq!(tax_rate_for(&rates, &us, "NY").unwrap().rate_bps, 600);
        assert!(tax_rate_for(&rates, &fr, "").is_none());
    }

    proptest! {
        #[test]
        fn totals_always_add_up(
            lines in proptest::collection::vec((0i64..1_000_000, 1u32..50), 1..8),
            pct in 0u32..=10_000,
            fixed in 0i64..10_000_000,
            use_pct in any::<bool>(),
            ship in 0i64..10_000,
            bps in 0u32..3_000,
            ship_taxed in any::<bool>(),
        ) {
            let lines: Vec<_> = lines.into_iter().map(|(p, q)| LineInput { unit_price: m(p), quantity: q }).collect();
            let kind = if use_pct { DiscountKind::Percentage { rate_bps: pct } } else { DiscountKind::FixedAmount { amount: m(fixed) } };
            let discounts = vec![discount("X", kind)];
            let codes = vec!["x".to_string()];
            let r = rate(ship, None);
            let t = tax(bps, ship_taxed);
            let p = price(&PricingInput { currency: usd(), lines: &lines, codes: &codes, discounts: &discounts, shipping: Some(&r), tax: Some(&t), now_ms: 0 }).unwrap();
            let tt = p.totals;
            prop_assert_eq!(tt.subtotal_minor, tt.items_base_minor - tt.discount_minor);
            prop_assert_eq!(tt.total_minor, tt.subtotal_minor + tt.fulfillment_minor + tt.tax_minor);
            prop_assert!(tt.discount_minor >= 0 && tt.discount_minor <= tt.items_base_minor);
            prop_assert!(tt.tax_minor >= 0 && tt.total_minor >= 0);
            prop_assert_eq!(p.lines.iter().map(|l| l.discount_minor).sum::<i64>(), tt.discount_minor);
            for l in &p.lines { prop_assert!(l.discount_minor <= l.base_minor && l.subtotal_minor >= 0); }
        }

        #[test]
        fn proportional_allocation_is_exact(amount in 0i64..1_000_000, weights in proptest::collection::vec(0i64..100_000, 1..10)) {
            let parts = allocate_proportionally(amount, &weights);
            if weights.iter().sum::<i64>() > 0 {
                prop_assert_eq!(parts.iter().sum::<i64>(), amount);
            }
            prop_assert!(parts.iter().all(|p| *p >= 0));
        }
    }
}
