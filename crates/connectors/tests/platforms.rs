//! Connector behaviour against fake platforms, on SQLite and (when
//! `ANYCART_TEST_DATABASE_URL` is set) PostgreSQL: exactly-once order push under
//! failures and restarts, dead-lettering, webhook intake, native confirmations.

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod common;
mod fakes;

use anycart_connectors::delivery::{OUTBOX_ATTEMPTS_MAX, OUTBOX_BACKOFF_MAX_MS, deliver_due};
use anycart_connectors::shopify::sign_webhook;
use anycart_connectors::webhooks::{IngestError, IngestOutcome, ingest};
use anycart_connectors::{ConnectorError, Platform};
use anycart_core::VariantId;
use anycart_store::{ConnectionRecord, ExternalKind, OutboxState, Store};
use common::*;
use fakes::shopify::{Failure, FakeShopify};
use fakes::smtp::SmtpSink;
use reqwest::header::{HeaderMap, HeaderValue};
use std::time::Duration;

const TOKEN: &str = "shpat_test_token";
const SECRET: &str = "shopify_app_secret";
const SHOP: &str = "anycart-test.myshopify.com";

async fn connect_shopify(store: &Store, s: &Shop, fake: &FakeShopify) {
    store
        .upsert_connection(&ConnectionRecord {
            merchant_id: s.merchant,
            settings: serde_json::from_value(serde_json::json!({
                "platform": "shopify",
                "shop_domain": SHOP,
                "base_url": fake.base_url,
                "access_token": fake.token,
                "webhook_secret": SECRET,
                "request_timeout_ms": TEST_TIMEOUT_MS,
            }))
            .unwrap(),
            created_at_ms: 1,
            updated_at_ms: 1,
        })
        .await
        .unwrap();
    let link = |kind, ext: &str, int: String| {
        let ext = ext.to_string();
        async move {
            store
                .link_external_id(s.merchant, "shopify", kind, &ext, &int)
                .await
                .unwrap()
        }
    };
    link(
        ExternalKind::Variant,
        "gid://shopify/ProductVariant/11",
        s.variant.to_string(),
    )
    .await;
    link(
        ExternalKind::InventoryItem,
        "gid://shopify/InventoryItem/21",
        s.variant.to_string(),
    )
    .await;
    link(
        ExternalKind::Location,
        "gid://shopify/Location/31",
        s.location.to_string(),
    )
    .await;
    link(
        ExternalKind::Product,
        "gid://shopify/Product/41",
        s.product.to_string(),
    )
    .await;
}

#[tokio::test]
async fn one_shopify_order_per_anycart_order_under_500s_timeouts_and_restarts() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let first = sell(&store, &s, 2).await;
        let second = sell(&store, &s, 1).await;

        // A worker claims both and dies before doing anything (a restart): the
        // leases run out and another worker picks them up.
        assert_eq!(
            store.claim_outbox(2_000, 60_000, 10).await.unwrap().len(),
            2
        );
        assert!(
            deliver_due(&store, 3_000).await.unwrap() == Default::default(),
            "{name}: leased items wait"
        );

        // Then: a 500, a throttle, a 429, and an orderCreate whose response is lost
        // after Shopify committed it.
        fake.fail_next(&[Failure::Http500, Failure::Throttled, Failure::Http429]);
        fake.hang_next_create(Duration::from_millis(TEST_TIMEOUT_MS * 3));
        drain(&store, &s, 70_000).await;

        let orders = fake.orders();
        assert_eq!(
            orders.len(),
            2,
            "{name}: exactly one platform order each: {orders:?}"
        );
        for id in [first, second] {
            let tag = format!("anycart-{id}");
            assert_eq!(
                orders.iter().filter(|o| o.tags.contains(&tag)).count(),
                1,
                "{name}"
            );
            let d = store.order_delivery(s.merchant, id).await.unwrap().unwrap();
            assert_eq!(d.state, OutboxState::Delivered, "{name}");
            let platform = orders.iter().find(|o| o.tags.contains(&tag)).unwrap();
            assert_eq!(d.platform_order_id.as_deref(), Some(platform.id.as_str()));
        }
        // The order that hung after commit was found by the search, not re-created.
        let mut statuses = vec![];
        for id in [first, second] {
            let d = store.order_delivery(s.merchant, id).await.unwrap().unwrap();
            statuses.push(d.confirmation_status.unwrap());
        }
        assert!(
            statuses.contains(&"already_on_platform".to_string()),
            "{name}: {statuses:?}"
        );
        // What Shopify received is a faithful order: receipt, inventory, payment, attribution.
        let o = &orders[0];
        assert_eq!(o.options["sendReceipt"], true);
        assert_eq!(o.options["inventoryBehaviour"], "DECREMENT_IGNORING_POLICY");
        assert_eq!(
            o.input["lineItems"][0]["variantId"],
            "gid://shopify/ProductVariant/11"
        );
        assert_eq!(o.input["transactions"][0]["kind"], "SALE");
        assert_eq!(
            o.input["transactions"][0]["amountSet"]["shopMoney"]["amount"],
            if o.input["lineItems"][0]["quantity"] == 2 {
                "57.00"
            } else {
                "32.00"
            }
        );
        assert_eq!(o.input["customAttributes"][0]["key"], "anycart_order_id");
        assert_eq!(o.input["email"], "shopper@example.com");

        // Delivering again (a late worker) changes nothing.
        deliver_due(&store, i64::MAX / 4).await.unwrap();
        assert_eq!(fake.orders().len(), 2, "{name}");
    }
}

