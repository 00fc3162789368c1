//! Helpers the connector test files share: stores on both backends, a merchant
//! with one stocked variant, a sale through anycart's own checkout path, and
//! outbox draining. (Each test binary uses only some of them.)
#![allow(dead_code)]

use anycart_connectors::delivery::{OUTBOX_BACKOFF_MAX_MS, deliver_due};
use anycart_core::catalogue::{Location, Product, Sku, Variant};
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::pricing::Totals;
use anycart_core::session::{
    Buyer, CheckoutSession, CheckoutStatus, Fulfillment, Quote, SessionLine,
};
use anycart_core::{
    Currency, Email, LineItemId, LocationId, MerchantId, Money, OrderId, ProductId, Quantity,
    SessionId, VariantId,
};
use anycart_store::testing::fresh_postgres_url;
use anycart_store::{HoldChange, Merchant, OutboxState, SessionWrite, Store};
use std::collections::BTreeMap;
use std::convert::Infallible;

/// Client timeout the tests give the connector, so a hanging fake is quick to detect.
pub const TEST_TIMEOUT_MS: u64 = 300;
/// Rounds of delivery a test runs before giving up (a bound, not a sleep).
pub const ROUNDS_MAX: usize = 40;

pub async fn stores() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut out = vec![("sqlite", Store::open(&url).await.unwrap(), Some(dir))];
    if let Some(pg) = fresh_postgres_url().await {
        out.push(("postgres", Store::open(&pg).await.unwrap(), None));
    }
    out
}

pub fn usd() -> Currency {
    Currency::parse("usd").unwrap()
}

/// A merchant selling one variant (10 on hand at one location).
pub struct Shop {
    pub merchant: MerchantId,
    pub variant: VariantId,
    pub product: ProductId,
    pub location: LocationId,
}

pub async fn shop(store: &Store) -> Shop {
    let merchant = MerchantId::new();
    store
        .create_merchant(
            &Merchant {
                id: merchant,
                name: "Shop".into(),
                created_at_ms: 1,
            },
            &[],
        )
        .await
        .unwrap();
    let product = ProductId::new();
    let variant = VariantId::new();
    let p = Product {
        id: product,
        title: "Tee".into(),
        description: "".into(),
        images: vec![],
        active: true,
        variants: vec![Variant {
            id: variant,
            product_id: product,
            sku: Sku::parse("TEE-1").unwrap(),
            title: "Tee".into(),
            options: vec![],
            price: Money::new(2500, usd()).unwrap(),
            max_quantity_per_order: None,
            image_url: None,
        }],
    };
    store.create_product(merchant, &p, 1).await.unwrap();
    let location = LocationId::new();
    store
        .create_location(
            merchant,
            &Location {
                id: location,
                name: "WH".into(),
            },
            1,
        )
        .await
        .unwrap();
    store
        .set_on_hand(merchant, variant, location, 10)
        .await
        .unwrap();
    Shop {
        merchant,
        variant,
        product,
        location,
    }
}

/// Sells `qty` through anycart's own checkout path (hold → complete), which writes
/// the order and its outbox row.
pub async fn sell(store: &Store, s: &Shop, qty: u32) -> OrderId {
    sell_to(store, s, qty, Fulfillment::default()).await
}

