//! The Salesforce B2C Commerce connector against a fake SCAPI, on SQLite and (when
//! `ANYCART_TEST_DATABASE_URL` is set) PostgreSQL: exactly one platform order per
//! anycart order under failures, lost responses and restarts; dead-lettering;
//! import with pagination and throttling; reconciliation; connect validation.

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
use anycart_connectors::{ConnectorError, Platform, connector_for};
use anycart_core::VariantId;
use anycart_store::{ConnectionRecord, ExternalKind, OutboxState, Store};
use anycart_store::{CredentialsKey, PlatformSettings, SalesforceSettings, Secret};
use common::*;
use fakes::salesforce::{Failure, FakeSalesforce, Op};
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use std::time::{Duration, Instant};

/// The fake's product id for the shop's variant.
const PRODUCT: &str = "008884303989";
const LOCATION: &str = "inventory_m";

async fn connect_salesforce(
    store: &Store,
    s: &Shop,
    fake: &FakeSalesforce,
    extra: serde_json::Value,
    client_secret: &str,
) {
    let mut settings = serde_json::json!({
        "platform": "salesforce",
        "shop_domain": "kv7kzm78.api.commercecloud.salesforce.com",
        "base_url": fake.base_url,
        "client_id": fake.client_id,
        "client_secret": client_secret,
        "short_code": "kv7kzm78",
        "organization_id": fake.organization_id,
        "site_id": fake.site_id,
        "request_timeout_ms": TEST_TIMEOUT_MS,
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        settings[k] = v.clone();
    }
    store
        .upsert_connection(&ConnectionRecord {
            merchant_id: s.merchant,
            settings: serde_json::from_value(settings).unwrap(),
            created_at_ms: 1,
            updated_at_ms: 1,
        })
        .await
        .unwrap();
    for (kind, ext, int) in [
        (ExternalKind::Variant, PRODUCT, s.variant.to_string()),
        (ExternalKind::InventoryItem, PRODUCT, s.variant.to_string()),
        (ExternalKind::Location, LOCATION, s.location.to_string()),
    ] {
        store
            .link_external_id(s.merchant, "salesforce", kind, ext, &int)
            .await
            .unwrap();
    }
}

async fn setup(store: &Store) -> (FakeSalesforce, Shop) {
    let fake = FakeSalesforce::start().await;
    fake.add_product(PRODUCT, "25.00", 10.0);
    let s = shop(store).await;
    let secret = fake.client_secret.clone();
    connect_salesforce(store, &s, &fake, serde_json::json!({}), &secret).await;
    (fake, s)
}

#[tokio::test]
async fn one_salesforce_order_per_anycart_order_under_failures_lost_responses_and_restarts() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = setup(&store).await;
        let first = sell(&store, &s, 2).await;
        let second = sell(&store, &s, 1).await;

        // A worker claims both and dies (a restart): the leases run out first.
        assert_eq!(
            store.claim_outbox(2_000, 60_000, 10).await.unwrap().len(),
            2
        );
        assert_eq!(
            deliver_due(&store, 3_000).await.unwrap(),
            Default::default()
        );

        // Then: a 500, a short 429 (waited out), an expired token (renewed once), a
        // 503, a hang past the client timeout, and a basket whose response is lost.
        fake.fail_next(&[
            Failure::Http500,
            Failure::Http429(1),
            Failure::ExpiredToken,
            Failure::Http503,
            Failure::Hang(Duration::from_millis(TEST_TIMEOUT_MS * 3)),
        ]);
        fake.lose_next(Op::CreateBasket, Duration::from_millis(TEST_TIMEOUT_MS * 3));
        let mut now = drain(&store, &s, 70_000).await;

        // An order whose createOrder response is lost after B2C Commerce placed it,
        // and one whose payment-instrument response is lost.
        let third = sell(&store, &s, 1).await;
        fake.lose_next(Op::CreateOrder, Duration::from_millis(TEST_TIMEOUT_MS * 3));
        now = drain(&store, &s, now + 1).await;
        let fourth = sell(&store, &s, 3).await;
        fake.lose_next(Op::AddPayment, Duration::from_millis(TEST_TIMEOUT_MS * 3));
        drain(&store, &s, now + 1).await;

        let orders = fake.orders();
        let ids = [first, second, third, fourth];
        assert_eq!(orders.len(), ids.len(), "{name}: {orders:?}");
        assert_eq!(
            fake.open_baskets(),
            0,
            "{name}: every basket became its order"
        );
        let mut statuses = vec![];
        for (id, qty) in ids.iter().zip([2, 1, 1, 3]) {
            let mine: Vec<_> = orders
                .iter()
                .filter(|o| o.anycart_order_id.as_deref() == Some(id.to_string().as_str()))
                .collect();
            assert_eq!(mine.len(), 1, "{name}: exactly one platform order for {id}");
            let o = mine[0];
            let d = store
                .order_delivery(s.merchant, *id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(d.state, OutboxState::Delivered, "{name}");
            assert_eq!(d.platform_order_id.as_deref(), Some(o.order_no.as_str()));
            statuses.push(d.confirmation_status.unwrap());
            // What B2C Commerce received is a faithful order.
            assert_eq!(o.basket["productItems"][0]["productId"], PRODUCT);
            assert_eq!(o.basket["productItems"][0]["quantity"], qty);
            assert_eq!(o.basket["customerInfo"]["email"], "shopper@example.com");
            assert_eq!(o.basket["currency"], "USD");
            assert_eq!(o.basket["shipments"][0]["shippingMethod"]["id"], "001");
            assert_eq!(o.payment_instruments.len(), 1, "{name}: paid once");
            assert_eq!(o.payment_instruments[0]["paymentMethodId"], "ANYCART");
            assert_eq!(
                o.payment_instruments[0]["amount"].as_f64(),
                Some((2500 * qty + 700) as f64 / 100.0)
            );
        }
        assert!(
            statuses
                .iter()
                .filter(|s| *s == "already_on_platform")
                .count()
                >= 1
                && statuses.contains(&"requested_from_platform".to_string()),
            "{name}: {statuses:?}"
        );
        // Every order is a different SLAS shopper; the platform took the units.
        let mut customers: Vec<_> = orders.iter().map(|o| o.customer_id.clone()).collect();
        customers.dedup();
        assert_eq!(customers.len(), 4, "{name}");
        assert_eq!(fake.ats(PRODUCT), 10.0 - 7.0, "{name}");

        // A late worker changes nothing.
        deliver_due(&store, i64::MAX / 4).await.unwrap();
        assert_eq!(fake.orders().len(), 4, "{name}");
    }
}

