//! Domain session → ACP wire response. Pure, apart from the order lookup done by
//! the caller.

use crate::routes::acp::wire::*;
use anycart_checkout::clock::rfc3339;
use anycart_checkout::payment_providers::STRIPE_HANDLER_ID;
use anycart_core::order::Order;
use anycart_core::pricing::DiscountKind;
use anycart_core::session::{CheckoutSession, CheckoutStatus, Message, MessageKind};
use anycart_payments::sandbox::SANDBOX_HANDLER_ID;
use anycart_store::{PaymentProviderSettings, StripeSettings};
use serde_json::json;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn total(kind: &'static str, text: &str, amount: i64) -> TotalWire {
    TotalWire {
        kind,
        display_text: text.to_string(),
        amount,
    }
}

fn snake(value: impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn message(m: &Message) -> MessageWire {
    let (kind, code, severity) = match m.kind {
        MessageKind::Info => ("info", None, "info"),
        MessageKind::Warning(c) => ("warning", Some(snake(c)), "low"),
        MessageKind::Error(c) => (
            "error",
            Some(snake(c)),
            if m.blocking { "high" } else { "medium" },
        ),
    };
    MessageWire {
        kind,
        code,
        severity,
        resolution: if m.blocking {
            "requires_buyer_input"
        } else {
            "recoverable"
        },
        param: m.param.clone(),
        content_type: "plain",
        content: m.content.clone(),
    }
}

/// The payment handler anycart advertises for its sandbox cards.
pub fn sandbox_handler(base_url: &str) -> PaymentHandlerWire {
    PaymentHandlerWire {
        id: SANDBOX_HANDLER_ID,
        name: "dev.anycart.sandbox.card",
        display_name: "Card (sandbox)",
        version: API_VERSION,
        spec: format!("{base_url}/docs#sandbox-payments"),
        requires_delegate_payment: false,
        requires_pci_compliance: false,
        psp: "anycart_sandbox",
        config_schema: format!("{base_url}/docs#sandbox-payments"),
        instrument_schemas: vec![format!("{base_url}/docs#sandbox-payments")],
        config: json!({ "test_mode": true, "test_tokens": ["tok_visa", "tok_chargeDeclined", "tok_chargeDeclinedInsufficientFunds", "tok_threeDSecure2Required"] }),
    }
}

/// The card brands a Stripe account takes by default.
const STRIPE_CARD_BRANDS: [&str; 4] = ["visa", "mastercard", "amex", "discover"];

/// The handler of a merchant paid through Stripe: cards and wallets in the
/// widget (Stripe.js payment methods, `pm_…`) and agents' delegated payments
/// (Shared Payment Tokens, `spt_…`, granted to the merchant's Stripe account).
pub fn stripe_handler(s: &StripeSettings) -> PaymentHandlerWire {
    PaymentHandlerWire {
        id: STRIPE_HANDLER_ID,
        name: "dev.acp.tokenized.card",
        display_name: "Card",
        version: API_VERSION,
        spec: "https://acp.dev/specs/handlers/card".into(),
        requires_delegate_payment: true,
        requires_pci_compliance: false,
        psp: "stripe",
        config_schema: "https://acp.dev/schemas/handlers/card/config.json".into(),
        instrument_schemas: vec![
            "https://acp.dev/schemas/handlers/card/instrument.json".into(),
            "https://acp.dev/schemas/credentials/spt.json".into(),
        ],
        config: json!({
            "merchant_id": s.account_id,
            "psp": "stripe",
            "publishable_key": s.publishable_key,
            "accepted_brands": STRIPE_CARD_BRANDS,
            "accepted_funding_types": ["credit", "debit", "prepaid"],
            "environment": if s.livemode() { "production" } else { "test" },
        }),
    }
}

/// The payment handlers of a merchant's live provider.
pub fn handlers_of(provider: &PaymentProviderSettings, base_url: &str) -> Vec<PaymentHandlerWire> {
    match provider {
        PaymentProviderSettings::Sandbox(_) => vec![sandbox_handler(base_url)],
        PaymentProviderSettings::Stripe(s) => vec![stripe_handler(s)],
    }
}

/// The public status page of an order.
pub fn order_url(base_url: &str, access_token: &str) -> String {
    format!("{base_url}/orders/{access_token}")
}

fn order_wire(order: &Order, permalink: String) -> OrderWire {
    let t = order.totals;
    OrderWire {
        kind: "order",
        id: order.id.to_string(),
        checkout_session_id: order.session_id.to_string(),
        order_number: order.number.to_string(),
        permalink_url: permalink.clone(),
        status: order.status.as_str(),
        confirmation: OrderConfirmationWire {
            confirmation_number: order.display_number(),
            confirmation_email_sent: false,
            receipt_url: permalink,
        },
        line_items: order
            .lines
            .iter()
            .map(|l| OrderLineItemWire {
                id: l.id.to_string(),
                title: l.title.clone(),
                product_id: l.product_id.to_string(),
                quantity: OrderQuantityWire {
                    ordered: l.quantity.get(),
                    current: l.quantity.get(),
                    fulfilled: 0,
                },
                unit_price: l.unit_price.amount_minor,
                subtotal: l.unit_price.amount_minor * i64::from(l.quantity.get()),
                status: "processing",
            })
            .collect(),
        totals: vec![
            total("subtotal", "Subtotal", t.subtotal_minor),
            total("fulfillment", "Shipping", t.fulfillment_minor),
            total("tax", "Tax", t.tax_minor),
            total("total", "Total", t.total_minor),
        ],
    }
}

/// Renders a session (and its order, once completed) in ACP form.
pub fn session_wire(
    s: &CheckoutSession,
    order: Option<(&Order, &str)>,
    handlers: Vec<PaymentHandlerWire>,
    base_url: &str,
) -> CheckoutSessionWire {
    let mut messages: Vec<MessageWire> = s.quote.messages.iter().map(message).collect();
    messages.extend(s.payment_message.as_ref().map(message));
    messages.extend(intervention_required(s));
    CheckoutSessionWire {
        id: s.id.to_string(),
        protocol: ProtocolWire {
            version: API_VERSION,
        },
        capabilities: capabilities(s, handlers),
        buyer: buyer(s),
        status: s.status.as_str(),
        currency: s.currency.code_lower(),
        locale: s.locale.clone(),
        line_items: line_items(s),
        fulfillment_details: fulfillment_details(s),
        fulfillment_options: fulfillment_options(s),
        selected_fulfillment_options: selected_fulfillment_options(s),
        totals: session_totals(s),
        messages,
        links: vec![],
        authentication_metadata: authentication_metadata(s),
        discounts: discounts(s),
        created_at: rfc3339(s.created_at_ms),
        updated_at: rfc3339(s.updated_at_ms),
        expires_at: rfc3339(s.expires_at_ms),
        order: order.map(|(o, token)| order_wire(o, order_url(base_url, token))),
    }
}

/// ACP capability negotiation: when the bank requires 3-D Secure and the agent
/// did not declare it can run it, say so (the payment still waits for it).
fn intervention_required(s: &CheckoutSession) -> Option<MessageWire> {
    let declared = s.client_interventions.iter().any(|i| i == "3ds");
    (s.status == CheckoutStatus::AuthenticationRequired && !declared).then(|| MessageWire {
        kind: "error",
        code: Some("intervention_required".into()),
        severity: "high",
        resolution: "requires_buyer_input",
        param: Some("$.capabilities.interventions".into()),
        content_type: "plain",
        content: "This payment requires 3-D Secure authentication, which this client did not declare it can handle (capabilities.interventions.supported).".into(),
    })
}

/// What the session offers: the payment handler, 3-D Secure, the discount extension.
fn capabilities(s: &CheckoutSession, handlers: Vec<PaymentHandlerWire>) -> CapabilitiesWire {
    let supports_3ds = s.client_interventions.iter().any(|i| i == "3ds");
    let needs_3ds = s.status == CheckoutStatus::AuthenticationRequired;
    CapabilitiesWire {
        payment: PaymentWire { handlers },
        interventions: InterventionsWire {
            supported: if supports_3ds {
                vec!["3ds".into()]
            } else {
                vec![]
            },
            required: if needs_3ds {
                vec!["3ds".into()]
            } else {
                vec![]
            },
            enforcement: "conditional",
        },
        extensions: vec![ExtensionWire {
            name: "discount",
            extends: vec![
                "$.CheckoutSessionCreateRequest.discounts",
                "$.CheckoutSessionUpdateRequest.discounts",
                "$.CheckoutSession.discounts",
            ],
        }],
    }
}

fn buyer(s: &CheckoutSession) -> Option<BuyerWire> {
    s.contact_email().map(|email| BuyerWire {
        email: email.to_string(),
        first_name: s.buyer.first_name.clone(),
        last_name: s.buyer.last_name.clone(),
        phone_number: s.buyer.phone_number.clone(),
    })
}

/// ACP's stock status of a line from what it can hold.
fn availability_status(available: i64) -> &'static str {
    match available {
        a if a <= 0 => "out_of_stock",
        a if a <= anycart_core::quote::LOW_STOCK_THRESHOLD => "low_stock",
        _ => "in_stock",
    }
}

