//! Turns a session's inputs plus the merchant's rules into a [`Quote`]: totals,
//! shipping options and every message the shopper must see.

use crate::pricing::{
    self, Discount, DiscountRejection, LineInput, PricingInput, ShippingZone, TaxRate,
};
use crate::session::{
    Buyer, ErrorCode, Fulfillment, FulfillmentQuote, Message, Quote, SessionLine, WarningCode,
};
use crate::{Currency, MoneyError, ShippingRateId};

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
    let mut messages = line_messages(input.lines);
    let address = input.fulfillment.address.as_ref();
    let rates = address.map_or_else(Vec::new, |a| {
        pricing::shipping_rates_for(input.zones, &a.country)
    });
    let tax = address.and_then(|a| pricing::tax_rate_for(input.tax_rates, &a.country, &a.state));

    let lines: Vec<LineInput> = input
        .lines
        .iter()
        .map(|l| LineInput {
            unit_price: l.unit_price,
            quantity: l.quantity.get(),
        })
        .collect();
    // Price once without shipping to know the discounted subtotal, which decides
    // free-shipping thresholds; then pick the rate and price for real.
    let base = pricing::price(&PricingInput {
        currency: input.currency,
        lines: &lines,
        codes: input.codes,
        discounts: input.discounts,
        shipping: None,
        tax,
        now_ms: input.now_ms,
    })?;
    let mut options: Vec<FulfillmentQuote> = rates
        .iter()
        .map(|r| FulfillmentQuote {
            rate: (*r).clone(),
            amount_minor: pricing::shipping_cost_minor(r, base.totals.subtotal_minor),
        })
        .collect();
    options.sort_by(|a, b| {
        a.amount_minor
            .cmp(&b.amount_minor)
            .then(a.rate.id.cmp(&b.rate.id))
    });
    let selected = input
        .selected_shipping
        .filter(|id| options.iter().any(|o| o.rate.id == *id))
        .or_else(|| options.first().map(|o| o.rate.id));
    let selected_rate = selected.and_then(|id| rates.iter().find(|r| r.id == id).copied());
    let priced = pricing::price(&PricingInput {
        currency: input.currency,
        lines: &lines,
        codes: input.codes,
        discounts: input.discounts,
        shipping: selected_rate,
        tax,
        now_ms: input.now_ms,
    })?;

    if input.buyer.email.is_none() && input.fulfillment.email.is_none() {
        messages.push(Message::blocking(
            ErrorCode::Missing,
            "$.buyer.email",
            "An email address is needed for the order confirmation.",
        ));
    }
    match address {
        None => messages.push(Message::blocking(
            ErrorCode::Missing,
            "$.fulfillment_details.address",
            "A shipping address is needed.",
        )),
        Some(_) if options.is_empty() => messages.push(Message::blocking(
            ErrorCode::Invalid,
            "$.fulfillment_details.address.country",
            "We do not ship to this country.",
        )),
        Some(_) => {}
    }
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

fn line_messages(lines: &[SessionLine]) -> Vec<Message> {
    if lines.is_empty() {
        return vec![Message::blocking(
            ErrorCode::Missing,
            "$.line_items",
            "Add at least one item.",
        )];
    }
    let mut messages = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let param = format!("$.line_items[{i}]");
        let qty = i64::from(line.quantity.get());
        if let Some(max) = line
            .max_quantity_per_order
            .filter(|m| line.quantity.get() > *m)
        {
            messages.push(Message::blocking(
                ErrorCode::QuantityExceeded,
                param,
                format!("{}: at most {max} per order.", line.title),
            ));
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
        })
        .unwrap();
        assert!(e.quote.is_ready(), "{:?}", e.quote.messages);
        assert_eq!(e.quote.totals.fulfillment_minor, 500);
        assert_eq!(e.selected_shipping, Some(zones[0].rates[1].id));
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
}
