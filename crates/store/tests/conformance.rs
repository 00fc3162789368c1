//! One store suite, two engines: every test here runs on SQLite and, when
//! `ANYCART_TEST_DATABASE_URL` is set (always in CI), on PostgreSQL.

// Tests: a panic is a failed test, and their numbers are small.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use anycart_core::catalogue::{Location, Product, Sku, Variant};
use anycart_core::order::{Order, OrderStatus, PaymentRecord};
use anycart_core::pricing::Totals;
use anycart_core::session::{Buyer, CheckoutSession, CheckoutStatus, Fulfillment, Quote};
use anycart_core::{
    ApiKeyId, Currency, LocationId, MerchantId, Money, OrderId, ProductId, SessionId, VariantId,
};
use anycart_store::testing::fresh_postgres_url;
use anycart_store::{
    ApiKeyKind, ApiKeyRecord, HoldChange, IdempotencyBegin, IdempotencyScope, Merchant,
    SessionWrite, Store, StoreError,
};
use std::collections::BTreeMap;
use std::convert::Infallible;

#[path = "conformance/agents.rs"]
mod agents;
#[path = "conformance/batches.rs"]
mod batches;
#[path = "conformance/catalogue.rs"]
mod catalogue;
#[path = "conformance/events.rs"]
mod events;
#[path = "conformance/handoffs.rs"]
mod handoffs;
#[path = "conformance/housekeeping.rs"]
mod housekeeping;
#[path = "conformance/migrations.rs"]
mod migrations;
#[path = "conformance/payments.rs"]
mod payments;
#[path = "conformance/placements.rs"]
mod placements;
#[path = "conformance/platform_guests.rs"]
mod platform_guests;
#[path = "conformance/ucp.rs"]
mod ucp;
#[path = "conformance/users.rs"]
mod users;
#[path = "conformance/waiting_rooms.rs"]
mod waiting_rooms;

/// Every backend available to this run: SQLite always, PostgreSQL when configured.
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

async fn merchant(store: &Store) -> MerchantId {
    let m = Merchant {
        id: MerchantId::new(),
        name: "Shop".into(),
        created_at_ms: 1,
    };
    store.create_merchant(&m, &[]).await.unwrap();
    m.id
}

/// A merchant with one single-variant product stocked at two locations.
async fn stocked(store: &Store, a: i64, b: i64) -> (MerchantId, VariantId, [LocationId; 2]) {
    let m = merchant(store).await;
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
            sku: Sku::parse(&format!("TEE-{}", variant.uuid().simple())).unwrap(),
            title: "Tee".into(),
            options: vec![],
            price: Money::new(2500, usd()).unwrap(),
            max_quantity_per_order: None,
            image_url: None,
        }],
    };
    store.create_product(m, &p, 1).await.unwrap();
    let locs = [LocationId::new(), LocationId::new()];
    for (loc, qty) in locs.iter().zip([a, b]) {
        store
            .create_location(
                m,
                &Location {
                    id: *loc,
                    name: "WH".into(),
                },
                1,
            )
            .await
            .unwrap();
        store.set_on_hand(m, variant, *loc, qty).await.unwrap();
    }
    (m, variant, locs)
}