/// As [`sell`], shipping to `fulfillment` (on both the session and the order).
pub async fn sell_to(store: &Store, s: &Shop, qty: u32, fulfillment: Fulfillment) -> OrderId {
    let session_id = SessionId::new();
    let totals = Totals {
        items_base_minor: 2500 * i64::from(qty),
        discount_minor: 0,
        subtotal_minor: 2500 * i64::from(qty),
        fulfillment_minor: 500,
        tax_minor: 200,
        total_minor: 2500 * i64::from(qty) + 700,
    };
    let line = SessionLine {
        id: LineItemId::new(),
        variant_id: s.variant,
        product_id: s.product,
        quantity: Quantity::parse(i64::from(qty)).unwrap(),
        title: "Tee".into(),
        sku: "TEE-1".into(),
        unit_price: Money::new(2500, usd()).unwrap(),
        image_url: None,
        options: vec![],
        max_quantity_per_order: None,
        available: 10,
    };
    let mut session = CheckoutSession {
        id: session_id,
        merchant_id: s.merchant,
        status: CheckoutStatus::NotReadyForPayment,
        currency: usd(),
        lines: vec![line.clone()],
        buyer: Buyer::default(),
        fulfillment: fulfillment.clone(),
        selected_shipping: None,
        discount_codes: vec![],
        codes_from_coupons: false,
        quote: Quote {
            lines: vec![],
            fulfillment_options: vec![],
            applied_discounts: vec![],
            rejected_discounts: vec![],
            totals,
            messages: vec![],
        },
        pending_payment: None,
        payment_attempt: 0,
        client_interventions: vec![],
        payment_message: None,
        order_id: None,
        locale: None,
        attribution: None,
        client: None,
        created_at_ms: 0,
        updated_at_ms: 0,
        expires_at_ms: i64::MAX / 2,
        requirements: Default::default(),
        door_state: None,
        handed_off: false,
    };
    let demand = BTreeMap::from([(s.variant, i64::from(qty))]);
    let write = SessionWrite {
        merchant: s.merchant,
        session: session_id,
        expected_version: None,
        holds: HoldChange::Replace {
            demand: demand.clone(),
            expires_at_ms: i64::MAX / 2,
        },
    };
    let stored = session.clone();
    store
        .write_session(write, 0, |_| Ok::<_, Infallible>(stored))
        .await
        .unwrap()
        .unwrap();
    let order_id = OrderId::new();
    session.status = CheckoutStatus::Completed;
    session.order_id = Some(order_id);
    let order = Order {
        id: order_id,
        merchant_id: s.merchant,
        session_id,
        number: 0,
        status: OrderStatus::Confirmed,
        currency: usd(),
        lines: vec![line],
        totals,
        email: Some(Email::parse("shopper@example.com").unwrap()),
        fulfillment,
        shipping_title: Some("Standard".into()),
        payment: PaymentRecord {
            provider: "sandbox".into(),
            provider_reference: "pi_123".into(),
            amount_minor: totals.total_minor,
            card_last4: Some("4242".into()),
            captured: true,
        },
        attribution: None,
        created_at_ms: 1_000,
    };
    store
        .complete_checkout(&session, 1, &demand, order, &format!("tok-{order_id}"), &[])
        .await
        .unwrap();
    order_id
}

/// Runs delivery rounds, each far enough in the future that every back-off is due,
/// until nothing is pending.
pub async fn drain(store: &Store, s: &Shop, mut now_ms: i64) -> i64 {
    for _ in 0..ROUNDS_MAX {
        deliver_due(store, now_ms).await.unwrap();
        if store
            .list_outbox(s.merchant, OutboxState::Pending, 10)
            .await
            .unwrap()
            .is_empty()
        {
            return now_ms;
        }
        now_ms += OUTBOX_BACKOFF_MAX_MS + 1;
    }
    panic!("outbox did not drain in {ROUNDS_MAX} rounds");
}

pub async fn available(store: &Store, s: &Shop) -> i64 {
    variant_available(store, s.merchant, s.variant).await
}

/// Stock available to sell of any `variant` of `merchant`, summed over locations.
pub async fn variant_available(store: &Store, merchant: MerchantId, variant: VariantId) -> i64 {
    store
        .stock_levels(merchant, &[variant])
        .await
        .unwrap()
        .iter()
        .map(|l| l.available())
        .sum()
}

/// Drains the outbox from `now_ms` and checks that `order` was dead-lettered on
/// its first attempt (a permanent refusal); returns the recorded error.
pub async fn dead_at_once(store: &Store, s: &Shop, order: OrderId, now_ms: i64) -> String {
    drain(store, s, now_ms).await;
    let d = store
        .order_delivery(s.merchant, order)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.state, d.attempts), (OutboxState::Dead, 1), "{order}");
    d.last_error.unwrap_or_default()
}