#[tokio::test]
async fn outages_dead_letter_after_the_attempt_limit_and_refusals_at_once() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let order = sell(&store, &s, 1).await;
        fake.fail_always(true);
        drain(&store, &s, 2_000).await;
        let dead = store
            .list_outbox(s.merchant, OutboxState::Dead, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(dead[0].attempts, OUTBOX_ATTEMPTS_MAX, "{name}");
        assert!(
            dead[0].last_error.as_deref().unwrap().contains("500"),
            "{name}"
        );
        assert!(fake.orders().is_empty());
        // The operator fixes the outage and re-queues it: delivered once.
        fake.fail_always(false);
        store
            .outbox_retry(s.merchant, &dead[0].id, 10)
            .await
            .unwrap();
        drain(&store, &s, 20).await;
        assert_eq!(
            store
                .order_delivery(s.merchant, order)
                .await
                .unwrap()
                .unwrap()
                .state,
            OutboxState::Delivered
        );
        assert_eq!(fake.orders().len(), 1, "{name}");

        // A variant Shopify does not know is a permanent error: dead at once, no request.
        store
            .link_external_id(
                s.merchant,
                "shopify",
                ExternalKind::Variant,
                "gid://shopify/ProductVariant/11",
                "var_unlinked",
            )
            .await
            .unwrap();
        let requests = fake.requests();
        let unmapped = sell(&store, &s, 1).await;
        drain(&store, &s, 30).await;
        let d = store
            .order_delivery(s.merchant, unmapped)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Dead, 1), "{name}");
        assert!(d.last_error.unwrap().contains("not linked"));
        assert_eq!(fake.requests(), requests, "{name}: nothing sent");
    }
}

#[tokio::test]
async fn a_denied_scope_dead_letters_at_once_with_shopifys_reason() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        // The app lacks write_orders: Shopify answers orderCreate null and says why
        // in the top-level errors. Retrying cannot help; the merchant must act.
        fake.revoke_scope("write_orders");
        let order = sell(&store, &s, 1).await;
        drain(&store, &s, 30).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Dead, 1), "{name}");
        let reason = d.last_error.unwrap();
        assert!(
            reason.contains("write_orders") && reason.contains("access"),
            "{name}: {reason}"
        );
        assert!(fake.orders().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn orders_wait_for_an_uninstalled_shop_to_come_back_and_then_reach_it() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        // The app was uninstalled: the shop's orders must not be taken as
        // delivered elsewhere (the native path), they wait for the shop.
        assert!(store.disable_connection(s.merchant, 1).await.unwrap());
        let order = sell(&store, &s, 1).await;
        deliver_due(&store, 10_000).await.unwrap();
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.state, OutboxState::Pending, "{name}: {d:?}");
        assert!(d.last_error.unwrap().contains("uninstalled"), "{name}");
        assert!(fake.orders().is_empty(), "{name}");
        // Installed again: the order reaches Shopify once.
        connect_shopify(&store, &s, &fake).await;
        drain(&store, &s, 20_000).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.state, OutboxState::Delivered, "{name}");
        assert_eq!(fake.orders().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn the_retry_look_up_matches_the_tag_exactly_among_loose_search_hits() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        // The first order is created but its answer is lost; a second order is then
        // pushed, so Shopify's loose search ranks it first for the first's tag.
        let first = sell(&store, &s, 1).await;
        fake.hang_next_create(Duration::from_millis(TEST_TIMEOUT_MS * 3));
        deliver_due(&store, 10_000).await.unwrap();
        assert_eq!(fake.orders().len(), 1, "{name}: created, answer lost");
        let second = sell(&store, &s, 2).await;
        deliver_due(&store, 10_001).await.unwrap(); // the first waits out its backoff
        assert_eq!(fake.orders().len(), 2, "{name}: the second is on Shopify");
        drain(&store, &s, 70_000).await;
        let orders = fake.orders();
        for id in [first, second] {
            let tag = format!("anycart-{id}");
            assert_eq!(
                orders.iter().filter(|o| o.tags.contains(&tag)).count(),
                1,
                "{name}: one Shopify order for {id}: {orders:?}"
            );
            let d = store.order_delivery(s.merchant, id).await.unwrap().unwrap();
            assert_eq!(d.state, OutboxState::Delivered, "{name}");
        }
    }
}

