//! The JSON documents the store keeps in TEXT columns, pinned to committed fixtures.
//!
//! Sessions, orders (also the outbox payload), shipping zones, tax rates, discounts,
//! placement settings, widget themes, saved shopper details, product images and
//! variant options are stored as serde JSON. Renaming a field or an enum variant in
//! Rust would silently stop every stored row from loading; here it fails a test
//! instead. Each test serialises a fixed, fully populated value (every `Option` set,
//! every list non-empty) and compares it with `tests/fixtures/documents/<name>.json`,
//! then deserialises the fixture back and expects the same value.
//!
//! After an *intended* format change, regenerate and review the diff:
//! `ANYCART_UPDATE_FIXTURES=1 cargo nextest run -p anycart-store --test stored_documents`.
//! Rows written before the change must still load: a new field needs
//! `#[serde(default)]` (or a migration that rewrites the documents).

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use anycart_core::attribution::{AgentProtocol, Attribution};
use anycart_core::catalogue::VariantOption;
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::pricing::{
    AppliedDiscount, Discount, DiscountKind, DiscountRejection, PricedLine, RejectedDiscount,
    ShippingRate, ShippingZone, TaxRate, Totals,
};
use anycart_core::session::{
    ALL_STATUSES, Buyer, CheckoutSession, CheckoutStatus, ErrorCode, Fulfillment, FulfillmentQuote,
    Message, MessageKind, PendingPayment, Quote, SessionLine, WarningCode,
};
use anycart_core::{Address, CountryCode, Currency, Email, Money, Quantity};
use anycart_store::{Campaign, Channel, PlacementSettings, SavedDetails, Theme};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::path::PathBuf;

/// Set to rewrite the fixtures from the values below instead of checking them.
const UPDATE_ENV: &str = "ANYCART_UPDATE_FIXTURES";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/documents")
        .join(format!("{name}.json"))
}

/// Checks that `value` serialises to the fixture `name` and the fixture
/// deserialises back to `value` (or rewrites the fixture under [`UPDATE_ENV`]).
fn pinned<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str, value: &T) {
    let path = fixture_path(name);
    let command =
        format!("{UPDATE_ENV}=1 cargo nextest run -p anycart-store --test stored_documents");
    let regenerate = format!(
        "If the change is intended, regenerate with `{command}`, review the diff of {}, \
         and make sure rows stored before still load (#[serde(default)] or a migration).",
        path.display()
    );
    let actual = serde_json::to_value(value).unwrap();
    if std::env::var_os(UPDATE_ENV).is_some() {
        let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no fixture {} ({e}): write it with `{command}`",
            path.display()
        )
    });
    let stored: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    if let Some(difference) = first_difference("$", &actual, &stored) {
        panic!(
            "the stored format of `{name}` changed, so rows stored before would no longer \
             match: {difference}. {regenerate}"
        );
    }
    let loaded: T = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("the fixture `{name}` (a stored row) no longer loads: {e}. {regenerate}")
    });
    assert_eq!(
        &loaded, value,
        "the fixture `{name}` loads as a different value. {regenerate}"
    );
}

/// Where `now` and `fixture` first differ, as a JSON path with both values.
fn first_difference(
    path: &str,
    now: &serde_json::Value,
    fixture: &serde_json::Value,
) -> Option<String> {
    use serde_json::Value;
    match (now, fixture) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => first_difference(&format!("{path}.{k}"), x, y),
                (Some(_), None) => Some(format!("{path}.{k} is new (not in the fixture)")),
                (None, _) => Some(format!("{path}.{k} is gone (the fixture has it)")),
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path} is now {a}, the fixture has {b}")),
    }
}

fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: Debug,
{
    text.parse().unwrap()
}

fn usd(amount_minor: i64) -> Money {
    Money::new(amount_minor, Currency::parse("usd").unwrap()).unwrap()
}

fn email() -> Email {
    Email::parse("Sam.Doe+shop@Example.com").unwrap()
}

fn address() -> Address {
    Address {
        name: "Sam Doe".into(),
        line_one: "1 Main St".into(),
        line_two: Some("Apt 4".into()),
        city: "Springfield".into(),
        state: "CA".into(),
        country: CountryCode::parse("US").unwrap(),
        postal_code: "94000".into(),
    }
}

fn fulfillment() -> Fulfillment {
    Fulfillment {
        name: Some("Sam Doe".into()),
        email: Some(email()),
        phone_number: Some("+15555550100".into()),
        address: Some(address()),
    }
}