pub(crate) fn session(merchant: MerchantId, id: SessionId) -> CheckoutSession {
    CheckoutSession {
        id,
        merchant_id: merchant,
        status: CheckoutStatus::NotReadyForPayment,
        currency: usd(),
        lines: vec![],
        buyer: Buyer::default(),
        fulfillment: Fulfillment::default(),
        selected_shipping: None,
        discount_codes: vec![],
        codes_from_coupons: false,
        quote: Quote {
            lines: vec![],
            fulfillment_options: vec![],
            applied_discounts: vec![],
            rejected_discounts: vec![],
            totals: Totals {
                items_base_minor: 0,
                discount_minor: 0,
                subtotal_minor: 0,
                fulfillment_minor: 0,
                tax_minor: 0,
                total_minor: 0,
            },
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
        expires_at_ms: 1_000,
        requirements: Default::default(),
        door_state: None,
        handed_off: false,
    }
}

/// Creates a session holding `qty` of `variant`; returns what the hold got.
async fn hold(store: &Store, m: MerchantId, variant: VariantId, qty: i64) -> (SessionId, i64) {
    let id = SessionId::new();
    let demand = BTreeMap::from([(variant, qty)]);
    let write = SessionWrite {
        merchant: m,
        session: id,
        expected_version: None,
        holds: HoldChange::Replace {
            demand,
            expires_at_ms: 1_000,
        },
    };
    let got = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let seen = got.clone();
    store
        .write_session(write, 0, move |o| {
            seen.store(o[&variant].held, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, Infallible>(session(m, id))
        })
        .await
        .unwrap()
        .unwrap();
    (id, got.load(std::sync::atomic::Ordering::SeqCst))
}

async fn available(store: &Store, m: MerchantId, v: VariantId) -> i64 {
    store
        .stock_levels(m, &[v])
        .await
        .unwrap()
        .iter()
        .map(|l| l.available())
        .sum()
}

#[tokio::test]
async fn api_keys_are_found_by_hash_only() {
    for (name, store, _dir) in stores().await {
        let m = Merchant {
            id: MerchantId::new(),
            name: "Shop".into(),
            created_at_ms: 1,
        };
        let key = ApiKeyRecord {
            id: ApiKeyId::new(),
            merchant_id: m.id,
            kind: ApiKeyKind::Secret,
            key_hash: format!("hash-{}", m.id),
            hint: "sk_…abcd".into(),
            placement_id: None,
            created_at_ms: 1,
        };
        store
            .create_merchant(&m, std::slice::from_ref(&key))
            .await
            .unwrap();
        assert_eq!(
            store.find_live_api_key(&key.key_hash).await.unwrap(),
            Some(anycart_store::LiveApiKey {
                record: key.clone(),
                agent_platform: false,
                generation: store.config_generation(m.id).await.unwrap(),
            }),
            "{name}: read with whether a platform calls with it"
        );
        assert_eq!(
            store.find_api_key(&key.key_hash).await.unwrap(),
            Some(key),
            "{name}"
        );
        assert_eq!(store.find_api_key("nope").await.unwrap(), None, "{name}");
        assert_eq!(
            store.get_merchant(m.id).await.unwrap().unwrap().name,
            "Shop"
        );
    }
}

#[tokio::test]
async fn catalogue_is_tenant_scoped_and_skus_unique() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 4).await;
        let other = merchant(&store).await;
        assert_eq!(
            store.get_variants(m, &[v]).await.unwrap().len(),
            1,
            "{name}"
        );
        assert!(
            store.get_variants(other, &[v]).await.unwrap().is_empty(),
            "{name}: cross-tenant read"
        );
        assert!(
            store.stock_levels(other, &[v]).await.unwrap().is_empty(),
            "{name}"
        );
        let products = store.list_products(m, None, 10).await.unwrap();
        assert_eq!(products.len(), 1);
        assert!(
            store
                .list_products(other, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let mut dup = products[0].clone();
        dup.id = ProductId::new();
        dup.variants[0].id = VariantId::new();
        dup.variants[0].product_id = dup.id;
        assert!(
            matches!(
                store.create_product(m, &dup, 2).await,
                Err(StoreError::Duplicate(_))
            ),
            "{name}"
        );
        // Another merchant may use the same SKU.
        store.create_product(other, &dup, 2).await.unwrap();
        // Setting stock on another merchant's variant is refused.
        let loc = LocationId::new();
        store
            .create_location(
                other,
                &Location {
                    id: loc,
                    name: "X".into(),
                },
                1,
            )
            .await
            .unwrap();
        assert!(
            matches!(
                store.set_on_hand(other, v, loc, 5).await,
                Err(StoreError::NotFound)
            ),
            "{name}"
        );
    }
}

#[tokio::test]
async fn holds_take_from_where_stock_is_and_release_exactly() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 1, 4).await;
        let (s1, got) = hold(&store, m, v, 5).await;
        assert_eq!(got, 5, "{name}: spans both locations");
        assert_eq!(available(&store, m, v).await, 0);
        let (_, none) = hold(&store, m, v, 1).await;
        assert_eq!(none, 0, "{name}: nothing left");
        let (current, version) = store.get_session(m, s1).await.unwrap().unwrap();
        let write = SessionWrite {
            merchant: m,
            session: s1,
            expected_version: Some(version),
            holds: HoldChange::ReleaseAll,
        };
        store
            .write_session(write, 0, {
                let current = current.clone();
                move |_| Ok::<_, Infallible>(current)
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(available(&store, m, v).await, 5, "{name}");
        assert!(store.session_hold_totals(s1).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_database_refuses_on_hand_below_held() {
    for (name, store, _dir) in stores().await {
        let (m, v, locs) = stocked(&store, 2, 0).await;
        hold(&store, m, v, 2).await;
        let err = store.set_on_hand(m, v, locs[0], 1).await.unwrap_err();
        assert!(matches!(err, StoreError::Constraint(_)), "{name}: {err:?}");
        assert!(
            matches!(
                store.set_on_hand(m, v, locs[0], -1).await,
                Err(StoreError::Constraint(_))
            ),
            "{name}"
        );
        assert_eq!(available(&store, m, v).await, 0);
    }
}

#[tokio::test]
async fn concurrent_holds_never_oversell() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 3, 4).await;
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { hold(&store, m, v, 1 + i % 2).await.1 })
            })
            .collect();
        let mut held = 0;
        for t in tasks {
            held += t.await.unwrap();
        }
        let levels = store.stock_levels(m, &[v]).await.unwrap();
        let db_held: i64 = levels.iter().map(|l| l.held).sum();
        assert_eq!(db_held, held, "{name}");
        assert!((6..=7).contains(&held), "{name}: held {held} of 7");
        assert!(levels.iter().all(|l| l.held <= l.on_hand));
    }
}

#[tokio::test]
async fn stale_versions_are_refused_without_touching_stock() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let (s, _) = hold(&store, m, v, 2).await;
        let current = store.get_session(m, s).await.unwrap().unwrap().0;
        let write = SessionWrite {
            merchant: m,
            session: s,
            expected_version: Some(99),
            holds: HoldChange::ReleaseAll,
        };
        let err = store
            .write_session(write, 0, {
                let current = current.clone();
                move |_| Ok::<_, Infallible>(current)
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::VersionConflict), "{name}");
        assert_eq!(available(&store, m, v).await, 3, "{name}: holds untouched");
    }
}

