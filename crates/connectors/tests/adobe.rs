//! The Adobe Commerce connector against a fake Magento REST API, on SQLite and
//! (when `ANYCART_TEST_DATABASE_URL` is set) PostgreSQL: one platform order per
//! anycart order under injected failures and restarts, dead-lettering, import
//! with pagination and throttling, reconciliation both ways, malformed answers.

mod fakes;

use anycart_connectors::connect::{ConnectRequest, connect};
use anycart_connectors::delivery::{OUTBOX_ATTEMPTS_MAX, OUTBOX_BACKOFF_MAX_MS, deliver_due};
use anycart_connectors::import::import_catalogue;
use anycart_connectors::reconcile::reconcile_stock;
use anycart_connectors::webhooks::{IngestError, ingest};
use anycart_connectors::{
    Confirmation, Connector, ConnectorError, OrderPush, Platform, connector_for,
};
use anycart_core::catalogue::{Location, Product, Sku, Variant};
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::pricing::Totals;
use anycart_core::session::{
    Buyer, CheckoutSession, CheckoutStatus, Fulfillment, Quote, SessionLine,
};
use anycart_core::values::Address;
use anycart_core::{
    Currency, Email, LineItemId, LocationId, MerchantId, Money, OrderId, ProductId, Quantity,
    SessionId, VariantId,
};
use anycart_store::testing::fresh_postgres_url;
use anycart_store::{
    ConnectionRecord, ExternalKind, HoldChange, Merchant, OutboxItem, OutboxState, SessionWrite,
    Store,
};
use fakes::adobe::{Endpoint, Failure, FakeAdobe};
use reqwest::header::HeaderMap;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

const TOKEN: &str = "adobe_integration_token";
/// Client timeout the tests give the connector, so a hanging fake is quick to detect.
const TEST_TIMEOUT_MS: u64 = 300;
/// How long the fake hangs: well past the client's timeout.
const HANG: Duration = Duration::from_millis(TEST_TIMEOUT_MS * 3);
/// Rounds of delivery a test runs before giving up (a bound, not a sleep).
const ROUNDS_MAX: usize = 40;

async fn stores() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut out = vec![("sqlite", Store::open(&url).await.unwrap(), Some(dir))];
    if let Some(pg) = fresh_postgres_url().await {
        out.push(("postgres", Store::open(&pg).await.unwrap(), None));
    }
    out
}

fn usd() -> Currency {
    Currency::parse("usd").unwrap()
}

/// A merchant selling one variant, `TEE-1` (10 on hand at one location).
struct Shop {
    merchant: MerchantId,
    variant: VariantId,
    product: ProductId,
    location: LocationId,
}