fn line() -> SessionLine {
    SessionLine {
        id: id("li_0190a1b2c3d47e8f9a0b1c2d3e4f5a01"),
        variant_id: id("var_0190a1b2c3d47e8f9a0b1c2d3e4f5a02"),
        product_id: id("prod_0190a1b2c3d47e8f9a0b1c2d3e4f5a03"),
        quantity: Quantity::parse(2).unwrap(),
        title: "Hoodie M".into(),
        sku: "HOOD-M".into(),
        unit_price: usd(4_900),
        image_url: Some("https://img.example/m.png".into()),
        options: variant_options(),
        max_quantity_per_order: Some(3),
        available: 17,
    }
}

fn variant_options() -> Vec<VariantOption> {
    vec![VariantOption {
        name: "Size".into(),
        value: "M".into(),
    }]
}

fn totals() -> Totals {
    Totals {
        items_base_minor: 9_800,
        discount_minor: 500,
        subtotal_minor: 9_300,
        fulfillment_minor: 500,
        tax_minor: 767,
        total_minor: 10_567,
    }
}

fn shipping_rate() -> ShippingRate {
    ShippingRate {
        id: id("ship_0190a1b2c3d47e8f9a0b1c2d3e4f5a04"),
        title: "Standard".into(),
        carrier: Some("USPS".into()),
        amount: usd(500),
        free_over_minor: Some(20_000),
        min_delivery_days: 2,
        max_delivery_days: 5,
        free_with_products: vec![],
        code: None,
    }
}

fn message(kind: MessageKind) -> Message {
    Message {
        kind,
        param: Some("$.line_items[0]".into()),
        content: "Only 17 left.".into(),
        blocking: matches!(kind, MessageKind::Error(_)),
    }
}

fn session() -> CheckoutSession {
    CheckoutSession {
        id: id("cs_0190a1b2c3d47e8f9a0b1c2d3e4f5a05"),
        merchant_id: id("mer_0190a1b2c3d47e8f9a0b1c2d3e4f5a06"),
        status: CheckoutStatus::ReadyForPayment,
        currency: Currency::parse("usd").unwrap(),
        lines: vec![line()],
        buyer: Buyer {
            email: Some(email()),
            first_name: Some("Sam".into()),
            last_name: Some("Doe".into()),
            phone_number: Some("+15555550100".into()),
        },
        fulfillment: fulfillment(),
        selected_shipping: Some(id("ship_0190a1b2c3d47e8f9a0b1c2d3e4f5a04")),
        discount_codes: vec!["FIVEOFF".into(), "NOPE".into()],
        codes_from_coupons: true,
        quote: Quote {
            lines: vec![PricedLine {
                base_minor: 9_800,
                discount_minor: 500,
                subtotal_minor: 9_300,
                tax_minor: 767,
                total_minor: 10_067,
            }],
            fulfillment_options: vec![FulfillmentQuote {
                rate: shipping_rate(),
                amount_minor: 500,
            }],
            applied_discounts: vec![AppliedDiscount {
                discount_id: id("disc_0190a1b2c3d47e8f9a0b1c2d3e4f5a07"),
                code: "FIVEOFF".into(),
                name: "Five off".into(),
                kind: DiscountKind::FixedAmount { amount: usd(500) },
                amount_minor: 500,
                allocations_minor: vec![500],
            }],
            rejected_discounts: vec![RejectedDiscount {
                code: "NOPE".into(),
                reason: DiscountRejection::DiscountCodeInvalid,
            }],
            totals: totals(),
            messages: vec![
                message(MessageKind::Info),
                message(MessageKind::Warning(WarningCode::LowStock)),
                message(MessageKind::Error(ErrorCode::QuantityExceeded)),
            ],
        },
        pending_payment: Some(PendingPayment {
            provider_reference: "pi_123".into(),
            handler_id: "card".into(),
            amount_minor: 10_567,
            client_secret: Some("pi_123_secret_456".into()),
        }),
        payment_attempt: 2,
        client_interventions: vec!["3ds".into()],
        payment_message: Some(message(MessageKind::Error(ErrorCode::PaymentDeclined))),
        order_id: Some(id("ord_0190a1b2c3d47e8f9a0b1c2d3e4f5a08")),
        locale: Some("en-US".into()),
        attribution: Some(Attribution {
            channel: Channel::DisplayAd,
            placement_id: Some(id("plc_0190a1b2c3d47e8f9a0b1c2d3e4f5a09")),
            campaign: Campaign {
                name: Some("summer".into()),
                source: Some("adnet".into()),
                medium: Some("display".into()),
                content: Some("300x250".into()),
            },
            agent: None,
        }),
        client: Some("c0ffee".into()),
        created_at_ms: 1_700_000_000_000,
        updated_at_ms: 1_700_000_060_000,
        expires_at_ms: 1_700_001_800_000,
        requirements: Default::default(),
        door_state: None,
        handed_off: false,
    }
}