/// The guest SLAS issues for client credentials with `usid` (the customer id).
async fn slas_guest_for_usid(fake: &FakeSalesforce, usid: &str) -> String {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/shopper/auth/v1/organizations/{}/oauth2/token",
            fake.base_url, fake.organization_id
        ))
        .basic_auth(&fake.client_id, Some(&fake.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("channel_id", fake.site_id.as_str()),
            ("usid", usid),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["customer_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn retries_act_as_the_recorded_slas_guest_and_stop_when_slas_no_longer_takes_it() {
    for (name, store, _dir) in stores().await {
        // Guests' refresh tokens are sealed at rest like the connection's secrets.
        let key = CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap();
        let store = store.with_credentials_key(key);
        let (fake, s) = setup(&store).await;
        // The fake is SLAS as specified: the same self-made usid twice is not
        // promised to be the same guest, and here it never is.
        let usid = "2f3c9a6e-0d4b-8e1f-9a2b-3c4d5e6f7a8b";
        assert_ne!(
            slas_guest_for_usid(&fake, usid).await,
            slas_guest_for_usid(&fake, usid).await,
            "{name}"
        );

        // createOrder's response is lost: the retry acts as the guest recorded
        // before the basket was made (a new connector, no cached token: through the
        // refresh token) and finds the order.
        let first = sell(&store, &s, 1).await;
        fake.lose_next(Op::CreateOrder, Duration::from_millis(TEST_TIMEOUT_MS * 3));
        let now = drain(&store, &s, 2_000).await;
        let d = store
            .order_delivery(s.merchant, first)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.state, OutboxState::Delivered, "{name}");
        assert_eq!(
            d.confirmation_status.as_deref(),
            Some("already_on_platform"),
            "{name}"
        );
        let guest = store
            .platform_guest(s.merchant, first, "salesforce")
            .await
            .unwrap()
            .unwrap();
        let orders = fake.orders();
        assert_eq!(orders.len(), 1, "{name}");
        assert_eq!(orders[0].customer_id, guest.customer_id, "{name}");
        assert_eq!(
            d.platform_order_id.as_deref(),
            Some(orders[0].order_no.as_str())
        );
        assert!(!guest.refresh_token.expose_secret().is_empty(), "{name}");
        assert!(guest.usid.is_some(), "{name}: what SLAS returned is kept");

        // The same, but SLAS no longer takes the guest's refresh token when the
        // retry comes (its 30 days are up): no Shopper API can find the order, so
        // the item is dead-lettered for the merchant instead of placed twice.
        let second = sell(&store, &s, 1).await;
        fake.lose_next(Op::CreateOrder, Duration::from_millis(TEST_TIMEOUT_MS * 3));
        deliver_due(&store, now + 1).await.unwrap();
        assert_eq!(fake.orders().len(), 2, "{name}: placed, answer lost");
        fake.expire_refresh_tokens();
        drain(&store, &s, now + 2).await;
        let d = store
            .order_delivery(s.merchant, second)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((d.state, d.attempts), (OutboxState::Dead, 2), "{name}");
        let error = d.last_error.unwrap_or_default();
        assert!(
            error.contains("Bad or missing refresh token")
                && error.contains("Business Manager")
                && error.contains(&format!("c_anycartOrderId = {second}")),
            "{name}: {error}"
        );
        assert_eq!(fake.orders().len(), 2, "{name}: not placed twice");
    }
}

#[tokio::test]
async fn outages_dead_letter_after_the_attempt_limit_and_refusals_at_once() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = setup(&store).await;
        let order = sell(&store, &s, 1).await;
        fake.fail_always(true);
        drain(&store, &s, 2_000).await;
        let dead = store
            .list_outbox(s.merchant, OutboxState::Dead, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(dead[0].attempts, OUTBOX_ATTEMPTS_MAX, "{name}");
        let error = dead[0].last_error.clone().unwrap();
        assert!(
            error.contains("500") && error.contains("Internal Server Error"),
            "{name}: {error}"
        );
        assert!(fake.orders().is_empty());
        // The operator re-queues it after the outage: delivered once.
        fake.fail_always(false);
        store
            .outbox_retry(s.merchant, &dead[0].id, 10)
            .await
            .unwrap();
        drain(&store, &s, 20).await;
        let d = store
            .order_delivery(s.merchant, order)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.state, OutboxState::Delivered, "{name}");
        assert_eq!(fake.orders().len(), 1, "{name}");

        // A shipping method the site does not have: B2C Commerce's 400 dead-letters
        // at once, with its problem title, and places nothing.
        let secret = fake.client_secret.clone();
        connect_salesforce(
            &store,
            &s,
            &fake,
            serde_json::json!({"shipping_method_id": "999"}),
            &secret,
        )
        .await;
        let refused = sell(&store, &s, 1).await;
        let error = dead_at_once(&store, &s, refused, 30).await;
        assert!(
            error.contains("Invalid Shipping Method Id"),
            "{name}: {error}"
        );
        assert_eq!(fake.orders().len(), 1, "{name}");

        // A wrong client secret: SLAS refuses, dead at once, secret not in the error.
        connect_salesforce(&store, &s, &fake, serde_json::json!({}), "wrong-secret").await;
        let unauthorised = sell(&store, &s, 1).await;
        let error = dead_at_once(&store, &s, unauthorised, 40).await;
        assert!(
            error.contains("SLAS token")
                && error.contains("401")
                && error.contains("invalid_client")
                && error.contains("Unauthorized client"),
            "{name}: {error}"
        );
        assert!(!error.contains("wrong-secret"));

        // A variant not linked to a B2C Commerce product: dead at once, no request.
        connect_salesforce(&store, &s, &fake, serde_json::json!({}), &secret).await;
        store
            .link_external_id(
                s.merchant,
                "salesforce",
                ExternalKind::Variant,
                PRODUCT,
                "var_unlinked",
            )
            .await
            .unwrap();
        let requests = fake.requests();
        let unmapped = sell(&store, &s, 1).await;
        let error = dead_at_once(&store, &s, unmapped, 50).await;
        assert!(error.contains("not linked"), "{name}: {error}");
        assert_eq!(fake.requests(), requests, "{name}: nothing sent");
    }
}