/// Neither a write nor a completion reads the version first (the final
/// compare-and-swap guards success): a stale one that runs into something
/// else on the way (holds that no longer match, a refusal computed from stale
/// data) is still told it is stale, and keeps nothing.
#[tokio::test]
async fn a_stale_writer_is_told_it_is_stale_whatever_else_it_runs_into() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let (s, _) = hold(&store, m, v, 2).await;
        let (stale, version) = store.get_session(m, s).await.unwrap().unwrap();
        // Another request moves the session on to one unit.
        let moved = SessionWrite {
            merchant: m,
            session: s,
            expected_version: Some(version),
            holds: HoldChange::Replace {
                demand: BTreeMap::from([(v, 1)]),
                expires_at_ms: 1_000,
            },
        };
        let current = stale.clone();
        store
            .write_session(moved, 0, move |_| Ok::<_, Infallible>(current))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(available(&store, m, v).await, 4, "{name}");

        // Completing the two units at the old version: the holds no longer
        // match either, but the answer is the conflict.
        let (paid, order) = completed(stale.clone());
        let err = store
            .complete_checkout(&paid, version, &BTreeMap::from([(v, 2)]), order, "tok", &[])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::VersionConflict), "{name}: {err}");

        // A stale update whose own logic refuses: the conflict too.
        let refused = SessionWrite {
            merchant: m,
            session: s,
            expected_version: Some(version),
            holds: HoldChange::ReleaseAll,
        };
        let err = store
            .write_session(refused, 0, |_| Err::<CheckoutSession, _>("refused"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::VersionConflict), "{name}: {err}");
        assert_eq!(available(&store, m, v).await, 4, "{name}: nothing kept");
        assert!(
            store.list_orders(m, None, 10).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn completing_commits_stock_and_numbers_orders() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 2, 3).await;
        let mut numbers = vec![];
        for _ in 0..2 {
            let (s, _) = hold(&store, m, v, 2).await;
            let (mut sess, version) = store.get_session(m, s).await.unwrap().unwrap();
            let order_id = OrderId::new();
            sess.status = CheckoutStatus::Completed;
            sess.order_id = Some(order_id);
            let order = Order {
                id: order_id,
                merchant_id: m,
                session_id: s,
                number: 0,
                status: OrderStatus::Confirmed,
                currency: usd(),
                lines: vec![],
                totals: sess.quote.totals,
                email: None,
                fulfillment: Fulfillment::default(),
                shipping_title: None,
                payment: PaymentRecord {
                    provider: "sandbox".into(),
                    provider_reference: "x".into(),
                    amount_minor: 0,
                    card_last4: None,
                    captured: false,
                },
                attribution: None,
                created_at_ms: 5,
            };
            let wrong = BTreeMap::from([(v, 1)]);
            let err = store
                .complete_checkout(&sess, version, &wrong, order.clone(), "tok", &[])
                .await
                .unwrap_err();
            assert!(
                matches!(err, StoreError::Constraint(_)),
                "{name}: holds must match the order"
            );
            let demand = BTreeMap::from([(v, 2)]);
            let token = format!("tok-{}", order_id);
            // The first shopper ticked "remember me": the order's transaction uses it up.
            let remembered = numbers.is_empty();
            if remembered {
                store
                    .set_shopper_optin(m, s, true, Some("token-hash"), 5)
                    .await
                    .unwrap();
            }
            let stored = store
                .complete_checkout(&sess, version, &demand, order, &token, &[])
                .await
                .unwrap();
            let expected_optin = remembered.then(|| Some("token-hash".to_string()));
            assert_eq!(stored.optin, expected_optin, "{name}");
            assert_eq!(
                store.take_shopper_optin(m, s).await.unwrap(),
                None,
                "{name}"
            );
            numbers.push(stored.order.number);
            let written = store.get_order_by_token(&token).await.unwrap().unwrap();
            assert_eq!(written.order.id, order_id);
            // The stored order and the platform push carry the number taken.
            assert_eq!(written.order, stored.order, "{name}");
            let pushed = store
                .list_outbox(m, anycart_store::OutboxState::Pending, 100)
                .await
                .unwrap()
                .into_iter()
                .find(|item| item.external_reference == order_id.to_string())
                .expect("the order's outbox row");
            let pushed: Order = serde_json::from_str(&pushed.payload).unwrap();
            assert_eq!(pushed, stored.order, "{name}");
            assert_eq!(
                store.get_session(m, s).await.unwrap().unwrap().0.status,
                CheckoutStatus::Completed
            );
        }
        assert_eq!(numbers, vec![1001, 1002], "{name}");
        let levels = store.stock_levels(m, &[v]).await.unwrap();
        assert_eq!(
            levels.iter().map(|l| l.on_hand).sum::<i64>(),
            1,
            "{name}: 5 - 4 sold"
        );
        assert_eq!(levels.iter().map(|l| l.held).sum::<i64>(), 0);
        assert_eq!(store.list_orders(m, None, 10).await.unwrap().len(), 2);
        let other = merchant(&store).await;
        assert!(store.list_orders(other, None, 10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn expiry_finds_sessions_and_frees_stale_holds() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 4, 0).await;
        let (s, _) = hold(&store, m, v, 3).await;
        assert!(
            store
                .expired_sessions(999, 10)
                .await
                .unwrap()
                .iter()
                .all(|(_, id)| *id != s),
            "{name}"
        );
        assert!(
            store
                .expired_sessions(1_000, 10)
                .await
                .unwrap()
                .contains(&(m, s)),
            "{name}"
        );
        assert!(store.release_stale_holds(1_001, 100).await.unwrap() >= 1);
        assert_eq!(available(&store, m, v).await, 4, "{name}");
    }
}

