//! The Adobe Commerce connector against a fake Magento REST API, on SQLite and
//! (when `ANYCART_TEST_DATABASE_URL` is set) PostgreSQL: one platform order per
//! anycart order under injected failures and restarts, dead-lettering, import
//! with pagination and throttling, reconciliation both ways, malformed answers.

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod common;
mod fakes;

use anycart_connectors::connect::connect;
use anycart_connectors::delivery::{OUTBOX_ATTEMPTS_MAX, deliver_due};
use anycart_connectors::import::import_catalogue;
use anycart_connectors::reconcile::reconcile_stock;
use anycart_connectors::webhooks::{IngestError, ingest};
use anycart_connectors::{
    Confirmation, Connector, ConnectorError, OrderPush, Platform, connector_for,
};
use anycart_core::session::Fulfillment;
use anycart_core::values::Address;
use anycart_core::{MerchantId, OrderId, VariantId};
use anycart_store::{AdobeSettings, PlatformSettings, Secret};
use anycart_store::{ConnectionRecord, ExternalKind, OutboxItem, OutboxState, Store};
use common::*;
use fakes::adobe::{Endpoint, Failure, FakeAdobe};
use reqwest::header::HeaderMap;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "adobe_integration_token";
/// How long the fake hangs: well past the client's timeout.
const HANG: Duration = Duration::from_millis(TEST_TIMEOUT_MS * 3);

fn connection(
    s: &Shop,
    fake: &FakeAdobe,
    token: &str,
    settings: serde_json::Value,
) -> ConnectionRecord {
    let mut all = serde_json::json!({
        "platform": "adobe",
        "shop_domain": "shop.example",
        "base_url": fake.base_url,
        "access_token": token,
        "request_timeout_ms": TEST_TIMEOUT_MS,
    });
    if let (Some(a), Some(b)) = (all.as_object_mut(), settings.as_object()) {
        a.extend(b.clone());
    }
    ConnectionRecord {
        merchant_id: s.merchant,
        settings: serde_json::from_value(all).unwrap(),
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

/// Where the Adobe tests ship: Magento needs a name, a phone and an address.
fn ada() -> Fulfillment {
    Fulfillment {
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
    }
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
        affiliate: vec![],
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
        let first = sell_to(&store, &s, 2, ada()).await;
        let second = sell_to(&store, &s, 1, ada()).await;

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
        // Magento's id for Illinois, read from the directory API.
        assert_eq!(
            (&o.shipping["region_id"], &o.shipping["region"]),
            (&serde_json::json!(23), &serde_json::json!("Illinois"))
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
        let order = sell_to(&store, &s, 1, ada()).await;
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
        let other = sell_to(&store, &s, 1, ada()).await;
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
        let refused = sell_to(&store, &s, 1, ada()).await;
        let error = dead_at_once(&store, &s, refused, 2_000).await;
        assert!(
            error.contains("The requested qty is not available"),
            "{name}: {error}"
        );
        assert!(fake.orders().is_empty(), "{name}");

        // An outage: retried up to the limit, then dead; re-queued after the fix,
        // delivered once.
        fake.set_source_quantity("TEE-1", "default", 20.0);
        let order = sell_to(&store, &s, 1, ada()).await;
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
        let unmapped = sell_to(&store, &s, 1, ada()).await;
        let error = dead_at_once(&store, &s, unmapped, 30).await;
        assert!(error.contains("not linked"), "{name}: {error}");
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
        let revoked = sell_to(&store, &s, 1, ada()).await;
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
        assert_eq!(variant_available(&store, s.merchant, mug).await, 10);

        // A shopper buys 3 on the Magento storefront (an MSI reservation).
        fake.storefront_sale("MUG", 3);
        let r = reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_000)
            .await
            .unwrap();
        assert_eq!((r.pages, r.rows), (1, 1), "{name}");
        assert_eq!(
            variant_available(&store, s.merchant, mug).await,
            7,
            "{name}: lowered"
        );
        // Running it again changes nothing.
        reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_001)
            .await
            .unwrap();
        assert_eq!(
            variant_available(&store, s.merchant, mug).await,
            7,
            "{name}"
        );
        // The merchant restocks 20 at the source.
        fake.set_source_quantity("MUG", "default", 30.0);
        reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_002)
            .await
            .unwrap();
        assert_eq!(
            variant_available(&store, s.merchant, mug).await,
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
        let order = sell_to(&store, &s, 1, ada()).await;
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
        let request = |base_url: &str, store_code: Option<&str>| AdobeSettings {
            base_url: base_url.to_string(),
            shop_domain: String::new(),
            access_token: Secret::new("tok"),
            consumer_key: None,
            consumer_secret: None,
            access_token_secret: None,
            store_code: store_code.map(str::to_string),
            shipping_carrier_code: None,
            shipping_method_code: None,
            payment_method: None,
            stock_id: None,
            request_timeout_ms: None,
        };
        for (bad, why) in [
            (request("", None), "base_url"),
            (request("ftp://shop.example", None), "base_url"),
            (
                request("https://shop.example", Some("en/../admin")),
                "store_code",
            ),
            (
                AdobeSettings {
                    access_token: Secret::new(" "),
                    ..request("https://shop.example", None)
                },
                "access_token",
            ),
            (
                AdobeSettings {
                    consumer_key: Some("ck".into()),
                    ..request("https://shop.example", None)
                },
                "consumer_secret",
            ),
        ] {
            let r = connect(&store, s.merchant, PlatformSettings::Adobe(bad), 5).await;
            assert!(
                matches!(&r, Err(ConnectorError::Misconfigured(m)) if m.contains(why)),
                "{name}: {r:?}"
            );
        }
        assert!(
            store.get_connection(s.merchant).await.unwrap().is_none(),
            "{name}"
        );
        let ok = AdobeSettings {
            shipping_carrier_code: Some("freeshipping".into()),
            shipping_method_code: Some("freeshipping".into()),
            payment_method: Some("checkmo".into()),
            ..request("https://Shop.Example/", Some("en"))
        };
        let record = connect(&store, s.merchant, PlatformSettings::Adobe(ok), 5)
            .await
            .unwrap();
        assert_eq!(
            (record.platform(), record.shop_domain()),
            ("adobe", "shop.example")
        );
        let PlatformSettings::Adobe(stored) = &record.settings else {
            panic!("{name}: not adobe")
        };
        assert_eq!(stored.store_code.as_deref(), Some("en"));
        assert_eq!(stored.payment_method.as_deref(), Some("checkmo"));
        assert_eq!(
            connector_for(Some(&record)).unwrap().platform(),
            Platform::Adobe
        );
    }
}

