//! Turns a session's inputs plus the merchant's rules into a [`Quote`]: totals,
//! shipping options and every message the shopper must see.

use crate::pricing::{
    self, Discount, DiscountRejection, LineInput, Priced, PricingInput, ShippingRate, ShippingZone,
    TaxRate,
};
use crate::session::{
    Buyer, ErrorCode, Fulfillment, FulfillmentQuote, Message, Quote, Requirements, SessionLine,
    WarningCode,
};
use crate::{Currency, MoneyError, ProductId, ShippingRateId, VariantId};
use std::collections::{BTreeMap, BTreeSet};

/// At or below this many units left, the shopper sees "only N left".
pub const LOW_STOCK_THRESHOLD: i64 = 5;

/// The inputs of a quote.
#[derive(Clone, Debug)]
pub struct QuoteInput<'a> {
    pub currency: Currency,
    pub lines: &'a [SessionLine],
    pub buyer: &'a Buyer,
    pub fulfillment: &'a Fulfillment,
    pub selected_shipping: Option<ShippingRateId>,
    pub codes: &'a [String],
    pub codes_from_coupons: bool,
    pub zones: &'a [ShippingZone],
    pub tax_rates: &'a [TaxRate],
    pub discounts: &'a [Discount],
    pub now_ms: i64,
    /// Units of each variant this buyer already has elsewhere (older open
    /// checkouts, recent orders), counted against `max_quantity_per_order`.
    pub buyer_units: &'a BTreeMap<VariantId, i64>,
    /// What besides the lines must be known before payment (set by the door).
    pub requirements: Requirements,
}

/// A quote plus the shipping rate that is actually selected (the shopper's choice
/// when it is offered for the address, else the cheapest offered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub quote: Quote,
    pub selected_shipping: Option<ShippingRateId>,
}

/// Prices the session and lists what blocks payment.
pub fn evaluate(input: &QuoteInput<'_>) -> Result<Evaluation, MoneyError> {
    let mut messages = line_messages(input.lines, input.buyer_units);
    let address = input.fulfillment.address.as_ref();
    let rates = address.map_or_else(Vec::new, |a| {
        pricing::shipping_rates_for(input.zones, &a.country)
    });
    let tax = address.and_then(|a| pricing::tax_rate_for(input.tax_rates, &a.country, &a.state));
    let lines = line_inputs(input.lines);
    let products: Vec<ProductId> = input.lines.iter().map(|l| l.product_id).collect();
    // Price once without shipping to know the discounted subtotal, which decides
    // free-shipping thresholds; then pick the rate and price for real.
    let base = price_lines(input, &lines, None, tax)?;
    let options = fulfillment_options(&rates, base.totals.subtotal_minor, &products);
    let selected = selected_rate_id(input.selected_shipping, &options);
    // A rate the basket's products make free is priced as free.
    let selected_rate = selected
        .and_then(|id| rates.iter().find(|r| r.id == id).copied())
        .map(|r| {
            if r.free_for(&products) {
                ShippingRate {
                    amount: crate::Money::zero(r.amount.currency),
                    ..r.clone()
                }
            } else {
                r.clone()
            }
        });
    let priced = price_lines(input, &lines, selected_rate.as_ref(), tax)?;

    messages.extend(contact_messages(input, options.is_empty()));
    messages.extend(discount_messages(
        input.codes,
        &priced.rejected,
        input.codes_from_coupons,
    ));
    Ok(Evaluation {
        quote: Quote {
            lines: priced.lines,
            fulfillment_options: options,
            applied_discounts: priced.applied,
            rejected_discounts: priced.rejected,
            totals: priced.totals,
            messages,
        },
        selected_shipping: selected,
    })
}

/// The session's lines as the pricing engine sees them: a price and a count.
fn line_inputs(lines: &[SessionLine]) -> Vec<LineInput> {
    lines
        .iter()
        .map(|l| LineInput {
            unit_price: l.unit_price,
            quantity: l.quantity.get(),
        })
        .collect()
}

/// Prices the session's lines with its codes and the given shipping rate and tax.
fn price_lines(
    input: &QuoteInput<'_>,
    lines: &[LineInput],
    shipping: Option<&ShippingRate>,
    tax: Option<&TaxRate>,
) -> Result<Priced, MoneyError> {
    pricing::price(&PricingInput {
        currency: input.currency,
        lines,
        codes: input.codes,
        discounts: input.discounts,
        shipping,
        tax,
        now_ms: input.now_ms,
    })
}