#[tokio::test]
async fn an_order_created_but_not_placed_is_not_a_success_and_is_not_made_twice() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = setup(&store).await;
        // The site has no placement hook: createOrder answers status `created`.
        fake.leave_unplaced(true);
        let order = sell(&store, &s, 1).await;
        let error = dead_at_once(&store, &s, order, 2_000).await;
        assert!(
            error.contains("did not place it") && error.contains("created"),
            "{name}: {error}"
        );
        assert_eq!(fake.orders().len(), 1, "{name}");
        // Retried while still unplaced: the same answer, no second order.
        let dead = store
            .list_outbox(s.merchant, OutboxState::Dead, 10)
            .await
            .unwrap();
        store
            .outbox_retry(s.merchant, &dead[0].id, 3_000)
            .await
            .unwrap();
        let again = dead_at_once(&store, &s, order, 4_000).await;
        assert!(again.contains("did not place it"), "{name}: {again}");
        assert_eq!(fake.orders().len(), 1, "{name}: not made twice");
    }
}

#[tokio::test]
async fn catalogue_import_pages_waits_out_throttling_and_reports_bad_responses() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = setup(&store).await;
        fake.seed_catalogue(30);
        let connection = store.get_connection(s.merchant).await.unwrap();
        let connector = connector_for(connection.as_ref()).unwrap();
        let products = || {
            let store = store.clone();
            async move {
                store
                    .list_products(s.merchant, None, 100)
                    .await
                    .unwrap()
                    .len()
            }
        };

        // A long Retry-After is not waited out: transient, nothing imported.
        fake.fail_next(&[Failure::Http429(60)]);
        let r = import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {}).await;
        assert!(
            matches!(&r, Err(ConnectorError::Transient(m)) if m.contains("429")),
            "{name}: {r:?}"
        );
        // A truncated body is a clear transient error.
        fake.fail_next(&[Failure::Truncated]);
        let r = import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {}).await;
        assert!(
            matches!(&r, Err(ConnectorError::Transient(m)) if m.contains("unreadable SCAPI productSearch response")),
            "{name}: {r:?}"
        );
        // Too many 429s in a row give up after the bounded retries.
        fake.fail_next(&[
            Failure::Http429(0),
            Failure::Http429(0),
            Failure::Http429(0),
        ]);
        let r = import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {}).await;
        assert!(
            matches!(&r, Err(ConnectorError::Transient(_))),
            "{name}: {r:?}"
        );
        assert_eq!(
            products().await,
            1,
            "{name}: only the merchant's own product"
        );
        // A cursor that is not an offset is refused before any request.
        assert!(matches!(
            connector.import_page(Some("cursor:abc")).await,
            Err(ConnectorError::Malformed(_))
        ));

        // A short Retry-After is waited out; two pages (24 + 6 masters).
        fake.fail_next(&[Failure::Http429(1)]);
        let started = Instant::now();
        let mut progress = vec![];
        let done = import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |p| {
            progress.push(p)
        })
        .await
        .unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{name}: waited"
        );
        assert!(
            done.finished && done.pages == 2 && done.products == 30 && done.variants == 60,
            "{name}: {done:?}"
        );
        assert_eq!(progress.len(), 2);
        assert_eq!(products().await, 1 + 30, "{name}");
        let saved = store
            .import_cursor(s.merchant, "salesforce", "products")
            .await
            .unwrap();
        assert!(saved.done, "{name}");

        // Every id is linked; prices, titles, SKUs and ATS arrived.
        let v: VariantId = store
            .external_to_internal(
                s.merchant,
                "salesforce",
                ExternalKind::InventoryItem,
                "700011",
            )
            .await
            .unwrap()
            .expect("linked")
            .parse()
            .unwrap();
        let variant = &store.get_variants(s.merchant, &[v]).await.unwrap()[0];
        assert_eq!(variant.price.amount_minor, 1990, "{name}");
        assert_eq!(
            (variant.sku.as_ref(), variant.title.as_str()),
            ("700011", "Red")
        );
        let on_hand: i64 = store
            .stock_levels(s.merchant, &[v])
            .await
            .unwrap()
            .iter()
            .map(|l| l.on_hand)
            .sum();
        assert_eq!(on_hand, 4, "{name}");
        let p = store
            .external_to_internal(s.merchant, "salesforce", ExternalKind::Product, "M001")
            .await
            .unwrap()
            .expect("product linked");
        let product = store
            .get_product(s.merchant, p.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            product.images,
            vec!["https://example.com/M001_large.jpg".to_string()]
        );
        assert_eq!(product.description, "Shirt 1 in cotton");

        // One catalogue token served every call of every run (cached until expiry).
        assert_eq!(fake.token_requests(), 1, "{name}");
        // Once it is revoked, the next call renews it once and carries on.
        fake.expire_tokens();
        // A restart re-reads everything and updates instead of duplicating.
        let again = import_catalogue(&store, s.merchant, connector.as_ref(), true, 10, |_| {})
            .await
            .unwrap();
        assert_eq!(again.products, 30);
        assert_eq!(products().await, 1 + 30, "{name}: nothing imported twice");
        assert_eq!(fake.token_requests(), 2, "{name}");
    }
}