#[tokio::test]
async fn idempotency_claims_replays_and_conflicts() {
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let scope = IdempotencyScope {
            merchant: m,
            endpoint: "POST /checkout_sessions".into(),
            key: "k1".into(),
        };
        assert_eq!(
            store
                .idempotency_begin(&scope, "h1", 0, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed,
            "{name}"
        );
        assert_eq!(
            store
                .idempotency_begin(&scope, "h1", 10, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::InFlight {
                retry_after_ms: 990
            }
        );
        assert_eq!(
            store
                .idempotency_begin(&scope, "h2", 10, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::Conflict
        );
        store
            .idempotency_finish(&scope, 201, "{\"a\":1}")
            .await
            .unwrap();
        assert_eq!(
            store
                .idempotency_begin(&scope, "h1", 20, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::Replay {
                status: 201,
                body: "{\"a\":1}".into()
            }
        );
        // Another endpoint or merchant with the same key is independent.
        let other = IdempotencyScope {
            endpoint: "POST /checkout_sessions/x".into(),
            ..scope.clone()
        };
        assert_eq!(
            store
                .idempotency_begin(&other, "h9", 20, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        // Abandoned (5xx) claims run afresh; stale claims are taken over.
        store.idempotency_abandon(&other).await.unwrap();
        assert_eq!(
            store
                .idempotency_begin(&other, "h8", 30, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed
        );
        assert_eq!(
            store
                .idempotency_begin(&other, "h8", 2_000, 1_000)
                .await
                .unwrap(),
            IdempotencyBegin::Proceed,
            "{name}: stale claim"
        );
    }
}

/// Completes a checkout of `qty` units of `v` and returns the order id.
async fn complete_order(store: &Store, m: MerchantId, v: VariantId, qty: i64) -> OrderId {
    complete_order_redeeming(store, m, v, qty, &[]).await
}

/// [`complete_order`], counting a redemption of each of `redeemed`.
async fn complete_order_redeeming(
    store: &Store,
    m: MerchantId,
    v: VariantId,
    qty: i64,
    redeemed: &[anycart_core::DiscountId],
) -> OrderId {
    try_complete_order(store, m, v, qty, redeemed, None)
        .await
        .unwrap()
}

/// `sess` paid: the session as completed and the order it becomes.
fn completed(mut sess: CheckoutSession) -> (CheckoutSession, Order) {
    let order_id = OrderId::new();
    sess.status = CheckoutStatus::Completed;
    sess.order_id = Some(order_id);
    let order = Order {
        id: order_id,
        merchant_id: sess.merchant_id,
        session_id: sess.id,
        number: 0,
        status: OrderStatus::Confirmed,
        currency: usd(),
        lines: vec![],
        totals: sess.quote.totals,
        email: None,
        fulfillment: Fulfillment::default(),
        shipping_title: None,
        payment: PaymentRecord {
            provider: "sandbox".into(),
            provider_reference: "x".into(),
            amount_minor: 0,
            card_last4: None,
            captured: false,
        },
        attribution: None,
        created_at_ms: 100,
    };
    (sess, order)
}

/// Holds `qty` units of `v` in a new session and completes it (the sale
/// attributed as `attribution`): the order's id, or why the store refused it.
async fn try_complete_order(
    store: &Store,
    m: MerchantId,
    v: VariantId,
    qty: i64,
    redeemed: &[anycart_core::DiscountId],
    attribution: Option<anycart_core::attribution::Attribution>,
) -> Result<OrderId, StoreError> {
    let (s, _) = hold(store, m, v, qty).await;
    let (sess, version) = store.get_session(m, s).await.unwrap().unwrap();
    let (sess, mut order) = completed(sess);
    order.attribution = attribution;
    let order_id = order.id;
    let demand = BTreeMap::from([(v, qty)]);
    store
        .complete_checkout(
            &sess,
            version,
            &demand,
            order,
            &format!("tok-{order_id}"),
            redeemed,
        )
        .await?;
    Ok(order_id)
}

#[tokio::test]
async fn outbox_rows_are_written_with_orders_and_claimed_once() {
    use anycart_store::OutboxState;
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 5, 0).await;
        let order_id = complete_order(&store, m, v, 1).await;
        let pending = store.order_delivery(m, order_id).await.unwrap().unwrap();
        assert_eq!(pending.state, OutboxState::Pending, "{name}");
        assert_eq!(pending.external_reference, order_id.to_string());
        assert_eq!(pending.order().unwrap().id, order_id);

        // Two workers race: only one wins the lease; the attempt is counted.
        let a = store.claim_outbox(200, 1_000, 10).await.unwrap();
        let b = store.claim_outbox(200, 1_000, 10).await.unwrap();
        assert_eq!((a.len(), b.len()), (1, 0), "{name}: one claim wins");
        assert_eq!(a[0].attempts, 1);
        // The worker dies; once the lease runs out the item is due again.
        assert!(
            store
                .claim_outbox(1_100, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let again = store.claim_outbox(1_201, 1_000, 10).await.unwrap();
        assert_eq!(again[0].attempts, 2, "{name}");
        // A failure backs off: not due before its next attempt time.
        store
            .outbox_failed(&again[0].id, "HTTP 500", 5_000, false, 1_300)
            .await
            .unwrap();
        assert!(
            store
                .claim_outbox(4_999, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let third = store.claim_outbox(5_000, 1_000, 10).await.unwrap();
        store
            .outbox_failed(&third[0].id, "HTTP 500", 9_000, true, 5_100)
            .await
            .unwrap();
        let dead = store.list_outbox(m, OutboxState::Dead, 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{name}: dead-lettered");
        assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 500"));
        assert!(
            store
                .claim_outbox(99_999, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let other = merchant(&store).await;
        assert!(
            store
                .outbox_retry(other, &dead[0].id, 10_000)
                .await
                .is_err(),
            "{name}: tenant scoped"
        );
        store.outbox_retry(m, &dead[0].id, 10_000).await.unwrap();
        let retried = store.claim_outbox(10_000, 1_000, 10).await.unwrap();
        store
            .outbox_delivered(&retried[0].id, "gid://shopify/Order/1", "sent", 10_100)
            .await
            .unwrap();
        let done = store.order_delivery(m, order_id).await.unwrap().unwrap();
        assert_eq!(done.state, OutboxState::Delivered);
        assert_eq!(
            done.platform_order_id.as_deref(),
            Some("gid://shopify/Order/1")
        );
        assert!(
            store.outbox_delivered(&done.id, "x", "y", 1).await.is_err(),
            "{name}: delivered once"
        );
    }
}

#[tokio::test]
async fn external_stock_changes_apply_once_in_order_and_within_constraints() {
    use anycart_store::{ExternalStockChange, ExternalStockLine, StockApplied, StockFigure};
    for (name, store, _dir) in stores().await {
        let (m, v, [l0, l1]) = stocked(&store, 5, 3).await;
        let change =
            |id: &str, at: i64, location: Option<LocationId>, figure| ExternalStockChange {
                merchant: m,
                platform: "shopify".into(),
                event_id: id.into(),
                platform_time_ms: at,
                lines: vec![ExternalStockLine {
                    variant: v,
                    location,
                    figure,
                }],
                received_at_ms: 1,
            };
        // A restock raises availability.
        let r = store
            .apply_external_stock_change(&change("e1", 100, Some(l0), StockFigure::Available(9)))
            .await
            .unwrap();
        assert!(
            matches!(r, StockApplied::Applied(ref l) if l.len() == 1),
            "{name}"
        );
        assert_eq!(available(&store, m, v).await, 12, "{name}: 9 + 3");
        // The same event again changes nothing.
        let r = store
            .apply_external_stock_change(&change("e1", 100, Some(l0), StockFigure::Available(1)))
            .await
            .unwrap();
        assert_eq!(r, StockApplied::Replayed, "{name}");
        assert!(store.webhook_seen(m, "shopify", "e1").await.unwrap());
        // An older figure arriving late is skipped.
        store
            .apply_external_stock_change(&change("e0", 50, Some(l0), StockFigure::Available(2)))
            .await
            .unwrap();
        assert_eq!(
            available(&store, m, v).await,
            12,
            "{name}: stale figure ignored"
        );
        // A sale elsewhere lowers availability; one already counted by a newer figure does not.
        store
            .apply_external_stock_change(&change("o1", 200, None, StockFigure::Sold(2)))
            .await
            .unwrap();
        assert_eq!(available(&store, m, v).await, 10, "{name}");
        store
            .apply_external_stock_change(&change("o0", 90, None, StockFigure::Sold(2)))
            .await
            .unwrap();
        assert_eq!(
            available(&store, m, v).await,
            10,
            "{name}: sale before the last count"
        );
        // The platform says fewer units exist than anycart holds: bounded at the holds.
        let (_s, got) = hold(&store, m, v, 3).await;
        assert_eq!(got, 3);
        let held_at_l1 = store
            .stock_levels(m, &[v])
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.location_id == l1)
            .unwrap()
            .held;
        store
            .apply_external_stock_change(&change("e2", 300, Some(l1), StockFigure::Available(0)))
            .await
            .unwrap();
        let level = store
            .stock_levels(m, &[v])
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.location_id == l1)
            .unwrap();
        assert_eq!(
            level.on_hand, held_at_l1,
            "{name}: clamped to held + committed"
        );
        // Another merchant's event cannot touch this stock.
        let other = merchant(&store).await;
        let mut foreign = change("x1", 400, Some(l0), StockFigure::Available(0));
        foreign.merchant = other;
        let r = store.apply_external_stock_change(&foreign).await.unwrap();
        assert_eq!(r, StockApplied::Applied(vec![]), "{name}");
    }
}

#[tokio::test]
async fn connections_mappings_and_import_cursors_round_trip() {
    use anycart_store::{ConnectionRecord, ExternalKind, ImportCursor};
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 1, 0).await;
        assert!(store.get_connection(m).await.unwrap().is_none());
        let shopify = |domain: &str| {
            serde_json::from_value(serde_json::json!({
                "platform": "shopify",
                "shop_domain": domain,
                "base_url": "http://127.0.0.1:1",
                "access_token": "shpat_secret",
                "webhook_secret": "whsec",
                "api_version": "2025-10",
            }))
            .unwrap()
        };
        let mut c = ConnectionRecord {
            merchant_id: m,
            settings: shopify("x.myshopify.com"),
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        store.upsert_connection(&c).await.unwrap();
        c.settings = shopify("y.myshopify.com");
        store.upsert_connection(&c).await.unwrap();
        let got = store.get_connection(m).await.unwrap().unwrap();
        assert_eq!(got.shop_domain(), "y.myshopify.com", "{name}");
        assert_eq!(got.base_url(), Some("http://127.0.0.1:1"), "{name}");
        assert!(
            !format!("{got:?}").contains("shpat_secret"),
            "{name}: secrets never in Debug"
        );
        let anycart_store::PlatformSettings::Shopify(s) = &got.settings else {
            panic!("{name}: platform changed on the way")
        };
        assert_eq!(s.access_token.expose(), "shpat_secret", "{name}");
        assert_eq!(s.api_version.as_deref(), Some("2025-10"), "{name}");

        store
            .link_external_id(
                m,
                "shopify",
                ExternalKind::InventoryItem,
                "gid://shopify/InventoryItem/7",
                &v.to_string(),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .external_to_internal(
                    m,
                    "shopify",
                    ExternalKind::InventoryItem,
                    "gid://shopify/InventoryItem/7"
                )
                .await
                .unwrap(),
            Some(v.to_string())
        );
        assert_eq!(
            store
                .internal_to_external(m, "shopify", ExternalKind::InventoryItem, &v.to_string())
                .await
                .unwrap()
                .as_deref(),
            Some("gid://shopify/InventoryItem/7")
        );
        assert_eq!(
            store.import_cursor(m, "shopify", "products").await.unwrap(),
            ImportCursor {
                cursor: None,
                done: false
            }
        );
        let at = ImportCursor {
            cursor: Some("abc".into()),
            done: false,
        };
        store
            .save_import_cursor(m, "shopify", "products", &at, 5)
            .await
            .unwrap();
        assert_eq!(
            store.import_cursor(m, "shopify", "products").await.unwrap(),
            at,
            "{name}"
        );
    }
}

/// One write at a time: on SQLite each is alone in its group commit and runs
/// without a savepoint of its own. A refused or panicking write still keeps
/// nothing (no session, no hold), and the writer commits the next one.
#[tokio::test]
async fn a_write_alone_that_fails_keeps_nothing() {
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 10, 10).await;
        let before = available(&store, m, v).await;
        let write = move |id| SessionWrite {
            merchant: m,
            session: id,
            expected_version: None,
            holds: HoldChange::Replace {
                demand: BTreeMap::from([(v, 1)]),
                expires_at_ms: 1_000,
            },
        };
        let refused = SessionId::new();
        let answer = store
            .write_session(write(refused), 0, |_| -> Result<CheckoutSession, &str> {
                Err("refused by the caller")
            })
            .await;
        assert!(matches!(answer, Ok(Err(_))), "{name}: {answer:?}");
        let panicked = SessionId::new();
        let panicking = store.clone();
        // On PostgreSQL the panic reaches the caller: it runs in a task of its own.
        let _ = tokio::spawn(async move {
            panicking
                .write_session(write(panicked), 0, |_| -> Result<CheckoutSession, &str> {
                    panic!("a bug in a caller's build step")
                })
                .await
        })
        .await;
        let kept = SessionId::new();
        let answer = store
            .write_session(write(kept), 0, move |_| Ok::<_, &str>(session(m, kept)))
            .await;
        assert!(matches!(answer, Ok(Ok(_))), "{name}: {answer:?}");
        for id in [refused, panicked] {
            assert!(store.get_session(m, id).await.unwrap().is_none(), "{name}");
            assert!(
                store.session_hold_totals(id).await.unwrap().is_empty(),
                "{name}"
            );
        }
        assert_eq!(
            store.session_hold_totals(kept).await.unwrap()[&v],
            1,
            "{name}"
        );
        assert_eq!(available(&store, m, v).await, before - 1, "{name}");
    }
}

/// Many concurrent writes, some refused by their caller, some stale, one
/// panicking: on SQLite they share group commits, and each must still be all or
/// nothing on its own: the failures leave no row and no hold, their neighbours
/// keep everything, and the writer keeps working after the panic.
#[tokio::test]
async fn concurrent_writes_fail_alone_and_the_rest_commit() {
    const WRITES: usize = 120;
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 60, 60).await;
        let mut tasks = Vec::new();
        for i in 0..WRITES {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let id = SessionId::new();
                let write = SessionWrite {
                    merchant: m,
                    session: id,
                    // Every 5th claims a version of a session that does not exist.
                    expected_version: (i % 5 == 4).then_some(7),
                    holds: HoldChange::Replace {
                        demand: BTreeMap::from([(v, 1)]),
                        expires_at_ms: 1_000,
                    },
                };
                let result = store
                    .write_session(write, 0, move |_| {
                        assert!(i != 33, "a bug in a caller's build step");
                        if i % 3 == 0 {
                            Err("refused by the caller")
                        } else {
                            Ok(session(m, id))
                        }
                    })
                    .await;
                (i, id, result.map(|r| r.is_ok()))
            }));
        }
        let mut stored = Vec::new();
        let mut failed = Vec::new();
        for t in tasks {
            // On PostgreSQL the panic surfaces in the caller's task (JoinError).
            let Ok((i, id, result)) = t.await else {
                continue;
            };
            let expect_ok = i % 3 != 0 && i % 5 != 4 && i != 33;
            match result {
                Ok(true) => stored.push(id),
                Ok(false) | Err(_) => failed.push(id),
            }
            assert_eq!(
                stored.last() == Some(&id),
                expect_ok,
                "{name}: write {i} gave {:?}",
                stored.last() == Some(&id)
            );
        }
        for id in &failed {
            assert!(store.get_session(m, *id).await.unwrap().is_none(), "{name}");
            assert!(store.session_hold_totals(*id).await.unwrap().is_empty());
        }
        for id in &stored {
            assert!(store.get_session(m, *id).await.unwrap().is_some(), "{name}");
            assert_eq!(store.session_hold_totals(*id).await.unwrap()[&v], 1);
        }
        let held: i64 = store
            .stock_audit(m)
            .await
            .unwrap()
            .iter()
            .map(|(_, _, _, held, _, sum)| {
                assert_eq!(held, sum, "{name}: counters match hold rows");
                *held
            })
            .sum();
        assert_eq!(held, stored.len() as i64, "{name}");
        assert_eq!(available(&store, m, v).await, 120 - stored.len() as i64);
        // The writer survived the panic.
        let (_, got) = hold(&store, m, v, 1).await;
        assert_eq!(got, 1, "{name}");
    }
}

/// With a credentials key, platform secrets are sealed at rest: only a store with
/// the same key opens them, they are bound to their merchant, and values written
/// before sealing was configured stay readable.
#[tokio::test]
async fn platform_credentials_are_sealed_at_rest() {
    use anycart_store::{ConnectionRecord, CredentialsKey};
    for (name, store, _dir) in stores().await {
        let m = merchant(&store).await;
        let secret = "shpat_very_secret";
        let record = |m| ConnectionRecord {
            merchant_id: m,
            settings: serde_json::from_value(serde_json::json!({
                "platform": "shopify",
                "shop_domain": "x.myshopify.com",
                "access_token": secret,
                "webhook_secret": "whsec",
            }))
            .unwrap(),
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        let token = |c: ConnectionRecord| match c.settings {
            anycart_store::PlatformSettings::Shopify(s) => s.access_token.expose().to_string(),
            other => panic!("not shopify: {other:?}"),
        };
        // Written before a key was configured: plain, still readable with a key.
        store.upsert_connection(&record(m)).await.unwrap();
        let key = CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap();
        let sealed = store.clone().with_credentials_key(key.clone());
        let got = sealed.get_connection(m).await.unwrap().unwrap();
        assert_eq!(token(got), secret, "{name}");

        // Written with the key: unreadable without it or with another key.
        sealed.upsert_connection(&record(m)).await.unwrap();
        let got = sealed.get_connection(m).await.unwrap().unwrap();
        assert_eq!(token(got), secret, "{name}: round trip");
        let err = store.get_connection(m).await.unwrap_err();
        assert!(
            err.to_string().contains("no credentials key"),
            "{name}: {err}"
        );
        let other = CredentialsKey::from_base64(&CredentialsKey::generate()).unwrap();
        let err = store
            .clone()
            .with_credentials_key(other)
            .get_connection(m)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("do not open"), "{name}: {err}");
        // Two seals of the same secret differ (random nonces).
        let m2 = merchant(&store).await;
        sealed.upsert_connection(&record(m2)).await.unwrap();
        assert_eq!(
            token(sealed.get_connection(m2).await.unwrap().unwrap()),
            secret
        );
    }
    assert!(
        CredentialsKey::from_base64("c2hvcnQ=").is_err(),
        "short keys refused"
    );
    assert!(CredentialsKey::from_base64("not base64!").is_err());
}

#[tokio::test]
async fn shopper_codes_limits_tokens_profiles_and_optins() {
    use anycart_store::{
        CodeIssue, CodeLimits, NewShopperCode, SavedDetails, ShopperProfile, ShopperTokenRecord,
    };
    use secrecy::ExposeSecret;
    for (name, store, _dir) in stores().await {
        let (m, other) = (merchant(&store).await, merchant(&store).await);
        let limits = CodeLimits {
            window_ms: 600_000,
            per_email: 2,
            per_merchant: 3,
        };
        let code = |id: &str, m: MerchantId, email: &str, at: i64| NewShopperCode {
            id: id.into(),
            merchant_id: m,
            email: email.into(),
            code_mac: format!("mac-{id}"),
            created_at_ms: at,
            expires_at_ms: at + 600_000,
        };
        let issue = |c: NewShopperCode| {
            let store = store.clone();
            async move { store.issue_shopper_code(&c, limits).await.unwrap() }
        };
        assert_eq!(
            issue(code("c1", m, "a@x.io", 1_000)).await,
            CodeIssue::Issued
        );
        assert_eq!(
            issue(code("c2", m, "a@x.io", 2_000)).await,
            CodeIssue::Issued
        );
        assert_eq!(
            issue(code("c3", m, "a@x.io", 3_000)).await,
            CodeIssue::EmailLimited,
            "{name}"
        );
        assert_eq!(
            issue(code("c4", m, "b@x.io", 3_000)).await,
            CodeIssue::Issued
        );
        assert_eq!(
            issue(code("c5", m, "c@x.io", 3_000)).await,
            CodeIssue::MerchantLimited,
            "{name}"
        );
        assert_eq!(
            issue(code("c6", other, "a@x.io", 3_000)).await,
            CodeIssue::Issued,
            "{name}: per merchant"
        );
        // The window slides.
        assert_eq!(
            issue(code("c7", m, "a@x.io", 601_500)).await,
            CodeIssue::Issued,
            "{name}"
        );

        // Only the newest code is live; older ones were superseded.
        let live = store
            .live_shopper_code(m, "a@x.io", 601_600)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (live.id.as_str(), live.code_mac.as_str(), live.attempts),
            ("c7", "mac-c7", 0)
        );
        assert!(
            store
                .live_shopper_code(m, "a@x.io", 1_201_500)
                .await
                .unwrap()
                .is_none(),
            "{name}: expired"
        );
        assert!(
            store
                .live_shopper_code(m, "zzz@x.io", 601_600)
                .await
                .unwrap()
                .is_none()
        );

        // Attempts stop at the limit; a used-up or consumed code cannot be consumed.
        for _ in 0..2 {
            assert!(store.fail_shopper_code("c4", 2).await.unwrap());
        }
        assert!(!store.fail_shopper_code("c4", 2).await.unwrap(), "{name}");
        assert!(
            !store.consume_shopper_code("c4", 2, 4_000).await.unwrap(),
            "{name}"
        );
        assert!(
            !store
                .consume_shopper_code("c7", 5, 1_300_000)
                .await
                .unwrap(),
            "{name}: expired"
        );
        assert!(store.consume_shopper_code("c7", 5, 601_600).await.unwrap());
        assert!(
            !store.consume_shopper_code("c7", 5, 601_600).await.unwrap(),
            "{name}: once"
        );

        // Tokens are found by hash, per merchant, until they expire.
        let t = ShopperTokenRecord {
            merchant_id: m,
            email: "a@x.io".into(),
            expires_at_ms: 10_000,
        };
        store.insert_shopper_token("h1", &t, 1).await.unwrap();
        store.insert_shopper_token("h2", &t, 1).await.unwrap();
        store.delete_shopper_token(other, "h2").await.unwrap();
        assert!(
            store
                .find_shopper_token(m, "h2", 1)
                .await
                .unwrap()
                .is_some(),
            "{name}: not another merchant's to end"
        );
        store.delete_shopper_token(m, "h2").await.unwrap();
        assert!(
            store
                .find_shopper_token(m, "h2", 1)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(
            store.find_shopper_token(m, "h1", 9_999).await.unwrap(),
            Some(t)
        );
        assert!(
            store
                .find_shopper_token(m, "h1", 10_000)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .find_shopper_token(other, "h1", 1)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );

        // Profiles: per merchant; replacing keeps the first creation time.
        let mut p = ShopperProfile {
            merchant_id: m,
            email: "a@x.io".into(),
            details: SavedDetails {
                first_name: Some("Ada".into()),
                shipping_rate_id: Some("shr_1".into()),
                ..Default::default()
            },
            payment_token: "tok_visa".to_string().into(),
            payment_provider: "sandbox".into(),
            provider_customer: None,
            card_brand: Some("visa".into()),
            card_last4: Some("4242".into()),
            created_at_ms: 5,
            updated_at_ms: 5,
        };
        store.upsert_shopper(&p).await.unwrap();
        p.created_at_ms = 9;
        p.updated_at_ms = 9;
        p.card_last4 = Some("0002".into());
        p.payment_provider = "stripe".into();
        p.provider_customer = Some("cus_9".into());
        store.upsert_shopper(&p).await.unwrap();
        let got = store.get_shopper(m, "a@x.io").await.unwrap().unwrap();
        assert_eq!((got.created_at_ms, got.updated_at_ms), (5, 9), "{name}");
        assert_eq!(got.card_last4.as_deref(), Some("0002"));
        assert_eq!(
            (
                got.payment_provider.as_str(),
                got.provider_customer.as_deref()
            ),
            ("stripe", Some("cus_9"))
        );
        assert_eq!(got.payment_token.expose_secret(), "tok_visa");
        assert_eq!(got.details, p.details);
        assert!(
            !format!("{got:?}").contains("tok_visa"),
            "Debug hides the token"
        );
        assert!(store.get_shopper(other, "a@x.io").await.unwrap().is_none());

        // Opt-ins: set, replace, withdraw, take once.
        let s = SessionId::new();
        assert_eq!(store.take_shopper_optin(m, s).await.unwrap(), None);
        store.set_shopper_optin(m, s, true, None, 1).await.unwrap();
        store
            .set_shopper_optin(m, s, true, Some("h1"), 2)
            .await
            .unwrap();
        // Peeking leaves it in place for the payment; taking uses it up.
        assert_eq!(
            store.shopper_optin(m, s).await.unwrap(),
            Some(Some("h1".into()))
        );
        assert_eq!(store.shopper_optin(other, s).await.unwrap(), None);
        assert_eq!(
            store.take_shopper_optin(other, s).await.unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            store.take_shopper_optin(m, s).await.unwrap(),
            Some(Some("h1".into()))
        );
        assert_eq!(store.take_shopper_optin(m, s).await.unwrap(), None);
        store.set_shopper_optin(m, s, true, None, 3).await.unwrap();
        store.set_shopper_optin(m, s, false, None, 4).await.unwrap();
        assert_eq!(store.take_shopper_optin(m, s).await.unwrap(), None);

        // The purge drops expired codes and tokens, never live ones.
        store.set_shopper_optin(m, s, true, None, 3).await.unwrap();
        let removed = store.purge_shopper_secrets(700_000).await.unwrap();
        assert!(removed >= 5, "{name}: {removed}");
        assert!(
            store
                .find_shopper_token(m, "h1", 1)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .live_shopper_code(m, "a@x.io", 601_600)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store.take_shopper_optin(m, s).await.unwrap(),
            Some(None),
            "{name}: young opt-in kept"
        );
    }
}

/// The last line of defence for per-buyer limits: completing an order that would
/// take a buyer past `max_quantity_per_order` (counting their earlier orders, any
/// `+tag` alias included) is refused inside the completion transaction and changes
/// nothing; other buyers and uncapped items are unaffected.
#[tokio::test]
async fn completion_refuses_orders_past_a_buyer_limit() {
    use anycart_core::session::SessionLine;
    use anycart_core::{Email, LineItemId, Quantity};
    for (name, store, _dir) in stores().await {
        let (m, v, _) = stocked(&store, 10, 0).await;
        let complete = |email: &'static str, qty: i64| {
            let store = store.clone();
            async move {
                let (s, _) = hold(&store, m, v, qty).await;
                let (mut sess, version) = store.get_session(m, s).await.unwrap().unwrap();
                let order_id = OrderId::new();
                sess.status = CheckoutStatus::Completed;
                sess.order_id = Some(order_id);
                let line = SessionLine {
                    id: LineItemId::new(),
                    variant_id: v,
                    product_id: ProductId::new(),
                    quantity: Quantity::parse(qty).unwrap(),
                    title: "Drop".into(),
                    sku: "DROP".into(),
                    unit_price: Money::new(100, usd()).unwrap(),
                    image_url: None,
                    options: vec![],
                    max_quantity_per_order: Some(2),
                    available: 10,
                };
                let order = Order {
                    id: order_id,
                    merchant_id: m,
                    session_id: s,
                    number: 0,
                    status: OrderStatus::Confirmed,
                    currency: usd(),
                    lines: vec![line],
                    totals: sess.quote.totals,
                    email: Some(Email::parse(email).unwrap()),
                    fulfillment: Fulfillment::default(),
                    shipping_title: None,
                    payment: PaymentRecord {
                        provider: "sandbox".into(),
                        provider_reference: "x".into(),
                        amount_minor: 0,
                        card_last4: None,
                        captured: false,
                    },
                    attribution: None,
                    created_at_ms: 1_000,
                };
                let demand = BTreeMap::from([(v, qty)]);
                let token = format!("tok-{order_id}");
                (
                    s,
                    store
                        .complete_checkout(&sess, version, &demand, order, &token, &[])
                        .await,
                )
            }
        };
        let (_, first) = complete("drop.fan@example.com", 2).await;
        assert!(first.is_ok(), "{name}: {first:?}");
        let (refused_session, again) = complete("Drop.Fan+2@example.com", 1).await;
        assert!(
            matches!(again, Err(StoreError::BuyerLimit(_))),
            "{name}: {again:?}"
        );
        // Nothing of the refused completion was kept: its hold is still a hold.
        assert_eq!(
            store.session_hold_totals(refused_session).await.unwrap()[&v],
            1,
            "{name}"
        );
        let (_, other) = complete("someone@else.com", 2).await;
        assert!(other.is_ok(), "{name}: another buyer is unaffected");
        // Two completions of one buyer at the same moment (as on two nodes):
        // exactly one gets through.
        let ((_, a), (_, b)) = tokio::join!(
            complete("racer@example.com", 2),
            complete("racer+bot@example.com", 2)
        );
        assert_eq!(
            usize::from(a.is_ok()) + usize::from(b.is_ok()),
            1,
            "{name}: {a:?} / {b:?}"
        );
    }
}