fn line_items(s: &CheckoutSession) -> Vec<LineItemWire> {
    s.lines
        .iter()
        .zip(&s.quote.lines)
        .map(|(l, p)| LineItemWire {
            id: l.id.to_string(),
            item: ItemRef {
                id: l.variant_id.to_string(),
            },
            quantity: l.quantity.get(),
            name: l.title.clone(),
            images: l.image_url.iter().cloned().collect(),
            unit_amount: l.unit_price.amount_minor,
            product_id: l.product_id.to_string(),
            variant_id: l.variant_id.to_string(),
            sku: l.sku.clone(),
            availability_status: availability_status(l.available),
            available_quantity: l.available.max(0),
            max_quantity_per_order: l.max_quantity_per_order,
            variant_options: l
                .options
                .iter()
                .map(|o| VariantOptionWire {
                    name: o.name.clone(),
                    value: o.value.clone(),
                })
                .collect(),
            totals: vec![
                total("items_base_amount", "Base amount", p.base_minor),
                total("items_discount", "Discount", p.discount_minor),
                total("subtotal", "Subtotal", p.subtotal_minor),
                total("tax", "Tax", p.tax_minor),
                total("total", "Total", p.total_minor),
            ],
        })
        .collect()
}

/// Shipping options for the current address, with delivery windows from now.
fn fulfillment_options(s: &CheckoutSession) -> Vec<FulfillmentOptionWire> {
    let day = |days: u32| rfc3339(s.updated_at_ms + i64::from(days) * DAY_MS);
    s.quote
        .fulfillment_options
        .iter()
        .map(|o| FulfillmentOptionWire {
            kind: "shipping",
            id: o.rate.id.to_string(),
            title: o.rate.title.clone(),
            description: format!(
                "Arrives in {}–{} days",
                o.rate.min_delivery_days, o.rate.max_delivery_days
            ),
            carrier: o.rate.carrier.clone(),
            earliest_delivery_time: day(o.rate.min_delivery_days),
            latest_delivery_time: day(o.rate.max_delivery_days),
            totals: vec![total("fulfillment", &o.rate.title, o.amount_minor)],
        })
        .collect()
}