#[tokio::test]
async fn integrations_sign_requests_with_oauth1_where_bearer_tokens_are_off() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = connected_tee_shop(&store).await;
        // The store takes only OAuth 1.0a (2.4.4's default): the bearer token is refused.
        fake.require_oauth1("ck_1", "cs_secret", "ts_secret");
        let refused = sell_to(&store, &s, 1, ada()).await;
        let error = dead_at_once(&store, &s, refused, 2_000).await;
        assert!(
            error.contains("refused the access token"),
            "{name}: {error}"
        );
        assert!(fake.orders().is_empty(), "{name}");

        // Signed with the integration's four credentials: searches (query
        // parameters in the signature), carts and placement all go through.
        let oauth = serde_json::json!({"consumer_key": "ck_1", "consumer_secret": "cs_secret", "access_token_secret": "ts_secret"});
        store
            .upsert_connection(&connection(&s, &fake, &fake.token, oauth))
            .await
            .unwrap();
        let order = sell_to(&store, &s, 1, ada()).await;
        drain(&store, &s, 3_000).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            d.state,
            OutboxState::Delivered,
            "{name}: {:?}",
            d.last_error
        );
        assert_eq!(fake.orders().len(), 1, "{name}");

        // A wrong secret signs wrongly: refused.
        let wrong = serde_json::json!({"consumer_key": "ck_1", "consumer_secret": "other", "access_token_secret": "ts_secret"});
        store
            .upsert_connection(&connection(&s, &fake, &fake.token, wrong))
            .await
            .unwrap();
        let unsigned = sell_to(&store, &s, 1, ada()).await;
        let error = dead_at_once(&store, &s, unsigned, 4_000).await;
        assert!(
            error.contains("refused the access token"),
            "{name}: {error}"
        );
        assert_eq!(fake.orders().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn orders_magento_cannot_take_are_refused_before_any_request() {
    let (_, store, _dir) = stores().await.into_iter().next().unwrap();
    let (fake, s) = connected_tee_shop(&store).await;
    let connector = adobe_connector(&store, &s).await;
    let order = sell_to(&store, &s, 1, ada()).await;
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

    // A region the country's list (directory API) does not have: refused before
    // any cart exists, with the reason.
    let mut nowhere = push.clone();
    if let Some(a) = nowhere.order.fulfillment.address.as_mut() {
        a.state = "Narnia".into();
    }
    let r = connector.push_order(&nowhere).await;
    assert!(
        matches!(&r, Err(ConnectorError::Permanent(m)) if m.contains("Narnia") && m.contains("regions of US")),
        "{r:?}"
    );
    assert!(
        !fake.requests().contains(&Endpoint::CreateCart),
        "no cart for an order that cannot be placed"
    );

    // A one-word name fills both names; no phone sends a placeholder (Magento
    // requires one by default); the fulfillment email stands in for the order's.
    let mut odd = push.clone();
    odd.order.email = None;
    odd.order.fulfillment.email = Some(anycart_core::Email::parse("alt@example.com").unwrap());
    odd.order.fulfillment.phone_number = None;
    if let Some(a) = odd.order.fulfillment.address.as_mut() {
        a.name = "Cher".into();
        // A country without a region list: no region at all, id 0.
        a.country = anycart_core::CountryCode::parse("GB").unwrap();
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
    assert_eq!(
        (
            &placed.shipping["region_id"],
            &placed.shipping["region_code"]
        ),
        (&serde_json::json!(0), &serde_json::json!(""))
    );
    assert_eq!(placed.email, "alt@example.com");
}