/// Every rate offered for the address with what it costs at this discounted
/// subtotal and for these products, cheapest first (ties by id, so the order is
/// stable).
fn fulfillment_options(
    rates: &[&ShippingRate],
    subtotal_minor: i64,
    products: &[ProductId],
) -> Vec<FulfillmentQuote> {
    let mut options: Vec<FulfillmentQuote> = rates
        .iter()
        .map(|r| FulfillmentQuote {
            rate: (*r).clone(),
            amount_minor: if r.free_for(products) {
                0
            } else {
                pricing::shipping_cost_minor(r, subtotal_minor)
            },
        })
        .collect();
    options.sort_by(|a, b| {
        a.amount_minor
            .cmp(&b.amount_minor)
            .then(a.rate.id.cmp(&b.rate.id))
    });
    options
}

/// The shopper's choice when it is offered for the address, else the cheapest.
fn selected_rate_id(
    chosen: Option<ShippingRateId>,
    options: &[FulfillmentQuote],
) -> Option<ShippingRateId> {
    chosen
        .filter(|id| options.iter().any(|o| o.rate.id == *id))
        .or_else(|| options.first().map(|o| o.rate.id))
}

/// What blocks payment besides the lines: no email to confirm the order to, no
/// address, an address nothing ships to, or only a destination (a wallet's
/// region before the shopper pays) with no street to deliver to. The email and
/// the street are asked for only where the session's requirements say so.
fn contact_messages(input: &QuoteInput<'_>, no_options: bool) -> Vec<Message> {
    let mut messages = Vec::new();
    let needs = input.requirements;
    if needs.email && input.buyer.email.is_none() && input.fulfillment.email.is_none() {
        messages.push(Message::blocking(
            ErrorCode::Missing,
            "$.buyer.email",
            "An email address is needed for the order confirmation.",
        ));
    }
    match &input.fulfillment.address {
        None => messages.push(Message::blocking(
            ErrorCode::Missing,
            "$.fulfillment_details.address",
            "A shipping address is needed.",
        )),
        Some(address) => {
            if no_options {
                messages.push(Message::blocking(
                    ErrorCode::Invalid,
                    "$.fulfillment_details.address.country",
                    "We do not ship to this country.",
                ));
            }
            if needs.street_address && address.is_destination_only() {
                messages.push(Message::blocking(
                    ErrorCode::Missing,
                    "$.fulfillment_details.address.line_one",
                    "A street address is needed.",
                ));
            }
        }
    }
    messages
}

/// How far back a buyer's orders count against per-buyer limits.
pub const BUYER_LIMIT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Variants whose `max_quantity_per_order` this session breaks: its own lines of
/// the variant together (repeated lines count together), plus what the buyer
/// already has elsewhere (`buyer_units`). These variants are not held at all, so
/// an over-limit basket cannot hoard stock while it waits.
pub fn over_limit(
    lines: &[SessionLine],
    buyer_units: &BTreeMap<VariantId, i64>,
) -> BTreeSet<VariantId> {
    let mut wanted: BTreeMap<VariantId, (i64, u32)> = BTreeMap::new();
    for line in lines {
        if let Some(max) = line.max_quantity_per_order {
            wanted.entry(line.variant_id).or_insert((0, max)).0 += i64::from(line.quantity.get());
        }
    }
    wanted
        .into_iter()
        .filter(|(v, (units, max))| {
            units + buyer_units.get(v).copied().unwrap_or(0).max(0) > i64::from(*max)
        })
        .map(|(v, _)| v)
        .collect()
}