#[tokio::test]
async fn reconciliation_follows_storefront_sales_and_restocks_and_webhooks_are_refused() {
    for (name, store, _dir) in stores().await {
        let (fake, s) = setup(&store).await;
        let connection = store.get_connection(s.merchant).await.unwrap();
        let connector = connector_for(connection.as_ref()).unwrap();
        // The shop's own product is linked by hand: reconcile needs no import.
        let run = |at: i64| {
            let store = store.clone();
            let connector = connector_for(connection.as_ref()).unwrap();
            async move { reconcile_stock(&store, s.merchant, connector.as_ref(), at).await }
        };
        fake.seed_catalogue(1);
        import_catalogue(&store, s.merchant, connector.as_ref(), false, 10, |_| {})
            .await
            .unwrap();
        let imported: VariantId = store
            .external_to_internal(
                s.merchant,
                "salesforce",
                ExternalKind::InventoryItem,
                "700000",
            )
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let on_hand = |v: VariantId| {
            let store = store.clone();
            async move {
                store
                    .stock_levels(s.merchant, &[v])
                    .await
                    .unwrap()
                    .iter()
                    .map(|l| l.on_hand)
                    .sum::<i64>()
            }
        };
        assert_eq!(on_hand(imported).await, 3, "{name}");

        // Two sold on the merchant's own storefront: anycart's availability drops.
        fake.set_ats("700000", 1.0);
        let report = run(1_700_000_000_000).await.unwrap();
        assert_eq!(report.pages, 1, "{name}");
        assert_eq!(on_hand(imported).await, 1, "{name}: storefront sale seen");
        // A restock raises it; a re-run of the same figure changes nothing more.
        fake.set_ats("700000", 12.0);
        run(1_700_000_060_000).await.unwrap();
        assert_eq!(on_hand(imported).await, 12, "{name}: restock seen");
        run(1_700_000_120_000).await.unwrap();
        assert_eq!(on_hand(imported).await, 12, "{name}");
        // Backorders (negative ATS) read as nothing to sell, never negative stock.
        fake.set_ats("700000", -3.0);
        run(1_700_000_180_000).await.unwrap();
        assert_eq!(on_hand(imported).await, 0, "{name}");
        // A platform outage during reconciliation is an error, and changes nothing.
        fake.fail_always(true);
        assert!(matches!(
            run(1_700_000_240_000).await,
            Err(ConnectorError::Transient(_))
        ));
        fake.fail_always(false);
        assert_eq!(on_hand(imported).await, 0, "{name}");

        // No B2C Commerce webhook can be verified: refused, nothing recorded.
        let r = ingest(
            &store,
            Platform::Salesforce,
            s.merchant,
            &HeaderMap::new(),
            b"{}",
            5,
        )
        .await;
        assert!(
            matches!(&r, Err(IngestError::Connector(ConnectorError::Malformed(m))) if m.contains("no webhooks")),
            "{name}: {r:?}"
        );
        assert_eq!(available(&store, &s).await, 10, "{name}");
    }
}