async fn shop(store: &Store) -> Shop {
    let merchant = MerchantId::new();
    let m = Merchant {
        id: merchant,
        name: "Shop".into(),
        created_at_ms: 1,
    };
    store.create_merchant(&m, &[]).await.unwrap();
    let (product, variant, location) = (ProductId::new(), VariantId::new(), LocationId::new());
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
    let l = Location {
        id: location,
        name: "WH".into(),
    };
    store.create_location(merchant, &l, 1).await.unwrap();
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

fn connection(
    s: &Shop,
    fake: &FakeAdobe,
    token: &str,
    settings: serde_json::Value,
) -> ConnectionRecord {
    let mut all = serde_json::json!({"request_timeout_ms": TEST_TIMEOUT_MS});
    if let (Some(a), Some(b)) = (all.as_object_mut(), settings.as_object()) {
        a.extend(b.clone());
    }
    ConnectionRecord {
        merchant_id: s.merchant,
        platform: "adobe".into(),
        shop_domain: "shop.example".into(),
        base_url: Some(fake.base_url.clone()),
        credentials: serde_json::json!({"access_token": token})
            .to_string()
            .into(),
        settings: all,
        created_at_ms: 1,
        updated_at_ms: 1,
    }
}

/// Connects the shop to `fake` and links TEE-1 (as the import would).
async fn connect_adobe(store: &Store, s: &Shop, fake: &FakeAdobe) {
    store
        .upsert_connection(&connection(s, fake, &fake.token, serde_json::json!({})))
        .await
        .unwrap();
    for (kind, ext, int) in [
        (ExternalKind::Variant, "TEE-1", s.variant.to_string()),
        (ExternalKind::InventoryItem, "TEE-1", s.variant.to_string()),
        (ExternalKind::Location, "default", s.location.to_string()),
        (ExternalKind::Product, "1", s.product.to_string()),
    ] {
        store
            .link_external_id(s.merchant, "adobe", kind, ext, &int)
            .await
            .unwrap();
    }
}

/// A fake store selling TEE-1 (50 at the default source) and a shop connected to it.
async fn connected_tee_shop(store: &Store) -> (FakeAdobe, Shop) {
    let fake = FakeAdobe::start(TOKEN, HANG).await;
    fake.add_simple("TEE-1", "Tee", 25.0, &[("default", 50.0)]);
    let s = shop(store).await;
    connect_adobe(store, &s, &fake).await;
    (fake, s)
}

/// Sells `qty` TEE-1 through anycart's own checkout path (hold → complete),
/// which writes the order and its outbox row.
async fn sell(store: &Store, s: &Shop, qty: u32) -> OrderId {
    let session_id = SessionId::new();
    let items_minor = 2500 * i64::from(qty);
    let totals = Totals {
        items_base_minor: items_minor,
        discount_minor: 0,
        subtotal_minor: items_minor,
        fulfillment_minor: 500,
        tax_minor: 200,
        total_minor: items_minor + 700,
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
    let fulfillment = Fulfillment {
        name: Some("Ada Lovelace".into()),
        email: None,
        phone_number: Some("+1 555 0100".into()),
        address: Some(
            Address::parse(
                "Ada Lovelace",
                "1 Main St",
                Some("Apt 2"),
                "Springfield",
                "IL",
                "us",
                "62701",
            )
            .unwrap(),
        ),
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
        created_at_ms: 0,
        updated_at_ms: 0,
        expires_at_ms: i64::MAX / 2,
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
async fn drain(store: &Store, s: &Shop, mut now_ms: i64) -> i64 {
    for _ in 0..ROUNDS_MAX {
        deliver_due(store, now_ms).await.unwrap();
        let pending = store
            .list_outbox(s.merchant, OutboxState::Pending, 10)
            .await
            .unwrap();
        if pending.is_empty() {
            return now_ms;
        }
        now_ms += OUTBOX_BACKOFF_MAX_MS + 1;
    }
    panic!("outbox did not drain in {ROUNDS_MAX} rounds");
}

async fn available(store: &Store, merchant: MerchantId, variant: VariantId) -> i64 {
    let levels = store.stock_levels(merchant, &[variant]).await.unwrap();
    levels.iter().map(|l| l.available()).sum()
}

async fn variant_of(store: &Store, merchant: MerchantId, sku: &str) -> VariantId {
    store
        .external_to_internal(merchant, "adobe", ExternalKind::InventoryItem, sku)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{sku} linked"))
        .parse()
        .unwrap()
}

/// The outbox item of `order` in `state`.
async fn outbox_item(store: &Store, s: &Shop, state: OutboxState, order: OrderId) -> OutboxItem {
    let items = store.list_outbox(s.merchant, state, 10).await.unwrap();
    items
        .into_iter()
        .find(|i| i.external_reference == order.to_string())
        .unwrap()
}

/// The push the outbox worker would make for the pending item of `order`.
async fn pending_push(store: &Store, s: &Shop, order: OrderId) -> OrderPush {
    let item = outbox_item(store, s, OutboxState::Pending, order).await;
    OrderPush {
        order: item.order().unwrap(),
        platform_variants: BTreeMap::from([(s.variant, "TEE-1".to_string())]),
    }
}

/// The connector for the shop's stored connection (a new one each call: a restart).
async fn adobe_connector(store: &Store, s: &Shop) -> Box<dyn Connector> {
    let conn = store.get_connection(s.merchant).await.unwrap();
    connector_for(conn.as_ref()).unwrap()
}

#[tokio::test]
async fn one_adobe_order_per_anycart_order_under_failures_and_restarts() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = connected_tee_shop(&store).await;
        let first = sell(&store, &s, 2).await;
        let second = sell(&store, &s, 1).await;

        // A worker claims both and dies before doing anything (a restart).
        assert_eq!(
            store.claim_outbox(2_000, 60_000, 10).await.unwrap().len(),
            2
        );
        // Then: a 500 creating a cart, a 429 adding an item (waited out), a hang
        // before shipping is set (nothing placed), a placement whose answer is lost
        // and one whose answer is an HTML page: both placed exactly once.
        fake.fail_next(Endpoint::CreateCart, &[Failure::Http500]);
        fake.fail_next(Endpoint::AddItem, &[Failure::Http429 { retry_after_s: 1 }]);
        fake.fail_next(Endpoint::ShippingInformation, &[Failure::Hang]);
        fake.fail_next(
            Endpoint::PaymentInformation,
            &[Failure::LostResponse, Failure::Garbage],
        );
        drain(&store, &s, 70_000).await;

        let orders = fake.orders();
        assert_eq!(
            orders.len(),
            2,
            "{name}: exactly one platform order each: {orders:?}"
        );
        for (id, qty) in [(first, 2), (second, 1)] {
            let tagged: Vec<_> = orders
                .iter()
                .filter(|o| o.payment["po_number"] == id.to_string())
                .collect();
            assert_eq!(tagged.len(), 1, "{name}: {id}");
            let o = tagged[0];
            assert_eq!(o.items, vec![("TEE-1".to_string(), qty)], "{name}");
            assert_eq!(o.comments.len(), 1, "{name}: tagged once: {:?}", o.comments);
            assert_eq!(
                o.status.as_deref(),
                Some("pending"),
                "{name}: the comment kept the status"
            );
            assert!(
                o.comments[0].starts_with(&format!("anycart:{id} anycart order #")),
                "{}",
                o.comments[0]
            );
            let d = store.order_delivery(s.merchant, id).await.unwrap().unwrap();
            assert_eq!(d.state, OutboxState::Delivered, "{name}");
            assert_eq!(d.platform_order_id, Some(o.entity_id.to_string()), "{name}");
            assert_eq!(
                d.confirmation_status.as_deref(),
                Some("requested_from_platform"),
                "{name}"
            );
        }
        // What Adobe Commerce received is a faithful guest order.
        let o = &orders[0];
        assert_eq!(o.email, "shopper@example.com");
        assert_eq!(o.payment["method"], "purchaseorder");
        assert_eq!(
            (o.carrier.as_str(), o.method.as_str()),
            ("flatrate", "flatrate")
        );
        assert_eq!(o.shipping["firstname"], "Ada");
        assert_eq!(o.shipping["lastname"], "Lovelace");
        assert_eq!(
            o.shipping["street"],
            serde_json::json!(["1 Main St", "Apt 2"])
        );
        assert_eq!(
            (
                o.shipping["country_id"].as_str(),
                o.shipping["region_code"].as_str()
            ),
            (Some("US"), Some("IL"))
        );
        assert_eq!(o.shipping["telephone"], "+1 555 0100");
        assert_eq!(o.billing, o.shipping);

        // Delivering again (a late worker) changes nothing.
        deliver_due(&store, i64::MAX / 4).await.unwrap();
        assert_eq!(fake.orders().len(), 2, "{name}");
    }
}

#[tokio::test]
async fn a_restart_after_a_lost_placement_finds_the_order_instead_of_placing_again() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = connected_tee_shop(&store).await;
        let order = sell(&store, &s, 1).await;
        let push = pending_push(&store, &s, order).await;

        // The placement commits but its answer is lost, and the lookup by quote
        // fails too: the attempt ends not knowing (as if the process had died).
        fake.fail_next(Endpoint::PaymentInformation, &[Failure::LostResponse]);
        fake.fail_next(Endpoint::Orders, &[Failure::Succeed, Failure::Http500]);
        let before = adobe_connector(&store, &s).await;
        let r = before.push_order(&push).await;
        assert!(
            matches!(r, Err(ConnectorError::Transient(_))),
            "{name}: {r:?}"
        );
        assert_eq!(fake.orders().len(), 1, "{name}: placed");
        assert!(
            fake.orders()[0].comments.is_empty(),
            "{name}: not tagged yet"
        );
        drop(before);

        // A new process knows nothing of the cart; the PO number finds the order.
        let after = adobe_connector(&store, &s).await;
        let pushed = after.push_order(&push).await.unwrap();
        let placed = &fake.orders()[0];
        assert_eq!(
            pushed.platform_order_id,
            placed.entity_id.to_string(),
            "{name}"
        );
        assert_eq!(pushed.confirmation, Confirmation::AlreadyOnPlatform);
        assert_eq!(
            (fake.orders().len(), fake.carts()),
            (1, 1),
            "{name}: no second cart"
        );
        assert_eq!(fake.orders()[0].comments.len(), 1, "{name}: tagged now");
        // And again: still one order, not tagged twice.
        after.push_order(&push).await.unwrap();
        assert_eq!(
            (fake.orders().len(), fake.orders()[0].comments.len()),
            (1, 1),
            "{name}"
        );

        // With a payment method that keeps no PO number, the comment is the tag.
        store
            .upsert_connection(&connection(
                &s,
                &fake,
                TOKEN,
                serde_json::json!({"payment_method": "checkmo"}),
            ))
            .await
            .unwrap();
        let other = sell(&store, &s, 1).await;
        let push = pending_push(&store, &s, other).await;
        fake.fail_next(Endpoint::PaymentInformation, &[Failure::LostResponse]);
        let c = adobe_connector(&store, &s).await;
        let first = c.push_order(&push).await.unwrap();
        assert_eq!(
            first.confirmation,
            Confirmation::RequestedFromPlatform,
            "{name}: found by its quote"
        );
        let again = adobe_connector(&store, &s)
            .await
            .push_order(&push)
            .await
            .unwrap();
        assert_eq!(
            (again.confirmation, again.platform_order_id),
            (Confirmation::AlreadyOnPlatform, first.platform_order_id)
        );
        assert_eq!(fake.orders().len(), 2, "{name}");
        assert_eq!(fake.orders()[1].payment["method"], "checkmo");
    }
}