fn selected_fulfillment_options(s: &CheckoutSession) -> Vec<SelectedFulfillmentOptionWire> {
    s.selected_shipping
        .map(|id| SelectedFulfillmentOptionWire {
            kind: "shipping".into(),
            option_id: id.to_string(),
            item_ids: s.lines.iter().map(|l| l.id.to_string()).collect(),
        })
        .into_iter()
        .collect()
}

/// The session's totals: discount and shipping only when they apply. Every
/// discount is allocated to the lines, so it is an `items_discount` (the
/// discount extension's §8: equal to the sum of the lines' own).
fn session_totals(s: &CheckoutSession) -> Vec<TotalWire> {
    let q = &s.quote;
    let t = q.totals;
    let mut totals = vec![total("items_base_amount", "Items", t.items_base_minor)];
    if t.discount_minor > 0 {
        let label = q
            .applied_discounts
            .first()
            .map_or("Discount".to_string(), |d| format!("Discount ({})", d.code));
        totals.push(total("items_discount", &label, t.discount_minor));
    }
    totals.push(total("subtotal", "Subtotal", t.subtotal_minor));
    if s.selected_shipping.is_some() {
        totals.push(total("fulfillment", "Shipping", t.fulfillment_minor));
    }
    totals.push(total("tax", "Tax", t.tax_minor));
    totals.push(total("total", "Total", t.total_minor));
    totals
}