#[tokio::test]
async fn the_app_installs_by_oauth_and_subscribes_its_own_webhooks() {
    use anycart_connectors::shopify::ShopifyConnector;
    use anycart_connectors::shopify::oauth::{
        APP_SCOPES, WEBHOOK_TOPICS, exchange_code, install_url, new_state, verify_callback,
    };
    let fake = FakeShopify::start(TOKEN).await;
    fake.offer_app(
        "client-1",
        "app-secret",
        SHOP,
        "write_orders,read_products,read_inventory,read_locations",
    );
    let redirect = "https://anycart.example/oauth/shopify/callback";
    let state = new_state();

    // The merchant follows the install link and approves: Shopify sends them back.
    let link = install_url(&fake.base_url, "client-1", APP_SCOPES, redirect, &state).unwrap();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let grant = no_redirects.get(link).send().await.unwrap();
    assert_eq!(grant.status(), reqwest::StatusCode::FOUND);
    let back = url::Url::parse(grant.headers()["location"].to_str().unwrap()).unwrap();
    assert!(back.as_str().starts_with(redirect));
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let now_s = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();

    // A callback with another state (a forged or replayed install) is refused.
    assert!(verify_callback(&pairs, "app-secret", "someone-elses", now_s).is_err());
    let callback = verify_callback(&pairs, "app-secret", &state, now_s).unwrap();
    assert_eq!(callback.shop.as_ref(), SHOP);

    // The code gives the offline token (read_orders is implied by write_orders).
    let granted = exchange_code(
        &fake.base_url,
        "client-1",
        "app-secret",
        &callback.code,
        APP_SCOPES,
    )
    .await
    .unwrap();
    assert_eq!(granted.access_token, TOKEN);
    // A code works once.
    assert!(
        exchange_code(
            &fake.base_url,
            "client-1",
            "app-secret",
            &callback.code,
            APP_SCOPES
        )
        .await
        .is_err()
    );

    // The installed app subscribes its own webhooks through the Admin API, once.
    let settings: anycart_store::ShopifySettings = serde_json::from_value(serde_json::json!({
        "shop_domain": SHOP, "base_url": fake.base_url,
        "access_token": granted.access_token, "webhook_secret": "app-secret",
    }))
    .unwrap();
    let connector = ShopifyConnector::from_settings(&settings).unwrap();
    let hook = "https://anycart.example/webhooks/shopify/mer_1";
    let ids = connector.subscribe_webhooks(hook).await.unwrap();
    assert_eq!(ids.len(), WEBHOOK_TOPICS.len());
    assert!(
        connector.subscribe_webhooks(hook).await.unwrap().is_empty(),
        "already subscribed"
    );
    let topics: Vec<String> = fake.subscriptions().into_iter().map(|(t, _)| t).collect();
    assert_eq!(topics, WEBHOOK_TOPICS);

    // A merchant who unticks a scope on the grant screen: the install is refused.
    fake.offer_app(
        "client-1",
        "app-secret",
        SHOP,
        "read_products,read_inventory,read_locations",
    );
    let link = install_url(&fake.base_url, "client-1", APP_SCOPES, redirect, &state).unwrap();
    let grant = no_redirects.get(link).send().await.unwrap();
    let back = url::Url::parse(grant.headers()["location"].to_str().unwrap()).unwrap();
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    let callback = verify_callback(&pairs, "app-secret", &state, now_s).unwrap();
    let narrowed = exchange_code(
        &fake.base_url,
        "client-1",
        "app-secret",
        &callback.code,
        APP_SCOPES,
    )
    .await;
    assert!(
        matches!(&narrowed, Err(ConnectorError::Permanent(m)) if m.contains("write_orders")),
        "{narrowed:?}"
    );
}

fn webhook(topic: &str, id: &str, body: &str, secret: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("X-Shopify-Topic", HeaderValue::from_str(topic).unwrap());
    h.insert("X-Shopify-Webhook-Id", HeaderValue::from_str(id).unwrap());
    h.insert("X-Shopify-Shop-Domain", HeaderValue::from_static(SHOP));
    h.insert(
        "X-Shopify-Hmac-Sha256",
        HeaderValue::from_str(&sign_webhook(secret, body.as_bytes())).unwrap(),
    );
    h
}

fn level(available: i64, at: &str) -> String {
    format!(
        r#"{{"inventory_item_id":21,"location_id":31,"available":{available},"updated_at":"{at}","admin_graphql_api_id":"gid://shopify/InventoryLevel/31?inventory_item_id=21"}}"#
    )
}