#[tokio::test]
async fn refusals_dead_letter_at_once_and_outages_after_the_attempt_limit() {
    for (name, store, _dir) in stores().await {
        let fake = FakeAdobe::start(TOKEN, HANG).await;
        fake.add_simple("TEE-1", "Tee", 25.0, &[("default", 0.0)]);
        let s = shop(&store).await;
        connect_adobe(&store, &s, &fake).await;

        // Out of stock on the platform: Magento's 400 is permanent.
        let refused = sell(&store, &s, 1).await;
        drain(&store, &s, 2_000).await;
        let d = store
            .order_delivery(s.merchant, refused)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Dead, 1), "{name}");
        assert!(
            d.last_error
                .as_deref()
                .unwrap()
                .contains("The requested qty is not available"),
            "{:?}",
            d.last_error
        );
        assert!(fake.orders().is_empty(), "{name}");

        // An outage: retried up to the limit, then dead; re-queued after the fix,
        // delivered once.
        fake.set_source_quantity("TEE-1", "default", 20.0);
        let order = sell(&store, &s, 1).await;
        fake.fail_always(true);
        drain(&store, &s, 3_000).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (d.state, d.attempts),
            (OutboxState::Dead, OUTBOX_ATTEMPTS_MAX),
            "{name}"
        );
        assert!(d.last_error.as_deref().unwrap().contains("500"), "{name}");
        fake.fail_always(false);
        let item = outbox_item(&store, &s, OutboxState::Dead, order).await;
        store.outbox_retry(s.merchant, &item.id, 10).await.unwrap();
        drain(&store, &s, 20).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.state, OutboxState::Delivered, "{name}");
        assert_eq!(fake.orders().len(), 1, "{name}");

        // A variant with no linked SKU: dead at once, nothing sent.
        store
            .link_external_id(
                s.merchant,
                "adobe",
                ExternalKind::Variant,
                "TEE-1",
                "var_unlinked",
            )
            .await
            .unwrap();
        let requests = fake.requests().len();
        let unmapped = sell(&store, &s, 1).await;
        drain(&store, &s, 30).await;
        let d = store
            .order_delivery(s.merchant, unmapped)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Dead, 1), "{name}");
        assert!(d.last_error.unwrap().contains("not linked"));
        assert_eq!(fake.requests().len(), requests, "{name}: nothing sent");

        // A revoked token is permanent too.
        store
            .upsert_connection(&connection(&s, &fake, "revoked", serde_json::json!({})))
            .await
            .unwrap();
        store
            .link_external_id(
                s.merchant,
                "adobe",
                ExternalKind::Variant,
                "TEE-1",
                &s.variant.to_string(),
            )
            .await
            .unwrap();
        let revoked = sell(&store, &s, 1).await;
        let push = pending_push(&store, &s, revoked).await;
        let r = adobe_connector(&store, &s).await.push_order(&push).await;
        assert!(
            matches!(&r, Err(ConnectorError::Permanent(m)) if m.contains("access token")),
            "{name}: {r:?}"
        );
    }
}