#[tokio::test]
async fn connect_checks_every_salesforce_field_and_stores_secrets_apart() {
    for (name, store, _dir) in stores().await {
        let s = shop(&store).await;
        let request = || SalesforceSettings {
            shop_domain: String::new(),
            base_url: None,
            short_code: "kv7kzm78".into(),
            organization_id: "f_ecom_zzte_053".into(),
            site_id: "RefArch".into(),
            client_id: Secret::new("a4d3b2c1-slas"),
            client_secret: Secret::new("s3cret"),
            shipping_method_id: None,
            payment_method_id: None,
            root_category_id: None,
            request_timeout_ms: None,
        };
        let refused = [
            (
                SalesforceSettings {
                    short_code: String::new(),
                    ..request()
                },
                "short_code",
            ),
            (
                SalesforceSettings {
                    organization_id: "f ecom".into(),
                    ..request()
                },
                "organization_id",
            ),
            (
                SalesforceSettings {
                    site_id: String::new(),
                    ..request()
                },
                "site_id",
            ),
            (
                SalesforceSettings {
                    client_id: Secret::new(""),
                    ..request()
                },
                "client_id",
            ),
            (
                SalesforceSettings {
                    client_secret: Secret::new(" "),
                    ..request()
                },
                "client_secret",
            ),
            (
                SalesforceSettings {
                    base_url: Some("ftp://x".into()),
                    ..request()
                },
                "base_url",
            ),
        ];
        for (r, field) in refused {
            let e = connect(&store, s.merchant, PlatformSettings::Salesforce(r), 5)
                .await
                .unwrap_err();
            assert!(
                matches!(&e, ConnectorError::Misconfigured(m) if m.contains(field)),
                "{name}: {field}: {e}"
            );
        }
        assert!(
            store.get_connection(s.merchant).await.unwrap().is_none(),
            "{name}: nothing stored"
        );

        let record = connect(
            &store,
            s.merchant,
            PlatformSettings::Salesforce(request()),
            5,
        )
        .await
        .unwrap();
        assert_eq!(record.platform(), "salesforce");
        assert_eq!(
            record.shop_domain(),
            "kv7kzm78.api.commercecloud.salesforce.com"
        );
        let view = record.settings.public_view();
        assert_eq!(view["site_id"], "RefArch");
        assert!(view.get("client_secret").is_none(), "{name}");
        assert!(!view.to_string().contains("s3cret"), "{name}");
        let stored = store.get_connection(s.merchant).await.unwrap().unwrap();
        assert_eq!(
            connector_for(Some(&stored)).unwrap().platform(),
            Platform::Salesforce
        );
    }
}