fn line_messages(lines: &[SessionLine], buyer_units: &BTreeMap<VariantId, i64>) -> Vec<Message> {
    if lines.is_empty() {
        return vec![Message::blocking(
            ErrorCode::Missing,
            "$.line_items",
            "Add at least one item.",
        )];
    }
    let over = over_limit(lines, buyer_units);
    let mut in_session: BTreeMap<VariantId, i64> = BTreeMap::new();
    for line in lines {
        *in_session.entry(line.variant_id).or_insert(0) += i64::from(line.quantity.get());
    }
    let mut messages = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let param = format!("$.line_items[{i}]");
        let qty = i64::from(line.quantity.get());
        if let (true, Some(max)) = (over.contains(&line.variant_id), line.max_quantity_per_order) {
            let elsewhere = buyer_units.get(&line.variant_id).copied().unwrap_or(0);
            let text = if in_session[&line.variant_id] > i64::from(max) || elsewhere <= 0 {
                format!("{}: at most {max} per order.", line.title)
            } else {
                format!(
                    "{}: at most {max} per customer, and you already have {elsewhere} in another checkout or a recent order.",
                    line.title
                )
            };
            messages.push(Message::blocking(ErrorCode::QuantityExceeded, param, text));
        } else if line.available <= 0 {
            messages.push(Message::blocking(
                ErrorCode::OutOfStock,
                param,
                format!("{} is out of stock.", line.title),
            ));
        } else if line.available < qty {
            messages.push(Message::blocking(
                ErrorCode::QuantityExceeded,
                param,
                format!("Only {} of {} left.", line.available, line.title),
            ));
        } else if line.available - qty < LOW_STOCK_THRESHOLD {
            messages.push(Message::warning(
                WarningCode::LowStock,
                Some(param),
                format!("Only {} of {} left.", line.available, line.title),
            ));
        }
    }
    messages
}