#[tokio::test]
async fn import_pages_by_total_count_waits_out_429_and_maps_children_images_and_sources() {
    for (name, store, _dir) in stores().await {
        let fake = FakeAdobe::start(TOKEN, HANG).await;
        fake.add_source("eu", "EU warehouse", true);
        fake.add_source("old", "Closed store", false);
        for i in 0..23 {
            fake.add_simple(
                &format!("S{i:02}"),
                &format!("Simple {i}"),
                19.9,
                &[("default", 4.0), ("eu", 2.0), ("old", 9.0)],
            );
        }
        fake.add_configurable(
            "HOODIE",
            "Hoodie",
            &[
                ("HOODIE-S", 49.5, &[("default", 3.0)]),
                ("HOODIE-M", 49.5, &[("default", 5.0), ("eu", 1.0)]),
                ("HOODIE-L", 52.0, &[]),
            ],
        );
        fake.add_configurable("CAP", "Cap", &[("CAP-1", 12.0, &[("eu", 7.0)])]);
        fake.storefront_sale("HOODIE-M", 2); // reserved, not shipped: 6 on hand, 4 salable
        let s = shop(&store).await;
        store
            .upsert_connection(&connection(&s, &fake, TOKEN, serde_json::json!({})))
            .await
            .unwrap();
        let connector = adobe_connector(&store, &s).await;

        // Throttled on the first page (waited out), page 2 fails: page 1 kept.
        fake.fail_next(
            Endpoint::Products,
            &[
                Failure::Http429 { retry_after_s: 1 },
                Failure::Succeed,
                Failure::Http500,
            ],
        );
        let started = Instant::now();
        let mut pages_seen = 0;
        let first = import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {
            pages_seen += 1
        })
        .await;
        assert!(
            matches!(first, Err(ConnectorError::Transient(_))),
            "{name}: {first:?}"
        );
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{name}: waited for Retry-After"
        );
        assert_eq!(pages_seen, 1);
        let saved = store
            .import_cursor(s.merchant, "adobe", "products")
            .await
            .unwrap();
        assert_eq!(
            (saved.cursor.as_deref(), saved.done),
            (Some("2"), false),
            "{name}"
        );

        let products_before = fake
            .requests()
            .iter()
            .filter(|e| **e == Endpoint::Products)
            .count();
        let done = import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {})
            .await
            .unwrap();
        // 25 visible products (children are variants, not products): pages 2 and 3.
        assert!(
            done.finished && done.pages == 2 && done.products == 15,
            "{name}: {done:?}"
        );
        let products_after = fake
            .requests()
            .iter()
            .filter(|e| **e == Endpoint::Products)
            .count();
        assert_eq!(
            products_after - products_before,
            2,
            "{name}: no page past the end"
        );
        assert_eq!(
            store
                .list_products(s.merchant, None, 100)
                .await
                .unwrap()
                .len(),
            1 + 25,
            "{name}"
        );

        // A configurable's children are its variants, priced exactly, stocked per
        // source net of MSI reservations; disabled sources sell nothing.
        let m = variant_of(&store, s.merchant, "HOODIE-M").await;
        let levels = store.stock_levels(s.merchant, &[m]).await.unwrap();
        assert_eq!(
            levels.iter().map(|l| l.on_hand).sum::<i64>(),
            4,
            "{name}: 5 + 1 - 2 reserved"
        );
        let hoodie = store.get_variants(s.merchant, &[m]).await.unwrap();
        assert_eq!(hoodie[0].price.amount_minor, 4950);
        let product = store
            .get_product(s.merchant, hoodie[0].product_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(product.variants.len(), 3, "{name}");
        assert_eq!(product.title, "Hoodie");
        assert_eq!(product.description, "The Hoodie");
        assert_eq!(
            product.images,
            vec![format!(
                "{}/media/catalog/product/h/h/hoodie.jpg",
                fake.base_url
            )]
        );
        let simple = variant_of(&store, s.merchant, "S07").await;
        let levels = store.stock_levels(s.merchant, &[simple]).await.unwrap();
        assert_eq!(
            levels
                .iter()
                .map(|l| l.on_hand)
                .collect::<Vec<_>>()
                .iter()
                .sum::<i64>(),
            6,
            "{name}: 4 + 2, not the closed store's 9"
        );
        let locations = store.list_locations(s.merchant).await.unwrap();
        let mut names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["Default Source", "EU warehouse", "WH"], "{name}");
        assert!(
            store
                .external_to_internal(s.merchant, "adobe", ExternalKind::Variant, "HOODIE")
                .await
                .unwrap()
                .is_none(),
            "{name}: a parent is not a variant"
        );

        // A restart re-reads everything and updates instead of duplicating.
        let again = import_catalogue(&store, s.merchant, connector.as_ref(), true, 10, |_| {})
            .await
            .unwrap();
        assert_eq!((again.pages, again.products), (3, 25), "{name}");
        assert_eq!(
            store
                .list_products(s.merchant, None, 100)
                .await
                .unwrap()
                .len(),
            1 + 25,
            "{name}"
        );

        // A Retry-After longer than anycart waits is a transient error, at once.
        fake.fail_next(
            Endpoint::Products,
            &[Failure::Http429 { retry_after_s: 60 }],
        );
        let started = Instant::now();
        let r = connector.import_page(None).await;
        assert!(
            matches!(&r, Err(ConnectorError::Transient(m)) if m.contains("429")),
            "{name}: {r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn reconciliation_follows_storefront_sales_down_and_restocks_up() {
    for (name, store, _dir) in stores().await {
        let fake = FakeAdobe::start(TOKEN, HANG).await;
        fake.add_simple("MUG", "Mug", 9.0, &[("default", 10.0)]);
        let s = shop(&store).await;
        store
            .upsert_connection(&connection(&s, &fake, TOKEN, serde_json::json!({})))
            .await
            .unwrap();
        let connector = adobe_connector(&store, &s).await;
        import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {})
            .await
            .unwrap();
        let mug = variant_of(&store, s.merchant, "MUG").await;
        assert_eq!(available(&store, s.merchant, mug).await, 10);

        // A shopper buys 3 on the Magento storefront (an MSI reservation).
        fake.storefront_sale("MUG", 3);
        let r = reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_000)
            .await
            .unwrap();
        assert_eq!((r.pages, r.rows), (1, 1), "{name}");
        assert_eq!(
            available(&store, s.merchant, mug).await,
            7,
            "{name}: lowered"
        );
        // Running it again changes nothing.
        reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_001)
            .await
            .unwrap();
        assert_eq!(available(&store, s.merchant, mug).await, 7, "{name}");
        // The merchant restocks 20 at the source.
        fake.set_source_quantity("MUG", "default", 30.0);
        reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_002)
            .await
            .unwrap();
        assert_eq!(
            available(&store, s.merchant, mug).await,
            27,
            "{name}: raised"
        );
    }
}