#[test]
fn checkout_session() {
    pinned("checkout_session", &session());
}

#[test]
fn order() {
    let order = Order {
        id: id("ord_0190a1b2c3d47e8f9a0b1c2d3e4f5a08"),
        merchant_id: id("mer_0190a1b2c3d47e8f9a0b1c2d3e4f5a06"),
        session_id: id("cs_0190a1b2c3d47e8f9a0b1c2d3e4f5a05"),
        number: 1001,
        status: OrderStatus::Confirmed,
        currency: Currency::parse("usd").unwrap(),
        lines: vec![line()],
        totals: totals(),
        email: Some(email()),
        fulfillment: fulfillment(),
        shipping_title: Some("Standard".into()),
        payment: PaymentRecord {
            provider: "sandbox".into(),
            provider_reference: "pi_123".into(),
            amount_minor: 10_567,
            card_last4: Some("4242".into()),
            captured: true,
        },
        attribution: Some(Attribution::agent(
            AgentProtocol::Ucp,
            Some("https://agent.example/profile".into()),
        )),
        created_at_ms: 1_700_000_120_000,
    };
    pinned("order", &order);
}

#[test]
fn shipping_zone() {
    let zone = ShippingZone {
        id: id("shz_0190a1b2c3d47e8f9a0b1c2d3e4f5a09"),
        name: "North America".into(),
        countries: vec![
            CountryCode::parse("US").unwrap(),
            CountryCode::parse("CA").unwrap(),
        ],
        rates: vec![shipping_rate()],
    };
    pinned("shipping_zone", &zone);
}

#[test]
fn tax_rate() {
    let rate = TaxRate {
        id: id("tax_0190a1b2c3d47e8f9a0b1c2d3e4f5a0a"),
        name: "CA sales tax".into(),
        country: CountryCode::parse("US").unwrap(),
        region: Some("CA".into()),
        rate_bps: 825,
        applies_to_shipping: true,
    };
    pinned("tax_rate", &rate);
}

#[test]
fn discount() {
    let discount = Discount {
        id: id("disc_0190a1b2c3d47e8f9a0b1c2d3e4f5a0b"),
        code: "WELCOME10".into(),
        name: "Welcome".into(),
        kind: DiscountKind::Percentage { rate_bps: 1_000 },
        min_subtotal_minor: Some(2_000),
        starts_at_ms: Some(1_700_000_000_000),
        ends_at_ms: Some(1_800_000_000_000),
        max_redemptions: Some(100),
        times_redeemed: 3,
        active: true,
        combinable: false,
    };
    pinned("discount", &discount);
}

fn theme() -> Theme {
    Theme {
        primary_color: Some("#112233".into()),
        background_color: Some("#ffffff".into()),
        text_color: Some("#000000".into()),
        font_family: Some("Inter, sans-serif".into()),
        radius_px: Some(8),
        logo_url: Some("https://img.example/logo.png".into()),
        dark: Some(true),
    }
}

#[test]
fn placement_settings() {
    let settings = PlacementSettings {
        name: "Spring ad".into(),
        variant_id: Some(id("var_0190a1b2c3d47e8f9a0b1c2d3e4f5a02")),
        quantity: 1,
        channel: Channel::DisplayAd,
        campaign: Campaign {
            name: Some("spring".into()),
            source: Some("network".into()),
            medium: Some("display".into()),
            content: Some("300x250".into()),
        },
        allowed_origins: vec!["https://news.example".into()],
        ad_servers: vec![],
        theme: theme(),
        publishable_key: "pk_test_0001".into(),
    };
    pinned("placement_settings", &settings);
}

#[test]
fn widget_theme() {
    pinned("widget_theme", &theme());
}