fn discount_messages(
    codes: &[String],
    rejected: &[pricing::RejectedDiscount],
    from_coupons: bool,
) -> Vec<Message> {
    rejected
        .iter()
        .map(|r| {
            let index = codes
                .iter()
                .position(|c| pricing::normalise_code(c) == r.code)
                .unwrap_or(0);
            let content = format!("{} ({})", r.reason.explain(), r.code);
            if from_coupons {
                let code = if r.reason == DiscountRejection::DiscountCodeExpired {
                    ErrorCode::CouponExpired
                } else {
                    ErrorCode::CouponInvalid
                };
                Message::error(code, Some(format!("$.coupons[{index}]")), content)
            } else {
                let code = match r.reason {
                    DiscountRejection::DiscountCodeInvalid => WarningCode::DiscountCodeInvalid,
                    DiscountRejection::DiscountCodeExpired => WarningCode::DiscountCodeExpired,
                    DiscountRejection::DiscountCodeMinimumNotMet => {
                        WarningCode::DiscountCodeMinimumNotMet
                    }
                    DiscountRejection::DiscountCodeUsageLimitReached => {
                        WarningCode::DiscountCodeUsageLimitReached
                    }
                    DiscountRejection::DiscountCodeAlreadyApplied => {
                        WarningCode::DiscountCodeAlreadyApplied
                    }
                    DiscountRejection::DiscountCodeCombinationDisallowed => {
                        WarningCode::DiscountCodeCombinationDisallowed
                    }
                };
                Message::warning(code, Some(format!("$.discounts.codes[{index}]")), content)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{ShippingRate, ShippingZone};
    use crate::session::MessageKind;
    use crate::{
        Address, CountryCode, Email, LineItemId, Money, ProductId, Quantity, ShippingZoneId,
        VariantId,
    };

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }
    fn line(qty: i64, available: i64) -> SessionLine {
        SessionLine {
            id: LineItemId::new(),
            variant_id: VariantId::new(),
            product_id: ProductId::new(),
            quantity: Quantity::parse(qty).unwrap(),
            title: "Tee".into(),
            sku: "TEE".into(),
            unit_price: Money::new(2000, usd()).unwrap(),
            image_url: None,
            options: vec![],
            max_quantity_per_order: Some(5),
            available,
        }
    }
    fn zones() -> Vec<ShippingZone> {
        let rate = |amount| ShippingRate {
            id: ShippingRateId::new(),
            title: "Std".into(),
            carrier: None,
            amount: Money::new(amount, usd()).unwrap(),
            free_over_minor: None,
            free_with_products: vec![],
            code: None,
            min_delivery_days: 1,
            max_delivery_days: 2,
        };
        vec![ShippingZone {
            id: ShippingZoneId::new(),
            name: "US".into(),
            countries: vec![CountryCode::parse("US").unwrap()],
            rates: vec![rate(900), rate(500)],
        }]
    }
    fn codes(messages: &[Message]) -> Vec<MessageKind> {
        messages.iter().map(|m| m.kind).collect()
    }

    #[test]
    fn empty_session_lists_what_is_missing() {
        let (buyer, ful, zones) = (Buyer::default(), Fulfillment::default(), zones());
        let e = evaluate(&QuoteInput {
            currency: usd(),
            lines: &[],
            buyer: &buyer,
            fulfillment: &ful,
            selected_shipping: None,
            codes: &[],
            codes_from_coupons: false,
            zones: &zones,
            tax_rates: &[],
            discounts: &[],
            now_ms: 0,
            buyer_units: &BTreeMap::new(),
            requirements: Requirements::default(),
        })
        .unwrap();
        assert!(!e.quote.is_ready());
        assert_eq!(
            codes(&e.quote.messages),
            vec![MessageKind::Error(ErrorCode::Missing); 3]
        );
    }

    #[test]
    fn complete_session_is_ready_with_cheapest_shipping() {
        let buyer = Buyer {
            email: Some(Email::parse("a@b.co").unwrap()),
            ..Default::default()
        };
        let ful = Fulfillment {
            address: Some(Address::parse("A", "1 St", None, "SF", "CA", "US", "94000").unwrap()),
            ..Default::default()
        };
        let zones = zones();
        let lines = [line(1, 100)];
        let e = evaluate(&QuoteInput {
            currency: usd(),
            lines: &lines,
            buyer: &buyer,
            fulfillment: &ful,
            selected_shipping: None,
            codes: &[],
            codes_from_coupons: false,
            zones: &zones,
            tax_rates: &[],
            discounts: &[],
            now_ms: 0,
            buyer_units: &BTreeMap::new(),
            requirements: Requirements::default(),
        })
        .unwrap();
        assert!(e.quote.is_ready(), "{:?}", e.quote.messages);
        assert_eq!(e.quote.totals.fulfillment_minor, 500);
        assert_eq!(e.selected_shipping, Some(zones[0].rates[1].id));
    }

    #[test]
    fn requirements_decide_what_besides_the_lines_blocks_payment() {
        // An agent's checkout (UCP) need not carry an email; the conformance mode's
        // need not carry a street either.
        let ful = Fulfillment {
            address: Some(Address::destination("", "", "", "US", "").unwrap()),
            ..Default::default()
        };
        let zones = zones();
        let lines = [line(1, 100)];
        let evaluate_with = |requirements| {
            evaluate(&QuoteInput {
                currency: usd(),
                lines: &lines,
                buyer: &Buyer::default(),
                fulfillment: &ful,
                selected_shipping: None,
                codes: &[],
                codes_from_coupons: false,
                zones: &zones,
                tax_rates: &[],
                discounts: &[],
                now_ms: 0,
                buyer_units: &BTreeMap::new(),
                requirements,
            })
            .unwrap()
        };
        let params = |e: &Evaluation| -> Vec<Option<String>> {
            e.quote.messages.iter().map(|m| m.param.clone()).collect()
        };
        let all = evaluate_with(Requirements::default());
        assert_eq!(
            params(&all),
            vec![
                Some("$.buyer.email".to_string()),
                Some("$.fulfillment_details.address.line_one".to_string())
            ]
        );
        let no_email = evaluate_with(Requirements {
            email: false,
            street_address: true,
        });
        assert_eq!(params(&no_email).len(), 1);
        let neither = evaluate_with(Requirements {
            email: false,
            street_address: false,
        });
        assert!(neither.quote.is_ready());
    }

    #[test]
    fn a_product_can_make_a_rate_free() {
        let buyer = Buyer {
            email: Some(Email::parse("a@b.co").unwrap()),
            ..Default::default()
        };
        let ful = Fulfillment {
            address: Some(Address::parse("A", "1 St", None, "SF", "CA", "US", "94000").unwrap()),
            ..Default::default()
        };
        let mut zones = zones();
        let lines = [line(1, 100)];
        // The cheaper rate (500) is free with this line's product.
        zones[0].rates[1].free_with_products = vec![lines[0].product_id];
        let e = evaluate(&QuoteInput {
            currency: usd(),
            lines: &lines,
            buyer: &buyer,
            fulfillment: &ful,
            selected_shipping: None,
            codes: &[],
            codes_from_coupons: false,
            zones: &zones,
            tax_rates: &[],
            discounts: &[],
            now_ms: 0,
            buyer_units: &BTreeMap::new(),
            requirements: Requirements::default(),
        })
        .unwrap();
        assert_eq!(e.quote.fulfillment_options[0].amount_minor, 0);
        assert_eq!(e.quote.totals.fulfillment_minor, 0);
        assert_eq!(e.quote.totals.total_minor, 2000);
    }

    #[test]
    fn a_destination_is_priced_but_not_payable() {
        let buyer = Buyer {
            email: Some(Email::parse("a@b.co").unwrap()),
            ..Default::default()
        };
        let ful = Fulfillment {
            address: Some(Address::destination("", "SF", "CA", "US", "94000").unwrap()),
            ..Default::default()
        };
        let zones = zones();
        let lines = [line(1, 100)];
        let e = evaluate(&QuoteInput {
            currency: usd(),
            lines: &lines,
            buyer: &buyer,
            fulfillment: &ful,
            selected_shipping: None,
            codes: &[],
            codes_from_coupons: false,
            zones: &zones,
            tax_rates: &[],
            discounts: &[],
            now_ms: 0,
            buyer_units: &BTreeMap::new(),
            requirements: Requirements::default(),
        })
        .unwrap();
        assert!(!e.quote.is_ready());
        assert_eq!(e.quote.fulfillment_options.len(), 2, "rates for the region");
        assert_eq!(e.quote.totals.fulfillment_minor, 500);
        assert_eq!(
            e.quote
                .messages
                .iter()
                .map(|m| m.param.as_deref())
                .collect::<Vec<_>>(),
            vec![Some("$.fulfillment_details.address.line_one")]
        );
    }

    #[test]
    fn stock_and_caps_block_payment() {
        let (buyer, ful, zones) = (Buyer::default(), Fulfillment::default(), zones());
        let lines = [line(1, 0), line(3, 2), line(6, 100), line(2, 4)];
        let e = evaluate(&QuoteInput {
            currency: usd(),
            lines: &lines,
            buyer: &buyer,
            fulfillment: &ful,
            selected_shipping: None,
            codes: &[],
            codes_from_coupons: false,
            zones: &zones,
            tax_rates: &[],
            discounts: &[],
            now_ms: 0,
            buyer_units: &BTreeMap::new(),
            requirements: Requirements::default(),
        })
        .unwrap();
        let kinds = codes(&e.quote.messages);
        assert_eq!(
            &kinds[..4],
            &[
                MessageKind::Error(ErrorCode::OutOfStock),
                MessageKind::Error(ErrorCode::QuantityExceeded),
                MessageKind::Error(ErrorCode::QuantityExceeded),
                MessageKind::Warning(WarningCode::LowStock),
            ]
        );
        assert_eq!(
            e.quote.messages[1].param.as_deref(),
            Some("$.line_items[1]")
        );
    }

    #[test]
    fn limits_count_repeated_lines_and_what_the_buyer_has_elsewhere() {
        let a = line(3, 100);
        let mut a_again = line(3, 100);
        a_again.variant_id = a.variant_id;
        let b = line(2, 100);
        // 3 + 3 of `a` in one session break its limit of 5; `b` alone does not.
        let over = over_limit(&[a.clone(), a_again.clone(), b.clone()], &BTreeMap::new());
        assert_eq!(over, BTreeSet::from([a.variant_id]));
        // `b` with 4 more elsewhere (2 + 4 > 5) does; 3 elsewhere (2 + 3) does not.
        let elsewhere = BTreeMap::from([(b.variant_id, 4)]);
        assert!(over_limit(std::slice::from_ref(&b), &elsewhere).contains(&b.variant_id));
        let elsewhere = BTreeMap::from([(b.variant_id, 3)]);
        assert!(over_limit(std::slice::from_ref(&b), &elsewhere).is_empty());
        // No limit, no count.
        let mut free = line(999, 1000);
        free.max_quantity_per_order = None;
        let lots = BTreeMap::from([(free.variant_id, 10_000)]);
        assert!(over_limit(&[free], &lots).is_empty());

        let (buyer, ful, zones) = (Buyer::default(), Fulfillment::default(), zones());
        let lines = [b.clone()];
        let elsewhere = BTreeMap::from([(b.variant_id, 4)]);
        let e = evaluate(&QuoteInput {
            currency: usd(),
            lines: &lines,
            buyer: &buyer,
            fulfillment: &ful,
            selected_shipping: None,
            codes: &[],
            codes_from_coupons: false,
            zones: &zones,
            tax_rates: &[],
            discounts: &[],
            now_ms: 0,
            buyer_units: &elsewhere,
            requirements: Requirements::default(),
        })
        .unwrap();
        let m = &e.quote.messages[0];
        assert_eq!(m.kind, MessageKind::Error(ErrorCode::QuantityExceeded));
        assert!(m.content.contains("per customer"), "{}", m.content);
    }
}