#[tokio::test]
async fn malformed_and_partial_answers_are_clear_errors_that_change_nothing() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = connected_tee_shop(&store).await;
        let connector = adobe_connector(&store, &s).await;

        fake.fail_next(Endpoint::Products, &[Failure::Partial, Failure::Garbage]);
        for expected in ["total_count", "unreadable Adobe Commerce answer"] {
            let r =
                import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {}).await;
            assert!(
                matches!(&r, Err(ConnectorError::Malformed(m)) if m.contains(expected)),
                "{name}: {r:?}"
            );
        }
        assert_eq!(
            store
                .list_products(s.merchant, None, 100)
                .await
                .unwrap()
                .len(),
            1,
            "{name}"
        );
        let saved = store
            .import_cursor(s.merchant, "adobe", "products")
            .await
            .unwrap();
        assert_eq!(
            (saved.cursor, saved.done),
            (None, false),
            "{name}: no cursor saved"
        );

        // An unreadable answer before placement is retried; the order goes out once.
        fake.fail_next(Endpoint::CreateCart, &[Failure::Garbage]);
        fake.fail_next(Endpoint::GetCart, &[Failure::Partial]);
        let order = sell(&store, &s, 1).await;
        drain(&store, &s, 2_000).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Delivered, 3), "{name}");
        assert_eq!(fake.orders().len(), 1, "{name}");
        assert_eq!(
            fake.carts(),
            3,
            "{name}: the two garbled carts were never filled"
        );

        // Adobe webhooks are refused plainly; nothing is recorded.
        let r = ingest(
            &store,
            Platform::Adobe,
            s.merchant,
            &HeaderMap::new(),
            b"{}",
            5,
        )
        .await;
        assert!(
            matches!(
                r,
                Err(IngestError::Connector(ConnectorError::Misconfigured(_)))
            ),
            "{name}: {r:?}"
        );
    }
}