#[test]
fn saved_details() {
    let details = SavedDetails {
        first_name: Some("Sam".into()),
        last_name: Some("Doe".into()),
        phone_number: Some("+15555550100".into()),
        address: Some(address()),
        shipping_rate_id: Some("ship_0190a1b2c3d47e8f9a0b1c2d3e4f5a04".into()),
    };
    pinned("saved_details", &details);
}

#[test]
fn product_images_and_variant_options() {
    let images: Vec<String> = vec!["https://img.example/h.png".into()];
    pinned("product_images", &images);
    pinned("variant_options", &variant_options());
}

/// Every value of every enum the documents above hold, so a renamed variant that
/// the fully populated values happen not to use still fails. Each list is built by
/// an exhaustive `match`, so a new variant does not compile until it is listed.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct EnumValues {
    checkout_status: Vec<CheckoutStatus>,
    order_status: Vec<OrderStatus>,
    channel: Vec<Channel>,
    error_code: Vec<ErrorCode>,
    warning_code: Vec<WarningCode>,
    discount_rejection: Vec<DiscountRejection>,
}

#[test]
fn enum_values() {
    let order_status = [
        OrderStatus::Confirmed,
        OrderStatus::Processing,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::Canceled,
    ];
    for s in order_status {
        match s {
            OrderStatus::Confirmed
            | OrderStatus::Processing
            | OrderStatus::Shipped
            | OrderStatus::Completed
            | OrderStatus::Canceled => {}
        }
    }
    let channel = [
        Channel::DisplayAd,
        Channel::Publisher,
        Channel::Social,
        Channel::Ctv,
        Channel::OwnSite,
        Channel::App,
        Channel::Agent,
        Channel::Api,
    ];
    for c in channel {
        match c {
            Channel::DisplayAd
            | Channel::Publisher
            | Channel::Social
            | Channel::Ctv
            | Channel::OwnSite
            | Channel::App
            | Channel::Agent
            | Channel::Api => {}
        }
    }
    use ErrorCode as E;
    let error_code = [
        E::Missing,
        E::Invalid,
        E::OutOfStock,
        E::QuantityExceeded,
        E::PaymentDeclined,
        E::Requires3ds,
        E::CouponInvalid,
        E::CouponExpired,
        E::NotFound,
        E::Expired,
    ];
    for c in error_code {
        match c {
            E::Missing
            | E::Invalid
            | E::OutOfStock
            | E::QuantityExceeded
            | E::PaymentDeclined
            | E::Requires3ds
            | E::CouponInvalid
            | E::CouponExpired
            | E::NotFound
            | E::Expired => {}
        }
    }
    use WarningCode as W;
    let warning_code = [
        W::LowStock,
        W::PriceChange,
        W::DiscountCodeExpired,
        W::DiscountCodeInvalid,
        W::DiscountCodeAlreadyApplied,
        W::DiscountCodeCombinationDisallowed,
        W::DiscountCodeMinimumNotMet,
        W::DiscountCodeUsageLimitReached,
    ];
    for c in warning_code {
        match c {
            W::LowStock
            | W::PriceChange
            | W::DiscountCodeExpired
            | W::DiscountCodeInvalid
            | W::DiscountCodeAlreadyApplied
            | W::DiscountCodeCombinationDisallowed
            | W::DiscountCodeMinimumNotMet
            | W::DiscountCodeUsageLimitReached => {}
        }
    }
    use DiscountRejection as R;
    let discount_rejection = [
        R::DiscountCodeInvalid,
        R::DiscountCodeExpired,
        R::DiscountCodeMinimumNotMet,
        R::DiscountCodeUsageLimitReached,
        R::DiscountCodeAlreadyApplied,
        R::DiscountCodeCombinationDisallowed,
    ];
    for r in discount_rejection {
        match r {
            R::DiscountCodeInvalid
            | R::DiscountCodeExpired
            | R::DiscountCodeMinimumNotMet
            | R::DiscountCodeUsageLimitReached
            | R::DiscountCodeAlreadyApplied
            | R::DiscountCodeCombinationDisallowed => {}
        }
    }
    let values = EnumValues {
        checkout_status: ALL_STATUSES.to_vec(),
        order_status: order_status.to_vec(),
        channel: channel.to_vec(),
        error_code: error_code.to_vec(),
        warning_code: warning_code.to_vec(),
        discount_rejection: discount_rejection.to_vec(),
    };
    pinned("enum_values", &values);
}