fn discounts(s: &CheckoutSession) -> DiscountsWire {
    let q = &s.quote;
    DiscountsWire {
        codes: s.discount_codes.clone(),
        applied: q
            .applied_discounts
            .iter()
            .map(|d| applied_discount(d, s))
            .collect(),
        rejected: q
            .rejected_discounts
            .iter()
            .map(|r| RejectedDiscountWire {
                code: r.code.clone(),
                reason: snake(r.reason),
                message: r.reason.explain().to_string(),
            })
            .collect(),
    }
}

fn fulfillment_details(s: &CheckoutSession) -> Option<FulfillmentDetailsWire> {
    let f = &s.fulfillment;
    (*f != Default::default()).then(|| FulfillmentDetailsWire {
        name: f.name.clone(),
        phone_number: f.phone_number.clone(),
        email: f.email.as_ref().map(|e| e.to_string()),
        address: f.address.as_ref().map(|a| AddressWire {
            name: a.name.clone(),
            line_one: a.line_one.clone(),
            line_two: a.line_two.clone(),
            city: a.city.clone(),
            state: a.state.clone(),
            country: a.country.as_ref().to_string(),
            postal_code: a.postal_code.clone(),
        }),
    })
}

/// What the agent or the widget needs to run 3-D Secure. The acquirer details
/// are the sandbox's test values; through Stripe the challenge runs in Stripe.js
/// with `client_secret`, and the details (which the schema requires) say only
/// who the merchant is.
fn authentication_metadata(s: &CheckoutSession) -> Option<AuthenticationMetadataWire> {
    if s.status != CheckoutStatus::AuthenticationRequired {
        return None;
    }
    let client_secret = s
        .pending_payment
        .as_ref()
        .and_then(|p| p.client_secret.clone());
    let merchant_name = if client_secret.is_some() {
        "anycart"
    } else {
        "anycart sandbox"
    };
    Some(AuthenticationMetadataWire {
        acquirer_details: json!({
            "acquirer_bin": "424242",
            "acquirer_country": "US",
            "acquirer_merchant_id": s.merchant_id.to_string()[4..24],
            "merchant_name": merchant_name,
        }),
        directory_server: "visa",
        client_secret,
    })
}

fn applied_discount(
    d: &anycart_core::pricing::AppliedDiscount,
    s: &CheckoutSession,
) -> AppliedDiscountWire {
    let (percent_off, amount_off, currency) = match &d.kind {
        DiscountKind::Percentage { rate_bps } => (Some(f64::from(*rate_bps) / 100.0), None, None),
        DiscountKind::FixedAmount { amount } => (
            None,
            Some(amount.amount_minor),
            Some(amount.currency.code_lower()),
        ),
    };
    AppliedDiscountWire {
        id: format!(
            "{}_{}",
            d.discount_id,
            s.id.to_string().get(3..11).unwrap_or("")
        ),
        code: d.code.clone(),
        coupon: CouponWire {
            id: d.discount_id.to_string(),
            name: d.name.clone(),
            percent_off,
            amount_off,
            currency,
        },
        amount: d.amount_minor,
        automatic: false,
        method: "across",
        allocations: d
            .allocations_minor
            .iter()
            .enumerate()
            .map(|(i, a)| AllocationWire {
                path: format!("$.line_items[{i}]"),
                amount: *a,
            })
            .collect(),
    }
}