#[tokio::test]
async fn shopify_webhooks_move_stock_once_in_order_and_only_when_signed() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let apply = |topic: &'static str, id: &'static str, body: String, secret: &'static str| {
            let store = store.clone();
            let m = s.merchant;
            async move {
                let headers = webhook(topic, id, &body, secret);
                ingest(&store, Platform::Shopify, m, &headers, body.as_bytes(), 5).await
            }
        };
        assert_eq!(available(&store, &s).await, 10);

        // A bad signature is refused and changes nothing.
        let r = apply(
            "inventory_levels/update",
            "w0",
            level(0, "2026-01-01T00:00:00Z"),
            "wrong",
        )
        .await;
        assert!(
            matches!(r, Err(IngestError::Connector(ConnectorError::Unauthorized))),
            "{name}"
        );
        let mut unsigned = webhook("inventory_levels/update", "w0", "{}", SECRET);
        unsigned.remove("X-Shopify-Hmac-Sha256");
        let body = level(0, "2026-01-01T00:00:00Z");
        assert!(matches!(
            ingest(
                &store,
                Platform::Shopify,
                s.merchant,
                &unsigned,
                body.as_bytes(),
                5
            )
            .await,
            Err(IngestError::Connector(ConnectorError::Unauthorized))
        ));
        // A body changed after signing is refused too.
        let signed_for_other = webhook(
            "inventory_levels/update",
            "w0",
            &level(3, "2026-01-01T00:00:00Z"),
            SECRET,
        );
        assert!(matches!(
            ingest(
                &store,
                Platform::Shopify,
                s.merchant,
                &signed_for_other,
                body.as_bytes(),
                5
            )
            .await,
            Err(IngestError::Connector(ConnectorError::Unauthorized))
        ));
        assert_eq!(available(&store, &s).await, 10, "{name}: nothing changed");
        assert!(
            !store
                .webhook_seen(s.merchant, "shopify", "w0")
                .await
                .unwrap()
        );

        // A restock on the platform raises availability.
        let r = apply(
            "inventory_levels/update",
            "w1",
            level(25, "2026-01-01T10:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(r, IngestOutcome::Applied { rows: 1 });
        assert_eq!(available(&store, &s).await, 25, "{name}");
        // The same delivery again is harmless.
        let r = apply(
            "inventory_levels/update",
            "w1",
            level(25, "2026-01-01T10:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(r, IngestOutcome::Duplicate, "{name}");
        // A sale on the merchant's own storefront lowers it.
        let sale = r#"{"id":450789469,"created_at":"2026-01-01T11:00:00Z","tags":"","note_attributes":[],"line_items":[{"variant_id":11,"quantity":3},{"variant_id":999,"quantity":1}]}"#;
        apply("orders/create", "w2", sale.into(), SECRET)
            .await
            .unwrap();
        assert_eq!(available(&store, &s).await, 22, "{name}");
        // Then Shopify's own stock figure for that sale arrives: consistent, not double-counted.
        apply(
            "inventory_levels/update",
            "w3",
            level(22, "2026-01-01T11:00:01Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(available(&store, &s).await, 22, "{name}");
        // Out of order: an old figure and an old sale arrive late and change nothing.
        apply(
            "inventory_levels/update",
            "w4",
            level(1, "2026-01-01T09:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        let old_sale = sale.replace("11:00:00", "10:30:00");
        apply("orders/create", "w5", old_sale, SECRET)
            .await
            .unwrap();
        assert_eq!(
            available(&store, &s).await,
            22,
            "{name}: stale events ignored"
        );
        // Shopify echoing an order anycart created is not a second sale.
        let own = r#"{"id":1,"created_at":"2026-01-02T00:00:00Z","tags":"anycart, anycart-ord_x","note_attributes":[{"name":"anycart_order_id","value":"ord_x"}],"line_items":[{"variant_id":11,"quantity":5}]}"#;
        apply("orders/create", "w6", own.into(), SECRET)
            .await
            .unwrap();
        assert_eq!(available(&store, &s).await, 22, "{name}");
        // Shopify reporting fewer units than anycart holds never breaks the constraint.
        sell(&store, &s, 2).await; // 20 on hand after the sale commits
        apply(
            "inventory_levels/update",
            "w7",
            level(0, "2026-01-03T00:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(available(&store, &s).await, 0, "{name}");
        // Malformed but signed: a clear error, nothing recorded.
        let r = apply(
            "inventory_levels/update",
            "w8",
            "{\"oops\":1}".into(),
            SECRET,
        )
        .await;
        assert!(
            matches!(r, Err(IngestError::Connector(ConnectorError::Malformed(_)))),
            "{name}"
        );
        assert!(
            !store
                .webhook_seen(s.merchant, "shopify", "w8")
                .await
                .unwrap()
        );
        // Another merchant's URL with this shop's signature: not connected.
        let other = shop(&store).await;
        let headers = webhook(
            "inventory_levels/update",
            "w9",
            &level(0, "2026-01-04T00:00:00Z"),
            SECRET,
        );
        assert!(matches!(
            ingest(
                &store,
                Platform::Shopify,
                other.merchant,
                &headers,
                level(0, "2026-01-04T00:00:00Z").as_bytes(),
                5
            )
            .await,
            Err(IngestError::NotConnected(_))
        ));
    }
}

fn product(status: &str, price: &str, at: &str) -> String {
    format!(
        r#"{{"id":41,"title":"Tee (new season)","body_html":"<p>Soft</p>","status":"{status}","updated_at":"{at}","admin_graphql_api_id":"gid://shopify/Product/41","variants":[{{"id":11,"product_id":41,"title":"Default Title","price":"{price}","sku":"TEE","inventory_item_id":21}},{{"id":999,"product_id":41,"title":"Unknown","price":"1.00","sku":"NEW","inventory_item_id":998}}]}}"#
    )
}

#[tokio::test]
async fn shopify_product_updates_change_price_and_sale_status_once_and_in_order() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let apply = |id: &'static str, body: String, secret: &'static str| {
            let store = store.clone();
            let m = s.merchant;
            async move {
                let headers = webhook("products/update", id, &body, secret);
                ingest(&store, Platform::Shopify, m, &headers, body.as_bytes(), 5).await
            }
        };
        let price = |store: Store| async move {
            store.get_variants(s.merchant, &[s.variant]).await.unwrap()[0]
                .price
                .amount_minor
        };
        assert_eq!(price(store.clone()).await, 2500);

        // Wrongly signed: refused, nothing changes.
        let r = apply(
            "p0",
            product("active", "19.99", "2026-02-01T00:00:00Z"),
            "wrong",
        )
        .await;
        assert!(matches!(
            r,
            Err(IngestError::Connector(ConnectorError::Unauthorized))
        ));
        assert_eq!(price(store.clone()).await, 2500, "{name}");

        // A new price (the unknown variant 999 is skipped, not an error).
        let r = apply(
            "p1",
            product("active", "19.99", "2026-02-01T00:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(r, IngestOutcome::Applied { rows: 2 }, "{name}");
        assert_eq!(price(store.clone()).await, 1999, "{name}");
        let p = store
            .get_product(s.merchant, s.product)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.title, "Tee (new season)");
        assert!(p.active);
        // Replayed: nothing new.
        let r = apply(
            "p1",
            product("active", "19.99", "2026-02-01T00:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(r, IngestOutcome::Duplicate, "{name}");
        // An older update arriving late does not roll the price back.
        apply(
            "p2",
            product("active", "29.00", "2026-01-15T00:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert_eq!(
            price(store.clone()).await,
            1999,
            "{name}: stale update ignored"
        );
        // Archived on the platform: stops selling in anycart.
        apply(
            "p3",
            product("archived", "19.99", "2026-02-02T00:00:00Z"),
            SECRET,
        )
        .await
        .unwrap();
        assert!(
            !store
                .product_is_active(s.merchant, s.product)
                .await
                .unwrap(),
            "{name}"
        );
        // A price with more decimals than the currency has is malformed: nothing applied.
        let r = apply(
            "p4",
            product("active", "19.999", "2026-02-03T00:00:00Z"),
            SECRET,
        )
        .await;
        assert!(
            matches!(r, Err(IngestError::Connector(ConnectorError::Malformed(_)))),
            "{name}: {r:?}"
        );
        assert_eq!(price(store.clone()).await, 1999);
        assert!(
            !store
                .product_is_active(s.merchant, s.product)
                .await
                .unwrap(),
            "{name}: refused whole"
        );
        assert!(
            !store
                .webhook_seen(s.merchant, "shopify", "p4")
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn native_merchants_get_a_branded_confirmation_over_smtp() {
    for (name, store, _dir) in stores().await {
        let sink = SmtpSink::start().await;
        let s = shop(&store).await;
        store
            .upsert_connection(&ConnectionRecord {
                merchant_id: s.merchant,
                settings: serde_json::from_value(serde_json::json!({
                    "platform": "native",
                    "shop_domain": "shop.example",
                    "smtp_url": format!("smtp://127.0.0.1:{}", sink.port),
                    "from_address": "orders@shop.example",
                    "shop_name": "Tee <Shop>",
                    "brand_color": "#ff6600",
                }))
                .unwrap(),
                created_at_ms: 1,
                updated_at_ms: 1,
            })
            .await
            .unwrap();
        // The mail server first refuses for a while (451): retried, then sent once.
        sink.reject_recipients(Some(451));
        let order = sell(&store, &s, 1).await;
        deliver_due(&store, 2_000).await.unwrap();
        assert!(sink.received().is_empty());
        assert_eq!(
            store
                .order_delivery(s.merchant, order)
                .await
                .unwrap()
                .unwrap()
                .state,
            OutboxState::Pending,
            "{name}"
        );
        sink.reject_recipients(None);
        drain(&store, &s, 2_000 + OUTBOX_BACKOFF_MAX_MS).await;
        let mails = sink.received();
        assert_eq!(mails.len(), 1, "{name}");
        let m = &mails[0];
        assert_eq!(m.to, vec!["<shopper@example.com>".to_string()]);
        assert!(
            m.data.contains("Subject: Order #1001 confirmed - Tee Shop"),
            "{}",
            m.data
        );
        assert!(m.data.contains("text/plain") && m.data.contains("text/html"));
        // The HTML part is quoted-printable: undo soft breaks and `=3D` to read it.
        let html = m.data.replace("=\r\n", "").replace("=3D", "=");
        assert!(
            html.contains("background:#ff6600") && html.contains("Tee &lt;Shop&gt;"),
            "{name}: branded and escaped: {html}"
        );
        assert!(m.data.contains("$32.00"), "{name}: total");
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.confirmation_status.as_deref(), Some("sent_by_anycart"));
        assert_eq!(d.platform_order_id, Some(order.to_string()));

        // A permanent refusal (550) dead-letters at once.
        sink.reject_recipients(Some(550));
        let refused = sell(&store, &s, 1).await;
        drain(&store, &s, 2_000 + 2 * OUTBOX_BACKOFF_MAX_MS).await;
        let d = store
            .order_delivery(s.merchant, refused)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Dead, 1), "{name}");
    }
}

#[tokio::test]
async fn merchants_without_a_connection_have_orders_recorded_without_email() {
    for (name, store, _dir) in stores().await {
        let s = shop(&store).await;
        let order = sell(&store, &s, 1).await;
        drain(&store, &s, 2_000).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.state, OutboxState::Delivered, "{name}");
        assert_eq!(
            d.confirmation_status.as_deref(),
            Some("smtp_not_configured")
        );
    }
}

#[tokio::test]
async fn shopify_catalogue_import_pages_resumes_after_failure_and_links_ids() {
    use anycart_connectors::import::import_catalogue;
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        fake.seed_catalogue(12);
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let merchant = s.merchant;
        let connection = store.get_connection(merchant).await.unwrap();
        let connector = anycart_connectors::connector_for(connection.as_ref()).unwrap();

        // Page 2 fails: the first page is kept and its cursor saved.
        fake.fail_import_at(5);
        let mut pages_seen = 0;
        let first = import_catalogue(&store, merchant, connector.as_ref(), false, 10, |_| {
            pages_seen += 1
        })
        .await;
        assert!(
            matches!(first, Err(ConnectorError::Transient(_))),
            "{name}: the 500 surfaces"
        );
        assert_eq!(pages_seen, 1);
        let saved = store
            .import_cursor(merchant, "shopify", "products")
            .await
            .unwrap();
        assert_eq!(
            (saved.cursor.as_deref(), saved.done),
            (Some("cursor:5"), false),
            "{name}"
        );
        assert_eq!(
            store
                .list_products(merchant, None, 100)
                .await
                .unwrap()
                .len(),
            1 + 5,
            "{name}: the merchant's own product and the first page"
        );

        fake.low_bucket(0.0); // each page must wait ~0.1 s for the bucket to refill
        let started = std::time::Instant::now();
        let mut progress = vec![];
        let done = import_catalogue(&store, merchant, connector.as_ref(), false, 10, |p| {
            progress.push(p)
        })
        .await
        .unwrap();
        // Resumed at page 2: two pages, 7 products.
        assert!(
            done.finished && done.pages == 2 && done.products == 7 && done.variants == 14,
            "{name}: {done:?}"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(90),
            "{name}: waited for the cost bucket"
        );
        assert_eq!(progress.len(), 2);

        // Resuming a finished import is a no-op; products were not duplicated.
        let again = import_catalogue(&store, merchant, connector.as_ref(), false, 10, |_| {})
            .await
            .unwrap();
        assert_eq!(again.pages, 0, "{name}");
        let products = store.list_products(merchant, None, 100).await.unwrap();
        assert_eq!(products.len(), 1 + 12, "{name}");
        // A restart re-reads everything and updates instead of duplicating.
        let restarted = import_catalogue(&store, merchant, connector.as_ref(), true, 10, |_| {})
            .await
            .unwrap();
        assert_eq!(restarted.products, 12);
        assert_eq!(
            store
                .list_products(merchant, None, 100)
                .await
                .unwrap()
                .len(),
            1 + 12,
            "{name}"
        );

        // Every platform id is linked: stock webhooks and order pushes work.
        let v = store
            .external_to_internal(
                merchant,
                "shopify",
                ExternalKind::InventoryItem,
                "gid://shopify/InventoryItem/7001",
            )
            .await
            .unwrap()
            .expect("linked");
        let v: VariantId = v.parse().unwrap();
        let levels = store.stock_levels(merchant, &[v]).await.unwrap();
        assert_eq!(
            levels.iter().map(|l| l.on_hand).sum::<i64>(),
            4,
            "{name}: available 3 + 1"
        );
        let variants = store.get_variants(merchant, &[v]).await.unwrap();
        assert_eq!(variants[0].price.amount_minor, 1990);
        assert_eq!(
            variants[0].sku.as_ref(),
            "SHOPIFY-5001",
            "{name}: missing SKU synthesised"
        );
        assert_eq!(store.list_locations(merchant).await.unwrap().len(), 1);
        // Images come from `media` (`images` is deprecated): only the image with a
        // preview, not the video's still nor the image still processing.
        let imported = products.iter().find(|p| p.title == "Product 0").unwrap();
        assert_eq!(
            imported.images,
            vec!["https://cdn.shopify.com/p0.png".to_string()],
            "{name}"
        );
    }
}

#[tokio::test]
async fn reconciliation_repairs_a_lost_webhook_without_undoing_newer_ones() {
    use anycart_connectors::import::import_catalogue;
    use anycart_connectors::reconcile::reconcile_stock;
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        fake.seed_catalogue(2);
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let connection = store.get_connection(s.merchant).await.unwrap();
        let connector = anycart_connectors::connector_for(connection.as_ref()).unwrap();
        import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {})
            .await
            .unwrap();
        let item = |n: &str| {
            let store = store.clone();
            let m = s.merchant;
            let n = n.to_string();
            async move {
                let v: VariantId = store
                    .external_to_internal(m, "shopify", ExternalKind::InventoryItem, &n)
                    .await
                    .unwrap()
                    .unwrap()
                    .parse()
                    .unwrap();
                store
                    .stock_levels(m, &[v])
                    .await
                    .unwrap()
                    .iter()
                    .map(|l| l.on_hand)
                    .sum::<i64>()
            }
        };
        assert_eq!(item("gid://shopify/InventoryItem/7000").await, 3);
        // A webhook newer than the next reconciliation run sets item 7010 to 9.
        let body = r#"{"inventory_item_id":7010,"location_id":31,"available":9,"updated_at":"2100-01-01T00:00:00Z"}"#;
        let headers = webhook("inventory_levels/update", "late", body, SECRET);
        ingest(
            &store,
            Platform::Shopify,
            s.merchant,
            &headers,
            body.as_bytes(),
            5,
        )
        .await
        .unwrap();
        // Item 7000 drifted (a lost webhook): anycart thinks 0.
        let v: VariantId = store
            .external_to_internal(
                s.merchant,
                "shopify",
                ExternalKind::InventoryItem,
                "gid://shopify/InventoryItem/7000",
            )
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let loc = store.stock_levels(s.merchant, &[v]).await.unwrap()[0].location_id;
        store.set_on_hand(s.merchant, v, loc, 0).await.unwrap();

        let report = reconcile_stock(&store, s.merchant, connector.as_ref(), 1_700_000_000_000)
            .await
            .unwrap();
        assert_eq!(report.pages, 1, "{name}");
        assert_eq!(
            item("gid://shopify/InventoryItem/7000").await,
            3,
            "{name}: repaired"
        );
        assert_eq!(
            item("gid://shopify/InventoryItem/7010").await,
            9,
            "{name}: newer webhook kept"
        );
    }
}

#[tokio::test]
async fn a_platform_figure_does_not_give_back_units_anycart_sold_but_has_not_pushed() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        sell(&store, &s, 2).await; // anycart: 8 left; Shopify has not heard yet
        let at = |t: &str| level(10, t);
        let body = at("2026-01-01T00:00:00Z");
        let headers = webhook("inventory_levels/update", "before-push", &body, SECRET);
        ingest(
            &store,
            Platform::Shopify,
            s.merchant,
            &headers,
            body.as_bytes(),
            5,
        )
        .await
        .unwrap();
        assert_eq!(
            available(&store, &s).await,
            8,
            "{name}: Shopify's 10 still counts our 2"
        );
        // Once pushed, Shopify's own figure includes the sale and is taken as is.
        drain(&store, &s, 2_000).await;
        assert_eq!(fake.orders().len(), 1);
        let body = level(8, "2026-01-01T00:01:00Z");
        let headers = webhook("inventory_levels/update", "after-push", &body, SECRET);
        ingest(
            &store,
            Platform::Shopify,
            s.merchant,
            &headers,
            body.as_bytes(),
            5,
        )
        .await
        .unwrap();
        assert_eq!(available(&store, &s).await, 8, "{name}");
    }
}

/// What the checkout service does when the provider accepted a refund of `qty`
/// units of `order`'s first line: reserve it, settle it, and so enqueue the
/// `refund.created` item that carries it to the platform.
async fn refund_through_anycart(
    store: &Store,
    s: &Shop,
    order: anycart_core::OrderId,
    qty: i64,
    amount_minor: i64,
    now_ms: i64,
) -> anycart_core::RefundId {
    use anycart_store::{Refund, RefundLine, RefundSource, RefundState};
    let o = store
        .get_order(s.merchant, order)
        .await
        .unwrap()
        .unwrap()
        .order;
    store.order_payment(&o).await.unwrap();
    let line = &o.lines[0];
    let id = anycart_core::RefundId::new();
    let refund = Refund {
        id,
        merchant_id: s.merchant,
        order_id: order,
        source: RefundSource::Anycart,
        idempotency_key: Some(format!("key-{id}")),
        request_hash: Some("h".into()),
        amount_minor,
        currency: "usd".into(),
        lines: vec![RefundLine {
            line_item_id: line.id.to_string(),
            variant_id: line.variant_id,
            quantity: qty,
        }],
        restock: true,
        reason: Some("too small".into()),
        state: RefundState::Requested,
        provider_reference: None,
        platform_reference: None,
        failure: None,
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
    };
    store.start_refund(&refund).await.unwrap();
    assert!(
        store
            .settle_refund(
                &refund,
                RefundState::Succeeded,
                Some(&format!("re_{id}")),
                &[],
                now_ms
            )
            .await
            .unwrap()
    );
    id
}

/// The delivered `refund.created` items of a merchant.
async fn refund_deliveries(store: &Store, s: &Shop) -> Vec<anycart_store::OutboxItem> {
    store
        .list_outbox(s.merchant, OutboxState::Delivered, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == anycart_store::OUTBOX_KIND_REFUND_CREATED)
        .collect()
}

#[tokio::test]
async fn one_shopify_refund_per_anycart_refund_under_500s_and_lost_answers() {
    for (name, store, _dir) in stores().await {
        let fake = FakeShopify::start(TOKEN).await;
        let s = shop(&store).await;
        connect_shopify(&store, &s, &fake).await;
        let order = sell(&store, &s, 2).await;
        // The refund is told before its order reached Shopify: it waits for it.
        let refund = refund_through_anycart(&store, &s, order, 1, 1250, 2_000).await;
        fake.fail_next(&[Failure::Http500]);
        fake.hang_next_refund(Duration::from_millis(TEST_TIMEOUT_MS * 3));
        drain(&store, &s, 2_000).await;

        let orders = fake.orders();
        assert_eq!(orders.len(), 1, "{name}");
        let refunds = &orders[0].refunds;
        assert_eq!(
            refunds.len(),
            1,
            "{name}: exactly one Shopify refund: {refunds:?}"
        );
        let r = &refunds[0];
        assert!(
            r["note"]
                .as_str()
                .unwrap()
                .contains(&format!("anycart:{refund}")),
            "{name}: {r:?}"
        );
        assert!(r["note"].as_str().unwrap().contains("12.50 USD"), "{r:?}");
        assert_eq!(r["notify"], true, "Shopify sends its own refund notice");
        let line = &r["refundLineItems"][0];
        assert_eq!(line["quantity"], 1);
        assert_eq!(line["restockType"], "RETURN");
        assert_eq!(line["locationId"], "gid://shopify/Location/31");
        let t = &r["transactions"][0];
        assert_eq!(
            (t["kind"].as_str(), t["amount"].as_str()),
            (Some("REFUND"), Some("12.50"))
        );
        let delivered = refund_deliveries(&store, &s).await;
        assert_eq!(delivered.len(), 1, "{name}");
        assert_eq!(
            delivered[0].platform_order_id.as_deref(),
            Some(r.id.as_str())
        );
        assert_eq!(
            delivered[0].confirmation_status.as_deref(),
            Some("refund_recorded")
        );

        // The rest of the order: the second unit, and the money left after it.
        refund_through_anycart(&store, &s, order, 1, 4450, 200_000).await;
        drain(&store, &s, 200_000).await;
        assert_eq!(fake.orders()[0].refunds.len(), 2, "{name}");
        // Delivering again (a late worker) records nothing more.
        deliver_due(&store, i64::MAX / 4).await.unwrap();
        assert_eq!(fake.orders()[0].refunds.len(), 2, "{name}");
    }
}

#[tokio::test]
async fn native_merchants_email_the_shopper_about_a_refund() {
    for (name, store, _dir) in stores().await {
        let sink = SmtpSink::start().await;
        let s = shop(&store).await;
        store
            .upsert_connection(&ConnectionRecord {
                merchant_id: s.merchant,
                settings: serde_json::from_value(serde_json::json!({
                    "platform": "native",
                    "shop_domain": "shop.example",
                    "smtp_url": format!("smtp://127.0.0.1:{}", sink.port),
                    "from_address": "orders@shop.example",
                    "shop_name": "Tee Shop",
                }))
                .unwrap(),
                created_at_ms: 1,
                updated_at_ms: 1,
            })
            .await
            .unwrap();
        let order = sell(&store, &s, 1).await;
        drain(&store, &s, 2_000).await;
        refund_through_anycart(&store, &s, order, 1, 1000, 3_000).await;
        drain(&store, &s, 3_000).await;
        let mails = sink.received();
        assert_eq!(mails.len(), 2, "{name}: the confirmation, then the refund");
        let m = &mails[1];
        assert_eq!(m.to, vec!["<shopper@example.com>".to_string()]);
        assert!(m.data.contains("$10.00"), "{name}: {}", m.data);
        assert_eq!(refund_deliveries(&store, &s).await.len(), 1);
    }
}