#[tokio::test]
async fn connecting_adobe_checks_its_fields() {
    for (name, store, _dir) in stores().await {
        let s = shop(&store).await;
        let request = |base_url: Option<&str>, store_code: Option<&str>| ConnectRequest {
            platform: "adobe".into(),
            base_url: base_url.map(str::to_string),
            access_token: Some("tok".to_string().into()),
            store_code: store_code.map(str::to_string),
            ..Default::default()
        };
        for (bad, why) in [
            (request(None, None), "base_url"),
            (request(Some("ftp://shop.example"), None), "base_url"),
            (
                request(Some("https://shop.example"), Some("en/../admin")),
                "store_code",
            ),
            (
                ConnectRequest {
                    access_token: None,
                    ..request(Some("https://shop.example"), None)
                },
                "access_token",
            ),
        ] {
            let r = connect(&store, s.merchant, bad, 5).await;
            assert!(
                matches!(&r, Err(ConnectorError::Misconfigured(m)) if m.contains(why)),
                "{name}: {r:?}"
            );
        }
        assert!(
            store.get_connection(s.merchant).await.unwrap().is_none(),
            "{name}"
        );
        let ok = ConnectRequest {
            shipping_carrier_code: Some("freeshipping".into()),
            shipping_method_code: Some("freeshipping".into()),
            payment_method: Some("checkmo".into()),
            ..request(Some("https://Shop.Example/"), Some("en"))
        };
        let record = connect(&store, s.merchant, ok, 5).await.unwrap();
        assert_eq!(
            (record.platform.as_str(), record.shop_domain.as_str()),
            ("adobe", "shop.example")
        );
        assert_eq!(record.settings["store_code"], "en");
        assert_eq!(record.settings["payment_method"], "checkmo");
        assert_eq!(
            connector_for(Some(&record)).unwrap().platform(),
            Platform::Adobe
        );
    }
}

#[tokio::test]
async fn orders_magento_cannot_take_are_refused_before_any_request() {
    let (_, store, _dir) = stores().await.into_iter().next().unwrap();
    let (fake, s) = connected_tee_shop(&store).await;
    let connector = adobe_connector(&store, &s).await;
    let order = sell(&store, &s, 1).await;
    let push = pending_push(&store, &s, order).await;

    let mut no_email = push.clone();
    no_email.order.email = None;
    let mut no_address = push.clone();
    no_address.order.fulfillment.address = None;
    for (bad, why) in [(no_email, "email"), (no_address, "shipping address")] {
        let r = connector.push_order(&bad).await;
        assert!(
            matches!(&r, Err(ConnectorError::Permanent(m)) if m.contains(why)),
            "{r:?}"
        );
    }
    assert!(fake.requests().is_empty(), "refused before any request");

    // A one-word name fills both names; no phone sends a placeholder (Magento
    // requires one by default); the fulfillment email stands in for the order's.
    let mut odd = push.clone();
    odd.order.email = None;
    odd.order.fulfillment.email = Some(anycart_core::Email::parse("alt@example.com").unwrap());
    odd.order.fulfillment.phone_number = None;
    if let Some(a) = odd.order.fulfillment.address.as_mut() {
        a.name = "Cher".into();
        a.state = String::new();
    }
    connector.push_order(&odd).await.unwrap();
    let placed = &fake.orders()[0];
    assert_eq!(
        (
            placed.shipping["firstname"].as_str(),
            placed.shipping["lastname"].as_str()
        ),
        (Some("Cher"), Some("Cher"))
    );
    assert_eq!(placed.shipping["telephone"], "not provided");
    assert!(placed.shipping.get("region_code").is_none());
    assert_eq!(placed.email, "alt@example.com");
}
